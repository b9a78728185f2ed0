# SPDX-License-Identifier: Apache-2.0
"""Random but coherent captures: processes fork, exec, open, close, dup
and use sockets the way real ones do (fd numbers allocated lowest first,
closes of open fds), with names and paths taken from rules' constants so
that rules fire. Used to check that state on demand and the prefilter
change no alert."""
from __future__ import annotations

import errno
import random
from dataclasses import dataclass, field
from pathlib import Path

from falco.events import SockAddr, SockTuple, make_event
from falco.events.capture_state import ProcEntry
from falco.events.event import Event
from falco.events.scap_writer import ScapWriter

TS = 1_700_000_000_000_000_000
NAMES = ["bash", "sh", "nc", "cat", "mysqld", "python3", "useradd", "sshd",
         "dpkg", "curl", "vi", "gdb", "insmod", "couchdb", "mongod",
         "redis-server", "postgres", "java", "node", "app", "awk", "ls"]
PATHS = ["/etc/shadow", "/etc/passwd", "/etc/sudoers", "/etc/hosts",
         "/etc/cron.d/job", "/etc/x.conf", "/root/.bashrc",
         "/root/.ssh/authorized_keys", "/root/.bash_history", "/bin/x",
         "/usr/bin/x", "/usr/local/bin/x", "/boot/vmlinuz", "/dev/null",
         "/dev/x", "/dev/shm/x", "/tmp/x", "/var/log/syslog",
         "/var/lib/mysql/x", "/var/lib/mongodb/x", "/proc/self/status",
         "x.txt", "../etc/shadow", "sub/y", "/etc//shadow", "/etc/./passwd",
         "/home/u/.ssh/id_rsa", "/var/spool/cron/root", "/lib/modules/x.ko"]
ADDRS = ["127.0.0.1", "10.0.0.5", "8.8.8.8", "192.168.1.10"]


@dataclass
class Proc:
    tid: int
    comm: str
    exe: str
    cwd: str = "/"
    fds: dict[int, str] = field(default_factory=dict)   # fd -> kind

    def lowest_fd(self) -> int:
        fd = 3
        while fd in self.fds:
            fd += 1
        return fd


@dataclass
class Synth:
    rng: random.Random
    events: list[Event] = field(default_factory=list)
    procs: dict[int, Proc] = field(default_factory=dict)
    next_tid: int = 2000
    ts: int = TS

    def emit(self, name: str, params: dict, tid: int) -> None:
        self.ts += self.rng.randint(1000, 3_000_000)
        self.events.append(make_event(name, "<", params, ts=self.ts,
                                      tid=tid))

    def pick(self) -> Proc:
        return self.rng.choice(list(self.procs.values()))

    def path(self) -> str:
        return self.rng.choice(PATHS)

    # -- process life ------------------------------------------------------
    def clone(self) -> None:
        parent = self.pick()
        child = Proc(self.next_tid, parent.comm, parent.exe, parent.cwd,
                     dict(parent.fds))
        self.next_tid += 1
        self.emit("clone", {"res": child.tid, "exe": parent.exe,
                            "args": [parent.exe], "tid": parent.tid,
                            "pid": parent.tid, "ptid": 1, "cwd": parent.cwd,
                            "comm": parent.comm, "flags": 0}, parent.tid)
        self.emit("clone", {"res": 0, "exe": parent.exe,
                            "args": [parent.exe], "tid": child.tid,
                            "pid": child.tid, "ptid": parent.tid,
                            "cwd": parent.cwd, "comm": parent.comm,
                            "flags": 0}, child.tid)
        self.procs[child.tid] = child

    def execve(self) -> None:
        p = self.pick()
        name = self.rng.choice(NAMES)
        exe = self.rng.choice([f"/usr/bin/{name}", f"/dev/shm/{name}",
                               f"/tmp/{name}", f"/bin/{name}"])
        ok = self.rng.random() < 0.85
        cg = "cpuset=/docker/" + "ab12" * 16 if self.rng.random() < 0.2 \
            else "cpuset=/"
        self.emit("execve", {"res": 0 if ok else -errno.ENOENT,
                             "exe": exe, "args": [exe, self.path()],
                             "tid": p.tid, "pid": p.tid, "ptid": 1,
                             "cwd": p.cwd, "comm": name, "cgroups": cg,
                             "env": "HOME=/root", "filename": exe,
                             "uid": 0}, p.tid)
        if ok:
            p.comm, p.exe = name, exe
            for fd in [fd for fd in p.fds if fd > 2 and
                       self.rng.random() < 0.3]:
                del p.fds[fd]            # close-on-exec ones

    def exit(self) -> None:
        if len(self.procs) < 3:
            return
        p = self.pick()
        self.events.append(make_event("procexit", ">", {"status": 0},
                                      ts=self.ts + 1, tid=p.tid))
        del self.procs[p.tid]

    # -- fds -------------------------------------------------------------------
    def open(self) -> None:
        p = self.pick()
        flags = self.rng.choice(["O_RDONLY", "O_WRONLY|O_CREAT",
                                 "O_RDWR", "O_WRONLY|O_TRUNC",
                                 "O_RDONLY|O_DIRECTORY", "O_WRONLY"])
        ok = self.rng.random() < 0.7
        fd = p.lowest_fd() if ok else -errno.ENOENT
        dirfd = -100
        dirs = [f for f, k in p.fds.items() if k == "dir"]
        if dirs and self.rng.random() < 0.3:
            dirfd = self.rng.choice(dirs)
        self.emit("openat", {"fd": fd, "dirfd": dirfd, "name": self.path(),
                             "flags": flags, "mode": 0o644, "dev": 1,
                             "ino": 2}, p.tid)
        if ok:
            p.fds[fd] = "dir" if "DIRECTORY" in flags else "file"

    def close(self) -> None:
        p = self.pick()
        if p.fds and self.rng.random() < 0.9:
            fd = self.rng.choice(list(p.fds))
            del p.fds[fd]
            self.emit("close", {"res": 0, "fd": fd}, p.tid)
        else:
            self.emit("close", {"res": -errno.EBADF, "fd": 99}, p.tid)

    def dup(self) -> None:
        p = self.pick()
        if not p.fds:
            return
        old = self.rng.choice(list(p.fds))
        new = self.rng.choice([p.lowest_fd(), 0, 1, 2])
        self.emit("dup2", {"res": new, "oldfd": old, "newfd": new}, p.tid)
        p.fds[new] = p.fds[old]

    def fchmod(self) -> None:
        p = self.pick()
        fd = self.rng.choice(list(p.fds) or [5])
        self.emit("fchmod", {"res": 0, "fd": fd,
                             "mode": self.rng.choice([0o4755, 0o644, 0o2755])},
                  p.tid)

    def socket(self) -> None:
        p = self.pick()
        fd = p.lowest_fd()
        dom = self.rng.choice([2, 2, 1, 17])
        self.emit("socket", {"fd": fd, "domain": dom,
                             "type": self.rng.choice([1, 2]), "proto": 0},
                  p.tid)
        p.fds[fd] = "sock"
        roll = self.rng.random()
        port = self.rng.choice([80, 443, 3306, 4444, 27017, 6379])
        addr = self.rng.choice(ADDRS)
        if roll < 0.4:
            self.emit("connect", {"res": self.rng.choice([0, 0, -115, -111]),
                                  "fd": fd, "tuple": SockTuple(
                                      2, "10.0.0.9", 40000, addr, port)},
                      p.tid)
        elif roll < 0.7:
            self.emit("bind", {"res": 0, "fd": fd,
                               "addr": SockAddr(2, addr, port)}, p.tid)
            self.emit("listen", {"res": 0, "fd": fd, "backlog": 5}, p.tid)
            new = p.lowest_fd()
            self.emit("accept", {"fd": new, "tuple": SockTuple(
                2, "10.0.0.7", 50000, addr, port)}, p.tid)
            p.fds[new] = "sock"

    def misc(self) -> None:
        p = self.pick()
        kind = self.rng.randrange(9)
        if kind == 0:
            self.emit("rename", {"res": 0, "oldpath": self.path(),
                                 "newpath": self.path()}, p.tid)
        elif kind == 1:
            self.emit("unlinkat", {"res": 0, "dirfd": -100,
                                   "name": self.path(), "flags": 0}, p.tid)
        elif kind == 2:
            self.emit("symlinkat", {"res": 0, "target": self.path(),
                                    "linkdirfd": -100,
                                    "linkpath": self.path()}, p.tid)
        elif kind == 3:
            self.emit("setuid", {"res": 0, "uid": 0}, p.tid)
        elif kind == 4:
            self.emit("ptrace", {"res": 0, "request": 16, "pid": 1},
                      p.tid)
        elif kind == 5:
            self.emit("chmod", {"res": 0, "filename": self.path(),
                                "mode": 0o4755}, p.tid)
        elif kind == 6:
            name = self.rng.choice(NAMES)
            self.emit("prctl", {"res": 0, "option": 15, "arg2_str": name},
                      p.tid)
            p.comm = name
        elif kind == 7:
            cwd = self.rng.choice(["/", "/etc", "/tmp", "/root"])
            self.emit("chdir", {"res": 0, "path": cwd}, p.tid)
            p.cwd = cwd + "/" if cwd != "/" else "/"
        else:
            self.emit("finit_module", {"res": 0, "fd": 3, "uargs": "",
                                       "flags": 0}, p.tid)

    def noise(self) -> None:
        p = self.pick()
        fd = self.rng.choice(list(p.fds) or [1])
        self.emit(self.rng.choice(["read", "write"]),
                  {"res": 10, "data": b"x" * 10, "fd": fd, "size": 10},
                  p.tid)


def synthesize(path: Path, seed: int, n: int = 2500) -> Path:
    """A capture of about ``n`` events."""
    rng = random.Random(seed)
    s = Synth(rng)
    procs = []
    for i, name in enumerate(("bash", "nc", "mysqld", "cat", "python3",
                              "sshd")):
        tid = 100 + i
        p = Proc(tid, name, f"/usr/bin/{name}")
        p.fds = {0: "file", 1: "file", 2: "file"}
        s.procs[tid] = p
        procs.append(ProcEntry(tid=tid, pid=tid, ptid=1, comm=name,
                               exe=f"/usr/bin/{name}",
                               exepath=f"/usr/bin/{name}", cwd="/"))
    actions = [(s.open, 30), (s.close, 25), (s.noise, 15), (s.clone, 4),
               (s.execve, 5), (s.exit, 2), (s.dup, 4), (s.fchmod, 2),
               (s.socket, 6), (s.misc, 7)]
    funcs = [f for f, w in actions for _ in range(w)]
    while len(s.events) < n:
        rng.choice(funcs)()
    with ScapWriter(path, procs=procs) as w:
        for ev in s.events:
            w.write_event(ev)
    return path
