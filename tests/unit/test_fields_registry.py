# SPDX-License-Identifier: Apache-2.0
"""The default registry covers every field the shipped and upstream rules
use, and every field is documented."""
from __future__ import annotations

import re

import pytest

from falco.fields import default_registry
from falco.fields.registry import (
    ArgMode, FieldDef, FieldRegistry, FieldType, IntKind, UnknownFieldError,
    unavailable)
from support.external import SHARED
FIELD_RE = re.compile(r"(?<![\w.%-])%?((?:evt|proc|thread|fd|fs\.path|user|"
                      r"group|container|k8s|syscall)\.[a-zA-Z0-9_.]*"
                      r"[a-zA-Z0-9_])(\[[^\]]*\])?")
RULE_FILES = ["upstream-rules/falco_rules.yaml",
              "upstream-rules/falco-incubating_rules.yaml",
              "upstream-rules/falco-sandbox_rules.yaml",
              "upstream-rules/falco-0.13.0_falco_rules.yaml"]
# Not fields: a list item (a log file name), Falco's own output macro of
# 2018, and the unknown field the regression suite uses on purpose.
NOT_FIELDS = {"user.log", "container.info", "proc.nobody"}


def _used_fields() -> set[str]:
    files = [SHARED / f for f in RULE_FILES]
    files += sorted((SHARED / "falco-regression" / "rules").glob("*.yaml"))
    files += sorted((SHARED / "falco-regression" / "rules").glob(
        "exceptions/*.yaml"))
    names: set[str] = set()
    for path in files:
        for m in FIELD_RE.finditer(path.read_text()):
            names.add(m.group(1))
    return names - NOT_FIELDS


@pytest.mark.usefixtures("shared")
def test_every_rules_field_resolves() -> None:
    used = _used_fields()
    reg = default_registry()
    missing = sorted(n for n in used if n not in reg)
    assert missing == []
    assert len(used) > 80


def test_every_field_has_description_and_class() -> None:
    reg = default_registry()
    assert len(reg) > 250
    classes = {f.field_class for f in reg}
    assert {"evt", "proc", "thread", "fd", "fs", "user", "group",
            "container", "k8s", "syscall"} <= classes
    for f in reg:
        assert len(f.desc) >= 8, f.name
        assert f.name.count(".") >= 1 and f.name == f.name.strip(), f.name


def test_dotted_arguments_resolve() -> None:
    reg = default_registry()
    fdef, arg = reg.resolve("evt.arg.flags")
    assert (fdef.name, arg) == ("evt.arg", "flags")
    fdef, arg = reg.resolve("thread.cgroup.cpuacct")
    assert (fdef.name, arg) == ("thread.cgroup", "cpuacct")
    assert reg.lookup("proc.aname").arg is ArgMode.OPTIONAL
    assert reg.lookup("proc.aname").multi
    with pytest.raises(UnknownFieldError) as err:
        reg.resolve("proc.nmae")
    assert "proc.name" in err.value.suggestions


def test_registries_are_independent() -> None:
    a, b = default_registry(), default_registry()
    assert a is not b and len(a) == len(b)


def test_numeric_fields_have_a_width_and_sign() -> None:
    """Every numeric field says how a literal compared with it is read
    (Falco's PT_ types); other fields refuse one."""
    reg = default_registry()
    numeric = {FieldType.INT, FieldType.PORT, FieldType.ABSTIME,
               FieldType.RELTIME}
    for fdef in reg:
        assert (fdef.kind is not None) == (fdef.type in numeric), fdef.name
    kinds = {n: reg.lookup(n).kind for n in (
        "user.uid", "group.gid", "evt.cpu", "fd.dev", "proc.pid",
        "evt.num", "fd.sport", "evt.rawtime", "user.loginuid")}
    assert kinds == {
        "user.uid": IntKind.UINT32, "group.gid": IntKind.UINT32,
        "evt.cpu": IntKind.INT16, "fd.dev": IntKind.INT32,
        "proc.pid": IntKind.INT64, "evt.num": IntKind.UINT64,
        "fd.sport": IntKind.UINT16, "evt.rawtime": IntKind.UINT64,
        "user.loginuid": IntKind.INT64}
    with pytest.raises(ValueError, match="a width and sign for a string"):
        FieldRegistry().register(FieldDef(
            "x.name", FieldType.STRING, "a name", unavailable,
            int_kind=IntKind.UINT32, unavailable="not here"))
