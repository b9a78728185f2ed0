# SPDX-License-Identifier: Apache-2.0
"""Event decoding: every parameter type, rendering, laziness, errors."""
from __future__ import annotations

import struct

import pytest

from falco.driver import schema as S
from falco.driver.schema import get_schema
from falco.errors import DecodeError
from falco.events import Event, SockAddr, SockTuple, encode_event, make_event
from falco.events.event import HDR_V1, v1_nparams


def test_openat_exit_self_contained() -> None:
    ev = make_event("openat", "<", {"fd": 3, "dirfd": -100,
                                    "name": "/etc/shadow",
                                    "flags": "O_RDONLY|O_CLOEXEC",
                                    "mode": 0o600, "dev": 0x803,
                                    "ino": 99}, tid=42, ts=5)
    assert (ev.name, ev.direction, ev.tid, ev.ts) == ("openat", "<", 42, 5)
    assert ev.param_names() == ["fd", "dirfd", "name", "flags", "mode",
                                "dev", "ino"]
    assert ev.res == 3
    assert ev.param("name") == "/etc/shadow"
    assert ev.param(2) == "/etc/shadow"
    assert ev.param("flags") == (1 << 0) | (1 << 12)
    assert ev.param_str("flags") == "O_RDONLY|O_CLOEXEC"
    assert ev.param_str("dirfd") == "-100(AT_FDCWD)"
    assert ev.param_str("mode") == "0600"
    assert ev.param("ino") == 99
    assert ev.param("nonexistent") is None


def test_errno_rendering_and_res() -> None:
    ev = make_event("openat", "<", {"fd": "ENOENT", "name": "/x"})
    assert ev.res == -2
    assert ev.param_str("fd") == "ENOENT"
    ev = make_event("close", "<", {"res": -9, "fd": 7})
    assert ev.param_str("res") == "EBADF"
    assert ev.res == -9
    assert make_event("close", ">", {"fd": 7}).res is None


def test_execve_strings_keep_separators() -> None:
    ev = make_event("execve", "<", {"res": 0, "exe": "/bin/ls",
                                    "args": ["-l", "/tmp"],
                                    "env": "A=1\0B=2",
                                    "cgroups": "cpu=/docker/abc\0memory=/m",
                                    "comm": "ls", "tid": 10, "pid": 10})
    assert ev.param("args") == "-l\0/tmp\0"
    assert ev.param("env") == "A=1\0B=2\0"
    assert ev.param("cgroups") == "cpu=/docker/abc\0memory=/m\0"
    assert ev.param_str("args") == "-l /tmp"
    assert ev.param("cwd") is None
    assert len(ev.info.params) == 31 == ev.nparams


def test_empty_is_not_absent() -> None:
    """Zero bytes of a buffer is the empty buffer; of any other type, no
    value; a parameter the event does not carry has no value either."""
    ev = make_event("execve", "<", {"res": 0, "exe": "id", "args": "",
                                    "env": [], "comm": "id", "cwd": ""})
    assert ev.param_raw("args") == b"" and ev.param("args") == ""
    assert ev.param("env") == "" and ev.param("cgroups") == ""
    assert ev.param("cwd") == ""              # one NUL: the empty string
    assert ev.param_raw("tty") == b"" and ev.param("tty") is None
    assert ev.param("trusted_exepath") is None
    assert ev.param("no_such_param") is None
    # one empty argument ("prog ''") is not no argument
    one = make_event("execve", "<", {"res": 0, "exe": "prog", "args": [""]})
    assert one.param_raw("args") == b"\0" and one.param("args") == "\0"
    w = make_event("write", "<", {"res": 0, "data": b"", "fd": 3})
    assert w.param("data") == b""
    # an old event without the parameter at all (fewer params)
    old = Event.from_bytes(struct.pack("<QQIHIHq", 1, 2, 36, w.code, 1, 8,
                                       5))
    assert old.nparams == 1 and old.res == 5
    assert old.param("data") is None and old.param_raw("data") is None


@pytest.mark.parametrize("tup", [
    SockTuple(2, "10.0.0.1", 40000, "192.168.1.2", 443),
    SockTuple(10, "2001:db8::3", 1234, "::1", 80),
    SockTuple(1, "0xffff8880aa", None, "0xffff8880bb", None, None,
              "/run/docker.sock"),
])
def test_socktuple_roundtrip(tup: SockTuple) -> None:
    ev = make_event("connect", "<", {"res": 0, "tuple": tup, "fd": 4})
    assert ev.param("tuple") == tup
    assert ev.param_str("tuple") == str(tup)


def test_socktuple_wire_order_is_sip_sport_dip_dport() -> None:
    ev = make_event("connect", "<", {
        "tuple": SockTuple(2, "1.2.3.4", 0x0102, "5.6.7.8", 0x0304)})
    assert ev.param_raw("tuple") == bytes([2, 1, 2, 3, 4, 2, 1, 5, 6, 7, 8,
                                           4, 3])


@pytest.mark.parametrize("addr", [SockAddr(2, "127.0.0.1", 80),
                                  SockAddr(10, "fe80::1", 53),
                                  SockAddr(1, path="/tmp/sock")])
def test_sockaddr_roundtrip(addr: SockAddr) -> None:
    ev = make_event("bind", "<", {"res": 0, "addr": addr, "fd": 3})
    assert ev.param("addr") == addr


def test_fdlist_and_dyn() -> None:
    ev = make_event("poll", ">", {"fds": [(3, 1), (4, 4)], "timeout": 10})
    assert ev.param("fds") == [(3, 1), (4, 4)]
    ev = make_event("ptrace", "<", {"res": 0, "addr": (0, 0x1000),
                                    "data": (1, 9), "request": "PTRACE_ATTACH",
                                    "pid": 77})
    assert ev.param("addr") == 0x1000
    assert ev.param("data") == 9
    assert ev.param_str("request") == "PTRACE_ATTACH"


def test_every_event_builds_and_decodes_empty() -> None:
    schema = get_schema()
    for info in schema.events:
        raw = encode_event(info.code, 1, 2, [])
        ev = Event.from_bytes(raw)
        assert ev.code == info.code
        assert ev.nparams == len(info.params)
        for i, p in enumerate(info.params):
            expect = (("" if p.name in ("args", "env", "cgroups") else b"")
                      if p.type == S.PT_BYTEBUF else None)
            assert ev.param(i) == expect, (info.name, p.name)


def _value_for(p: S.ParamInfo) -> object:
    if p.type in (S.PT_CHARBUF, S.PT_FSPATH, S.PT_FSRELPATH):
        return "/some/path"
    if p.type == S.PT_BYTEBUF:
        return "a\0b\0" if p.name in ("args", "env", "cgroups") \
            else b"\x00\xff"
    if p.type == S.PT_SOCKTUPLE:
        return SockTuple(2, "1.1.1.1", 1, "2.2.2.2", 2)
    if p.type == S.PT_SOCKADDR:
        return SockAddr(10, "::2", 9)
    if p.type == S.PT_FDLIST:
        return [(1, 2)]
    if p.type == S.PT_BOOL:
        return True
    if p.type in (S.PT_CHARBUFARRAY, S.PT_CHARBUF_PAIR_ARRAY):
        return b"opaque"
    if p.type == S.PT_DOUBLE:
        return 1.5
    if p.type in (S.PT_IPV4ADDR,):
        return "9.8.7.6"
    if p.type in (S.PT_IPV6ADDR,):
        return "fe80::9"
    if p.type == S.PT_DYN:
        return (0, 5) if p.dyn[0][0] != S.PT_BYTEBUF else (0, b"xy")
    if p.type in (S.PT_ERRNO, S.PT_FD, S.PT_PID, S.PT_INT64, S.PT_INT32,
                  S.PT_FD32, S.PT_PID32, S.PT_INT16, S.PT_INT8):
        return -3
    return 7


def test_every_event_roundtrips_typed_values() -> None:
    for info in get_schema().events:
        vals = [_value_for(p) for p in info.params]
        ev = Event.from_bytes(encode_event(info.code, 1, 2, vals))
        for i, p in enumerate(info.params):
            got = ev.param(i)
            want = vals[i]
            if p.type == S.PT_DYN:
                want = vals[i][1]  # type: ignore[index]
            assert got == want, (info.name, info.code, p.name)
            assert isinstance(ev.param_str(i), str)


def test_lazy_decoding() -> None:
    ev = make_event("read", "<", {"res": 3, "data": b"abc", "fd": 0,
                                  "size": 3})
    assert ev._values is None and ev._spans is None
    _ = (ev.name, ev.ts, ev.tid, ev.direction, ev.code)
    assert ev._values is None and ev._spans is None
    assert ev.param("data") == b"abc"
    assert set(ev._values or {}) == {1}


def test_generic_event_named_after_syscall() -> None:
    sc = get_schema().sc_names
    ev = make_event("syscall", "<", code=S.lib.PPME_GENERIC_X,
                    params=[sc.index("fstat")])
    assert ev.name == "fstat"


def test_v1_param_count() -> None:
    v2 = encode_event(S.lib.PPME_SYSCALL_OPEN_X, 1, 2,
                      [3, "/etc/passwd", 1, 0, 5])
    # drop the trailing empty "ino" param and the nparams field: an old event
    lens = v2[26:26 + 2 * 5]
    body = v2[26 + 2 * 6:]
    old = v2[:16] + struct.pack("<IH", HDR_V1 + len(lens) + len(body),
                                S.lib.PPME_SYSCALL_OPEN_X) + lens + body
    assert v1_nparams(old, 0, len(old), 6) == 5
    ev = Event.from_bytes(old, hdrlen=HDR_V1)
    assert ev.nparams == 5
    assert ev.param("name") == "/etc/passwd"
    assert ev.param("ino") is None


def test_truncated_event_raises_decode_error_with_offset() -> None:
    raw = bytearray(encode_event(S.lib.PPME_SYSCALL_CLOSE_X, 1, 2, [0, 5]))
    raw[26] = 200  # first param length far beyond the event
    ev = Event.from_bytes(bytes(raw))
    with pytest.raises(DecodeError) as exc:
        ev.param(0)
    assert exc.value.offset == 26
    with pytest.raises(DecodeError):
        Event.from_bytes(bytes(raw[:20]))


def test_bad_values_rejected() -> None:
    with pytest.raises(ValueError):
        make_event("openat", "<", {"flags": "O_NOPE"})
    with pytest.raises(ValueError):
        make_event("openat", "<", {"bogus": 1})
    with pytest.raises(KeyError):
        make_event("no_such_event", "<", {})
