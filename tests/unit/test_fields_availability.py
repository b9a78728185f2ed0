# SPDX-License-Identifier: Apache-2.0
"""Fields that cannot be computed here are declared with a reason, and a
rule that uses one loads with a warning naming the rule, the field and the
reason (the real registry and the real rules loader)."""
from __future__ import annotations

import pytest

from falco.fields import FieldDef, FieldType, default_registry
from falco.fields.registry import FieldRegistry, unavailable
from falco.rules import load_rules

RULE = """
- rule: {name}
  desc: d
  condition: {cond}
  output: "{output}"
  priority: WARNING
"""


def _load(text: str):  # type: ignore[no-untyped-def]
    return load_rules([("t.yaml", text)], default_registry())


def _unavailable_name() -> FieldDef:
    fdef = next(f for f in default_registry() if f.unavailable
                and f.arg.value == "none" and not f.deprecated)
    return fdef


def test_rule_using_an_unavailable_field_warns_with_rule_field_reason() -> None:
    fdef = _unavailable_name()
    rs = _load(RULE.format(name="uses it", cond=f"evt.type=open and "
                           f"{fdef.name} exists", output="o %proc.name"))
    assert not rs.errors
    warned = [w for w in rs.warnings if w.code == "LOAD_UNAVAILABLE_FIELD"]
    assert len(warned) == 1
    w = warned[0]
    assert w.item_name == "uses it" and w.item_type == "rule"
    assert f"'{fdef.name}'" in w.message
    assert fdef.unavailable is not None and fdef.unavailable in w.message
    assert w.location is not None and w.location.path == "t.yaml"
    assert fdef.name in str(w) and "uses it" in str(w)


def test_unavailable_field_in_output_or_macro_warns_too() -> None:
    fdef = _unavailable_name()
    rs = _load(RULE.format(name="out", cond="evt.type=open",
                           output=f"o %{fdef.name}"))
    assert [w.item_name for w in rs.warnings
            if w.code == "LOAD_UNAVAILABLE_FIELD"] == ["out"]
    text = (f"- macro: m\n  condition: {fdef.name} exists\n"
            + RULE.format(name="via macro", cond="evt.type=open and m",
                          output="o"))
    rs = _load(text)
    assert [w.item_name for w in rs.warnings
            if w.code == "LOAD_UNAVAILABLE_FIELD"] == ["via macro"]


def test_computed_fields_do_not_warn() -> None:
    rs = _load(RULE.format(name="fine", cond="evt.type=open and proc.name="
                           "cat and fd.name startswith /etc",
                           output="o %proc.cmdline %fd.name"))
    assert not [w for w in rs.warnings
                if w.code == "LOAD_UNAVAILABLE_FIELD"]


def test_every_unavailable_field_gives_a_reason_and_no_value() -> None:
    reg = default_registry()
    declared = [f for f in reg if f.unavailable is not None]
    assert declared
    for f in declared:
        assert len(f.unavailable or "") >= 20, f.name
        assert f.extract is unavailable


def test_registry_refuses_an_unavailable_field_without_reason() -> None:
    reg = FieldRegistry()
    with pytest.raises(ValueError, match="needs a reason"):
        reg.register(FieldDef("x.y", FieldType.STRING, "desc text",
                              unavailable, unavailable=" "))
    with pytest.raises(ValueError, match="needs a reason"):
        reg.register(FieldDef("x.z", FieldType.STRING, "desc text",
                              lambda c, a: "v", unavailable="some reason"))
