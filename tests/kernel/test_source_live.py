# SPDX-License-Identifier: Apache-2.0
"""The userspace source (C ring reader + decoder) against the real module
and the real BPF programs (the `source` fixture).

A known workload runs in a child process; every one of its events is read,
in order, with the right fields.  Error paths give the documented messages.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from falco.driver.ring import RingReader
from falco.errors import DriverError
from falco.events.live import LiveSource

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
N_OPENS = 50

WORKLOAD = r"""
import os, sys, time
path = sys.argv[1]
sys.stdin.readline()            # wait until the reader is ready
for i in range(int(sys.argv[2])):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    os.read(fd, 7)
    os.close(fd)
"""


def _drain_for(src: LiveSource, tid: int, done: subprocess.Popen,
               timeout: float = 120.0) -> list:
    events = []
    deadline = time.monotonic() + timeout
    idle = 0
    while time.monotonic() < deadline:
        batch = src.next_batch()
        events += [e for e in batch if e.tid == tid]
        if done.poll() is not None:
            idle = idle + 1 if not batch else 0
            if idle >= 3:
                break
    return events


def live_source(source: str, interesting: set[str],
                snaplen: int | None = None) -> LiveSource:
    """The LiveSource of @source: the module's rings, or the BPF programs'
    ring buffers (one per CPU) read by the same C merge."""
    if source == "bpf":
        from falco.driver.bpf import BpfLayout, BpfRingReader
        reader = BpfRingReader(BpfLayout(cpus_per_ring=1))
        return LiveSource(interesting=interesting, snaplen=snaplen, reader=reader)
    return LiveSource(interesting=interesting, snaplen=snaplen)


def test_known_workload_all_events_in_order(tmp_path: Path, source: str) -> None:
    target = tmp_path / "known-file.txt"
    target.write_bytes(b"0123456789abcdef")
    with live_source(source, {"openat", "read", "close"}, snaplen=4) as src:
        child = subprocess.Popen([sys.executable, "-c", WORKLOAD,
                                  str(target), str(N_OPENS)],
                                 stdin=subprocess.PIPE, text=True)
        try:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            events = _drain_for(src, child.pid, child)
        finally:
            child.wait(timeout=60)
        stats = src.stats()
    assert child.returncode == 0
    # the driver keeps recording (this process reads too) after the drain
    total = stats.total
    assert total.n_evts >= total.delivered + total.skipped + total.dropped
    assert total.n_drops_buffer == 0 and total.corrupt == 0, stats
    opens = [e for e in events if e.name == "openat" and e.direction == "<"
             and e.param("name") == str(target)]
    assert len(opens) == N_OPENS
    fds = {e.param("fd") for e in opens}
    assert len(fds) == 1 and fds.pop() >= 3
    # written through the VM's overlayfs /tmp, the file is in the upper layer
    on_overlay = subprocess.run(["stat", "-f", "-c", "%T", str(target)], capture_output=True,
                                text=True, check=True).stdout.strip() == "overlayfs"
    flags = "O_RDONLY|O_CLOEXEC" + ("|FD_UPPER_LAYER" if on_overlay else "")
    assert all(e.param_str("flags") == flags for e in opens), opens[0].param_str("flags")
    # each open is followed by its read (7 bytes, snaplen 4) and close
    seq = [(e.name, e.direction) for e in events
           if e.direction == "<" and e.name in ("openat", "read", "close")
           and (e.name != "openat" or e.param("name") == str(target))]
    triples = [t for t in zip(seq, seq[1:], seq[2:])
               if t[0] == ("openat", "<")]
    assert len(triples) == N_OPENS
    assert all(t[1] == ("read", "<") and t[2] == ("close", "<")
               for t in triples)
    reads = [e for e in events if e.name == "read" and e.direction == "<"
             and e.param("res") == 7]
    assert reads and all(e.param("data") == b"0123" for e in reads)
    ts = [e.ts for e in events]
    assert ts == sorted(ts)
    nums = [e.num for e in events]
    assert nums == sorted(nums)


def test_uninteresting_syscalls_never_reach_python(tmp_path: Path, source: str) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"x")
    with live_source(source, {"close"}) as src:
        child = subprocess.Popen([sys.executable, "-c", WORKLOAD,
                                  str(target), "20"],
                                 stdin=subprocess.PIPE, text=True)
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        events = _drain_for(src, child.pid, child)
        child.wait(timeout=60)
    assert events
    assert {e.name for e in events} == {"close"}


def test_second_reader_gets_busy_message() -> None:
    with RingReader():
        with pytest.raises(DriverError) as exc:
            RingReader()
    assert "busy" in str(exc.value)


def test_non_root_gets_permission_message() -> None:
    # import as root (the interpreter lives below /root), then drop to nobody
    code = ("import os, sys\n"
            "from falco.driver.ring import RingReader\n"
            "from falco.errors import DriverError\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "try:\n    RingReader()\n"
            "except DriverError as e:\n    print(e); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=str(ROOT),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 3, out.stderr
    assert "run falco as root" in out.stdout


def test_module_not_loaded_message() -> None:
    from conftest import unload_module
    assert unload_module().returncode == 0
    with pytest.raises(DriverError) as exc:
        RingReader()
    assert "modprobe falco_probe" in str(exc.value)
