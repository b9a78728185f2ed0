# SPDX-License-Identifier: Apache-2.0
"""fd.sip.name against the real module and the real resolver, in the VM
(whose /etc is ours to change): upstream's k8s_api_server macro matches a
connection to the address the name resolves to, the answer is refreshed
when /etc/hosts changes, and a resolution stuck on a DNS server that never
answers does not hold up the rules.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from falco.events.event import Event
from falco.events.sockets import SockTuple
from falco.fields import default_registry
from falco.rules import load_rules
from falco.state import EventContext
from falco.state.hostnames import HostNames
from support.live_trace import in_tree, trace
from support.state_sim import Sim

pytestmark = pytest.mark.kernel

NAME = "kubernetes.default.svc.cluster.local"
RULES = """
- macro: k8s_api_server
  condition: (fd.sip.name="kubernetes.default.svc.cluster.local")
- rule: contact k8s api server
  desc: the upstream macro, on any process
  condition: evt.type=connect and evt.dir=< and k8s_api_server
  output: "%proc.name connected to %fd.sip.name (%fd.name)"
  priority: NOTICE
"""
WORKLOAD = r"""
import os, socket, sys, time
work = sys.argv[1]
servers = []
for ip in ("127.0.0.2", "127.0.0.3"):
    s = socket.socket()
    s.bind((ip, 8443))
    s.listen(4)
    servers.append(s)
socket.create_connection(("127.0.0.2", 8443)).close()
# the test changes /etc/hosts and says when the new answer is in
deadline = time.monotonic() + 120
while not os.path.exists(os.path.join(work, "go")):
    assert time.monotonic() < deadline
    time.sleep(0.05)
socket.create_connection(("127.0.0.2", 8443)).close()
socket.create_connection(("127.0.0.3", 8443)).close()
"""


@pytest.fixture
def etc(tmp_path: Path) -> Iterator[Path]:
    """/etc/hosts and /etc/resolv.conf, restored afterwards."""
    saved = {p: p.read_bytes() for p in (Path("/etc/hosts"),
                                         Path("/etc/resolv.conf"))
             if p.exists()}
    yield tmp_path
    for path, data in saved.items():
        path.write_bytes(data)


def _hosts(ip: str) -> None:
    Path("/etc/hosts").write_text(f"127.0.0.1 localhost\n{ip} {NAME}\n")


def test_k8s_api_server_macro_follows_the_name(etc: Path) -> None:
    _hosts("127.0.0.2")
    hostnames = HostNames(base_refresh_s=0.2, max_refresh_s=0.4)
    registry = default_registry(hostnames)
    rule = load_rules([("k8s.yaml", RULES)], registry).rules[0]
    deadline = time.monotonic() + 30
    while not hostnames.matches(NAME, "127.0.0.2"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    script = etc / "wl.py"
    script.write_text(WORKLOAD)
    hits: list[tuple[str, bool]] = []
    phase = {"moved": False}

    def on_event(evt: Event, ctx: EventContext, root: int) -> None:
        if not in_tree(registry, ctx, root):
            return
        if evt.name == "connect" and evt.direction == "<":
            tup = evt.param("tuple")
            assert isinstance(tup, SockTuple)
            hits.append((str(tup.dip), rule.predicate(ctx)))
            if len(hits) == 1:
                _hosts("127.0.0.3")       # the name moves
                phase["moved"] = True
        if phase["moved"] and hostnames.matches(NAME, "127.0.0.3") and \
                not (etc / "go").exists():
            (etc / "go").touch()
    try:
        trace([sys.executable, str(script), str(etc)],
              {"connect", "socket", "clone", "clone3", "execve",
               "clock_nanosleep"},
              on_event)
    finally:
        hostnames.close()
    assert hits == [("127.0.0.2", True), ("127.0.0.2", False),
                    ("127.0.0.3", True)]
    assert hostnames.names_of("127.0.0.3") == (NAME,)


def test_a_stuck_resolution_holds_up_nothing(etc: Path) -> None:
    """The resolver thread waits on a DNS server that never answers; the
    rules keep deciding, on the answers they have."""
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 53))
    dns.settimeout(60)
    Path("/etc/resolv.conf").write_text(
        "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
    _hosts("127.0.0.2")
    hostnames = HostNames()
    registry = default_registry(hostnames)
    rule = load_rules([("k8s.yaml", RULES + RULES.replace(
        "contact k8s api server", "slow name").replace(
        NAME, "slow.falco.test").replace("- macro: k8s_api_server",
                                         "- macro: slow_name").replace(
        "and k8s_api_server", "and slow_name"))], registry).rules[0]
    got: list[bytes] = []
    receiver = threading.Thread(target=lambda: got.append(dns.recv(512)))
    receiver.start()
    receiver.join(timeout=60)
    try:
        # the query for the slow name is out and unanswered: the resolver
        # thread is inside getaddrinfo
        assert got and b"slow" in got[0]
        assert not hostnames.resolved("slow.falco.test")
        sim = Sim()
        sim.registry = registry
        sim.init()
        sim.fork(1, 100)
        sim.x("socket", 100, fd=5, domain=2, type=1, proto=0)
        ctx = sim.x("connect", 100, res=0, fd=5, tuple=SockTuple(
            2, "10.0.0.1", 40000, "127.0.0.2", 8443))
        decided = [rule.predicate(ctx) for _ in range(1000)]
        # every decision was made while the resolution was still stuck
        assert not hostnames.resolved("slow.falco.test")
        assert decided == [hostnames.resolved(NAME)] * 1000
    finally:
        dns.close()
        hostnames.close()
