# SPDX-License-Identifier: Apache-2.0
"""Captures we write: read back by us, and by sysdig 0.29.3 with the same
evt.type / proc.name / fd.name our state engine shows."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from falco.events import SockTuple, make_event
from falco.events.capture_state import (FdEntry, GroupEntry, MachineInfo,
                                        ProcEntry, ScapFdType, ScapL4Proto,
                                        UserEntry)
from falco.events.scap import CaptureReader, read_capture
from falco.events.scap_writer import ScapWriter
from falco.fields import default_registry
from falco.state import Inspector
from support.external import require_tool

PROCS = [
    ProcEntry(tid=1, pid=1, ptid=0, comm="init", exe="/sbin/init",
              exepath="/sbin/init", cwd="/", fdlimit=1024),
    ProcEntry(tid=100, pid=100, ptid=1, sid=100, vpgid=100, comm="bash",
              exe="/bin/bash", exepath="/usr/bin/bash", args=["-c", "x y"],
              env=["HOME=/root", "TERM=xterm"], cwd="/root/", fdlimit=1024,
              uid=0, gid=0, vtid=100, vpid=100, loginuid=1000,
              cgroups=[("cpu", "/user.slice"), ("memory", "/user.slice")],
              root="/"),
    ProcEntry(tid=101, pid=100, ptid=1, comm="bash", exe="/bin/bash",
              exepath="/usr/bin/bash", cwd="/root/", uid=1000, gid=1000),
]
FDS = [
    FdEntry(tid=100, fd=3, type=ScapFdType.FILE_V2, name="/etc/hosts",
            flags=1, dev=0x803, ino=77),
    FdEntry(tid=100, fd=4, type=ScapFdType.IPV4_SOCK, sip="10.0.0.1",
            sport=5555, dip="10.0.0.2", dport=80,
            l4proto=ScapL4Proto.TCP, name="10.0.0.1:5555->10.0.0.2:80"),
    FdEntry(tid=100, fd=5, type=ScapFdType.IPV6_SERVSOCK, dip="::",
            dport=8080, l4proto=ScapL4Proto.TCP, is_server=True,
            name=":::8080"),
    FdEntry(tid=100, fd=6, type=ScapFdType.UNIX_SOCK, source=0xAA,
            dest=0xBB, name="/run/x.sock"),
    FdEntry(tid=100, fd=7, type=ScapFdType.DIRECTORY, name="/tmp"),
]
USERS = [UserEntry(0, 0, "root", "/root", "/bin/bash"),
         UserEntry(1000, 1000, "alice", "/home/alice", "/bin/sh")]
GROUPS = [GroupEntry(0, "root"), GroupEntry(1000, "alice")]


def _events() -> list:
    full = {"fd": 0, "dirfd": -100, "flags": "O_RDONLY", "mode": 0,
            "dev": 0, "ino": 0}
    evs = [
        make_event("openat", "<", {**full, "fd": 8, "name": "/etc/shadow"},
                   tid=100, ts=1000),
        make_event("read", "<", {"res": 4, "data": b"abcd", "fd": 3,
                                 "size": 4}, tid=100, ts=1001),
        make_event("write", "<", {"res": 2, "data": b"hi", "fd": 4,
                                  "size": 2}, tid=100, ts=1002),
        make_event("connect", "<", {
            "res": 0, "fd": 9,
            "tuple": SockTuple(2, "192.168.0.5", 40000, "1.1.1.1", 53)},
            tid=101, ts=1003),
        make_event("close", "<", {"res": 0, "fd": 8}, tid=100, ts=1004),
        make_event("execve", "<", {
            "res": 0, "exe": "/bin/cat", "args": ["/etc/passwd"], "tid": 100,
            "pid": 100, "ptid": 1, "cwd": "", "fdlimit": 1024, "pgft_maj": 0,
            "pgft_min": 0, "vm_size": 0, "vm_rss": 0, "vm_swap": 0,
            "comm": "cat", "cgroups": "cpu=/user.slice", "env": "HOME=/root",
            "tty": 0, "vpgid": 100, "loginuid": 1000, "flags": 0,
            "cap_inheritable": 0, "cap_permitted": 0, "cap_effective": 0,
            "exe_ino": 0, "exe_ino_ctime": 0, "exe_ino_mtime": 0, "uid": 0,
            "trusted_exepath": "/usr/bin/cat", "pgid": 100, "gid": 0,
            "filename": "/bin/cat"}, tid=100, ts=1005),
        make_event("openat", "<", {**full, "fd": 8, "name": "/etc/passwd"},
                   tid=100, ts=1006),
        make_event("read", "<", {"res": 5, "data": b"root:", "fd": 8,
                                 "size": 5}, tid=100, ts=1007),
        # newer event versions that sysdig 0.29 only knows in older forms
        make_event("dup2", "<", {"res": 10, "oldfd": 3, "newfd": 10},
                   tid=100, ts=1008),
        make_event("read", "<", {"res": 1, "data": b"x", "fd": 10,
                                 "size": 1}, tid=100, ts=1009),
        make_event("pipe2", "<", {"res": 0, "fd1": 11, "fd2": 12, "ino": 9,
                                  "flags": 0}, tid=100, ts=1010),
        make_event("write", "<", {"res": 1, "data": b"x", "fd": 12,
                                  "size": 1}, tid=100, ts=1011),
    ]
    return evs


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "ours.scap"
    with ScapWriter(path, MachineInfo(2, 1 << 30, 4194304, "testhost"),
                    PROCS, FDS, USERS, GROUPS) as w:
        for ev in _events():
            w.write_event(ev)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_roundtrip_state_and_events(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("rt.scap.gz" if gz else "rt.scap")
    evs = _events()
    with ScapWriter(path, MachineInfo(2, 1 << 30, 4194304, "testhost"),
                    PROCS, FDS, USERS, GROUPS, enter_events=False) as w:
        for ev in evs:
            w.write_event(ev)
    if gz:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    with CaptureReader(path) as rd:
        got = list(rd)
        assert rd.version == (1, 2)
        assert rd.machine is not None and rd.machine.hostname == "testhost"
        assert rd.procs == PROCS
        assert rd.fds == FDS
        assert rd.users == USERS and rd.groups == GROUPS
    assert [e.raw for e in got] == [e.raw for e in evs]


def test_enter_events_are_synthesized(capture: Path) -> None:
    evs = read_capture(capture)
    assert [(e.name, e.direction) for e in evs[:4]] == [
        ("openat", ">"), ("openat", "<"), ("read", ">"), ("read", "<")]
    assert evs[2].param("fd") == 3 and evs[2].param("size") == 4
    execve_e = [e for e in evs if e.name == "execve" and e.direction == ">"]
    assert execve_e[0].param("filename") == "/bin/cat"


def _sysdig(path: Path) -> list[tuple[str, ...]]:
    out = subprocess.run(
        [require_tool("sysdig"), "-r", str(path), "-p",
         "*%evt.num\t%evt.type\t%evt.dir\t%proc.name\t%fd.name"],
        capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def test_sysdig_agrees_with_our_state_engine(capture: Path) -> None:
    reg = default_registry()
    extract = [reg.resolve(n) for n in ("evt.type", "proc.name", "fd.name")]
    rd = CaptureReader(capture)
    insp = Inspector()
    insp.bootstrap_capture(rd.procs, rd.fds, rd.users, rd.groups)
    ours = {}
    for ev in rd:
        ctx = insp.process(ev)
        vals = [fd.extract(ctx, arg) for fd, arg in extract]
        ours[ev.num] = (ev.name, ev.direction,
                        *("<NA>" if v is None else str(v) for v in vals[1:]))
    theirs = _sysdig(capture)
    assert len(theirs) == len(ours) == 2 * len(_events())
    for num, typ, d, proc, fdname in theirs:
        assert ours[int(num)] == (typ, d, proc, fdname), num
    # the interesting ones really carry values
    exits = {v[0]: v for v in ours.values() if v[1] == "<"}
    assert exits["connect"][3] == "192.168.0.5:40000->1.1.1.1:53"
    assert exits["execve"][2] == "cat"
    # dup2 was written as the 2022 "dup" event: the dup'ed fd is known
    assert ours[20][0:2] == ("read", "<") and ours[20][3] == "/etc/hosts"
    assert ours[24][0:2] == ("write", "<") and ours[24][3] != "<NA>"
