# SPDX-License-Identifier: Apache-2.0
"""The prefilter program format: the C validator (the one the module runs)
refuses every malformed program, and the evaluator follows the semantics
of docs/ARCHITECTURE.md on real events."""
from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco.driver._falco_ffi import lib
from falco.events import SockTuple, make_event
from falco.prefilter.ir import (ARG_COMM, OP_EQ, OP_GT, OP_LT, OP_MASK,
                                OP_PATH_CLEAN, OP_PATH_DIR, OP_PRESENT,
                                OP_STR_CONTAINS, OP_STR_EQ, OP_STR_PREFIX,
                                OP_STR_SUFFIX, SIGNED, TRUE, Check, all_of,
                                any_of, negate)
from falco.prefilter.program import (DROP, HEADER, INSN, PASS, decode, emit,
                                     evaluate, validate)

EINVAL = -errno.EINVAL
OPENAT_X = make_event("openat", "<", {
    "fd": 3, "dirfd": -100, "name": "/etc/shadow", "flags": "O_RDONLY",
    "mode": 0, "dev": 1, "ino": 2})
CODE = OPENAT_X.code


def blob_of(exprs: dict) -> bytes:
    return emit(exprs).blob


def one(test: Check) -> bytes:
    return blob_of({CODE: test})


def build(insns: list[tuple], strtab: bytes = b"", entry: int = 0,
          **hdr: int) -> bytes:
    """A hand-made program: every code PASS but CODE -> ``entry``."""
    table = [PASS] * lib.FPROBE_PF_NCODES
    table[CODE] = entry
    head = HEADER.pack(hdr.get("magic", lib.FPROBE_PF_MAGIC),
                       hdr.get("version", lib.FPROBE_PF_VERSION),
                       hdr.get("flags", 0),
                       hdr.get("n_insns", len(insns)),
                       hdr.get("strtab_len", len(strtab)),
                       hdr.get("r0", 0), 0, 0, 0, *table)
    return head + b"".join(INSN.pack(*i) for i in insns) + strtab


GOOD = (OP_EQ, 0, 0, 8 | SIGNED, PASS, DROP, 3)


def test_emitted_programs_validate_and_share_code() -> None:
    t = Check(OP_EQ, 0, 0, 8 | SIGNED, 3)
    p = emit({CODE: t, CODE + 2: t, CODE - 2: TRUE})
    assert validate(p.blob) == 0
    entries, insns, _ = decode(p.blob)
    assert entries[CODE] == entries[CODE + 2] == 0 and len(insns) == 1
    assert entries[CODE - 2] == PASS and entries[1] == PASS


def test_hand_made_program_is_valid() -> None:
    assert validate(build([GOOD])) == 0


@pytest.mark.parametrize("blob", [
    build([GOOD], magic=0),
    build([GOOD], version=2),
    build([GOOD], flags=1),
    build([GOOD], r0=1),
    build([GOOD], n_insns=2),
    build([GOOD], strtab_len=1),
    build([GOOD])[:-1],
    build([GOOD]) + b"\0",
    build([], entry=0),                                  # entry past end
    build([(OP_EQ, 0, 0, 8, 0, DROP, 0)]),               # jumps to itself
    build([GOOD, (OP_EQ, 0, 0, 8, 0, DROP, 0)], entry=1),  # backwards
    build([(OP_EQ, 0, 0, 8, 5, DROP, 0)]),               # past the end
    build([(0, 0, 0, 8, PASS, DROP, 0)]),                # invalid op
    build([(lib.FPROBE_PF_OP_MAX, 0, 0, 8, PASS, DROP, 0)]),
    build([(OP_EQ, 32, 0, 8, PASS, DROP, 0)]),           # param index
    build([(OP_EQ, 0, 0, 3, PASS, DROP, 0)]),            # width
    build([(OP_EQ, 0, 0, 0x48, PASS, DROP, 0)]),         # width bits
    build([(OP_MASK, 0, 0, 8, PASS, DROP, 0)]),          # mask > 4 bytes
    build([(OP_EQ, ARG_COMM, 0, 8, PASS, DROP, 0)]),     # comm is a string
    build([(OP_EQ, 0, 10, 8, PASS, DROP, 0)]),           # sub out of range
    build([(OP_EQ, 0, 4, 8, PASS, DROP, 0)]),            # path part as int
    build([(OP_STR_EQ, ARG_COMM, 1, 0, PASS, DROP, 0)]),  # comm has no parts
    build([(OP_STR_EQ, 1, 0, 4, PASS, DROP, 0)]),        # width on string
    build([(OP_STR_EQ, 1, 0, 0, PASS, DROP, (4 << 32) | 0)], b"abc"),
    build([(OP_STR_EQ, 1, 0, 0, PASS, DROP, (1 << 32) | 3)], b"abc"),
    build([(OP_STR_EQ, 1, 0, 0, PASS, DROP, 257 << 32)], b"a" * 300),
    build([(OP_STR_CONTAINS, 1, 0, 0, PASS, DROP, 33 << 32)], b"a" * 40),
    build([(OP_PATH_DIR, 1, 0, 0, PASS, DROP, 3 << 32)], b"abc"),
    build([(OP_PATH_DIR, 1, 0, 0, PASS, DROP, 0)]),
    build([(OP_PATH_CLEAN, 1, 0, 0, PASS, DROP, 0)]),
    build([(OP_PATH_CLEAN, 1, 0, 0, PASS, DROP, 4097)]),
    build([(OP_PATH_CLEAN, 1, 1, 0, PASS, DROP, 10)]),
    build([(OP_PRESENT, 1, 0, 0, PASS, DROP, 1)]),
    b"",
    b"\0" * 8,
])
def test_malformed_programs_are_refused(blob: bytes) -> None:
    assert validate(blob) == EINVAL


def test_codes_beyond_the_schema_must_pass() -> None:
    blob = bytearray(build([GOOD]))
    off = struct.calcsize("<IHHII4I") + 2 * lib.PPM_EVENT_MAX
    blob[off:off + 2] = struct.pack("<H", DROP)
    assert validate(bytes(blob)) == EINVAL


def test_limits() -> None:
    n = lib.FPROBE_PF_MAX_INSNS
    insns = [(OP_EQ, 0, 0, 8, i + 1 if i + 1 < n else PASS, DROP, 0)
             for i in range(n)]
    assert validate(build(insns)) == 0
    insns.append((OP_EQ, 0, 0, 8, PASS, DROP, 0))
    assert validate(build(insns)) == EINVAL


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1200))
def test_random_bytes_never_crash_the_validator(data: bytes) -> None:
    assert validate(data) in (0, EINVAL)
    prefix = build([GOOD])[:HEADER.size]
    assert validate(prefix + data) in (0, EINVAL)


_insn = st.tuples(st.integers(0, 15), st.integers(0, 255),
                  st.integers(0, 12), st.integers(0, 255),
                  st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
                  st.integers(0, (1 << 64) - 1))
_smallinsn = st.tuples(
    st.integers(1, 11), st.sampled_from([0, 1, 2, 3, ARG_COMM]),
    st.integers(0, 9), st.sampled_from([0, 1, 2, 4, 8, 0x84, 0x88]),
    st.sampled_from([PASS, DROP, 1, 2, 3]),
    st.sampled_from([PASS, DROP, 1, 2, 3]),
    st.one_of(st.integers(0, 64), st.integers(0, 4) .map(lambda n: n << 32),
              st.integers(0, (1 << 64) - 1)))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_insn, _smallinsn), max_size=6),
       st.binary(max_size=40))
def test_random_programs_validate_or_not_and_evaluate_safely(
        insns: list, strtab: bytes) -> None:
    blob = build(insns, strtab)
    rc = validate(blob)
    assert rc in (0, EINVAL)
    if rc == 0:
        for ev in (OPENAT_X, CONNECT_X):
            assert evaluate(blob, ev.raw) in (PASS, DROP)
            assert evaluate(blob, ev.raw, comm="x") in (PASS, DROP)


CONNECT_X = make_event("connect", "<", {
    "res": 0, "fd": 4,
    "tuple": SockTuple(2, "10.1.2.3", 40000, "192.168.0.7", 443)})


def verdict(test: Check, ev=OPENAT_X, comm: str | None = None) -> int:
    return evaluate(emit({ev.code: test}).blob, ev.raw, comm=comm)


def test_integer_tests() -> None:
    assert verdict(Check(OP_EQ, 0, 0, 8 | SIGNED, 3)) == PASS
    assert verdict(Check(OP_EQ, 0, 0, 8 | SIGNED, 4)) == DROP
    minus = (-5) & ((1 << 64) - 1)
    assert verdict(Check(OP_GT, 0, 0, 8 | SIGNED, minus)) == PASS
    assert verdict(Check(OP_LT, 0, 0, 8 | SIGNED, minus)) == DROP
    # a width that does not match the parameter cannot be evaluated
    assert verdict(Check(OP_EQ, 0, 0, 4, 99)) == PASS
    # flags: O_RDONLY is bit 0
    assert verdict(Check(OP_MASK, 3, 0, 4, (1 << 32) | 1)) == PASS
    assert verdict(Check(OP_MASK, 3, 0, 4, (2 << 32) | 2)) == DROP


def test_string_and_path_tests() -> None:
    assert verdict(Check(OP_STR_EQ, 2, text=b"/etc/shadow")) == PASS
    assert verdict(Check(OP_STR_EQ, 2, text=b"/etc/shado")) == DROP
    assert verdict(Check(OP_STR_PREFIX, 2, text=b"/etc/")) == PASS
    assert verdict(Check(OP_STR_SUFFIX, 2, text=b"/shadow")) == PASS
    assert verdict(Check(OP_STR_CONTAINS, 2, text=b"c/sh")) == PASS
    assert verdict(Check(OP_STR_CONTAINS, 2, text=b"xx")) == DROP
    assert verdict(Check(OP_PATH_CLEAN, 2, imm=1023)) == PASS
    assert verdict(Check(OP_PATH_CLEAN, 2, imm=5)) == DROP
    assert verdict(Check(OP_PATH_DIR, 2, text=b"/etc/")) == PASS
    assert verdict(Check(OP_PATH_DIR, 2, text=b"/")) == DROP
    for bad in ("/etc//x", "/etc/./x", "/etc/../x", "/etc/", "etc/x"):
        ev = make_event("openat", "<", {"fd": 3, "dirfd": -100,
                                        "name": bad, "flags": 1})
        assert verdict(Check(OP_PATH_CLEAN, 2, imm=1023), ev) == DROP, bad


def test_comm_unknown_passes() -> None:
    t = Check(OP_STR_EQ, ARG_COMM, text=b"cat")
    assert verdict(t, comm="cat") == PASS
    assert verdict(t, comm="dog") == DROP
    assert verdict(t) == PASS


def test_tuple_parts() -> None:
    port = Check(OP_EQ, 1, 8, 2, 443)      # TU_DPORT
    assert verdict(port, CONNECT_X) == PASS
    assert verdict(Check(OP_EQ, 1, 6, 2, 443), CONNECT_X) == DROP
    fam = Check(OP_EQ, 1, 1, 1, 2)
    assert verdict(fam, CONNECT_X) == PASS
    net = int.from_bytes(bytes([192, 168, 0, 0]), "little")
    mask = int.from_bytes(bytes([255, 255, 0, 0]), "little")
    assert verdict(Check(OP_MASK, 1, 7, 4, (mask << 32) | net),
                   CONNECT_X) == PASS
    # a unix part of an inet tuple cannot be evaluated
    assert verdict(Check(OP_STR_EQ, 1, 9, text=b"/x"), CONNECT_X) == PASS


def test_missing_and_empty_parameters_pass() -> None:
    ev = make_event("openat", "<", {"fd": 3, "dirfd": -100, "flags": 1})
    assert verdict(Check(OP_STR_EQ, 2, text=b"/x"), ev) == PASS
    assert verdict(Check(OP_PRESENT, 2), ev) == DROP
    assert verdict(Check(OP_EQ, 20, 0, 8, 0), ev) == PASS


def test_boolean_structure() -> None:
    a = Check(OP_STR_PREFIX, 2, text=b"/etc/")
    b = Check(OP_EQ, 0, 0, 8 | SIGNED, 4)
    assert verdict(all_of(a, b)) == DROP
    assert verdict(any_of(a, b)) == PASS
    assert verdict(all_of(a, negate(b))) == PASS
    assert verdict(negate(any_of(a, b))) == DROP
