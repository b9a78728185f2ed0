# SPDX-License-Identifier: Apache-2.0
"""Differential test (VM): the module and the BPF programs capture the same
run of one workload at the same time; every event of the workload's
processes must be the same through both sources, type, direction and every
parameter byte, apart from timestamps.

Both are attached together, so each syscall of the workload passes through
falco_probe's probe and through the BPF program: values read at that
moment (page faults, memory counters, pointers of unix sockets) are the
same on both sides."""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import ringreader as rr
from sctest import TRACED, tmpfs  # noqa: F401  (fixture)

pytestmark = pytest.mark.kernel

TPS = ("sys_enter", "sys_exit", "sched_proc_exit", "sched_proc_fork", "sched_proc_exec")

WORKLOAD = r"""
import os, socket, sys, threading
base = sys.argv[1]
p = os.path.join(base, "f")
fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
os.write(fd, b"hello differential world")
os.pwrite(fd, b"XY", 3)
os.lseek(fd, 0, 0)
os.read(fd, 100)
os.pread(fd, 5, 2)
d = os.dup(fd); os.dup2(fd, 40); os.close(40); os.close(d)
os.close(fd)
os.mkdir(os.path.join(base, "d"), 0o750)
os.rename(p, os.path.join(base, "g"))
os.symlink("g", os.path.join(base, "s"))
os.link(os.path.join(base, "g"), os.path.join(base, "h"))
os.chmod(os.path.join(base, "g"), 0o600)
os.unlink(os.path.join(base, "h"))
os.rmdir(os.path.join(base, "d"))
r, w = os.pipe()
os.write(w, b"x"); os.read(r, 1); os.close(r); os.close(w)
try:
    os.open(os.path.join(base, "missing"), os.O_RDONLY)
except OSError:
    pass
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
cli.sendall(b"ping"); conn.recv(10)
conn.sendmsg([b"pong", b"!"]); cli.recvmsg(10)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"dgram", ("127.0.0.1", srv.getsockname()[1]))
a, b = socket.socketpair()
a.send(b"pair"); b.recv(4)
for s in (cli, conn, srv, u, a, b):
    s.close()
un = os.path.join(base, "sock")
us = socket.socket(socket.AF_UNIX); us.bind(un); us.listen(1)
uc = socket.socket(socket.AF_UNIX); uc.connect(un)
ua, _ = us.accept(); uc.send(b"u"); ua.recv(1)
for s in (uc, ua, us):
    s.close()
t = threading.Thread(target=lambda: os.getuid()); t.start(); t.join()
pid = os.fork()
if pid == 0:
    os.execv("/bin/true", ["true", "arg"])
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.setuid(0)
    os._exit(3)
os.waitpid(pid, 0)
try:
    os.execv(os.path.join(base, "missing"), ["x"])
except OSError:
    pass
"""


def workload_tids(events: list[rr.Event], root: int) -> set[int]:
    """@root and every thread and process it created, from clone events."""
    tids = {root}
    changed = True
    while changed:
        changed = False
        for e in events:
            if e.name in ("clone", "clone3", "fork", "vfork") and e.is_exit and \
                    e.tid in tids and (e.params.get("res") or 0) > 0 and \
                    e.params["res"] not in tids:
                tids.add(e.params["res"])
                changed = True
    return tids


def by_thread(events: list[rr.Event], tids: set[int]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.ts):
        if e.tid in tids:
            out[e.tid].append((e.name, "<" if e.is_exit else ">", tuple(e.raw)))
    return dict(out)


def test_module_and_bpf_give_the_same_events(tmpfs: Path) -> None:
    kmod = rr.Capture(TRACED, TPS)
    bpf = rr.BpfCapture(TRACED, TPS)
    try:
        kmod.start()
        bpf.start()
        proc = subprocess.run([sys.executable, "-c", WORKLOAD, str(tmpfs)], check=False)
        assert proc.returncode == 0
        kevs, bevs = kmod.stop(), bpf.stop()
        kstats, bstats = kmod.stats(), bpf.stats()
    finally:
        bpf.close()
        kmod.close()
    tids = workload_tids(kevs, proc_pid(kevs, tmpfs))
    assert workload_tids(bevs, min(tids)) == tids
    kt, bt = by_thread(kevs, tids), by_thread(bevs, tids)
    assert sum(len(v) for v in kt.values()) > 200, "the workload was captured"
    for key in ("n_drops_buffer", "n_preemptions"):
        assert kstats[key] == 0 and bstats[key] == 0, (kstats, bstats)
    assert kt.keys() == bt.keys()
    for tid in kt:
        k, b = kt[tid], bt[tid]
        for i, (ke, be) in enumerate(zip(k, b)):
            assert ke == be, (tid, i, ke, be)
        assert len(k) == len(b), (tid, k[len(b):], b[len(k):])


def proc_pid(events: list[rr.Event], base: Path) -> int:
    """The workload's pid: the process that created @base/f."""
    opens = [e for e in events if e.name == "openat" and e.is_exit
             and e.params.get("name") == str(base / "f")]
    assert opens, "workload not seen"
    return opens[0].tid


def test_module_and_bpf_filter_alike(tmpfs: Path) -> None:
    """One prefilter program in both: the same events of the workload pass."""
    from test_bpf_prefilter import WORKLOAD as PF_WORKLOAD, free_port, judged, program
    names = ["openat", "connect", "close", "socket", "bind", "listen", "accept"]
    tps = ("sys_enter", "sys_exit")
    port = free_port()
    blob = program(tmpfs, port)
    kmod = rr.Capture(names, tps)
    bpf = rr.BpfCapture(names, tps)
    try:
        kmod.set_prefilter(blob)
        bpf.set_prefilter(blob)
        kmod.start()
        bpf.start()
        subprocess.run([sys.executable, "-c", PF_WORKLOAD, str(tmpfs), str(port)],
                       capture_output=True, check=True)
        kevs, bevs = kmod.stop(), bpf.stop()
        kfilt, bfilt = kmod.n_filtered(), bpf.n_filtered()
    finally:
        bpf.close()
        kmod.close()
    tid = next(e.tid for e in kevs if e.name == "openat" and
               e.params.get("name") == str(tmpfs / "marker"))
    k, b = judged(kevs, tid, tmpfs), judged(bevs, tid, tmpfs)
    assert [(e.name, e.raw) for e in k] == [(e.name, e.raw) for e in b]
    assert kfilt > 0 and bfilt > 0
    assert len(k) >= 6
