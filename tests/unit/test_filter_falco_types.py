# SPDX-License-Identifier: Apache-2.0
"""The filter language's compile-time rules as Falco's filter compiler has
them (falcosecurity/libs, the version of our event table): which
transformers take which field types, what val() and a right-hand side
field may be, how literals are read for numbers, ports, booleans,
addresses and networks, the hex strings of bcontains/bstartswith,
escapes and NUL bytes, the operators of lists and buffers. Each case was
a difference found by reading libs' compiler and its tests; the accepted
forms are also evaluated on real events."""
from __future__ import annotations

import socket

import pytest

from falco.errors import RuleLoadError
from falco.filter import compile_condition, parse_condition
from support.contexts import EVENT_NAMES, REGISTRY, On, on


def compile_text(text: str):  # type: ignore[no-untyped-def]
    return compile_condition(parse_condition(text), REGISTRY,
                             all_evttypes=EVENT_NAMES)


@pytest.mark.parametrize("cond,message", [
    # transformers: tolower/toupper/basename take strings and paths,
    # b64 strings and buffers, len strings, paths, buffers and lists
    ("tolower(evt.buffer) = a", "'tolower' does not support type bytes"),
    ("basename(evt.buffer) = a", "'basename' does not support type bytes"),
    ("b64(fd.name) = a", "'b64' does not support type path"),
    ("len(fd.sip) = 1", "'len' does not support type ipaddr"),
    ("toupper(evt.rawres) = -1", "'toupper' does not support type int"),
    ("b64(evt.rawres) = -1", "'b64' does not support type int"),
    ("len(evt.is_open_read) = 1", "'len' does not support type bool"),
    # fields with comparison logic of their own take no transformer...
    ("toupper(proc.aname) = X", "'proc.aname' does not support transf"),
    ("len(proc.apid) = 1", "'proc.apid' does not support transformers"),
    ("toupper(evt.rawarg.res) = X", "'evt.rawarg' does not support trans"),
    # ... and no right-hand side field, on either side
    ("proc.name = val(proc.aname)", "'proc.aname' cannot be compared"),
    ("proc.aname = val(proc.name)", "'proc.aname' cannot be compared"),
    ("fd.net = val(fd.net)", "'fd.net' cannot be compared"),
    ("fd.types in (file) and fd.types = val(fd.types)",
     "'=' not supported for fd.types"),
    # val() takes a field, not a transformer; both sides the same type
    ("proc.name = val(tolower(proc.name))", "val() takes a field"),
    ("proc.name = val(fd.name)", "has incompatible type 'path'"),
    ("evt.type = val(evt.is_open_read)", "has incompatible type 'bool'"),
    ("tolower(proc.name) = val(fd.name)", "has incompatible type 'path'"),
    ("basename(fd.name) = val(fd.filename)", "incompatible type 'string'"),
    # numbers are decimal (scanf %d): no hex, fractions, trailing text
    ("proc.pid = 0x10", "'0x10' is not a valid number"),
    ("proc.pid = 1.5", "'1.5' is not a valid number"),
    ("proc.pid = '10 '", "'10 ' is not a valid number"),
    ("proc.pid = 1e3", "'1e3' is not a valid number"),
    ("proc.pid in (1, 0x2)", "'0x2' is not a valid number"),
    # a number must fit the field's width (Falco truncates silently:
    # sysdig 0.29.3 matches every event of CPU 0 with "evt.cpu = 65536");
    # an unsigned field takes negatives down to -2^(bits-1)
    ("user.uid = 4294967296", "does not fit a 32-bit unsigned field"),
    ("user.uid = -2147483649", "does not fit a 32-bit unsigned field"),
    ("group.gid in (0, 4294967296)", "does not fit a 32-bit unsigned"),
    ("evt.cpu = 65536", "does not fit a 16-bit signed field"),
    ("evt.cpu = 32768", "does not fit a 16-bit signed field"),
    ("fd.dev = 2147483648", "does not fit a 32-bit signed field"),
    ("proc.pid = 9223372036854775808", "does not fit a 64-bit signed"),
    ("proc.pid = -9223372036854775809", "does not fit a 64-bit signed"),
    ("evt.num = 18446744073709551616", "does not fit a 64-bit unsigned"),
    ("evt.rawtime > 18446744073709551616", "does not fit a 64-bit unsig"),
    ("len(proc.name) = 18446744073709551616", "does not fit a 64-bit"),
    # ports: digits or a service name, 16 bits (Falco truncates 65536 to 0)
    ("fd.sport = -1", "unrecognized protocol '-1'"),
    ("fd.sport = 65536", "'65536' is not a valid port (0..65535)"),
    ("fd.sport in (80, 70000)", "'70000' is not a valid port"),
    ("fd.sport = no-such-service-name", "unrecognized protocol"),
    # booleans: true or false
    ("evt.is_open_read = 1", "'1' is not a valid boolean"),
    ("evt.is_open_read = TRUE", "'TRUE' is not a valid boolean"),
    # an address is an address, a network is address/prefix
    ("fd.sip = 10.0.0.0/8", "'10.0.0.0/8' is not a valid IP address"),
    ("fd.snet = 10.0.0.1", "'10.0.0.1' is not a valid IP network"),
    ("fd.snet in (10.0.0.0/33)", "not a valid IP network"),
    # bcontains/bstartswith: pairs of hex digits only, on buffers only
    ("evt.buffer bcontains '68 65'", "is not a hex byte string"),
    ("evt.buffer bcontains ' 6865'", "is not a hex byte string"),
    ("evt.buffer bcontains 0x68", "is not a hex byte string"),
    ("evt.buffer bcontains 686", "is not a hex byte string"),
    ("evt.buffer bstartswith 2g", "is not a hex byte string"),
    ("evt.buffer bcontains ''", "is not a hex byte string"),
    ("evt.buffer bcontains \"\\x00\"", "is not a hex byte string"),
    ("proc.name bcontains 41", "'bcontains' not supported for proc.name"),
    ("fd.name bstartswith 2f", "'bstartswith' not supported for fd.name"),
    # lists take in, intersects and exists only
    ("fd.types = file", "'=' not supported for fd.types"),
    ("fd.types contains file", "'contains' not supported for fd.types"),
    # a value cannot hold a NUL byte, except a buffer's
    ("proc.name = \"\\x00\"", "cannot contain a NUL byte"),
    ("proc.name contains \"a\\x00\"", "cannot contain a NUL byte"),
])
def test_refused_like_falco(cond: str, message: str) -> None:
    with pytest.raises(RuleLoadError) as info:
        compile_text(cond)
    assert message in str(info.value)


@pytest.mark.parametrize("cond,message", [
    ("proc.name = \"\\q\"", "unsupported escape sequence \\q"),
    ("proc.name = \"\\x4\"", "invalid hex escape"),
    ("proc.name = \"\\xg1\"", "invalid hex escape"),
    ("proc.name = 'a\\\"b'", "invalid \\\" escape in a '-quoted string"),
    ("proc.name = \"a\\'b\"", "invalid \\' escape in a \"-quoted string"),
])
def test_escapes_refused_like_falco(cond: str, message: str) -> None:
    with pytest.raises(RuleLoadError) as info:
        parse_condition(cond)
    assert message in str(info.value)


HTTP = socket.getservbyname("http")          # 80 in the services database


@pytest.mark.parametrize("cond,where,expected", [
    # numbers: leading blanks and a sign are fine, leading zeros decimal
    ("proc.pid = ' 16'", on(pid=16), True),
    ("proc.pid = +16", on(pid=16), True),
    ("proc.pid = 016", on(pid=16), True),
    ("proc.pid in (015, 16)", on(pid=16), True),
    # a negative number against an unsigned field is its two's complement
    # (sysdig 0.29.3: "user.uid = -1" matches an unknown user, 4294967295,
    # "user.uid > -1" nothing); signed fields compare as signed
    ("user.uid = -1", on(uid=-1), True),
    ("user.uid = 4294967295", on(uid=-1), True),
    ("user.uid in (0, -1)", on(uid=-1), True),
    ("user.uid = -1", on(uid=0), False),
    ("user.uid > -1", on(uid=5), False),
    ("user.uid < -1", on(uid=5), True),
    ("user.uid = -2147483648", on(uid=2147483648), True),
    ("group.gid = -1", on(uid=-1), True),
    ("user.uid = 4294967295 and group.gid = 4294967295", on(uid=-1), True),
    ("proc.pid > -1", on(pid=16), True),
    ("proc.pid = -16", on(pid=16), False),
    ("len(proc.name) < -1", on(comm="cat"), True),
    ("len(proc.name) = 3", on(comm="cat"), True),
    # ports: digits, a service name, nothing (0)
    ("fd.sport = 80", on("connect"), True),
    (f"fd.sport = http and fd.sport = {HTTP}", on("connect"), True),
    ("fd.sport in (https, http)", on("connect"), True),
    ("fd.sport = ''", on("connect"), False),
    # buffers: endswith; bcontains/bstartswith hex in either case
    ("evt.buffer endswith 'lo'", on("write", data=b"hello"), True),
    ("evt.buffer endswith 'he'", on("write", data=b"hello"), False),
    ("evt.buffer bcontains 656C6c", on("write", data=b"hello"), True),
    ("evt.buffer bstartswith 68656C", on("write", data=b"hello"), True),
    ("evt.buffer bstartswith 65", on("write", data=b"hello"), False),
    ("evt.buffer bcontains 610062", on("write", data=b"a\0b"), True),
    ("evt.buffer = \"a\\x00b\"", on("write", data=b"a\0b"), True),
    ("evt.buffer = \"ab\"", on("write", data=b"a\0b"), False),
    # b64 of a buffer is a buffer
    ("b64(evt.buffer) = 'aGVsbG8='", on("write", data=b"aGVsbG8="), False),
    ("b64(evt.buffer) = hello", on("write", data=b"aGVsbG8="), True),
    ("len(evt.buffer) = 5", on("write", data=b"hello"), True),
    # transformers keep the type: a transformed path compares with a path
    ("tolower(fd.name) = val(fd.name)", on(name="/etc/x"), True),
    ("tolower(fd.name) = val(fd.name)", on(name="/etc/X"), False),
    ("basename(fd.name) = x", on(name="/etc/x"), True),
    ("fd.name = tolower(fd.name)", on(name="/etc/x"), True),
    ("proc.name = toupper(proc.name)", on(comm="cat"), False),
    ("tolower(fd.types) in (file)", on("brk", fds=["file"]), True),
    ("len(fd.types) = 2", on("brk", fds=["file", "pipe"]), True),
    # escapes: \xHH is a byte, "\ " a lone backslash, \/ a slash
    ("proc.name = \"c\\x61t\"", on(comm="cat"), True),
    ("proc.name = \"c\\/t\"", on(comm="c/t"), True),
    ("proc.name = \"c\\ t\"", on(comm="c\\t"), True),
    # an address and a network
    ("fd.sip = 10.0.0.2", on("connect", sip="10.0.0.2"), True),
    ("fd.snet = 10.0.0.0/8", on("connect", sip="10.0.0.2"), True),
    ("fd.snet = 10.9.9.9/8", on("connect", sip="10.0.0.2"), True),
])
def test_accepted_like_falco(cond: str, where: On, expected: bool) -> None:
    assert compile_text(cond).predicate(where.build()) is expected
