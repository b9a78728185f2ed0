# SPDX-License-Identifier: Apache-2.0
"""The state engine against the real module: a scripted process tree and a
process in a docker-like cgroup with its own namespaces.

shell -> python -> child that chdirs, opens a relative path, dups the fd,
connects to 127.0.0.1 and execs cat: every event of the tree must carry
the exact process, fd, network, user and container fields.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from falco.events.live import LiveSource
from falco.fields import default_registry
from falco.state import Inspector
from falco.state.parse_fd import FD_EXIT_HANDLERS
from falco.state.parse_proc import PROC_ENTER_HANDLERS, PROC_EXIT_HANDLERS

pytestmark = pytest.mark.kernel

FIELDS = ("proc.name", "proc.pname", "proc.aname[2]", "proc.cmdline",
          "thread.tid", "thread.ismain", "proc.vpid",
          "proc.pid", "proc.apid", "fd.name", "fd.num", "fd.sip",
          "fd.sport", "fd.cip", "fd.cport", "user.name", "container.id",
          "proc.cwd")

WORKLOAD = r"""
import os, socket, sys, threading
work = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
port = srv.getsockname()[1]
pid = os.fork()
if pid == 0:
    os.chdir(work)
    fd = os.open("sub/../sub/data.txt", os.O_RDONLY)
    os.dup2(fd, 10)
    t = threading.Thread(target=lambda: os.close(os.open("sub/t.txt",
                                                         os.O_RDONLY)))
    t.start()
    t.join()
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    with open("ports", "w") as f:
        f.write(f"{port} {s.getsockname()[1]}\n")
    os.execv("/bin/cat", ["cat", "sub/data.txt"])
os.waitpid(pid, 0)
"""


def _interesting() -> set[str]:
    return set(FD_EXIT_HANDLERS) | set(PROC_EXIT_HANDLERS) | \
        set(PROC_ENTER_HANDLERS) | {"read", "write"}


def _get(reg: Any, ctx: Any, name: str) -> Any:
    arg = None
    if name.endswith("]"):
        name, _, arg = name[:-1].partition("[")
    fdef, dotted = reg.resolve(name)
    return fdef.extract(ctx, arg if arg is not None else dotted)


def _run_traced(argv: list[str], root_pid_rows: bool = True,
                timeout: float = 300.0) -> tuple[int, list[dict[str, Any]]]:
    """Run ``argv`` while feeding every event to an Inspector; return the
    root pid and the field rows of the events of its process tree."""
    reg = default_registry()
    rows: list[dict[str, Any]] = []
    with LiveSource(interesting=_interesting()) as src:
        insp = Inspector(proc_lookups=True)
        try:
            insp.bootstrap_proc()
            proc = subprocess.Popen(argv)
            root = proc.pid
            deadline = time.monotonic() + timeout
            idle = 0
            while time.monotonic() < deadline:
                batch = src.next_batch()
                for evt in batch:
                    ctx = insp.process(evt)
                    t = ctx.thread
                    if t is None:
                        continue
                    apids = _get(reg, ctx, "proc.apid") or ()
                    if t.pid != root and root not in apids:
                        continue
                    row = {n: _get(reg, ctx, n) for n in FIELDS}
                    row["evt"] = (evt.name, evt.direction)
                    row["args"] = {k: evt.param(k) for k in
                                   evt.param_names()
                                   if k in ("name", "path", "newfd")}
                    rows.append(row)
                if proc.poll() is not None:
                    idle = idle + 1 if not batch else 0
                    if idle >= 3:
                        break
            assert proc.wait(timeout=60) == 0
        finally:
            insp.close()
    return root, rows


def _exits(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["evt"] == (name, "<")]


def test_scripted_process_tree(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    data = work / "sub" / "data.txt"
    data.write_text("hello\n")
    (work / "sub" / "t.txt").write_text("thread\n")
    script = tmp_path / "wl.py"
    script.write_text(WORKLOAD)
    py = sys.executable
    comm = os.path.basename(py)[:15]
    sh_cmd = f"'{py}' '{script}' '{work}'; true"
    root, rows = _run_traced(["/bin/sh", "-c", sh_cmd])
    port, cport = map(int, (work / "ports").read_text().split())

    # the python child: open of the relative path, resolved against cwd
    opens = [r for r in _exits(rows, "openat")
             if r["args"].get("name") == "sub/../sub/data.txt"]
    assert len(opens) == 1, rows
    o = opens[0]
    assert o["fd.name"] == str(data)
    assert o["proc.name"] == comm
    assert o["proc.pname"] == comm
    assert o["proc.aname[2]"] == "sh"
    assert o["proc.cmdline"] == f"{comm} {script} {work}"
    assert o["proc.cwd"] == f"{work}/"
    assert o["user.name"] == "root"
    assert o["container.id"] == "host"
    child = o["proc.pid"]
    assert o["proc.apid"][1] == root

    dups = [r for r in _exits(rows, "dup2") + _exits(rows, "dup3")
            if r["proc.pid"] == child]
    assert dups and dups[0]["fd.name"] == str(data)
    assert dups[0]["fd.num"] == 10

    # a thread of the child shares its cwd and fd table
    topens = [r for r in _exits(rows, "openat")
              if r["args"].get("name") == "sub/t.txt"]
    assert len(topens) == 1
    th = topens[0]
    assert th["fd.name"] == str(work / "sub" / "t.txt")
    assert th["proc.pid"] == child and th["thread.tid"] != child
    assert th["thread.ismain"] is False
    assert th["proc.name"] == comm and th["proc.pname"] == comm

    conns = [r for r in _exits(rows, "connect") if r["proc.pid"] == child]
    assert len(conns) == 1
    c = conns[0]
    assert c["fd.name"] == f"127.0.0.1:{cport}->127.0.0.1:{port}"
    assert (c["fd.sip"], c["fd.sport"]) == ("127.0.0.1", port)
    assert (c["fd.cip"], c["fd.cport"]) == ("127.0.0.1", cport)

    # after exec: cat reopens the relative path from the same cwd
    cat_opens = [r for r in _exits(rows, "openat")
                 if r["proc.name"] == "cat"
                 and r["args"].get("name") == "sub/data.txt"]
    assert len(cat_opens) == 1
    k = cat_opens[0]
    assert k["fd.name"] == str(data)
    assert k["proc.pid"] == child
    assert k["proc.pname"] == comm
    assert k["proc.aname[2]"] == "sh"
    assert k["proc.cmdline"] == "cat sub/data.txt"
    assert k["user.name"] == "root"


CID = "f00dfeed" * 8


def _docker_cgroup() -> Path:
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.procs").exists():
        subprocess.run(["mount", "-t", "cgroup2", "none", str(root)],
                       check=True)
    group = root / "docker" / CID
    group.mkdir(parents=True, exist_ok=True)
    # Give the group its own css for a cheap controller, so that every
    # subsystem path the driver reports is not just the root's.
    for path in (root, root / "docker"):
        try:
            (path / "cgroup.subtree_control").write_text("+pids")
        except OSError:
            pass
    return group


def test_docker_like_cgroup_and_namespaces(tmp_path: Path) -> None:
    group = _docker_cgroup()
    marker = tmp_path / "in-container.txt"
    marker.write_text("x")
    cmd = (f"echo $$ > {group}/cgroup.procs && exec unshare -u -i -n -m -p "
           f"-f /bin/cat {marker}")
    _root, rows = _run_traced(["/bin/sh", "-c", cmd])
    cat = [r for r in _exits(rows, "openat")
           if r["args"].get("name") == str(marker)]
    assert len(cat) == 1, [r["evt"] for r in rows]
    assert cat[0]["container.id"] == CID[:12]
    assert cat[0]["proc.name"] == "cat"
    assert cat[0]["proc.pname"] == "unshare"
    assert cat[0]["proc.vpid"] == 1          # first process of its pid ns
    # the shell before moving itself was a host process
    host_rows = [r for r in rows if r["proc.name"] == "sh"
                 and r["container.id"] == "host"]
    assert host_rows
