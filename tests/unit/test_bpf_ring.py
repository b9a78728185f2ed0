# SPDX-License-Identifier: Apache-2.0
"""The C merge over BPF ring buffers (csrc/bpfring.c) with fake ring
buffers laid out as the kernel's and written as the kernel writes them:
record framing, the CPU prefix, reserved (busy) and discarded records,
malformed records, per-CPU counts, mixing with module rings.  The same code
reads the real ring buffers in tests/kernel (test_bpf_source.py,
test_source_live.py)."""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from falco.driver._falco_ffi import ffi, lib
from falco.driver.ring import RingReader

SIZE = 4 * 4096
PAGE = os.sysconf("SC_PAGESIZE")
HDR = struct.Struct("<QQIHI")


def event(ts: int, tid: int, code: int, payload: bytes = b"") -> bytes:
    """An event with one parameter (or none when code has none)."""
    nparams = 1 if payload else 0
    lens = struct.pack("<H", len(payload)) if payload else b""
    return HDR.pack(ts, tid, HDR.size + len(lens) + len(payload), code, nparams) + lens + payload


def record(cpu: int, evt: bytes) -> bytes:
    return struct.pack("<HHI", cpu, 0, 0) + evt


@dataclass
class FakeBpfRing:
    cons: Any
    prod: Any
    fd: int

    def write(self, rec: bytes, flags: int = 0) -> int:
        pos = lib.fsrc_bpf_fake_write(self.cons, self.prod, SIZE, rec, len(rec), flags)
        assert pos >= 0
        return int(pos)

    def commit(self, pos: int) -> None:
        lib.fsrc_bpf_fake_commit(self.prod, SIZE, pos)


@pytest.fixture
def rings() -> Iterator[list[FakeBpfRing]]:
    made: list[FakeBpfRing] = []
    for _ in range(2):
        fd = os.memfd_create("fake-bpf-ring")
        os.ftruncate(fd, 2 * PAGE + SIZE)
        cons, prod = ffi.new("void **"), ffi.new("void **")
        assert lib.fsrc_bpf_fake_map(fd, SIZE, cons, prod) == 0
        made.append(FakeBpfRing(cons[0], prod[0], fd))
    yield made
    for r in made:
        lib.fsrc_bpf_fake_unmap(r.cons, r.prod, SIZE)
        os.close(r.fd)


class Reader:
    """A RingReader whose rings are the fake BPF ring buffers."""

    def __init__(self, rings: list[FakeBpfRing], ncpus: int = 4) -> None:
        self.reader = RingReader(rings=[])
        self.percpu = ffi.new("uint64_t[]", 2 * ncpus)
        ds = self.reader._ds
        for i, r in enumerate(rings):
            lib.fsrc_bpf_ring_attach(ffi.addressof(ds.rings, i), r.cons, r.prod,
                                     ffi.cast("uint8_t *", r.prod) + PAGE, SIZE, i,
                                     self.percpu, ncpus)
        ds.nrings = len(rings)

    def batch(self) -> list[tuple[int, int, int, int]]:
        """(ts, tid, cpu, code) of one batch."""
        return [(ts, tid, cpu, code) for _, ts, tid, cpu, code, *_ in
                self.reader.next_batch(block=False).recs]

    def counts(self, cpu: int) -> tuple[int, int]:
        return int(self.percpu[2 * cpu]), int(self.percpu[2 * cpu + 1])

    def ring(self, i: int) -> Any:
        return self.reader._ds.rings[i]


def test_merge_by_timestamp_cpu_from_prefix(rings: list[FakeBpfRing]) -> None:
    # ring 0 holds events of CPUs 0 and 1 (a shared ring), ring 1 of CPU 2
    for ts, cpu in ((10, 0), (30, 1), (50, 0)):
        rings[0].write(record(cpu, event(ts, 100 + cpu, 3, b"x" * ts)))
    for ts in (20, 40):
        rings[1].write(record(2, event(ts, 102, 5)))
    rd = Reader(rings)
    assert rd.batch() == [(10, 100, 0, 3), (20, 102, 2, 5), (30, 101, 1, 3),
                          (40, 102, 2, 5), (50, 100, 0, 3)]
    assert [rd.counts(c) for c in range(3)] == [(2, 0), (1, 0), (2, 0)]
    assert rd.batch() == []
    # the consumer position was released to the "kernel"
    assert struct.unpack_from("<Q", ffi.buffer(rings[0].cons, 8))[0] == \
        struct.unpack_from("<Q", ffi.buffer(rings[0].prod, 8))[0]


def test_reserved_record_stops_its_ring_until_committed(rings: list[FakeBpfRing]) -> None:
    busy = rings[0].write(record(0, event(10, 1, 3)), lib.FSRC_BPF_FAKE_BUSY)
    rings[0].write(record(0, event(11, 1, 3)))
    rings[1].write(record(1, event(12, 2, 3)))
    rd = Reader(rings)
    assert rd.batch() == [(12, 2, 1, 3)]
    rings[0].commit(busy)
    assert rd.batch() == [(10, 1, 0, 3), (11, 1, 0, 3)]


def test_discarded_records_are_stepped_over(rings: list[FakeBpfRing]) -> None:
    rings[0].write(record(0, event(10, 1, 3)), lib.FSRC_BPF_FAKE_DISCARD)
    rings[0].write(record(0, event(11, 1, 3)))
    rd = Reader(rings)
    assert rd.batch() == [(11, 1, 0, 3)]
    assert rd.ring(0).corrupt == 0


def test_malformed_records_are_counted_not_delivered(rings: list[FakeBpfRing]) -> None:
    good = event(20, 1, 3)
    bad_len = bytearray(event(10, 1, 3, b"abc"))
    struct.pack_into("<I", bad_len, 16, 9999)   # header length != record length
    rings[0].write(record(0, bytes(bad_len)))
    rings[0].write(b"\0" * 12)                    # shorter than prefix + header
    rings[0].write(record(0, good))
    rings[1].write(record(7, event(30, 2, 3)))   # CPU beyond the counters
    rd = Reader(rings, ncpus=4)
    assert rd.batch() == [(20, 1, 0, 3), (30, 2, 7, 3)]
    assert rd.ring(0).corrupt == 2
    assert rd.counts(0) == (1, 0)


def test_producer_beyond_the_buffer_resyncs(rings: list[FakeBpfRing]) -> None:
    rings[0].write(record(0, event(10, 1, 3)))
    rd = Reader(rings)
    struct.pack_into("<Q", ffi.buffer(rings[0].prod, 8), 0, 10 * SIZE)
    assert rd.batch() == []
    assert rd.ring(0).corrupt == 1


def test_unwanted_events_are_skipped_in_c_and_counted(rings: list[FakeBpfRing]) -> None:
    from falco.driver.schema import get_schema
    schema = get_schema()
    close_x = [c for c in schema.codes("close") if c & 1][0]
    read_x = [c for c in schema.codes("read") if c & 1][0]
    rings[0].write(record(1, event(10, 1, close_x)))
    rings[0].write(record(1, event(11, 1, read_x)))
    rd = Reader(rings)
    rd.reader.set_interesting({"read"})
    assert [code for *_, code in rd.batch()] == [read_x]
    assert rd.counts(1) == (1, 1)


def test_module_and_bpf_rings_in_one_merge(rings: list[FakeBpfRing], tmp_path: Any) -> None:
    """A module-layout fake ring merged with a BPF ring buffer."""
    path = tmp_path / "kmod-ring"
    with open(path, "wb") as fh:
        fh.truncate(4096 + SIZE)
    fd = os.open(path, os.O_RDWR)
    info, data = ffi.new("void **"), ffi.new("uint8_t **")
    assert lib.fsrc_fake_map(fd, SIZE, 1, info, data) == 0
    try:
        ffi.cast("struct fprobe_ring_info *", info[0]).buffer_size = SIZE
        evs = event(15, 9, 3) + event(25, 9, 3)
        assert lib.fsrc_fake_write(info[0], data[0], evs, len(evs), 2) == 0
        rings[0].write(record(0, event(20, 1, 3)))
        rd = Reader(rings[:1])
        ds = rd.reader._ds
        lib.fsrc_ring_attach(ffi.addressof(ds.rings, 1), info[0], data[0], SIZE, 5)
        ds.nrings = 2
        assert rd.batch() == [(15, 9, 5, 3), (20, 1, 0, 3), (25, 9, 5, 3)]
    finally:
        lib.fsrc_fake_unmap(info[0], data[0], SIZE)
        os.close(fd)
