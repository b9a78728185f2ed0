# SPDX-License-Identifier: Apache-2.0
"""socket/connect/accept/bind/listen: fd types, tuples and roles."""
from __future__ import annotations

from falco.events.sockets import SockAddr, SockTuple

from support.state_sim import Sim

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/usr/bin/curl", ["http://x"])
    return sim


def test_tcp_client_connect() -> None:
    sim = _sim()
    s = sim.x("socket", 100, fd=3, domain=AF_INET, type=1, proto=0)
    assert sim.field(s, "fd.type") == "ipv4"
    assert sim.field(s, "fd.l4proto") == "tcp"
    assert sim.field(s, "fd.name") == ""
    ctx = sim.x("connect", 100, res=0, fd=3,
                tuple=SockTuple(AF_INET, "10.0.0.5", 51000, "93.184.216.34",
                                80),
                addr=SockAddr(AF_INET, "93.184.216.34", 80))
    assert sim.field(ctx, "fd.name") == "10.0.0.5:51000->93.184.216.34:80"
    assert sim.field(ctx, "fd.cip") == "10.0.0.5"
    assert sim.field(ctx, "fd.sip") == "93.184.216.34"
    assert sim.field(ctx, "fd.lip") == "10.0.0.5"
    assert sim.field(ctx, "fd.rip") == "93.184.216.34"
    assert sim.field(ctx, "fd.cport") == 51000
    assert sim.field(ctx, "fd.sport") == 80
    assert sim.field(ctx, "fd.lport") == 51000
    assert sim.field(ctx, "fd.rport") == 80
    assert sim.field(ctx, "fd.is_server") is False
    assert sim.field(ctx, "fd.connected") is True
    assert sim.field(ctx, "evt.category") == "net"
    assert sim.field(ctx, "fd.sockfamily") == "ip"
    assert sim.field(ctx, "fd.typechar") == "4"
    assert sim.field(ctx, "fd.sproto") == "http"
    assert sim.field(ctx, "fd.name_changed") is False
    # later I/O on the fd sees the same connection
    w = sim.x("write", 100, res=5, data=b"hello", fd=3, size=5)
    assert sim.field(w, "fd.name") == "10.0.0.5:51000->93.184.216.34:80"
    assert sim.field(w, "evt.is_io_write") is True
    assert sim.field(w, "evt.buffer") == b"hello"


def test_failed_connect_keeps_socket_unnamed() -> None:
    sim = _sim()
    sim.x("socket", 100, fd=3, domain=AF_INET, type=1, proto=0)
    sim.x("connect", 100, res=-111, fd=3, tuple=None,
          addr=SockAddr(AF_INET, "127.0.0.1", 9))
    assert sim.insp.threads[100].fds[3].name == ""


def test_server_accept_and_bind() -> None:
    sim = _sim()
    sim.insp.local_addrs.add("2001:db8::3")
    sim.x("socket", 100, fd=3, domain=AF_INET6, type=1, proto=0)
    b = sim.x("bind", 100, res=0, fd=3, addr=SockAddr(AF_INET6, "::", 8080))
    assert sim.field(b, "fd.name") == ":::8080"
    sim.x("listen", 100, res=0, fd=3, backlog=5)
    ctx = sim.x("accept4", 100, fd=4,
                tuple=SockTuple(AF_INET6, "2001:db8::4", 40000,
                                "2001:db8::3", 8080),
                queuepct=0, queuelen=0, queuemax=5, flags=0)
    assert sim.field(ctx, "fd.name") == "2001:db8::4:40000->2001:db8::3:8080"
    assert sim.field(ctx, "fd.type") == "ipv6"
    assert sim.field(ctx, "fd.is_server") is True
    assert sim.field(ctx, "fd.cip") == "2001:db8::4"
    assert sim.field(ctx, "fd.sip") == "2001:db8::3"
    assert sim.field(ctx, "fd.lip") == "2001:db8::3"
    assert sim.field(ctx, "fd.rip") == "2001:db8::4"
    assert sim.field(ctx, "fd.lport") == 8080
    assert sim.field(ctx, "fd.rport") == 40000
    assert sim.field(ctx, "fd.num") == 4


def test_ipv4_mapped_ipv6_is_ipv4() -> None:
    sim = _sim()
    sim.x("socket", 100, fd=3, domain=AF_INET6, type=1, proto=0)
    ctx = sim.x("connect", 100, res=0, fd=3,
                tuple=SockTuple(AF_INET6, "::ffff:127.0.0.1", 5555,
                                "::ffff:127.0.0.1", 80),
                addr=SockAddr(AF_INET6, "::ffff:127.0.0.1", 80))
    assert sim.field(ctx, "fd.type") == "ipv4"
    assert sim.field(ctx, "fd.name") == "127.0.0.1:5555->127.0.0.1:80"
    # libsinsp: a socket whose server address is local counts as server
    assert sim.field(ctx, "fd.is_server") is True
    assert sim.field(ctx, "fd.lport") == 5555    # but the role is client


def test_unix_socket_connect_and_udp() -> None:
    sim = _sim()
    sim.x("socket", 100, fd=3, domain=AF_UNIX, type=1, proto=0)
    ctx = sim.x("connect", 100, res=0, fd=3,
                tuple=SockTuple(AF_UNIX, "ffff1", None, "ffff2", None,
                                None, "/var/run/docker.sock"),
                addr=SockAddr(AF_UNIX, path="/var/run/docker.sock"))
    assert sim.field(ctx, "fd.name") == "/var/run/docker.sock"
    assert sim.field(ctx, "fd.typechar") == "u"
    assert sim.field(ctx, "fd.sockfamily") == "unix"
    assert sim.field(ctx, "fd.l4proto") is None
    u = sim.x("socket", 100, fd=4, domain=AF_INET, type=2, proto=17)
    assert sim.field(u, "fd.l4proto") == "udp"


def test_connect_on_unknown_fd_creates_socket() -> None:
    sim = _sim()
    ctx = sim.x("connect", 100, res=0, fd=7,
                tuple=SockTuple(AF_INET, "1.2.3.4", 1000, "5.6.7.8", 22),
                addr=SockAddr(AF_INET, "5.6.7.8", 22))
    assert sim.field(ctx, "fd.type") == "ipv4"
    assert sim.field(ctx, "fd.sport") == 22
    assert 7 in sim.insp.threads[100].fds


def test_udp_peer_learned_from_sendto_and_recvfrom() -> None:
    sim = _sim()
    sim.x("socket", 100, fd=3, domain=AF_INET, type=2, proto=0)
    ctx = sim.x("sendto", 100, res=30, data=b"q", fd=3, size=30,
                tuple=SockTuple(AF_INET, "10.0.0.2", 40000, "8.8.8.8", 53))
    assert sim.field(ctx, "fd.name") == "10.0.0.2:40000->8.8.8.8:53"
    assert sim.field(ctx, "fd.sport") == 53
    assert sim.field(ctx, "fd.l4proto") == "udp"
    assert sim.field(ctx, "fd.sproto") == "domain"
    sim.x("socket", 100, fd=4, domain=AF_INET, type=2, proto=0)
    sim.insp.local_addrs.add("10.0.0.2")
    r = sim.x("recvfrom", 100, res=5, data=b"hi", fd=4, size=64,
              tuple=SockTuple(AF_INET, "10.0.0.9", 5000, "10.0.0.2", 9999))
    assert sim.field(r, "fd.is_server") is True
    assert sim.field(r, "fd.lport") == 9999
    assert sim.field(r, "fd.rip") == "10.0.0.9"
    again = sim.x("recvfrom", 100, res=5, data=b"hi", fd=4, size=64,
                  tuple=SockTuple(AF_INET, "10.0.0.7", 5001, "10.0.0.2",
                                  9999))
    assert sim.field(again, "fd.name_changed") is True
