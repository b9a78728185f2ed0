# SPDX-License-Identifier: Apache-2.0
"""Ring overflow accounting, load/capture/unload cycles under a syscall
storm, CPU hotplug during capture, the sched_process_fork path."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pytest

import ringreader as rr
from conftest import load_module, module_loaded, unload_module

pytestmark = pytest.mark.kernel

PARAM = Path("/sys/module/falco_probe/parameters/buffer_bytes")
CPU1 = Path("/sys/devices/system/cpu/cpu1/online")

STORM = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]), i;
	long pace = argc > 2 ? atol(argv[2]) : 0;
	for (i = 0; n < 0 || i < n; i++) {
		if (pace && i % pace == 0)
			usleep(1000);
		syscall(SYS_getppid);
		if (i % 16 == 0)
			close(open("/dev/null", O_RDONLY));
	}
	return 0;
}
"""


@pytest.fixture
def storm(cc: Callable[[str, str], Path]) -> Path:
    return cc("storm", STORM)


@pytest.fixture
def background(storm: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(pace: int = 0) -> subprocess.Popen[bytes]:
        # niced, so the test itself still gets the CPU under TCG; @pace
        # syscalls then a 1 ms sleep keeps a Python reader up with it
        p = subprocess.Popen(["nice", "-n", "19", str(storm), "-1", str(pace)])
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.kill()
        p.wait()


def assert_exact(cap: rr.Capture, delivered: Counter[int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for ring in cap.rings:
        s = ring.stats()
        lost = s["n_drops_buffer"] + s["n_drops_pf"] + s["n_preemptions"]
        assert s["n_evts"] == delivered[ring.cpu] + lost, (ring.cpu, s, delivered)
        total.update(s)
    return dict(total)


def test_overflow_accounting_is_exact(storm: Path) -> None:
    PARAM.write_text(str(2 * 4096))
    cap = rr.Capture(["getppid", "openat", "close"], ("sys_enter", "sys_exit"))
    try:
        assert all(r.size == 8192 for r in cap.rings)
        cap.start()
        subprocess.run([str(storm), "20000"], check=True)
        events = cap.stop()
        delivered = Counter(e.cpu for e in events)
        total = assert_exact(cap, delivered)
    finally:
        cap.close()
    assert total["n_drops_buffer"] > 0  # it really overflowed
    assert total["n_evts"] >= 20000 + 20000 // 16 * 3
    assert all(e.len <= 8192 for e in events)


def test_exact_while_reading_under_storm(background: Callable[[], object]) -> None:
    PARAM.write_text(str(16 * 4096))
    cap = rr.Capture(["getppid", "openat", "close"], ("sys_enter", "sys_exit")).start()
    try:
        background()
        delivered: Counter[int] = Counter()
        for _ in range(200):
            evs = cap.drain()
            delivered.update(e.cpu for e in evs)
            cap.events.clear()
        delivered.update(e.cpu for e in cap.stop())
        total = assert_exact(cap, delivered)
    finally:
        cap.close()
    assert sum(delivered.values()) > 0 and total["n_evts"] > 0


def test_load_capture_unload_cycles_under_storm(background: Callable[[], object]) -> None:
    background()
    for cycle in range(20):
        if module_loaded():
            res = unload_module()
            assert res.returncode == 0, (cycle, res.stderr)
        load_module()
        cap = rr.Capture(["getppid", "openat", "close", "execve", "clone"],
                         ("sys_enter", "sys_exit", "sched_proc_exit", "sched_proc_exec"))
        try:
            cap.start()
            seen = 0
            for _ in range(1000):
                seen += len(cap.drain())
                if seen:
                    break
            assert seen, cycle
        finally:
            cap.close()
    res = unload_module()
    assert res.returncode == 0, res.stderr
    load_module()
    log = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    assert not [ln for ln in log.splitlines()
                if any(w in ln for w in ("WARNING:", "BUG:", "Oops"))]


@pytest.mark.skipif(not CPU1.exists(), reason="cpu1 cannot be taken offline")
def test_cpu_offline_online_during_capture(background: Callable[[], object]) -> None:
    cap = rr.Capture(["getppid", "openat", "close"], ("sys_enter", "sys_exit")).start()
    delivered: Counter[int] = Counter()

    def drain() -> int:
        evs = cap.drain()
        delivered.update(e.cpu for e in evs)
        cap.events.clear()
        return len(evs)

    def drain_until(cond: Callable[[], bool]) -> bool:
        # the storms are niced: give them time slices between drains
        for _ in range(3000):
            drain()
            if cond():
                return True
            time.sleep(0.005)
        return False
    try:
        background(20)
        background(20)
        assert drain_until(lambda: sum(delivered.values()) > 0)
        CPU1.write_text("0")
        try:
            assert CPU1.read_text().strip() == "0"
            on_cpu0 = delivered[0]
            assert drain_until(lambda: delivered[0] > on_cpu0)
            before = delivered[1]
        finally:
            CPU1.write_text("1")
        assert CPU1.read_text().strip() == "1"
        # cpu1's ring works again once the CPU is back
        assert drain_until(lambda: delivered[1] > before)
        delivered.update(e.cpu for e in cap.stop())
        assert_exact(cap, delivered)
    finally:
        cap.close()
        if CPU1.read_text().strip() != "1":
            CPU1.write_text("1")


def test_fork_child_event_from_sched_process_fork(source: str) -> None:
    cap = rr.open_capture(source, ["clone", "clone3", "fork", "vfork"],
                          ("sys_exit", "sched_proc_fork")).start()
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        box: list[int] = []
        t = threading.Thread(target=lambda: box.append(threading.get_native_id()))
        t.start()
        t.join()
        events = cap.stop()
    finally:
        cap.close()
    child = [e for e in events if e.tid == pid]
    assert [e.name for e in child] == ["clone"]  # one, not one per hook
    p = child[0].params
    assert p["res"] == 0 and p["tid"] == pid and p["pid"] == pid
    assert p["ptid"] == os.getpid() and p["comm"] == Path("/proc/self/comm").read_text().strip()
    parent = rr.select(events, "clone", tid=os.getpid(), res=pid)
    assert len(parent) == 1
    # the child's flags are the parent's clone arguments, not a guess
    assert p["flags"] == parent[0].params["flags"] != 0
    # a thread: glibc's pthread_create uses clone3, its clone_args are read
    # from the parent (current at sched_process_fork)
    me = threading.get_native_id()
    thread_ev = [e for e in events if e.tid == box[0]]
    assert [e.name for e in thread_ev] == ["clone"]
    made = [e for e in events if e.tid == me and e.name in ("clone", "clone3")
            and e.params["res"] == box[0]]
    assert len(made) == 1
    assert thread_ev[0].params["flags"] == made[0].params["flags"]
    assert thread_ev[0].params["flags"] & rr.ppm()["PPM_CL_CLONE_THREAD"]
