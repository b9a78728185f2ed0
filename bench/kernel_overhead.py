# SPDX-License-Identifier: Apache-2.0
"""Kernel overhead benchmark, run inside the VM (bench/kernel_overhead.sh):
1M open+close of one file and 1M getppid, bare, with falco_probe capturing
the default rules' syscall set while a minimal C reader drains it, with the
BPF programs (modern_ebpf) capturing the same set while bench/bpf_drain.py
drains them through the product's C reader, and with Debian's scap module
under `sysdig -w /dev/null`.  Prints each run's time
and the slowdown ratios; asserts nothing."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

import ringreader  # noqa: E402  (syscall numbers from driver/syscall_table.c)

# Syscalls named by the default rules plus the ones the state engine needs.
RULES_SET = (
    "open", "openat", "openat2", "creat", "close", "execve", "execveat", "clone",
    "clone3", "fork", "vfork", "connect", "accept", "accept4", "socket",
    "socketpair", "bind", "listen", "sendto", "sendmsg", "recvfrom", "recvmsg",
    "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2", "chdir", "fchdir", "setuid",
    "setgid", "setresuid", "setresgid", "setreuid", "setregid", "unshare",
    "setns", "chmod", "fchmod", "fchmodat", "mkdir", "mkdirat", "rmdir",
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "ptrace", "bpf", "init_module", "finit_module",
    "userfaultfd", "memfd_create", "mount", "umount2", "chroot")


@dataclass
class Run:
    config: str
    workload: str
    seconds: float
    note: str = ""


def loop(bindir: Path, workload: str, n: int) -> float:
    out = subprocess.run([str(bindir / "kernel_overhead_loop"), workload, str(n)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def wait_open(pid: int, prefix: str, timeout: float = 300.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def bench_ours(bindir: Path, n: int, runs: list[Run]) -> None:
    nrs = [str(ringreader.schema().syscalls[s]) for s in RULES_SET]
    proc = subprocess.Popen([str(bindir / "kernel_overhead_drain"), *nrs],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    if not ready.startswith("ready"):
        raise SystemExit(f"drainer failed: {ready!r}")
    for w in ("open", "getppid"):
        runs.append(Run("falco_probe", w, loop(bindir, w, n)))
    proc.send_signal(signal.SIGTERM)
    summary = proc.stdout.read().strip()
    proc.wait()
    for r in runs[-2:]:
        r.note = summary


def bench_bpf(bindir: Path, n: int, runs: list[Run]) -> None:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        print("modern_ebpf: this kernel has no BTF, skipped")
        return
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bpf_drain.py"),
                             *RULES_SET], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    if not ready.startswith("ready"):
        raise SystemExit(f"bpf_drain failed: {ready!r}")
    for w in ("open", "getppid"):
        runs.append(Run("modern_ebpf", w, loop(bindir, w, n)))
    proc.send_signal(signal.SIGTERM)
    summary = proc.stdout.read().strip()
    proc.wait()
    for r in runs[-2:]:
        r.note = summary


def bench_scap(bindir: Path, n: int, ko: str, runs: list[Run]) -> None:
    if subprocess.run(["insmod", ko]).returncode != 0:
        print(f"scap: insmod {ko} failed, skipped")
        return
    try:
        proc = subprocess.Popen(["sysdig", "-w", "/dev/null"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        if not wait_open(proc.pid, "/dev/scap"):
            proc.kill()
            print("scap: sysdig did not open /dev/scap*, skipped")
            return
        time.sleep(2)  # let sysdig finish its /proc scan before measuring
        for w in ("open", "getppid"):
            runs.append(Run("scap+sysdig", w, loop(bindir, w, n)))
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        subprocess.run(["rmmod", "scap"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bindir", type=Path, required=True)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--scap-ko", default="")
    args = ap.parse_args()
    runs: list[Run] = []
    for w in ("open", "getppid"):
        runs.append(Run("bare", w, loop(args.bindir, w, args.n)))
    bench_ours(args.bindir, args.n, runs)
    bench_bpf(args.bindir, args.n, runs)
    if args.scap_ko and Path(args.scap_ko).exists():
        bench_scap(args.bindir, args.n, args.scap_ko, runs)
    else:
        print("scap: module not available, skipped")
    # a second bare run shows the noise of the VM
    for w in ("open", "getppid"):
        runs.append(Run("bare (again)", w, loop(args.bindir, w, args.n)))

    bare = {r.workload: r.seconds for r in runs if r.config == "bare"}
    print(f"\nkernel_overhead: {args.n} iterations per run, qemu TCG, "
          f"{os.cpu_count()} vCPUs, kernel {os.uname().release}")
    print(f"{'config':<14} {'workload':<10} {'seconds':>9} {'ns/iter':>9} {'slowdown':>9}")
    for r in runs:
        print(f"{r.config:<14} {r.workload:<10} {r.seconds:9.3f} "
              f"{r.seconds / args.n * 1e9:9.0f} {r.seconds / bare[r.workload]:8.2f}x")
    ours = {r.workload: r.seconds for r in runs if r.config == "falco_probe"}
    scap = {r.workload: r.seconds for r in runs if r.config == "scap+sysdig"}
    ebpf = {r.workload: r.seconds for r in runs if r.config == "modern_ebpf"}
    for w in ("open", "getppid"):
        if w in ours and w in scap:
            print(f"{w}: falco_probe slowdown {ours[w] / bare[w]:.2f}x vs scap "
                  f"{scap[w] / bare[w]:.2f}x")
        if w in ours and w in ebpf:
            print(f"{w}: modern_ebpf slowdown {ebpf[w] / bare[w]:.2f}x vs falco_probe "
                  f"{ours[w] / bare[w]:.2f}x")
    notes = {(r.config, r.note) for r in runs if r.note}
    for config, note in sorted(notes):
        print(f"{config} reader: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
