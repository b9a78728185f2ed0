# SPDX-License-Identifier: Apache-2.0
"""State records: one ``ThreadInfo`` per thread, one ``FdInfo`` per open fd.

Flag values are the driver's portable ``PPM_*`` encodings (the same
numbers falcosecurity/libs uses), since event parameters carry those; they
come from the cffi extension, built from the driver's own headers.
"""
from __future__ import annotations

import enum
import socket
from dataclasses import dataclass, field

from falco.driver._falco_ffi import lib

# Open flags (PPM_O_*) and fd flags (PPM_FD_*).
O_RDONLY = lib.PPM_O_RDONLY
O_WRONLY = lib.PPM_O_WRONLY
O_RDWR = lib.PPM_O_RDWR
O_CREAT = lib.PPM_O_CREAT
O_DIRECTORY = lib.PPM_O_DIRECTORY
O_CLOEXEC = lib.PPM_O_CLOEXEC
O_TMPFILE = lib.PPM_O_TMPFILE
O_F_CREATED = lib.PPM_O_F_CREATED
FD_UPPER_LAYER = lib.PPM_FD_UPPER_LAYER
FD_LOWER_LAYER = lib.PPM_FD_LOWER_LAYER

# Mode bits (PPM_S_*): any execute bit.
S_IXANY = lib.PPM_S_IXOTH | lib.PPM_S_IXGRP | lib.PPM_S_IXUSR

# Clone flags (PPM_CL_*).
CL_CLONE_FILES = lib.PPM_CL_CLONE_FILES
CL_CLONE_THREAD = lib.PPM_CL_CLONE_THREAD
CL_CLONE_PARENT = lib.PPM_CL_CLONE_PARENT

# execve flags (PPM_EXE_*).
EXE_WRITABLE = lib.PPM_EXE_WRITABLE
EXE_UPPER_LAYER = lib.PPM_EXE_UPPER_LAYER
EXE_FROM_MEMFD = lib.PPM_EXE_FROM_MEMFD
EXE_LOWER_LAYER = lib.PPM_EXE_LOWER_LAYER

AT_FDCWD = lib.PPM_AT_FDCWD
MFD_CLOEXEC = lib.PPM_MFD_CLOEXEC
FCNTL_F_DUPFD = lib.PPM_FCNTL_F_DUPFD
FCNTL_F_DUPFD_CLOEXEC = lib.PPM_FCNTL_F_DUPFD_CLOEXEC
PR_SET_NAME = lib.PPM_PR_SET_NAME
CLOSE_RANGE_CLOEXEC = lib.PPM_CLOSE_RANGE_CLOEXEC
# socket()'s type argument is passed through unconverted: the kernel's bit.
SOCK_CLOEXEC = socket.SOCK_CLOEXEC

# Falco's defaults (falco.yaml falco_libs / libsinsp settings.h).
DEFAULT_MAX_THREADS = 262144
DEFAULT_MAX_FDS = 4096
DEFAULT_PURGE_INTERVAL_NS = 300 * 1_000_000_000
DEFAULT_THREAD_TIMEOUT_NS = 300 * 1_000_000_000

NO_LOGINUID = 0xFFFFFFFF


class FdType(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    UNIX = "unix"
    PIPE = "pipe"
    EVENT = "event"
    SIGNALFD = "signalfd"
    EVENTPOLL = "eventpoll"
    INOTIFY = "inotify"
    TIMERFD = "timerfd"
    NETLINK = "netlink"
    BPF = "bpf"
    USERFAULTFD = "userfaultfd"
    IO_URING = "io_uring"
    MEMFD = "memfd"
    PIDFD = "pidfd"
    UNKNOWN = "unknown"

    @property
    def typechar(self) -> str:
        return _TYPECHARS[self]

    @property
    def is_socket(self) -> bool:
        return self in (FdType.IPV4, FdType.IPV6, FdType.UNIX)

    @property
    def is_ip(self) -> bool:
        return self in (FdType.IPV4, FdType.IPV6)


_TYPECHARS = {
    FdType.FILE: "f", FdType.DIRECTORY: "d", FdType.IPV4: "4",
    FdType.IPV6: "6", FdType.UNIX: "u", FdType.PIPE: "p",
    FdType.EVENT: "e", FdType.SIGNALFD: "s", FdType.EVENTPOLL: "l",
    FdType.INOTIFY: "i", FdType.TIMERFD: "t", FdType.NETLINK: "n",
    FdType.BPF: "b", FdType.USERFAULTFD: "u", FdType.IO_URING: "r",
    FdType.MEMFD: "m", FdType.PIDFD: "P", FdType.UNKNOWN: "o",
}


@dataclass(slots=True)
class FdInfo:
    """One entry of a process's fd table.

    For IP sockets, ``sip``/``sport`` are the client side and
    ``dip``/``dport`` the server side, whatever our role; ``is_server``
    tells which side we are (None when unknown).
    """

    fd: int
    type: FdType
    name: str = ""
    nameraw: str = ""
    flags: int = 0
    dev: int = 0
    ino: int = 0
    l4proto: str | None = None
    sip: str | None = None
    sport: int | None = None
    dip: str | None = None
    dport: int | None = None
    is_server: bool | None = None
    name_changed: bool = False
    cloexec: bool = False

    @property
    def typechar(self) -> str:
        return _TYPECHARS[self.type]

    @property
    def connected(self) -> bool:
        return self.type.is_ip and self.dip is not None and bool(
            self.dport) and self.is_server is not None

    def clone(self, fd: int) -> FdInfo:
        return FdInfo(fd, self.type, self.name, self.nameraw, self.flags,
                      self.dev, self.ino, self.l4proto, self.sip, self.sport,
                      self.dip, self.dport, self.is_server, False, False)


@dataclass(slots=True)
class ThreadInfo:
    """One thread; process-wide data lives on the main thread (tid == pid).

    Threads of one process share the ``fds`` dict with their main thread.
    """

    tid: int
    pid: int
    ptid: int = 0
    comm: str = "<NA>"
    exe: str = "<NA>"
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    tty: int = 0
    uid: int = -1
    gid: int = -1
    euid: int = -1
    egid: int = -1
    loginuid: int = NO_LOGINUID
    cgroups: list[tuple[str, str]] = field(default_factory=list)
    container_id: str = "host"
    clone_ts: int = 0
    lastevent_ts: int = 0
    vtid: int = -1
    vpid: int = -1
    sid: int = 0
    pgid: int = 0
    vpgid: int = 0
    flags: int = 0
    exe_flags: int = 0
    exe_ino: int = 0
    exe_ino_ctime: int = 0
    exe_ino_mtime: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0
    cap_inheritable: int = 0
    fdlimit: int = 0
    vmsize: int = 0
    vmrss: int = 0
    vmswap: int = 0
    pfmajor: int = 0
    pfminor: int = 0
    pidns_init_start_ts: int = 0
    # CPU time (clock ticks) of the last procinfo sample, and what was
    # used since the sample before it (capture meta events)
    cpu_user_total: int = -1
    cpu_sys_total: int = -1
    cpu_user_used: int = 0
    cpu_sys_used: int = 0
    # ns on a CPU: the last slice before a switch event, and in total
    exectime: int = 0
    totexectime: int = 0
    fds: dict[int, FdInfo] = field(default_factory=dict)
    children: set[int] | None = None
    nthreads: int = 1
    dead: bool = False
    incomplete: bool = False

    @property
    def is_main(self) -> bool:
        return self.tid == self.pid
