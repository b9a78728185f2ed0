# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the per-syscall kernel tests: raw syscalls through
libc's syscall(2), and a capture kept open for a whole test module."""
from __future__ import annotations

import ctypes
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import ringreader as rr

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long

# Everything the state engine and the rules need, plus a generic one.
TRACED = tuple(sorted(n for n in (
    "open", "openat", "openat2", "creat", "close", "read", "write", "pread64",
    "pwrite64", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink",
    "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
    "symlinkat", "chmod", "fchmod", "fchmodat", "dup", "dup2", "dup3", "fcntl",
    "pipe", "pipe2", "init_module", "finit_module", "userfaultfd",
    "memfd_create", "umount2", "mount", "chroot", "socket", "socketpair",
    "connect", "accept", "accept4", "bind", "listen", "sendto", "sendmsg",
    "recvfrom", "recvmsg", "shutdown", "execve", "execveat", "clone", "clone3",
    "fork", "vfork", "setuid", "setgid", "setresuid", "setresgid", "setreuid",
    "setregid", "unshare", "setns", "ptrace", "bpf", "kill", "setsid",
    "setpgid", "getuid", "geteuid", "getgid", "getegid", "getppid")))
TPS = ("sys_enter", "sys_exit", "sched_proc_exit", "sched_proc_exec")


def arg(v: Any) -> Any:
    if isinstance(v, int):
        return ctypes.c_long(v)
    if isinstance(v, str):
        return ctypes.c_char_p(os.fsencode(v))
    return v


def sc(name: str, *args: Any) -> int:
    """syscall(name, args...) -> result, or -errno."""
    ctypes.set_errno(0)
    ret = LIBC.syscall(ctypes.c_long(rr.schema().syscalls[name]), *map(arg, args))
    return -ctypes.get_errno() if ret == -1 else ret


def P(name: str) -> int:
    return rr.ppm()[name]


@dataclass
class Tracer:
    cap: rr.Capture | rr.BpfCapture

    def reset(self) -> None:
        self.cap.drain()
        self.cap.events.clear()

    def events(self) -> list[rr.Event]:
        return list(self.cap.drain())

    def one(self, evname: str, /, *, tid: int | None = None, exit: bool = True,
            **params: Any) -> rr.Event:
        """The single event named @evname of @tid (default: this thread)
        matching @params."""
        tid = threading.get_native_id() if tid is None else tid
        found = rr.select(self.events(), evname, tid=tid, exit=exit, **params)
        assert len(found) == 1, (evname, params, found,
                                 [e for e in self.events() if e.tid == tid][-20:],
                                 self.cap.stats())
        return found[0]


@pytest.fixture(scope="module")
def live(source: str) -> Iterator[rr.Capture | rr.BpfCapture]:
    """All of TRACED captured for the whole test module (import it there),
    through each source (the `source` fixture: module, BPF programs)."""
    cap = rr.open_capture(source, TRACED, TPS)
    cap.start()
    yield cap
    cap.close()


@pytest.fixture
def trace(live: rr.Capture) -> Tracer:
    t = Tracer(live)
    t.reset()
    return t


@pytest.fixture
def tmpfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh tmpfs: stat() st_dev is its superblock's device, and it can
    hold overlayfs layers (the VM's /tmp is an overlay itself)."""
    mnt = tmp_path_factory.mktemp("tmpfs")
    subprocess.run(["mount", "-t", "tmpfs", "fprobe-test", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)
