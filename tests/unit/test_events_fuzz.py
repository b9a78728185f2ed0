# SPDX-License-Identifier: Apache-2.0
"""Fuzzing the event decoder and the capture block reader.

Bad input may only raise DecodeError / CaptureError, never crash or loop.
Inputs that once broke the code are kept under tests/data/events/fuzz/ and
replayed here.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco.driver._falco_ffi import ffi, lib
from falco.driver.schema import get_schema
from falco.errors import CaptureError, DecodeError
from falco.events import Event, SockTuple, encode_event, make_event
from falco.events.capture_state import ProcEntry, FdEntry, ScapFdType
from falco.events.scap import CaptureReader
from falco.events.scap_writer import ScapWriter

DATA = Path(__file__).resolve().parents[1] / "data" / "events" / "fuzz"
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def decode_all(ev: Event) -> None:
    for i in range(ev.nparams):
        ev.param(i)
        ev.param_str(i)
    _ = ev.name, ev.res, str(ev)


def try_event(raw: bytes, hdrlen: int = 26) -> None:
    try:
        decode_all(Event.from_bytes(raw, hdrlen=hdrlen))
    except DecodeError:
        pass


codes = st.integers(0, len(get_schema().events) - 1)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_as_event(raw: bytes) -> None:
    try_event(raw)
    try_event(raw, hdrlen=22)


@SETTINGS
@given(codes, st.binary(max_size=200), st.integers(0, 40))
def test_random_payload_with_valid_header(code: int, body: bytes,
                                          nparams: int) -> None:
    raw = struct.pack("<QQIHI", 1, 2, 26 + len(body), code, nparams) + body
    try_event(raw)


@SETTINGS
@given(codes, st.data())
def test_mutated_valid_events(code: int, data: st.DataObject) -> None:
    info = get_schema().events[code]
    raw = bytearray(encode_event(code, 1, 2, [None] * len(info.params)))
    if info.params:
        # give every param some bytes, then corrupt them
        blobs = [data.draw(st.binary(max_size=40)) for _ in info.params]
        lsize = 4 if info.large else 2
        fmt = "<I" if info.large else "<H"
        body = b"".join(struct.pack(fmt, len(b)) for b in blobs) + \
            b"".join(blobs)
        raw = bytearray(struct.pack("<QQIHI", 1, 2, 26 + len(body), code,
                                    len(blobs)) + body)
        assert lsize
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try_event(bytes(raw))


def _small_capture(path: Path) -> bytes:
    with ScapWriter(path, procs=[ProcEntry(tid=5, pid=5, ptid=1, comm="x",
                                           args=["a"], cgroups=[("c", "/")])],
                    fds=[FdEntry(tid=5, fd=3, type=ScapFdType.FILE_V2,
                                 name="/f")]) as w:
        for i in range(20):
            w.write_event(make_event("connect", "<", {
                "res": -i, "fd": i,
                "tuple": SockTuple(2, "1.2.3.4", i, "5.6.7.8", 80)},
                ts=i, tid=5))
    return path.read_bytes()


def read_everything(path: Path, size: int) -> None:
    # an event block is at least 12 bytes; gzip can expand ~1000x
    bound = size * 1032 // 12 + 1 if path.suffix == ".gz" else size // 12 + 1
    try:
        with CaptureReader(path) as rd:
            n = 0
            for ev in rd:
                n += 1
                assert n <= bound, "reader loops"
                decode_all(ev)
    except (DecodeError, CaptureError):
        pass


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _small_capture(tmp_path_factory.mktemp("cap") / "small.scap")


@SETTINGS
@given(data=st.data())
def test_mutated_capture(small: bytes,
                         tmp_path_factory: pytest.TempPathFactory,
                         data: st.DataObject) -> None:
    buf = bytearray(small)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.integers(0, 2))
        pos = data.draw(st.integers(0, len(buf) - 1))
        if kind == 0:
            buf[pos] = data.draw(st.integers(0, 255))
        elif kind == 1:
            del buf[pos:pos + data.draw(st.integers(1, 16))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        if not buf:
            buf = bytearray(b"\0")
    path = tmp_path_factory.mktemp("m") / "m.scap"
    path.write_bytes(bytes(buf))
    read_everything(path, len(buf))


@SETTINGS
@given(st.binary(max_size=400), st.integers(0, 3))
def test_c_block_scanner_random(buf: bytes, start: int) -> None:
    recs = ffi.new("struct fsrc_rec[]", 8)
    pos = ffi.new("uint64_t *", min(start, len(buf)))
    n = ffi.new("int *")
    skipped = ffi.new("uint64_t *")
    seen = ffi.new("uint64_t *")
    for _ in range(len(buf) + 2):
        before = pos[0]
        rc = lib.fsrc_scan_events(ffi.from_buffer(buf), len(buf), pos, recs,
                                  8, n, ffi.NULL, skipped, seen)
        assert before <= pos[0] <= len(buf)
        for i in range(n[0]):
            assert recs[i].off + recs[i].len <= len(buf)
        if rc != lib.FSRC_SCAN_FULL:
            break


def test_gzip_garbage(tmp_path: Path) -> None:
    good = gzip.compress(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
    bad = tmp_path / "bad.scap.gz"
    bad.write_bytes(good[:20] + b"\xff" * 20 + good[40:])
    with pytest.raises((CaptureError, DecodeError)):
        with CaptureReader(bad) as rd:
            list(rd)


def test_regression_corpus(tmp_path: Path) -> None:
    files = sorted(DATA.glob("*"))
    assert files, "regression corpus missing"
    for f in files:
        data = f.read_bytes()
        if f.suffix == ".evt":
            try_event(data)
        else:
            p = tmp_path / f.name
            p.write_bytes(data)
            read_everything(p, len(data))


@SETTINGS
@given(blobs=st.lists(st.binary(min_size=1, max_size=120), max_size=8))
def test_ring_reader_random_records(blobs: list[bytes]) -> None:
    """Garbage published in a ring is skipped and counted, never looped on."""
    from support.fake_ring import FakeRing
    from falco.driver.ring import RingReader
    ring = FakeRing(0, size=4096)
    try:
        for blob in blobs:
            if ring.head - ring.tail + len(blob) <= ring.size:
                ring.write_raw(blob)
        rd = RingReader(rings=[ring])
        for _ in range(len(blobs) * 30 + 2):
            if not rd.next_batch(block=False).recs and ring.tail == ring.head:
                break
        assert ring.tail == ring.head
    finally:
        ring.close()
