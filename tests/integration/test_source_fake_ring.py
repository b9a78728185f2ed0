# SPDX-License-Identifier: Apache-2.0
"""The C ring reader against fake rings with the kernel's layout.

Writer threads (one per CPU, like the per-CPU producers) race the reader:
nothing is lost, nothing is reordered within a CPU, and the merged stream is
ordered by timestamp within each batch.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from falco.driver._falco_ffi import lib
from falco.driver.ring import RingReader, capture_plan, check_version
from falco.errors import DriverError, VersionMismatchError
from falco.events import encode_event
from falco.events.build import event_code
from falco.events.live import LiveSource
from support.fake_ring import FakeRing, close_all, fake_rings

READ_X = event_code("read", "<")
CLOSE_X = event_code("close", "<")
OPENAT_X = event_code("openat", "<")


def _ev(code: int, ts: int, tid: int, seq: int) -> bytes:
    if code == OPENAT_X:
        return encode_event(code, ts, tid, {"fd": seq, "name": f"/f/{seq}"})
    if code == READ_X:
        return encode_event(code, ts, tid, {"res": seq, "data": b"x" * (seq
                                                                        % 40),
                                            "fd": 3, "size": seq})
    return encode_event(code, ts, tid, {"res": 0, "fd": seq})


def _seq_of(e) -> int:
    return e.param({OPENAT_X: "fd", READ_X: "size", CLOSE_X: "fd"}[e.code])


@pytest.fixture
def rings(tmp_path: Path):
    rs = fake_rings(2, size=1 << 16, directory=str(tmp_path))
    yield rs
    close_all(rs)


def _writer(ring: FakeRing, n: int, stop: threading.Event) -> None:
    codes = (OPENAT_X, READ_X, CLOSE_X)
    i = 0
    while i < n and not stop.is_set():
        # ts strictly increasing per CPU; interleaved across CPUs
        blob = _ev(codes[i % 3], 1000 + 2 * i + ring.cpu, 100 + ring.cpu, i)
        if ring.write(blob):
            i += 1
        # a full ring is a drop in the kernel; here we retry to lose
        # nothing, but the drop counter still records the attempt


def test_writer_threads_race_reader(rings: list[FakeRing]) -> None:
    n = 20000
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(r, n, stop))
               for r in rings]
    src = LiveSource(rings=rings, batch_events=512, batch_bytes=1 << 15)
    got: dict[int, list[int]] = {0: [], 1: []}
    batches = 0
    try:
        for t in threads:
            t.start()
        while sum(len(v) for v in got.values()) < 2 * n:
            batch = src.next_batch()
            batches += 1
            ts = [e.ts for e in batch]
            assert ts == sorted(ts)
            for e in batch:
                got[e.cpu].append(_seq_of(e))
            assert batches < 10 * n, "reader stalled"
    finally:
        stop.set()
        for t in threads:
            t.join()
    for cpu in (0, 1):
        assert got[cpu] == list(range(n))
    st = src.stats()
    assert st.total.delivered == 2 * n
    assert st.total.corrupt == 0
    for r in rings:
        assert r.tail == r.head
        c = r.counters
        assert c["n_evts"] == n + c["n_drops_buffer"]


def test_unwanted_events_skipped_in_c(rings: list[FakeRing]) -> None:
    for i in range(300):
        assert rings[i % 2].write(_ev((OPENAT_X, READ_X, CLOSE_X)[i % 3],
                                      10 + i, 7, i))
    src = LiveSource(rings=rings, interesting={"close"})
    evs = src.next_batch(block=False)
    assert [e.name for e in evs] == ["close"] * 100
    assert [e.param("fd") for e in evs] == list(range(2, 300, 3))
    # evt.num counts skipped events too, in merged order
    assert [e.num for e in evs] == list(range(3, 301, 3))
    total = src.stats().total
    assert (total.delivered, total.skipped) == (100, 200)
    assert all(r.tail == r.head for r in rings)


def test_empty_rings_back_off(rings: list[FakeRing]) -> None:
    rd = RingReader(rings=rings)
    waits = []
    for _ in range(8):
        assert rd.next_batch(block=True).recs == []
        waits.append(rd.wait_us)
    assert waits == [min(500 * 2 ** (i + 1), 30000) for i in range(8)]
    rings[0].write(_ev(CLOSE_X, 5, 1, 1))
    assert len(rd.next_batch().recs) == 1
    assert rd.wait_us == 500
    assert rd.sleeps == 8


def test_batch_limits_keep_the_rest(rings: list[FakeRing]) -> None:
    for i in range(50):
        rings[0].write(_ev(CLOSE_X, i, 1, i))
    rd = RingReader(rings=rings, batch_events=16)
    sizes = []
    while True:
        b = rd.next_batch(block=False)
        if not b.recs:
            break
        sizes.append(len(b.recs))
    assert sizes == [16, 16, 16, 2]


def test_corrupt_record_is_skipped_not_looped(rings: list[FakeRing]) -> None:
    rings[0].write(_ev(CLOSE_X, 1, 1, 1))
    bad = bytearray(_ev(CLOSE_X, 2, 1, 2))
    bad[16:20] = (10).to_bytes(4, "little")  # len < header size
    rings[0].write_raw(bytes(bad))
    rings[1].write(_ev(CLOSE_X, 3, 1, 3))
    rd = RingReader(rings=rings)
    b = rd.next_batch(block=False)
    assert [r[4] for r in b.recs] == [CLOSE_X, CLOSE_X]
    st = rd.stats()
    assert st.per_cpu[0].corrupt == 1
    assert rd.next_batch(block=False).recs == []
    assert rings[0].tail == rings[0].head


def test_full_ring_counts_drops(tmp_path: Path) -> None:
    with FakeRing(0, size=4096, path=str(tmp_path / "r")) as ring:
        blob = _ev(CLOSE_X, 1, 1, 1)
        ok = sum(ring.write(blob) for _ in range(1000))
        c = ring.counters
        assert ok == 4096 // len(blob)
        assert c["n_drops_buffer"] == 1000 - ok
        assert c["n_evts"] == 1000


def test_version_check_messages() -> None:
    ok = (1 << 44) | (2 << 24)
    check_version("API", ok, 1, 0, 0, "/dev/falco0")
    check_version("API", ok, 1, 2, 0, "/dev/falco0")
    with pytest.raises(VersionMismatchError) as exc:
        check_version("API", ok, 1, 3, 0, "/dev/falco0")
    assert "API version 1.2.0" in str(exc.value)
    assert "modprobe" in str(exc.value)
    with pytest.raises(VersionMismatchError):
        check_version("schema", 2 << 44, 1, 0, 0, "/dev/falco0")


def test_missing_devices_message(tmp_path: Path) -> None:
    with pytest.raises(DriverError) as exc:
        RingReader(devices=[])
    assert "modprobe falco_probe" in str(exc.value) or \
        "loaded" in str(exc.value)
    with pytest.raises(DriverError) as exc:
        RingReader(devices=[str(tmp_path / "falco0")])
    assert "not loaded" in str(exc.value)


def test_permission_denied_message(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    dev = tmp_path / "falco0"
    dev.write_bytes(b"")
    dev.chmod(0)
    probe = ("import sys\n"
             "from falco.driver.ring import RingReader\n"
             "from falco.errors import DriverError\n"
             "try:\n"
             "    RingReader(devices=[sys.argv[1]])\n"
             "except DriverError as e:\n"
             "    print(e)\n"
             "    sys.exit(3)\n")
    argv = [sys.executable, "-c", probe, str(dev)]
    if os.geteuid() == 0:
        # Root ignores file modes; in a new user namespace it has no
        # capability over files owned by the real root.
        argv = ["unshare", "-U", *argv]
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert res.returncode == 3, res.stderr
    assert "run falco as root" in res.stdout


@pytest.mark.skipif(not lib.FSRC_HAVE_SYSCALLS, reason="no syscall table")
def test_capture_plan() -> None:
    sc, tps = capture_plan({"openat", "execve", "procexit", "fstat"})
    assert {257, 59, 5} <= sc
    assert 0 not in sc
    assert tps == {lib.FPROBE_TP_SYS_ENTER, lib.FPROBE_TP_SYS_EXIT,
                   lib.FPROBE_TP_SCHED_PROC_EXIT,
                   lib.FPROBE_TP_SCHED_PROC_EXEC}
    sc, tps = capture_plan(set())
    assert sc == set() and tps == set()
    sc, _ = capture_plan(None)
    assert len(sc) > 300


def test_event_numbers_count_trailing_skipped_events(
        rings: list[FakeRing]) -> None:
    src = LiveSource(rings=rings, interesting={"close"})
    rings[0].write(_ev(CLOSE_X, 1, 7, 1))
    rings[0].write(_ev(OPENAT_X, 2, 7, 2))
    rings[0].write(_ev(READ_X, 3, 7, 3))
    assert [e.num for e in src.next_batch(block=False)] == [1]
    assert src.next_batch(block=False) == []
    rings[1].write(_ev(OPENAT_X, 4, 7, 4))
    rings[1].write(_ev(CLOSE_X, 5, 7, 5))
    assert [e.num for e in src.next_batch(block=False)] == [5]
