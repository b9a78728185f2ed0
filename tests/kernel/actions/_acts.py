# SPDX-License-Identifier: Apache-2.0
"""Actions run by the stand-in programs of _standin.sh.

Each action is the smallest system call sequence that a rule watches for.
Runs under ``python3 -BS`` (no site, no bytecode writes), so only the
standard library's core modules are used.
"""
from __future__ import annotations

import ctypes
import os
import socket
import sys
import time

LOOPBACK = "127.0.0.1"
PTRACE_ATTACH = 16
PTRACE_DETACH = 17


def udp_connect(port: str) -> None:
    """connect() a UDP socket: an outbound IP connection without a peer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((LOOPBACK, int(port)))


def tcp_listen(port: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK, int(port)))
        s.listen(1)


def spawn(path: str) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(path, [os.path.basename(path)])
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def append(path: str) -> None:
    """Open for writing (O_APPEND|O_CREAT) without changing the content."""
    with open(path, "a"):
        pass


def write(path: str) -> None:
    with open(path, "w") as f:
        f.write("falco e2e\n")


def setuid0() -> None:
    os.setuid(0)


def packet_socket() -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)):
        pass


def ptrace_attach() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    child = os.fork()
    if child == 0:
        time.sleep(10)
        os._exit(0)
    try:
        if libc.ptrace(PTRACE_ATTACH, child, None, None) != 0:
            raise OSError(ctypes.get_errno(), "ptrace(PTRACE_ATTACH)")
        os.waitpid(child, 0)
        libc.ptrace(PTRACE_DETACH, child, None, None)
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


def memfd_exec(source: str = "/bin/true") -> None:
    """Copy a program into an anonymous memory file and execute it."""
    fd = os.memfd_create("e2e-payload", 0)
    with open(source, "rb") as f:
        os.write(fd, f.read())
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(f"/proc/self/fd/{fd}", ["e2e-memfd"])
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


ACTIONS = {
    "udp-connect": udp_connect,
    "tcp-listen": tcp_listen,
    "spawn": spawn,
    "append": append,
    "write": write,
    "setuid0": setuid0,
    "packet-socket": packet_socket,
    "ptrace": ptrace_attach,
    "memfd-exec": memfd_exec,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ACTIONS:
        print(f"usage: NAME {{{','.join(ACTIONS)}}} [ARG...]", file=sys.stderr)
        return 2
    ACTIONS[argv[0]](*argv[1:])
    return 0
