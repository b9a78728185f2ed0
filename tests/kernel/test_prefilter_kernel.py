# SPDX-License-Identifier: Apache-2.0
"""The prefilter in the module: every program goes through the validator
(the one userspace runs: the ioctl agrees with it on thousands of random
and malformed programs, refusing bad ones with -EINVAL), programs compiled
from rules keep exactly the events they should, a full ring tells
filtered events from drops, and programs swapped 100 times under a
syscall storm leave the accounting exact (seen = delivered + filtered +
dropped, per CPU)."""
from __future__ import annotations

import errno
import fcntl
import os
import random
import struct
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pytest

from falco.app.backend import event_names, state_events
from falco.driver._falco_ffi import ffi, lib
from falco.driver.ring import RingReader
from falco.fields import default_registry
from falco.prefilter.analysis import Settings, analyze
from falco.prefilter.ir import OP_EQ, TRUE, Check
from falco.prefilter.program import (DROP, HEADER, INSN, PASS, emit,
                                     validate)
from falco.rules import load_rules

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
PARAM = Path("/sys/module/falco_probe/parameters/buffer_bytes")
REGISTRY = default_registry()
STORM = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]), i;
	for (i = 0; n < 0 || i < n; i++) {
		syscall(SYS_getppid);
		close(open(i & 1 ? "/dev/null" : "/tmp/pf-storm", O_RDONLY));
		if (i % 64 == 0)
			usleep(500);
	}
	return 0;
}
"""


def compile_rules(text: str, **kw: object) -> tuple[frozenset[str] | None,
                                                      bytes | None]:
    rules = load_rules([("r.yaml", text)], REGISTRY,
                       all_evttypes=event_names())
    a = analyze(rules.enabled_rules, REGISTRY,
                Settings(legacy_state=state_events(), **kw))  # type: ignore
    return a.event_names, a.program_blob


def rule(cond: str) -> str:
    return (f"- rule: r\n  desc: d\n  condition: {cond}\n"
            "  output: o %proc.name %fd.name\n  priority: WARNING\n")


@pytest.fixture
def reader() -> Iterator[RingReader]:
    r = RingReader()
    yield r
    r.close()


@pytest.fixture
def storm(cc: Callable[[str, str], Path]) -> Iterator[Callable[[], None]]:
    exe = cc("pfstorm", STORM)
    Path("/tmp/pf-storm").write_text("x")
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(["nice", "-n", "19", str(exe), "-1"]))
    yield start
    for p in procs:
        p.kill()
        p.wait()


def drain(reader: RingReader, rounds: int = 50) -> list[tuple]:
    """Read until the rings stay empty (raw records)."""
    out: list[tuple] = []
    empty = 0
    while empty < 3 and rounds > 0:
        batch = reader.next_batch(block=False)
        rounds -= 1
        if batch.recs:
            out += batch.recs
            empty = 0
        else:
            empty += 1
            time.sleep(0.01)
    return out


def until(cond: Callable[[], bool], limit: float = 120.0) -> bool:
    """Poll ``cond`` until it holds (False after ``limit`` seconds)."""
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def assert_exact(reader: RingReader) -> Counter[str]:
    """Per ring: seen == read by us + filtered + dropped."""
    total: Counter[str] = Counter()
    for s in reader.stats().per_cpu:
        read = s.delivered + s.skipped + s.corrupt
        assert s.corrupt == 0, s
        assert s.n_evts == read + s.n_filtered + s.dropped, s
        total.update({"seen": s.n_evts, "filtered": s.n_filtered,
                      "dropped": s.dropped, "read": read})
    return total


def ioctl(reader: RingReader, blob: bytes) -> int:
    fd = reader._ds.rings[0].fd
    return int(lib.fsrc_ioctl_prefilter(fd, ffi.from_buffer(blob),
                                        len(blob)))


# -- validation through the ioctl ------------------------------------------------
def _mutate(rng: random.Random, blob: bytes) -> bytes:
    b = bytearray(blob)
    kind = rng.randrange(6)
    if kind == 0 and b:                               # flip bytes
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:                                   # truncate / extend
        b = b[:rng.randrange(len(b) + 1)] if rng.random() < 0.5 else \
            b + bytes(rng.randrange(64))
    elif kind == 2 and len(b) > HEADER.size:          # one insn field
        n = (len(b) - HEADER.size) // INSN.size
        if n:
            off = HEADER.size + rng.randrange(n) * INSN.size + \
                rng.choice([0, 1, 2, 3, 4, 6, 8])
            b[off] = rng.randrange(256)
    elif kind == 3:                                   # an entry
        off = struct.calcsize("<IHHII4I") + 2 * rng.randrange(512)
        b[off:off + 2] = struct.pack("<H", rng.randrange(1 << 16))
    elif kind == 4:
        b = bytearray(rng.randbytes(rng.randrange(2048)))
    return bytes(b)


def test_ioctl_validates_like_userspace_and_refuses_with_einval(
        reader: RingReader, storm: Callable[[], None]) -> None:
    reader.set_interesting({"openat", "close", "getppid"})
    storm()
    _, default = compile_rules(
        (ROOT / "rules" / "falco_rules.yaml").read_text())
    _, small = compile_rules(rule("evt.type = openat and fd.name "
                                  "startswith /tmp and proc.name = x"))
    assert default is not None and small is not None
    bases = [default, small, emit({307: TRUE}).blob,
             emit({3: Check(OP_EQ, 0, 0, 0x88, 3)}).blob]
    rng = random.Random(11)
    counts: Counter[str] = Counter()
    for i in range(2000):
        blob = _mutate(rng, rng.choice(bases))
        want = validate(blob) if blob else -errno.EINVAL
        got = ioctl(reader, blob) if blob else -errno.EINVAL
        assert got == (0 if want == 0 else -errno.EINVAL), (i, want, got)
        counts["accepted" if got == 0 else "refused"] += 1
        if i % 200 == 0:
            drain(reader, 5)
    assert counts["accepted"] > 50 and counts["refused"] > 800, counts
    # oversized and reserved fields: refused before anything is copied
    fd = reader._ds.rings[0].fd
    for size, reserved in ((lib.FPROBE_PF_MAX_SIZE + 1, 0), (100, 1),
                           (0, 0)):
        raw = struct.pack("<QII", 0, size, reserved)
        with pytest.raises(OSError) as exc:
            fcntl.ioctl(fd, lib.FPROBE_IOCTL_SET_PREFILTER, raw)
        assert exc.value.errno == errno.EINVAL
    raw = struct.pack("<QII", 8, 4096, 0)      # unmapped address
    with pytest.raises(OSError) as exc:
        fcntl.ioctl(fd, lib.FPROBE_IOCTL_SET_PREFILTER, raw)
    assert exc.value.errno == errno.EFAULT


# -- filtering -------------------------------------------------------------------
def test_compiled_rule_keeps_only_its_events(reader: RingReader,
                                             tmp_path: Path) -> None:
    names, blob = compile_rules(rule(
        "evt.type = openat and evt.dir = < and fd.name startswith "
        "/tmp/pf-hit"))
    assert names is not None and blob is not None
    reader.set_interesting(names)
    reader.set_prefilter(blob)
    for name in ("/tmp/pf-hit-a", "/tmp/pf-miss-a"):
        Path(name).write_text("x")
    drain(reader)
    for i in range(20):
        for name in ("/tmp/pf-hit-a", "/tmp/pf-miss-a", "/tmp/pf-hit-none"):
            try:
                os.close(os.open(name, os.O_RDONLY))
            except OSError:
                pass
    recs = drain(reader)
    reader.set_interesting(set())
    recs += drain(reader)
    mine = [r for r in recs if r[2] == threading.get_native_id()]
    codes = Counter(r[4] for r in mine)
    openat_x = lib.PPME_SYSCALL_OPENAT_2_X
    # 20 opens of the existing file, 20 failed ones: both start with the
    # prefix; the other file never passes
    assert codes[openat_x] == 40, codes
    total = assert_exact(reader)
    assert total["filtered"] >= 20


def test_thread_name_tests_use_the_task_name(reader: RingReader,
                                             tmp_path: Path) -> None:
    names, blob = compile_rules(rule(
        "evt.type = openat and evt.dir = < and proc.name = pf-named"))
    assert names is not None and blob is not None
    reader.set_interesting(names)
    reader.set_prefilter(blob)
    drain(reader)
    code = ("import ctypes, os, sys\n"
            "if sys.argv[1] == 'y':\n"
            "    ctypes.CDLL(None).prctl(15, b'pf-named', 0, 0, 0)\n"
            "for i in range(10):\n"
            "    os.close(os.open('/dev/null', os.O_RDONLY))\n")
    named = subprocess.Popen(["python3", "-c", code, "y"])
    other = subprocess.Popen(["python3", "-c", code, "n"])
    named.wait()
    other.wait()
    recs = drain(reader)
    reader.set_interesting(set())
    recs += drain(reader)
    tids = Counter(r[2] for r in recs
                   if r[4] == lib.PPME_SYSCALL_OPENAT_2_X)
    assert tids[named.pid] >= 10 and tids[other.pid] == 0, tids
    assert_exact(reader)


def test_drop_failed_exit(reader: RingReader) -> None:
    names, blob = compile_rules(rule("evt.type = openat and evt.dir = <"),
                                drop_failed_exit=True)
    assert blob is not None and names is not None
    reader.set_interesting(names)
    reader.set_prefilter(blob)
    drain(reader)
    for _ in range(10):
        os.close(os.open("/dev/null", os.O_RDONLY))
        try:
            os.open("/nonexistent/pf", os.O_RDONLY)
        except OSError:
            pass
    recs = drain(reader)
    reader.set_interesting(set())
    recs += drain(reader)
    mine = [r for r in recs if r[2] == threading.get_native_id()
            and r[4] == lib.PPME_SYSCALL_OPENAT_2_X]
    assert len(mine) == 10, len(mine)
    assert_exact(reader)


def test_full_ring_counts_filtered_events_apart_from_drops(
        reader: RingReader, storm: Callable[[], None]) -> None:
    """Fill the ring with everything passing, then drop everything: the
    ring stays full, yet no more drops are counted, only filtered
    events."""
    reader.close()
    PARAM.write_text(str(4 * 4096))
    small = RingReader()
    try:
        small.set_interesting({"getppid", "openat", "close"})
        storm()
        # the ring fills up (however slowly the storm starts in the VM)
        assert until(lambda: small.stats().total.n_drops_buffer > 0)
        small.set_prefilter(emit({}, default=DROP).blob)
        before = small.stats().total
        assert until(lambda: small.stats().total.n_filtered
                     > before.n_filtered)
        time.sleep(0.5)
        after = small.stats().total
        assert after.n_drops_buffer == before.n_drops_buffer
        assert after.n_filtered > before.n_filtered
        small.set_prefilter(None)
        small.set_interesting(set())
        drain(small, 200)
        assert_exact(small)
    finally:
        small.close()


# -- swaps under a storm -----------------------------------------------------------
def test_programs_swapped_100_times_under_a_storm(
        reader: RingReader, storm: Callable[[], None]) -> None:
    names, default = compile_rules(
        (ROOT / "rules" / "falco_rules.yaml").read_text())
    _, narrow = compile_rules(rule("evt.type = openat and fd.name = "
                                   "/tmp/pf-storm"))
    assert default is not None and narrow is not None
    programs = [default, narrow, emit({}, default=DROP).blob,
                emit({}, default=PASS).blob]
    reader.set_interesting({"getppid", "openat", "close", "execve",
                            "clone", "procexit"})
    storm()
    storm()
    stop = threading.Event()
    read = [0]

    def consume() -> None:
        while not stop.is_set():
            read[0] += len(reader.next_batch(block=True).recs)
    t = threading.Thread(target=consume)
    t.start()
    try:
        for i in range(100):
            reader.set_prefilter(programs[i % len(programs)])
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
    reader.set_interesting(set())             # no event is in flight
    drain(reader, 500)
    total = assert_exact(reader)
    assert total["filtered"] > 0 and total["read"] > 0, total
    log = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    assert not [ln for ln in log.splitlines()
                if any(w in ln for w in ("WARNING:", "BUG:", "Oops"))]
