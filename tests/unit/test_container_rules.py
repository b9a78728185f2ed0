# SPDX-License-Identifier: Apache-2.0
"""The container rules of rules/falco_rules.yaml (their own section) on
state-engine contexts, with the metadata podman gave in the VM for a
privileged container with the host's /etc mounted (tests/data/containers).
The same rules run live against podman in tests/kernel."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from falco.containers.podman import info_from_libpod
from falco.rules import load_rules
from falco.state import EventContext
from falco.state.entries import EXE_UPPER_LAYER

from support.replay_api import DATA
from support.state_sim import Sim

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules" / "falco_rules.yaml"
PRIVILEGED = "Privileged container started"
MOUNT = "Sensitive host path mounted into a container"
DRIFT = "Executable written in container after it started"
INSPECT: dict[str, Any] = json.loads((DATA / "podman" / "libpod-inspect.json").read_text())


@pytest.fixture(scope="module")
def ruleset() -> Any:
    return load_rules([str(RULES)], Sim().registry)


def _matches(rs: Any, ctx: EventContext) -> set[str]:
    return {r.name for r in rs.match(ctx, ctx.evt.name, "all")}


# The machine booted at this epoch time; the driver counts pidns_init_start_ts
# from boot.
BOOT = 1_690_000_000 * 10**9


def _container(doc: dict[str, Any] | None, full_id: str) -> tuple[Sim, str]:
    """A sim whose container ``full_id`` (podman cgroup) has the metadata
    of ``doc`` (None: no runtime knows it)."""
    sim = Sim(boot_ts_epoch=BOOT)
    sim.init()
    if doc is not None:
        sim.insp.containers.put(info_from_libpod(dict(doc, Id=full_id)))
    return sim, f"cpu=/machine.slice/libpod-{full_id}.scope\0"


def _entrypoint(sim: Sim, cgroups: str, exe: str = "/bin/true", vpid: int = 1,
                pidns_start: int = 0, **extra: Any) -> EventContext:
    """A clone into the container's PID namespace (as ``vpid``; the
    namespace started ``pidns_start`` ns after boot), then the child's
    execve of ``exe``."""
    common = dict(exe="/usr/bin/crun", args="", comm="crun", flags=0, uid=0,
                  gid=0, cgroups=cgroups)
    sim.x("clone", 1, res=300, tid=1, pid=1, ptid=0, vtid=1, vpid=1, **common)
    sim.x("clone", 300, res=0, tid=300, pid=300, ptid=1, vtid=vpid, vpid=vpid,
          pidns_init_start_ts=pidns_start or sim.ts - BOOT, **common)
    return sim.execve(300, exe, [exe.rsplit("/", 1)[-1]], cgroups=cgroups, **extra)


def test_privileged_with_etc_mounted(ruleset: Any) -> None:
    assert INSPECT["HostConfig"]["Privileged"] is True
    sim, cg = _container(INSPECT, INSPECT["Id"])
    ctx = _entrypoint(sim, cg)
    assert sim.field(ctx, "container.privileged") is True
    assert sim.field(ctx, "container.mount[/etc]") != "none"
    assert {PRIVILEGED, MOUNT} <= _matches(ruleset, ctx)


def test_only_the_first_process(ruleset: Any) -> None:
    sim, cg = _container(INSPECT, INSPECT["Id"])
    ctx = _entrypoint(sim, cg, vpid=7)
    assert not {PRIVILEGED, MOUNT} & _matches(ruleset, ctx)


def test_unprivileged_without_host_mounts(ruleset: Any) -> None:
    doc = dict(INSPECT, HostConfig=dict(INSPECT["HostConfig"], Privileged=False),
               Mounts=[{"Type": "bind", "Source": "/etc/localtime",
                        "Destination": "/etc/localtime", "RW": False}])
    sim, cg = _container(doc, INSPECT["Id"])
    ctx = _entrypoint(sim, cg)
    assert not {PRIVILEGED, MOUNT} & _matches(ruleset, ctx)


def test_no_runtime_no_alert(ruleset: Any) -> None:
    """Unknown to every runtime: privileged and mounts are <NA>, and a
    rule on them cannot match."""
    sim, cg = _container(None, INSPECT["Id"])
    ctx = _entrypoint(sim, cg)
    assert sim.field(ctx, "container.id") == INSPECT["Id"][:12]
    assert not {PRIVILEGED, MOUNT} & _matches(ruleset, ctx)


@pytest.mark.parametrize("ctime_after,upper,expected", [
    (5, False, True),      # written after the PID namespace started
    (-5, False, False),    # part of the image
    (5, True, False),      # an overlay's writable layer: the other rule's
])
def test_drift(ruleset: Any, ctime_after: int, upper: bool, expected: bool) -> None:
    sim, cg = _container(INSPECT, INSPECT["Id"])
    since_boot = 3600 * 10**9
    ctx = _entrypoint(sim, cg, exe="/tmp/tool", vpid=9, pidns_start=since_boot,
                      exe_ino_ctime=BOOT + since_boot + ctime_after * 10**9,
                      flags=EXE_UPPER_LAYER if upper else 0)
    assert sim.field(ctx, "proc.pidns_init_start_ts") == BOOT + since_boot
    assert sim.field(ctx, "proc.is_exe_upper_layer") is upper
    if ctime_after > 0:
        assert sim.field(ctx, "proc.exe_ino.ctime_duration_pidns_start") == \
            ctime_after * 10**9
    assert (DRIFT in _matches(ruleset, ctx)) is expected
