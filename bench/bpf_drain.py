# SPDX-License-Identifier: Apache-2.0
"""A minimal consumer of the modern_ebpf source for the overhead benchmarks:
loads the BPF programs, captures the given event names (the default rules'
syscall set by default), drains every ring buffer through the product's C
reader in batches (no Python per event) until SIGTERM/SIGINT, then prints
one summary line: events delivered, seen, dropped.  Prints "ready" once
capturing.
  python3 bench/bpf_drain.py [--cpus-per-ring N] [--ring-bytes B] [NAME...]
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from falco.driver.bpf import BpfLayout, BpfRingReader  # noqa: E402

# Syscalls named by the default rules plus the ones the state engine needs
# (the set bench/kernel_overhead.py gives the module).
RULES_SET = (
    "open", "openat", "openat2", "creat", "close", "execve", "execveat", "clone",
    "clone3", "fork", "vfork", "connect", "accept", "accept4", "socket",
    "socketpair", "bind", "listen", "sendto", "sendmsg", "recvfrom", "recvmsg",
    "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2", "chdir", "fchdir", "setuid",
    "setgid", "setresuid", "setresgid", "setreuid", "setregid", "unshare",
    "setns", "chmod", "fchmod", "fchmodat", "mkdir", "mkdirat", "rmdir",
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "ptrace", "bpf", "init_module", "finit_module",
    "userfaultfd", "memfd_create", "mount", "umount2", "chroot", "procexit")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cpus-per-ring", type=int, default=1)
    ap.add_argument("--ring-bytes", type=int, default=8 << 20)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    stop = False

    def on_signal(sig: int, frame: object) -> None:
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reader = BpfRingReader(BpfLayout(args.cpus_per_ring, args.ring_bytes))
    try:
        reader.set_interesting(set(args.names or RULES_SET))
        print("ready", flush=True)
        delivered = 0
        while not stop:
            delivered += reader.drain(block=True)
        reader.set_interesting(set())   # detach, then drain what is left
        while n := reader.drain(block=False):
            delivered += n
        total = reader.stats().total
    finally:
        reader.close()
    print(f"events {delivered} seen {total.n_evts} dropped {total.dropped} "
          f"(buffer {total.n_drops_buffer}, page faults {total.n_drops_pf})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
