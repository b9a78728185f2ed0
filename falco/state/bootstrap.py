# SPDX-License-Identifier: Apache-2.0
"""Thread and fd records from a capture's process/fd list entries.

The entries come from ``falco.events.capture_state`` (ProcEntry, FdEntry);
attributes are read by name so that optional fields of older block
versions may be missing.
"""
from __future__ import annotations

from typing import Any

from falco.state.containers import parse_cgroups
from falco.state.entries import (
    EXE_FROM_MEMFD, EXE_LOWER_LAYER, EXE_UPPER_LAYER, EXE_WRITABLE,
    NO_LOGINUID, FdInfo, FdType, ThreadInfo)
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
_SERVER_TYPES = (5, 6)
# scap_l4_proto numbers (capture_state.ScapL4Proto).
_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}


def _get(entry: Any, name: str, default: Any = None) -> Any:
    value = getattr(entry, name, default)
    return default if value is None else value


def thread_from_entry(entry: Any) -> ThreadInfo:
    tid = int(_get(entry, "tid"))
    t = ThreadInfo(tid=tid, pid=int(_get(entry, "pid", tid)))
    t.ptid = int(_get(entry, "ptid", 0))
    t.comm = str(_get(entry, "comm", "<NA>"))
    t.exe = str(_get(entry, "exe", t.comm))
    t.exepath = str(_get(entry, "exepath", ""))
    t.args = list(_get(entry, "args", []))
    t.env = list(_get(entry, "env", []))
    t.cwd = dir_with_slash(str(_get(entry, "cwd", "/")) or "/")
    loginuid = _get(entry, "loginuid", NO_LOGINUID)
    t.loginuid = int(loginuid) & 0xFFFFFFFF
    for attr in ("uid", "gid", "tty", "sid", "vpgid", "pgid", "vtid", "vpid",
                 "fdlimit", "flags", "clone_ts", "vmsize", "vmrss", "vmswap",
                 "pfmajor", "pfminor", "exe_ino", "exe_ino_ctime",
                 "exe_ino_mtime", "pidns_init_start_ts"):
        value = getattr(entry, attr, None)
        if isinstance(value, int):
            setattr(t, attr, value)
    for src, dst in (("vmsize_kb", "vmsize"), ("vmrss_kb", "vmrss"),
                     ("vmswap_kb", "vmswap"), ("pgft_maj", "pfmajor"),
                     ("pgft_min", "pfminor"),
                     ("cap_permitted", "cap_permitted"),
                     ("cap_effective", "cap_effective"),
                     ("cap_inheritable", "cap_inheritable")):
        value = getattr(entry, src, None)
        if isinstance(value, int):
            setattr(t, dst, value)
    t.euid, t.egid = t.uid, t.gid
    for attr, bit in (("exe_writable", EXE_WRITABLE),
                      ("exe_upper_layer", EXE_UPPER_LAYER),
                      ("exe_lower_layer", EXE_LOWER_LAYER),
                      ("exe_from_memfd", EXE_FROM_MEMFD)):
        if getattr(entry, attr, False):
            t.exe_flags |= bit
    if t.sid < 0:
        t.sid = 0
    if t.vpgid < 0:
        t.vpgid = 0
    if t.vtid < 0:
        t.vtid = t.tid
    if t.vpid < 0:
        t.vpid = t.pid
    if t.pgid <= 0:
        t.pgid = t.vpgid
    t.cgroups = parse_cgroups(_get(entry, "cgroups", ""))
    return t


def fdinfo_from_entry(entry: Any) -> FdInfo:
    fd = int(_get(entry, "fd"))
    raw_type = _get(entry, "type", 0)
    if isinstance(raw_type, FdType):
        ftype = raw_type
    elif isinstance(raw_type, str):
        ftype = FdType(raw_type) if raw_type in FdType._value2member_map_ \
            else FdType.UNKNOWN
    else:
        ftype = _SCAP_FD_TYPES.get(int(raw_type), FdType.UNKNOWN)
    name = str(_get(entry, "name", ""))
    fdi = FdInfo(fd, ftype, name, name, int(_get(entry, "flags", 0)),
                 int(_get(entry, "dev", 0)), int(_get(entry, "ino", 0)))
    sip = _get(entry, "sip")
    dip = _get(entry, "dip")
    if ftype.is_ip:
        l4 = _get(entry, "l4proto")
        fdi.l4proto = _L4.get(int(l4)) if isinstance(l4, int) else l4
        if getattr(entry, "is_server", False) or (
                isinstance(raw_type, int) and raw_type in _SERVER_TYPES):
            # a listening socket's address: dip/dport in capture entries
            ip = _get(entry, "ip", _get(entry, "dip", sip))
            port = _get(entry, "port", _get(entry, "dport", _get(entry, "sport")))
            fdi.dip, fdi.dport, fdi.is_server = ip, port, True
            fdi.name = fdi.nameraw = name or f"{ip}:{port}"
        elif sip is not None:
            fdi.sip, fdi.sport = sip, _get(entry, "sport")
            fdi.dip, fdi.dport = dip, _get(entry, "dport")
            fdi.is_server = False
            fdi.name = fdi.nameraw = name or \
                f"{fdi.sip}:{fdi.sport}->{fdi.dip}:{fdi.dport}"
    return fdi
