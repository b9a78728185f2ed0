# SPDX-License-Identifier: Apache-2.0
"""Records of the non-event blocks of a capture (state at capture start).

The state engine bootstraps its thread, fd, user and group tables from
these, whether they come from a .scap file or from a live /proc scan.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ScapFdType(enum.IntEnum):
    """scap_fd_type numbers used in fd list blocks."""

    UNKNOWN = 0
    FILE = 1
    DIRECTORY = 2
    IPV4_SOCK = 3
    IPV6_SOCK = 4
    IPV4_SERVSOCK = 5
    IPV6_SERVSOCK = 6
    FIFO = 7
    UNIX_SOCK = 8
    EVENT = 9
    UNSUPPORTED = 10
    SIGNALFD = 11
    EVENTPOLL = 12
    INOTIFY = 13
    TIMERFD = 14
    NETLINK = 15
    FILE_V2 = 16
    BPF = 17
    USERFAULTFD = 18
    IOURING = 19
    MEMFD = 20
    PIDFD = 21


class ScapL4Proto(enum.IntEnum):
    """scap_l4_proto numbers used in fd list blocks."""

    UNKNOWN = 0
    NA = 1
    TCP = 2
    UDP = 3
    ICMP = 4
    RAW = 5


@dataclass(slots=True)
class MachineInfo:
    num_cpus: int = 0
    memory_size_bytes: int = 0
    max_pid: int = 0
    hostname: str = ""


@dataclass(slots=True)
class InterfaceEntry:
    name: str
    family: int          # 4 or 6
    addr: str
    netmask: str
    bcast: str
    linkspeed: int = 0


@dataclass(slots=True)
class ProcEntry:
    """One thread of the process list (PL_V1..V9 blocks)."""

    tid: int
    pid: int
    ptid: int
    comm: str = ""
    exe: str = ""
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cwd: str = ""
    fdlimit: int = 0
    flags: int = 0
    uid: int = 0
    gid: int = 0
    sid: int = -1
    vpgid: int = -1
    pgid: int = -1
    vtid: int = -1
    vpid: int = -1
    cgroups: list[tuple[str, str]] = field(default_factory=list)
    root: str = ""
    loginuid: int = 0xFFFFFFFF
    tty: int = 0
    clone_ts: int = 0
    pidns_init_start_ts: int = 0
    vmsize_kb: int = 0
    vmrss_kb: int = 0
    vmswap_kb: int = 0
    pfmajor: int = 0
    pfminor: int = 0
    exe_writable: bool = False
    exe_upper_layer: bool = False
    exe_lower_layer: bool = False
    exe_from_memfd: bool = False
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0
    exe_ino: int = 0
    exe_ino_ctime: int = 0
    exe_ino_mtime: int = 0


@dataclass(slots=True)
class FdEntry:
    """One open fd of a thread (FDL blocks).

    For sockets ``sip/sport`` is the source (client) side and ``dip/dport``
    the destination; server sockets have only ``dip/dport`` (the listening
    address) and ``is_server``.  ``name`` is the path (files, unix sockets)
    or the tuple text.
    """

    tid: int
    fd: int
    type: ScapFdType
    ino: int = 0
    name: str = ""
    flags: int = 0
    dev: int = 0
    sip: str | None = None
    sport: int | None = None
    dip: str | None = None
    dport: int | None = None
    l4proto: ScapL4Proto = ScapL4Proto.NA
    is_server: bool = False
    source: int = 0
    dest: int = 0


@dataclass(slots=True)
class UserEntry:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(slots=True)
class GroupEntry:
    gid: int
    name: str
