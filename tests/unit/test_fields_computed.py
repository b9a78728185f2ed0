# SPDX-License-Identifier: Apache-2.0
"""Fields that used to say nothing: fd.*ip.name (host names resolved in the
background), evt.around, thread.cpu* and evt.count.* on procinfo samples,
thread.exectime on switch events, evt.infra.* and fd.uid."""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

from falco.events.scap import CaptureReader
from falco.events.sockets import SockTuple
from falco.fields import default_registry
from falco.rules import load_rules
from falco.rules.model import RulesError
from falco.state import Inspector
from falco.state.hostnames import HostNames
from support.state_sim import Sim

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
RULE = """
- rule: r
  desc: d
  condition: evt.type=connect and evt.dir=< and {cond}
  output: "o %fd.sip.name"
  priority: INFO
"""


def _resolved(hostnames: HostNames, name: str) -> None:
    deadline = time.monotonic() + 30
    while not hostnames.resolved(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hostnames.resolved(name)


@pytest.fixture
def hostnames() -> HostNames:
    table = HostNames()
    yield table  # type: ignore[misc]
    table.close()


def _connect(sim: Sim, dip: str, fd: int = 5):  # type: ignore[no-untyped-def]
    sim.x("socket", 100, fd=fd, domain=2, type=1, proto=0)
    return sim.x("connect", 100, res=0, fd=fd,
                 tuple=SockTuple(2, "10.1.1.1", 40000, dip, 443))


def test_host_name_comparisons_match_resolved_addresses(
        hostnames: HostNames) -> None:
    registry = default_registry(hostnames)
    conds = {"eq": "fd.sip.name = localhost",
             "ne": "fd.sip.name != localhost",
             "in": "fd.sip.name in (no-such-host.invalid, localhost)",
             "client": "fd.cip.name = localhost",
             "contains": "fd.sip.name contains local"}
    text = "".join(RULE.format(cond=c).replace("- rule: r", f"- rule: {n}")
                   for n, c in conds.items())
    rs = load_rules([("t.yaml", text)], registry)
    assert not rs.errors
    _resolved(hostnames, "localhost")
    _resolved(hostnames, "no-such-host.invalid")
    assert hostnames.matches("localhost", "127.0.0.1")
    assert hostnames.names_of("127.0.0.1") == ("localhost",)
    sim = Sim()
    sim.registry = registry
    sim.init()
    sim.fork(1, 100)
    rules = {r.name: r for r in rs.rules}

    local = _connect(sim, "127.0.0.1")
    assert sim.field(local, "fd.sip.name") == "localhost"
    assert sim.field(local, "fd.cip.name") is None
    assert {n for n, r in rules.items() if r.predicate(local)} == {
        "eq", "in", "contains"}
    remote = _connect(sim, "192.0.2.7", fd=6)
    assert sim.field(remote, "fd.sip.name") is None
    assert {n for n, r in rules.items() if r.predicate(remote)} == {"ne"}


def test_host_name_fields_only_on_ip_sockets(hostnames: HostNames) -> None:
    registry = default_registry(hostnames)
    rs = load_rules([("t.yaml", RULE.format(cond="fd.sip.name != x"))],
                    registry)
    sim = Sim()
    sim.registry = registry
    sim.init()
    sim.fork(1, 100)
    sim.x("socket", 100, fd=5, domain=1, type=1, proto=0)
    ctx = sim.x("connect", 100, res=0, fd=5, tuple=SockTuple(
        1, "0x1", None, "0x2", None, None, "/run/x.sock"))
    assert not rs.rules[0].predicate(ctx)     # no IP: no comparison
    assert sim.field(ctx, "fd.sip.name") is None


def test_name_lookups_never_wait_for_a_resolution(
        hostnames: HostNames) -> None:
    """A name just watched matches nothing until the resolver thread has
    answered; asking does not resolve it."""
    hostnames.watch(["localhost"])
    assert hostnames.names_of("127.0.0.1") in ((), ("localhost",))
    _resolved(hostnames, "localhost")
    assert hostnames.names_of("127.0.0.1") == ("localhost",)


def test_evt_around(hostnames: HostNames) -> None:
    registry = default_registry(hostnames)
    sim = Sim()
    sim.registry = registry
    sim.init()
    sim.fork(1, 100)
    t0 = sim.ts
    text = RULE.format(cond=f"evt.around[{t0}] = 1000").replace(
        "evt.type=connect and evt.dir=< and ", "")
    rs = load_rules([("t.yaml", text)], registry)
    assert not rs.errors
    rule = rs.rules[0]
    sim.ts = t0 + 999_000_000 - 1000
    near = sim.x("close", 100, res=0, fd=9)
    sim.ts = t0 + 2_000_000_000
    far = sim.x("close", 100, res=0, fd=9)
    assert rule.predicate(near) and not rule.predicate(far)
    assert sim.field(near, f"evt.around[{t0}]") == 999
    with pytest.raises(RulesError, match="evt.around takes '= <milli"):
        load_rules([("t.yaml", text.replace("= 1000", "> 1000"))], registry)


def test_cpu_of_procinfo_samples_on_real_events() -> None:
    """thread.cpu* is the CPU used between two samples of a thread, from
    the samples sysdig's module took in the test VM (computed here again
    from the raw parameters)."""
    reg = default_registry()
    get = {n: reg.resolve(n)[0] for n in (
        "thread.cpu", "thread.cpu.user", "thread.cpu.system",
        "evt.count.procinfo", "evt.count.threadinfo", "thread.ismain")}
    last: dict[int, tuple[int, int]] = {}
    checked = defaultdict(int)
    with CaptureReader(CAPTURES / "sysdig-0.29.3-vm.scap.gz") as rd:
        insp = Inspector()
        insp.bootstrap_capture(rd.procs, rd.fds, rd.users, rd.groups)
        for evt in rd:
            ctx = insp.process(evt)
            vals = {n: f.extract(ctx, None) for n, f in get.items()}
            if evt.name != "procinfo":
                assert vals["thread.cpu"] is None
                assert vals["evt.count.threadinfo"] == 0
                continue
            user, system = evt.param("cpu_usr"), evt.param("cpu_sys")
            assert isinstance(user, int) and isinstance(system, int)
            prev = last.get(evt.tid)
            du, ds = (0, 0) if prev is None else (user - prev[0],
                                                  system - prev[1])
            last[evt.tid] = (user, system)
            assert vals["thread.cpu.user"] == min(du, 100)
            assert vals["thread.cpu.system"] == min(ds, 100)
            assert vals["thread.cpu"] == min(du + ds, 100)
            assert vals["evt.count.threadinfo"] == 1
            assert vals["evt.count.procinfo"] == int(vals["thread.ismain"])
            checked["busy" if du + ds else "idle"] += 1
    assert checked["busy"] >= 5 and checked["idle"] >= 5


def test_exectime_from_switch_events() -> None:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    base = sim.ts
    out = []
    for delta, tid in ((0, 100), (3_000, 1), (10_000, 100)):
        sim.ts = base + delta - 1000
        ctx = sim.ev("switch", ">", tid, next=1, pgft_maj=0, pgft_min=0,
                     vm_size=0, vm_rss=0, vm_swap=0)
        out.append((sim.field(ctx, "thread.exectime"),
                    sim.field(ctx, "thread.totexectime")))
    assert out == [(0, 0), (3_000, 3_000), (7_000, 7_000)]
    other = sim.x("close", 100, res=0, fd=9)
    assert sim.field(other, "thread.exectime") == 0
    assert sim.field(other, "thread.totexectime") == 7_000


@pytest.mark.parametrize("desc,expect", [
    ("Event: die; ID: 0123456789abcdef0123; name: db; Image: pg@sha256:1",
     ("die", "0123456789ab", "db", "pg")),
    ("name: only", (None, None, "only", None)),
    ("", (None, None, None, None)),
])
def test_infrastructure_events(desc: str, expect: tuple[object, ...]) -> None:
    sim = Sim()
    sim.init()
    ctx = sim.e("infra", 1, source="docker", name="x", description=desc,
                scope="")
    got = tuple(sim.field(ctx, f"evt.infra.docker.{n}") for n in (
        "name", "container.id", "container.name", "container.image"))
    assert got == expect
    other = sim.x("close", 1, res=0, fd=3)
    assert sim.field(other, "evt.infra.docker.name") is None


def test_fd_uid_chains_thread_and_fd() -> None:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    ctx = sim.x("openat", 100, fd=7, dirfd=-100, name="/etc/hosts", flags=1,
                mode=0)
    assert sim.field(ctx, "fd.uid") == "1007"
    assert sim.field(sim.x("setuid", 100, res=0, uid=0), "fd.uid") is None
