# SPDX-License-Identifier: Apache-2.0
"""Thread and fd records from a capture's process/fd list entries
(``falco.events.capture_state``: ProcEntry, FdEntry; the capture reader
fills the fields older block versions lack with their defaults).
"""
from __future__ import annotations

from falco.events.capture_state import (
    FdEntry, ProcEntry, ScapFdType, ScapL4Proto)
from falco.state.entries import (
    EXE_FROM_MEMFD, EXE_LOWER_LAYER, EXE_UPPER_LAYER, EXE_WRITABLE,
    FdInfo, FdType, ThreadInfo)
from falco.state.paths import dir_with_slash

# scap_fd_type numbers (libscap scap.h) -> our fd types.
_SCAP_FD_TYPES = {
    0: FdType.UNKNOWN, 1: FdType.FILE, 2: FdType.DIRECTORY, 3: FdType.IPV4,
    4: FdType.IPV6, 5: FdType.IPV4, 6: FdType.IPV6, 7: FdType.PIPE,
    8: FdType.UNIX, 9: FdType.EVENT, 10: FdType.UNKNOWN,
    11: FdType.SIGNALFD, 12: FdType.EVENTPOLL, 13: FdType.INOTIFY,
    14: FdType.TIMERFD, 15: FdType.NETLINK, 16: FdType.FILE,
    17: FdType.BPF, 18: FdType.USERFAULTFD, 19: FdType.IO_URING,
    20: FdType.MEMFD, 21: FdType.PIDFD,
}
_L4 = {ScapL4Proto.TCP: "tcp", ScapL4Proto.UDP: "udp",
       ScapL4Proto.ICMP: "icmp", ScapL4Proto.RAW: "raw"}


def thread_from_entry(entry: ProcEntry) -> ThreadInfo:
    t = ThreadInfo(tid=entry.tid, pid=entry.pid, ptid=entry.ptid)
    t.comm = entry.comm
    t.exe = entry.exe
    t.exepath = entry.exepath
    t.args = list(entry.args)
    t.env = list(entry.env)
    t.cwd = dir_with_slash(entry.cwd or "/")
    t.loginuid = entry.loginuid & 0xFFFFFFFF
    t.uid, t.gid, t.tty = entry.uid, entry.gid, entry.tty
    t.euid, t.egid = t.uid, t.gid
    t.fdlimit, t.flags, t.clone_ts = entry.fdlimit, entry.flags, \
        entry.clone_ts
    t.vmsize, t.vmrss, t.vmswap = entry.vmsize_kb, entry.vmrss_kb, \
        entry.vmswap_kb
    t.pfmajor, t.pfminor = entry.pfmajor, entry.pfminor
    t.exe_ino, t.exe_ino_ctime, t.exe_ino_mtime = \
        entry.exe_ino, entry.exe_ino_ctime, entry.exe_ino_mtime
    t.pidns_init_start_ts = entry.pidns_init_start_ts
    t.cap_permitted, t.cap_effective, t.cap_inheritable = \
        entry.cap_permitted, entry.cap_effective, entry.cap_inheritable
    for flag, bit in ((entry.exe_writable, EXE_WRITABLE),
                      (entry.exe_upper_layer, EXE_UPPER_LAYER),
                      (entry.exe_lower_layer, EXE_LOWER_LAYER),
                      (entry.exe_from_memfd, EXE_FROM_MEMFD)):
        if flag:
            t.exe_flags |= bit
    # -1: not in the entry (older block versions)
    t.sid = max(entry.sid, 0)
    t.vpgid = max(entry.vpgid, 0)
    t.vtid = entry.vtid if entry.vtid >= 0 else t.tid
    t.vpid = entry.vpid if entry.vpid >= 0 else t.pid
    t.pgid = entry.pgid if entry.pgid > 0 else t.vpgid
    t.cgroups = list(entry.cgroups)
    return t


def fdinfo_from_entry(entry: FdEntry) -> FdInfo:
    raw_type = entry.type
    ftype = _SCAP_FD_TYPES.get(int(raw_type), FdType.UNKNOWN)
    name = entry.name
    fdi = FdInfo(entry.fd, ftype, name, name, entry.flags, entry.dev,
                 entry.ino)
    if ftype.is_ip:
        fdi.l4proto = _L4.get(int(entry.l4proto))
        if entry.is_server or raw_type in (ScapFdType.IPV4_SERVSOCK,
                                           ScapFdType.IPV6_SERVSOCK):
            # a listening socket's address: dip/dport in capture entries
            ip = entry.dip if entry.dip is not None else entry.sip
            port = entry.dport if entry.dport is not None else entry.sport
            fdi.dip, fdi.dport, fdi.is_server = ip, port, True
            fdi.name = fdi.nameraw = name or f"{ip}:{port}"
        elif entry.sip is not None:
            fdi.sip, fdi.sport = entry.sip, entry.sport
            fdi.dip, fdi.dport = entry.dip, entry.dport
            fdi.is_server = False
            fdi.name = fdi.nameraw = name or \
                f"{fdi.sip}:{fdi.sport}->{fdi.dip}:{fdi.dport}"
    return fdi
