# SPDX-License-Identifier: Apache-2.0
"""Per-syscall tests, sockets: known endpoints, every parameter checked
(addresses decoded from the PT_SOCKADDR / PT_SOCKTUPLE bytes)."""
from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest

import ringreader as rr
from sctest import P, Tracer, live, trace  # noqa: F401  (fixtures)

pytestmark = pytest.mark.kernel

LO = socket.inet_aton("127.0.0.1")


def sa4(ip: bytes, port: int) -> bytes:
    return bytes([P("PPM_AF_INET")]) + ip + struct.pack("<H", port)


def tup4(sip: bytes, sport: int, dip: bytes, dport: int) -> bytes:
    return bytes([P("PPM_AF_INET")]) + sip + struct.pack("<H", sport) + dip + \
        struct.pack("<H", dport)


def tup6(sip: bytes, sport: int, dip: bytes, dport: int) -> bytes:
    return bytes([P("PPM_AF_INET6")]) + sip + struct.pack("<H", sport) + dip + \
        struct.pack("<H", dport)


def me() -> int:
    return threading.get_native_id()


def test_tcp_ipv4_life_cycle(trace: Tracer) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        sport = srv.getsockname()[1]
        cli.connect(("127.0.0.1", sport))
        cport = cli.getsockname()[1]
        conn, _ = srv.accept()
        cli.send(b"ping")
        assert conn.recv(64) == b"ping"
        assert cli.sendmsg([b"ab", b"cd"]) == 4
        data, anc, flags, addr = conn.recvmsg(100)
        assert data == b"abcd"
        cli.shutdown(socket.SHUT_WR)
        fds = srv.fileno(), cli.fileno(), conn.fileno()
        conn.close()
    finally:
        cli.close()
        srv.close()
    sfd, cfd, afd = fds
    CLOEXEC = 0x80000
    socks = rr.select(trace.events(), "socket", tid=me())
    assert [e.params for e in socks if e.params["fd"] in (sfd, cfd)] == [
        {"fd": sfd, "domain": P("PPM_AF_INET"), "type": socket.SOCK_STREAM | CLOEXEC,
         "proto": 0, "flags": P("PPM_O_CLOEXEC")},
        {"fd": cfd, "domain": P("PPM_AF_INET"), "type": socket.SOCK_STREAM | CLOEXEC,
         "proto": 0, "flags": P("PPM_O_CLOEXEC")}]
    assert trace.one("bind", fd=sfd).params == {"res": 0, "addr": sa4(LO, 0), "fd": sfd}
    assert trace.one("listen", fd=sfd).params == {"res": 0, "fd": sfd, "backlog": 5}
    assert trace.one("connect", exit=False, fd=cfd).params == {
        "fd": cfd, "addr": sa4(LO, sport)}
    assert trace.one("connect", fd=cfd).params == {
        "res": 0, "tuple": tup4(LO, cport, LO, sport), "fd": cfd, "addr": sa4(LO, sport)}
    assert trace.one("accept4").params == {
        "fd": afd, "tuple": tup4(LO, cport, LO, sport), "queuepct": 0, "queuelen": 0,
        "queuemax": 5, "flags": CLOEXEC}
    assert trace.one("sendto", fd=cfd).params == {
        "res": 4, "data": b"ping", "fd": cfd, "size": 4, "tuple": tup4(LO, cport, LO, sport)}
    assert trace.one("recvfrom", fd=afd).params == {
        "res": 4, "data": b"ping", "tuple": tup4(LO, cport, LO, sport), "fd": afd,
        "size": 64}
    assert trace.one("sendmsg", fd=cfd).params == {
        "res": 4, "data": b"abcd", "fd": cfd, "size": 4, "tuple": tup4(LO, cport, LO, sport)}
    assert trace.one("recvmsg", fd=afd).params == {
        "res": 4, "size": 100, "data": b"abcd", "tuple": tup4(LO, cport, LO, sport),
        "msgcontrol": None, "fd": afd}
    assert trace.one("shutdown", fd=cfd).params == {"res": 0, "fd": cfd, "how": P("PPM_SHUT_WR")}


def test_udp_unconnected_tuple_uses_the_address(trace: Tracer) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        srv.bind(("127.0.0.1", 0))
        sport = srv.getsockname()[1]
        cli.sendto(b"dgram", ("127.0.0.1", sport))
        cport = cli.getsockname()[1]
        data, peer = srv.recvfrom(100)
        assert data == b"dgram" and peer[1] == cport
        sfd, cfd = srv.fileno(), cli.fileno()
    finally:
        cli.close()
        srv.close()
    zero = bytes(4)
    assert trace.one("sendto", fd=cfd).params == {
        "res": 5, "data": b"dgram", "fd": cfd, "size": 5, "tuple": tup4(zero, cport, LO, sport)}
    assert trace.one("recvfrom", fd=sfd).params == {
        "res": 5, "data": b"dgram", "tuple": tup4(LO, cport, LO, sport), "fd": sfd,
        "size": 100}


def test_tcp_ipv6_connect(trace: Tracer) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    cli = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        try:
            srv.bind(("::1", 0))
        except OSError:
            pytest.skip("no ::1 in the VM")
        srv.listen(1)
        sport = srv.getsockname()[1]
        cli.connect(("::1", sport))
        cport = cli.getsockname()[1]
        cfd = cli.fileno()
    finally:
        cli.close()
        srv.close()
    one = socket.inet_pton(socket.AF_INET6, "::1")
    ev = trace.one("connect", fd=cfd)
    assert ev.params["res"] == 0
    assert ev.params["tuple"] == tup6(one, cport, one, sport)
    assert ev.params["addr"] == bytes([P("PPM_AF_INET6")]) + one + struct.pack("<H", sport)


def test_unix_socketpair_and_path_connect(trace: Tracer, tmp_path: Path) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(path)
        srv.listen(1)
        cli.connect(path)
        fds = a.fileno(), b.fileno(), cli.fileno(), srv.fileno()
    finally:
        for s in (a, b, srv, cli):
            s.close()
    afd, bfd, cfd, sfd = fds
    pair = trace.one("socketpair")
    src, peer = pair.params.pop("source"), pair.params.pop("peer")
    assert src and peer and src != peer
    assert pair.params == {"res": 0, "fd1": afd, "fd2": bfd, "domain": P("PPM_AF_UNIX"),
                           "type": socket.SOCK_STREAM | 0x80000, "proto": 0}
    assert trace.one("bind", fd=sfd).params == {
        "res": 0, "addr": bytes([P("PPM_AF_UNIX")]) + path.encode() + b"\0", "fd": sfd}
    conn = trace.one("connect", fd=cfd)
    tup = conn.params["tuple"]
    assert tup[0] == P("PPM_AF_UNIX")
    s_ptr, d_ptr = struct.unpack_from("<QQ", tup, 1)
    assert s_ptr and d_ptr and s_ptr != d_ptr
    assert tup[17:] == path.encode() + b"\0"
    assert conn.params["res"] == 0 and conn.params["fd"] == cfd
    assert conn.params["addr"] == bytes([P("PPM_AF_UNIX")]) + path.encode() + b"\0"
