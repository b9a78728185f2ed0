# SPDX-License-Identifier: Apache-2.0
"""Reading processes, threads and fds from ``<host_root>/proc``.

Used to bootstrap the thread table at start and to look up threads the
event stream did not introduce. Every read tolerates the process going
away under our feet (the result is simply missing).
"""
from __future__ import annotations

import os
import socket
import stat as statmod
import struct
from dataclasses import dataclass, field
from typing import Iterator

from falco.driver._falco_ffi import lib
from falco.state.containers import parse_cgroups
from falco.events.sockets import AF_INET, AF_INET6
from falco.state.entries import (
    NO_LOGINUID, O_CLOEXEC, FdInfo, FdType, ThreadInfo)

_ANON_TYPES = {
    "[eventfd]": FdType.EVENT, "[signalfd]": FdType.SIGNALFD,
    "[eventpoll]": FdType.EVENTPOLL, "inotify": FdType.INOTIFY,
    "[timerfd]": FdType.TIMERFD, "[userfaultfd]": FdType.USERFAULTFD,
    "[io_uring]": FdType.IO_URING, "[pidfd]": FdType.PIDFD,
}
_V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids")

# Linux open flags as /proc/<pid>/fdinfo shows them (the kernel's x86-64
# octal values; glibc's O_LARGEFILE is 0 there) -> PPM_O_*.
_LINUX_FLAGS = ((0o100, lib.PPM_O_CREAT), (0o2000, lib.PPM_O_APPEND),
                (0o10000, lib.PPM_O_DSYNC), (0o200, lib.PPM_O_EXCL),
                (0o4000, lib.PPM_O_NONBLOCK), (0o4010000, lib.PPM_O_SYNC),
                (0o1000, lib.PPM_O_TRUNC), (0o40000, lib.PPM_O_DIRECT),
                (0o200000, lib.PPM_O_DIRECTORY),
                (0o100000, lib.PPM_O_LARGEFILE),
                (0o2000000, lib.PPM_O_CLOEXEC))
# access mode 0..3 (3 is not used by open(); read as read-write)
_ACCESS = (lib.PPM_O_RDONLY, lib.PPM_O_WRONLY, lib.PPM_O_RDWR, lib.PPM_O_RDWR)


def linux_to_ppm_open_flags(flags: int) -> int:
    out = _ACCESS[flags & 3]
    for linux, ppm in _LINUX_FLAGS:
        if flags & linux == linux:
            out |= ppm
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _hex_ip4(text: str) -> str:
    return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(text, 16)))


def _hex_ip6(text: str) -> str:
    raw = b"".join(struct.pack("<I", int(text[i:i + 8], 16))
                   for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)


@dataclass(slots=True)
class NetTables:
    """Socket inode -> fd template, for one network namespace."""

    sockets: dict[int, FdInfo] = field(default_factory=dict)

    @classmethod
    def read(cls, net_dir: str) -> NetTables:
        tables = cls()
        for proto, fam in (("tcp", AF_INET), ("udp", AF_INET),
                           ("tcp6", AF_INET6), ("udp6", AF_INET6)):
            tables._read_ip(os.path.join(net_dir, proto), proto[:3], fam)
        tables._read_unix(os.path.join(net_dir, "unix"))
        return tables

    def _read_ip(self, path: str, l4: str, family: int) -> None:
        text = _read(path)
        if not text:
            return
        conv = _hex_ip4 if family == AF_INET else _hex_ip6
        ftype = FdType.IPV4 if family == AF_INET else FdType.IPV6
        rows = []
        listening: set[int] = set()
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10:
                continue
            try:
                lip, lport = cols[1].split(":")
                rip, rport = cols[2].split(":")
                row = (conv(lip), int(lport, 16), conv(rip), int(rport, 16),
                       cols[3], int(cols[9]))
            except (ValueError, OSError):
                continue
            rows.append(row)
            if row[3] == 0:
                listening.add(row[1])
        for lip_s, lport_i, rip_s, rport_i, _st, ino in rows:
            if rport_i == 0:
                name = f"{lip_s}:{lport_i}"
                fdi = FdInfo(-1, ftype, name, name, l4proto=l4, dip=lip_s,
                             dport=lport_i, is_server=True)
            elif lport_i in listening:
                name = f"{rip_s}:{rport_i}->{lip_s}:{lport_i}"
                fdi = FdInfo(-1, ftype, name, name, l4proto=l4, sip=rip_s,
                             sport=rport_i, dip=lip_s, dport=lport_i,
                             is_server=True)
            else:
                name = f"{lip_s}:{lport_i}->{rip_s}:{rport_i}"
                fdi = FdInfo(-1, ftype, name, name, l4proto=l4, sip=lip_s,
                             sport=lport_i, dip=rip_s, dport=rport_i,
                             is_server=False)
            self.sockets[ino] = fdi

    def _read_unix(self, path: str) -> None:
        text = _read(path)
        if not text:
            return
        for line in text.splitlines()[1:]:
            cols = line.split(None, 7)
            if len(cols) < 7 or not cols[6].isdigit():
                continue
            name = cols[7] if len(cols) > 7 else ""
            self.sockets[int(cols[6])] = FdInfo(-1, FdType.UNIX, name, name)


@dataclass(slots=True)
class ProcReader:
    host_root: str = ""
    read_env: bool = True
    _net: dict[int, NetTables] = field(default_factory=dict)
    _boot_ns: int | None = None
    _hz: int = 100

    @property
    def proc(self) -> str:
        return self.host_root + "/proc"

    def boot_ns(self) -> int:
        if self._boot_ns is None:
            self._boot_ns = 0
            self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
            for line in (_read(self.proc + "/stat") or "").splitlines():
                if line.startswith("btime "):
                    self._boot_ns = int(line.split()[1]) * 1_000_000_000
        return self._boot_ns

    def pids(self) -> list[int]:
        try:
            return sorted(int(n) for n in os.listdir(self.proc) if n.isdigit())
        except OSError:
            return []

    def tids(self, pid: int) -> list[int]:
        try:
            return sorted(int(n) for n in os.listdir(f"{self.proc}/{pid}/task")
                          if n.isdigit())
        except OSError:
            return [pid]

    def scan(self, with_fds: bool = True) -> Iterator[ThreadInfo]:
        """Every thread on the system; threads share their process's fds."""
        for pid in self.pids():
            main = self.read_thread(pid, pid, with_fds)
            if main is None:
                continue
            yield main
            for tid in self.tids(pid):
                if tid == pid:
                    continue
                t = self.read_thread(pid, tid, False)
                if t is not None:
                    t.fds = main.fds
                    yield t

    def read_thread(self, pid: int, tid: int, with_fds: bool = True
                    ) -> ThreadInfo | None:
        base = f"{self.proc}/{pid}/task/{tid}"
        pbase = f"{self.proc}/{pid}"
        status = _read(base + "/status")
        statline = _read(base + "/stat")
        if status is None or statline is None:
            return None
        st: dict[str, str] = {}
        for line in status.splitlines():
            key, _, val = line.partition(":")
            st[key] = val.strip()
        t = ThreadInfo(tid=tid, pid=int(st.get("Tgid", pid) or pid))
        t.ptid = int(st.get("PPid", "0") or 0)
        comm = _read(base + "/comm")
        t.comm = comm.rstrip("\n") if comm else st.get("Name", "")
        uids = st.get("Uid", "").split()
        gids = st.get("Gid", "").split()
        if len(uids) >= 2:
            t.uid, t.euid = int(uids[0]), int(uids[1])
        if len(gids) >= 2:
            t.gid, t.egid = int(gids[0]), int(gids[1])
        nspid = st.get("NSpid", "").split()
        nstgid = st.get("NStgid", "").split()
        t.vtid = int(nspid[-1]) if nspid else tid
        t.vpid = int(nstgid[-1]) if nstgid else t.pid
        for key, attr in (("CapInh", "cap_inheritable"),
                          ("CapPrm", "cap_permitted"),
                          ("CapEff", "cap_effective")):
            if key in st:
                setattr(t, attr, int(st[key], 16))
        for key, attr in (("VmSize", "vmsize"), ("VmRSS", "vmrss"),
                          ("VmSwap", "vmswap")):
            if key in st:
                setattr(t, attr, int(st[key].split()[0]))
        rest = statline[statline.rfind(")") + 2:].split()
        if len(rest) > 19:
            t.pgid, t.sid, t.tty = int(rest[2]), int(rest[3]), int(rest[4])
            t.vpgid = t.pgid
            t.pfminor, t.pfmajor = int(rest[7]), int(rest[9])
            ticks = int(rest[19])
            t.clone_ts = self.boot_ns() + ticks * 1_000_000_000 // self._hz
        cmdline = _read(pbase + "/cmdline") or ""
        argv = cmdline.split("\0")
        if argv and argv[-1] == "":
            argv.pop()
        if argv:
            t.exe, t.args = argv[0], argv[1:]
        else:
            t.exe, t.args = t.comm, []
        exepath = _readlink(pbase + "/exe") or ""
        if exepath.endswith(" (deleted)"):
            exepath = exepath[:-10]
        t.exepath = exepath
        cwd = _readlink(pbase + "/cwd")
        t.cwd = (cwd.rstrip("/") + "/") if cwd else "/"
        if self.read_env:
            env = _read(pbase + "/environ") or ""
            t.env = [e for e in env.split("\0") if e]
        login = _read(base + "/loginuid")
        t.loginuid = int(login) if login and login.strip().isdigit() else NO_LOGINUID
        t.cgroups = self._cgroups(_read(base + "/cgroup") or "")
        if with_fds and tid == t.pid:
            t.fds = self.read_fds(t.pid)
        return t

    @staticmethod
    def _cgroups(text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            if parts[1] == "":
                out.extend((c, parts[2]) for c in _V2_CONTROLLERS)
            else:
                for c in parts[1].split(","):
                    out.append((c.replace("name=", ""), parts[2]))
        return parse_cgroups([f"{s}={p}" for s, p in out])

    def _net_tables(self, pid: int) -> NetTables:
        try:
            netns = os.stat(f"{self.proc}/{pid}/ns/net").st_ino
        except OSError:
            netns = 0
        tables = self._net.get(netns)
        if tables is None:
            tables = NetTables.read(f"{self.proc}/{pid}/net")
            self._net[netns] = tables
        return tables

    def local_addresses(self) -> set[str]:
        """IPv4 (fib_trie LOCAL routes) and IPv6 (if_inet6) host addresses."""
        addrs: set[str] = set()
        prev = ""
        for line in (_read(self.proc + "/net/fib_trie") or "").splitlines():
            if "/32 host LOCAL" in line and prev:
                addrs.add(prev.split()[-1])
            prev = line
        for line in (_read(self.proc + "/net/if_inet6") or "").splitlines():
            cols = line.split()
            if cols and len(cols[0]) == 32:
                try:
                    addrs.add(socket.inet_ntop(socket.AF_INET6,
                                               bytes.fromhex(cols[0])))
                except (ValueError, OSError):
                    pass
        return addrs

    def forget_net(self) -> None:
        self._net.clear()

    def read_fds(self, pid: int) -> dict[int, FdInfo]:
        fddir = f"{self.proc}/{pid}/fd"
        try:
            names = os.listdir(fddir)
        except OSError:
            return {}
        fds: dict[int, FdInfo] = {}
        for n in names:
            if not n.isdigit():
                continue
            fd = int(n)
            target = _readlink(f"{fddir}/{n}")
            if target is None:
                continue
            fdi = self._fd_from_link(pid, fd, target, f"{fddir}/{n}")
            flags_text = _read(f"{self.proc}/{pid}/fdinfo/{n}") or ""
            for line in flags_text.splitlines():
                if line.startswith("flags:"):
                    fdi.flags = linux_to_ppm_open_flags(int(line.split()[1], 8))
                    fdi.cloexec = bool(fdi.flags & O_CLOEXEC)
                    break
            fds[fd] = fdi
        return fds

    def read_fd(self, pid: int, fd: int) -> FdInfo | None:
        """One fd of process ``pid`` as /proc shows it now (None: closed
        or the process is gone)."""
        link = f"{self.proc}/{pid}/fd/{fd}"
        target = _readlink(link)
        if target is None:
            return None
        fdi = self._fd_from_link(pid, fd, target, link)
        flags_text = _read(f"{self.proc}/{pid}/fdinfo/{fd}") or ""
        for line in flags_text.splitlines():
            if line.startswith("flags:"):
                fdi.flags = linux_to_ppm_open_flags(int(line.split()[1], 8))
                fdi.cloexec = bool(fdi.flags & O_CLOEXEC)
                break
        return fdi

    def _fd_from_link(self, pid: int, fd: int, target: str, path: str) -> FdInfo:
        if target.startswith("/"):
            if target.startswith("/memfd:"):
                name = target[1:].removesuffix(" (deleted)")
                return FdInfo(fd, FdType.MEMFD, name, name)
            try:
                st = os.stat(path)
                is_dir = statmod.S_ISDIR(st.st_mode)
                dev, ino = st.st_dev, st.st_ino
            except OSError:
                is_dir, dev, ino = False, 0, 0
            return FdInfo(fd, FdType.DIRECTORY if is_dir else FdType.FILE,
                          target, target, dev=dev, ino=ino)
        kind, _, rest = target.partition(":")
        if kind == "socket":
            ino = int(rest.strip("[]") or 0)
            tmpl = self._net_tables(pid).sockets.get(ino)
            if tmpl is not None:
                fdi = tmpl.clone(fd)
                fdi.ino = ino
                return fdi
            return FdInfo(fd, FdType.UNKNOWN, target, target, ino=ino)
        if kind == "pipe":
            return FdInfo(fd, FdType.PIPE, target, target,
                          ino=int(rest.strip("[]") or 0))
        if kind == "anon_inode":
            ftype = _ANON_TYPES.get(rest)
            if ftype is None:
                ftype = FdType.BPF if rest.startswith("bpf") else FdType.UNKNOWN
            return FdInfo(fd, ftype, target, target)
        return FdInfo(fd, FdType.UNKNOWN, target, target)
