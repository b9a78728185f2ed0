# SPDX-License-Identifier: Apache-2.0
"""No registered field is a silent stub: every field either gives a value
on some real event, or is declared unavailable with a reason.

The events: falco-probe-vm.scap.gz (our module in the test VM running
tests/data/captures/corpus_workload.py), sysdig-0.29.3-vm.scap.gz (sysdig's
module in the same VM: procinfo samples) and, from ../shared, Falco's
open-multiple-files.scap (switch and container events, which no driver
here emits). Infrastructure events exist only in captures of the Sysdig
agent: one is built with our encoder. Container metadata comes from a
runtime: the container the corpus process runs in is given metadata the
way a runtime lookup would (``ContainerTable.put``); the runtimes
themselves are tested in the VM (tests/kernel, containers).
Host names: the comparison ``fd.sip.name = localhost`` is compiled (it
watches the name) and resolved before the events are read.
"""
from __future__ import annotations

import dataclasses
import time
import types
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.external import CAPTURES, SHARED

from falco.containers.info import ContainerInfo, Mount
from falco.events.build import make_event
from falco.events.scap import CaptureReader
from falco.fields import FieldDef, default_registry
from falco.fields.registry import ArgMode, FieldRegistry
from falco.rules import load_rules
from falco.state import Inspector
from falco.state.hostnames import HostNames

DATA = Path(__file__).resolve().parents[1] / "data" / "captures"
OURS = DATA / "falco-probe-vm.scap.gz"
SYSDIG = DATA / "sysdig-0.29.3-vm.scap.gz"
SHARED_CAPTURE = CAPTURES / "open-multiple-files.scap"
CONTAINER = "c0ffee00" * 8          # the corpus workload's docker cgroup
INFRA_DESC = ("Event: start; ID: 4f2c9e0d1b3a5c7e9f0a; name: web; "
              "Image: nginx:1.25@sha256:0123")

# An argument for the fields that take one (REQUIRED) or whose argument
# form computes something else (OPTIONAL: both forms are read).
SAMPLE_ARGS: dict[str, tuple[str, ...]] = {
    "evt.type.is": ("execve",),
    "evt.arg": ("fd", "res", "0"),
    "evt.rawarg": ("fd", "res", "0"),
    "evt.around": ("1796524944252813680",),
    "evt.abspath": ("src", "dst"),
    "thread.cgroup": ("cpu", "pids"),
    "proc.env": ("PATH",),
    "proc.aenv": ("PATH", "1"),
    "fd.types": ("0", "3"),
    "container.label": ("app",),
    "container.mount": ("0", "/data"),
    "container.mount.source": ("0",),
    "container.mount.dest": ("0",),
    "container.mount.mode": ("0",),
    "container.mount.rdwr": ("0",),
    "container.mount.propagation": ("0",),
    "k8s.pod.label": ("app",),
}
ANCESTOR_ARGS = ("0", "1", "2")


def _filled(cls: type) -> dict[str, Any]:
    """A value for every field of a metadata dataclass, by its type."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in ("id", "full_id", "type", "pending", "threads_seen",
                      "requested", "is_pod_sandbox", "source"):
            continue
        hint = hints[f.name]
        args = set(typing.get_args(hint)) - {type(None)}
        base = typing.get_origin(hint) or hint
        if base in (types.UnionType, typing.Union) and len(args) == 1:
            base = typing.get_origin(next(iter(args))) or next(iter(args))
        if f.name in ("healthcheck", "liveness_probe", "readiness_probe"):
            out[f.name] = "cat /etc/hostname"    # the container's process
        elif base is str:
            out[f.name] = f"{f.name}-value"
        elif base is bool:
            out[f.name] = True
        elif base is int:
            out[f.name] = 1_700_000_000_000_000_000
        elif base is dict:
            out[f.name] = {"app": "web", "io.kubernetes.pod.name": "pod"}
        elif base is tuple:
            out[f.name] = (Mount("/srv/data", "/data", "rw", True, "rprivate"),)
        else:
            raise AssertionError(f"{cls.__name__}.{f.name}: {hint}")
    return out


def _args(fdef: FieldDef) -> list[str | None]:
    samples: list[str | None] = list(SAMPLE_ARGS.get(fdef.name, ()))
    if fdef.arg is ArgMode.NONE:
        return [None]
    if fdef.arg is ArgMode.OPTIONAL:
        extra = ANCESTOR_ARGS if fdef.name.startswith(("proc.a", "proc.aenv")) \
            else ()
        return [None, *samples, *extra]
    assert samples, f"{fdef.name} takes an argument: add one to SAMPLE_ARGS"
    return samples


Values = dict[str, Counter[str]]


def _read(path: Path, registry: FieldRegistry, seen: Values,
          metadata: bool = False, extra: tuple = ()) -> None:  # type: ignore[type-arg]
    fields = [(f, _args(f)) for f in registry if f.unavailable is None]
    with CaptureReader(path) as rd:
        insp = Inspector()
        if metadata:
            insp.containers.put(ContainerInfo(
                CONTAINER[:12], CONTAINER, "docker", **_filled(ContainerInfo)))
        insp.bootstrap_capture(rd.procs, rd.fds, rd.users, rd.groups,
                               getattr(rd, "interfaces", ()))
        try:
            for evt in (*rd, *extra):
                ctx = insp.process(evt)
                for fdef, args in fields:
                    for arg in args:
                        value = fdef.extract(ctx, arg)
                        if value is not None:
                            seen[fdef.name][repr(value)[:80]] += 1
        finally:
            insp.close()


@pytest.fixture(scope="module")
def evidence() -> tuple[FieldRegistry, Values, bool]:
    hostnames = HostNames()
    registry = default_registry(hostnames)
    rules = load_rules([("names.yaml", """
- rule: names
  desc: compares with a host name
  condition: evt.type=connect and (fd.sip.name=localhost or
    fd.cip.name=localhost or fd.lip.name=localhost or fd.rip.name=localhost)
  output: "%fd.sip.name"
  priority: INFO
""")], registry)
    assert not rules.errors
    deadline = time.monotonic() + 30
    while not hostnames.resolved("localhost") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hostnames.matches("localhost", "127.0.0.1")
    seen: Values = {f.name: Counter() for f in registry}
    # events no driver here emits: an infrastructure event, and two
    # switch events of one CPU (one slice of 1 ms)
    infra = make_event("infra", ">", {"source": "docker", "name": "start",
                                      "description": INFRA_DESC,
                                      "scope": "host"}, tid=1)
    switches = [make_event("switch", ">", {"next": 1, "pgft_maj": 0,
                                           "pgft_min": 0, "vm_size": 0,
                                           "vm_rss": 0, "vm_swap": 0},
                           tid=1, ts=ts, cpu=0)
                for ts in (2_000_000_000_000_000_000,
                           2_000_000_000_001_000_000)]
    _read(OURS, registry, seen, metadata=True, extra=(infra, *switches))
    _read(SYSDIG, registry, seen)
    shared = SHARED_CAPTURE.is_file()
    if shared:
        _read(SHARED_CAPTURE, registry, seen)
    hostnames.close()
    return registry, seen, shared


def test_every_field_computes_something_or_says_why(
        evidence: tuple[FieldRegistry, Values, bool]) -> None:
    registry, seen, shared = evidence
    silent = sorted(f.name for f in registry
                    if f.unavailable is None and not seen[f.name])
    if silent and not shared:
        pytest.skip(f"{SHARED} missing: no switch or container events for "
                    f"{silent}")
    assert silent == []
    declared = [f.name for f in registry if f.unavailable is not None]
    assert len(declared) < len(registry) // 8     # the exception


def test_the_corpus_has_what_the_fields_read(
        evidence: tuple[FieldRegistry, Values, bool]) -> None:
    """Spot checks that the values come from the events that should give
    them (not from a constant)."""
    _, seen, _ = evidence
    for name, value in (
            ("proc.is_exe_from_memfd", True),
            ("proc.is_container_healthcheck", True),
            ("proc.is_container_healthcheck", False),
            ("fd.sip.name", "localhost"), ("fd.cip.name", "localhost"),
            ("user.loginname", "root"), ("evt.count.procinfo", 1),
            ("evt.count.threadinfo", 1), ("thread.exectime", 1_000_000),
            ("evt.infra.docker.name", "start"),
            ("evt.infra.docker.container.id", "4f2c9e0d1b3a"),
            ("evt.infra.docker.container.image", "nginx:1.25"),
            ("container.image", "image-value"),
            ("k8s.pod.name", "pod_name-value")):
        assert repr(value) in seen[name], (name, seen[name])
    assert any(int(v) > 0 for v in seen["thread.cpu"]), seen["thread.cpu"]
    assert any(int(v) > 0 for v in seen["evt.around"])
    assert any(v.endswith("/dir/renamed.txt'") for v in
               seen["fs.path.target"]), seen["fs.path.target"]


# Fields with a single value over the whole corpus, and why that is the
# truth rather than a constant standing in for a value.
CONSTANT = {
    "evt.count": "1 for every event, by definition",
    "evt.source": "every event here is a syscall event",
    "evt.hostname": "one host",
    "evt.asynctype": "the only async events in the corpus are container ones",
    "evt.count.error.memory": "no memory call fails in the corpus",
    "evt.latency.s": "no call of the corpus lasts a second",
    "evt.is_syslog": "nothing in the corpus writes to /dev/log",
    "proc.tty": "the test VM has no terminal",
    "proc.pidns_init_start_ts": "the corpus processes that report it share "
                                "one pid namespace",
    "thread.cap_inheritable": "no process of the corpus has inheritable "
                              "capabilities",
    "fd.dev.major": "the corpus files live on devices of major 0",
    "user.loginname": "one login user",
    "fd.cip.name": "one watched name", "fd.sip.name": "one watched name",
    "fd.lip.name": "one watched name", "fd.rip.name": "one watched name",
    "evt.infra.docker.name": "one infrastructure event",
    "evt.infra.docker.container.id": "one infrastructure event",
    "evt.infra.docker.container.name": "one infrastructure event",
    "evt.infra.docker.container.image": "one infrastructure event",
}


def test_no_field_is_a_constant(
        evidence: tuple[FieldRegistry, Values, bool]) -> None:
    """A field with one value over every event (False for every process,
    say) is a stub unless the corpus really has one value for it."""
    registry, seen, shared = evidence
    const = {f.name for f in registry
             if f.unavailable is None and len(seen[f.name]) == 1
             # one container with metadata in the corpus
             and not f.name.startswith(("container.", "k8s."))}
    expected = set(CONSTANT)
    assert sorted(const - expected) == []
    if shared:
        assert sorted(expected - const) == []
