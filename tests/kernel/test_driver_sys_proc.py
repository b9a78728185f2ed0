# SPDX-License-Identifier: Apache-2.0
"""Per-syscall tests, processes: exec, the clone family, exit, credentials,
namespaces, ptrace/kill/bpf and the generic event."""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

import ringreader as rr
from sctest import P, Tracer, live, sc, tmpfs, trace  # noqa: F401  (fixtures)

pytestmark = pytest.mark.kernel

TRUE = "/usr/bin/true"


def me() -> int:
    return threading.get_native_id()


def status_caps() -> tuple[int, int, int]:
    fields = dict(line.split(":\t") for line in
                  Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    return tuple(int(fields[k].strip(), 16) for k in ("CapInh", "CapPrm", "CapEff"))


def tty_nr() -> int:
    stat = Path("/proc/self/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[4])


def cgroup_paths() -> set[str]:
    return {line.split(":", 2)[2] for line in Path("/proc/self/cgroup").read_text().splitlines()}


def check_cgroups(raw: bytes) -> None:
    entries = raw.split(b"\0")
    assert entries[-1] == b"" and len(entries) > 1
    paths = cgroup_paths()
    for entry in entries[:-1]:
        name, _, path = entry.decode().partition("=")
        assert name and path in paths, (entry, paths)


def check_vm(p: dict) -> None:
    """vm_size/vm_rss/vm_swap (KiB) are the kernel's counters.  Since 6.2
    the rss counters are per-CPU with a folded total that lags by up to a
    batch per CPU (what get_mm_counter() and /proc/PID/status read): a
    process just exec'd may show 0 there."""
    size, rss, swap = p.pop("vm_size"), p.pop("vm_rss"), p.pop("vm_swap")
    assert size > 0 and swap >= 0 and rss <= size
    if tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2]) < (6, 2):
        assert rss > 0


def in_child(body: Callable[[], None]) -> int:
    """Fork, run @body in the child, _exit(0); returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return pid


def test_execve_from_sched_process_exec(trace: Tracer, tmp_path: Path) -> None:
    proc = subprocess.Popen([TRUE, "arg1", "two words"], env={"FPTEST": "42"}, cwd=tmp_path)
    assert proc.wait() == 0
    ev = trace.one("execve", tid=proc.pid)
    p = ev.params
    st = os.stat(TRUE)
    inh, prm, eff = status_caps()
    assert p.pop("pgft_maj") >= 0 and p.pop("pgft_min") >= 0
    check_vm(p)
    check_cgroups(p.pop("cgroups"))
    loginuid = int(Path("/proc/self/loginuid").read_text())
    # root owns /usr/bin/true: it could write it. In the VM /usr may be an
    # overlay: then one of the layer bits is set as well.
    layer = p["flags"] & (P("PPM_EXE_LOWER_LAYER") | P("PPM_EXE_UPPER_LAYER"))
    assert layer in ((P("PPM_EXE_LOWER_LAYER"), P("PPM_EXE_UPPER_LAYER"))
                     if fs_type(TRUE) == "overlayfs" else (0,))
    assert p == {
        "res": 0, "exe": TRUE, "args": b"arg1\0two words\0", "tid": proc.pid,
        "pid": proc.pid, "ptid": me(), "cwd": str(tmp_path),
        "fdlimit": resource.getrlimit(resource.RLIMIT_NOFILE)[0], "comm": "true",
        "env": b"FPTEST=42\0", "tty": tty_nr(), "vpgid": os.getpgid(0),
        "loginuid": loginuid, "flags": P("PPM_EXE_WRITABLE") | layer, "cap_inheritable": inh, "cap_permitted": prm,
        "cap_effective": eff, "exe_ino": st.st_ino, "exe_ino_ctime": st.st_ctime_ns,
        "exe_ino_mtime": st.st_mtime_ns, "uid": os.geteuid(),
        "trusted_exepath": os.path.realpath(TRUE), "pgid": os.getpgid(0),
        "gid": os.getegid(), "filename": TRUE}
    # the successful execve's own sys_exit is not a second event
    assert len(rr.select(trace.events(), "execve", tid=proc.pid)) == 1


def fs_type(path: str) -> str:
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def exec_flags(trace: Tracer, argv0: str, prepare: Callable[[], None] = lambda: None,
               fd: int | None = None) -> int:
    """Run @argv0 (or the open file @fd) in a child after @prepare();
    the flags param of its execve event."""
    pid = os.fork()
    if pid == 0:
        try:
            prepare()
            os.execve(argv0 if fd is None else fd, [argv0], {})
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return trace.one("execve", tid=pid).params["flags"]


def test_exe_flags_writable_memfd(trace: Tracer, tmpfs: Path) -> None:
    writable, memfd = P("PPM_EXE_WRITABLE"), P("PPM_EXE_FROM_MEMFD")
    exe = tmpfs / "true"
    shutil.copy(TRUE, exe)
    os.chmod(exe, 0o755)
    assert exec_flags(trace, str(exe)) == writable         # root owns it
    nobody = 65534

    def drop() -> None:
        os.setgroups([])
        os.setgid(nobody)
        os.setuid(nobody)

    def as_nobody() -> int:
        # by fd: nobody cannot walk pytest's 0700 directories
        fd = os.open(exe, os.O_RDONLY)
        try:
            return exec_flags(trace, "true", drop, fd=fd)
        finally:
            os.close(fd)
    assert as_nobody() == 0                                 # root:root 0755
    os.chmod(exe, 0o757)
    assert as_nobody() == writable                          # world-writable
    os.chown(exe, nobody, 0)
    os.chmod(exe, 0o555)
    assert as_nobody() == writable                          # nobody owns it
    wfd = os.memfd_create("fptest", 0)
    os.write(wfd, Path(TRUE).read_bytes())
    # exec refuses a file open for writing (ETXTBSY): keep a read-only fd
    fd = os.open(f"/proc/self/fd/{wfd}", os.O_RDONLY)
    os.close(wfd)
    try:
        os.fchmod(fd, 0o755)                                # memfds start 0777
        assert exec_flags(trace, "memtrue", fd=fd) == writable | memfd
        assert exec_flags(trace, "memtrue", drop, fd=fd) == memfd
    finally:
        os.close(fd)


def test_exe_flags_overlay_layers(trace: Tracer, tmpfs: Path) -> None:
    """A binary only in the lower layer, then one written through the
    overlay (so it lives in the upper layer)."""
    for d in ("lower", "upper", "work", "merged"):
        (tmpfs / d).mkdir()
    shutil.copy(TRUE, tmpfs / "lower" / "lowtrue")
    merged = tmpfs / "merged"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={tmpfs}/lower,upperdir={tmpfs}/upper,"
                    f"workdir={tmpfs}/work", str(merged)], check=True)
    try:
        shutil.copy(TRUE, merged / "uptrue")
        writable = P("PPM_EXE_WRITABLE")
        assert exec_flags(trace, str(merged / "lowtrue")) == writable | P("PPM_EXE_LOWER_LAYER")
        assert exec_flags(trace, str(merged / "uptrue")) == writable | P("PPM_EXE_UPPER_LAYER")
        shutil.copy(TRUE, tmpfs / "plain")
        assert exec_flags(trace, str(tmpfs / "plain")) == writable   # not on an overlay
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_failed_execve_from_sys_exit(trace: Tracer) -> None:
    with pytest.raises(FileNotFoundError):
        subprocess.run(["/nonexistent/fprobe-x", "a"])
    ev = [e for e in rr.select(trace.events(), "execve", filename="/nonexistent/fprobe-x")]
    assert len(ev) == 1
    p = ev[0].params
    assert p["res"] == -errno.ENOENT and p["tid"] == ev[0].tid != me()
    assert p["pid"] == ev[0].tid and p["ptid"] == me()
    assert p["exe"] is None and p["args"] is None and p["env"] is None


def test_execveat_on_an_fd(trace: Tracer) -> None:
    """A failed execveat is an execveat event (sys_exit); a successful one
    is reported by sched_process_exec, which cannot tell it from execve."""
    fd = os.open(TRUE, os.O_RDONLY)
    pid = os.fork()
    if pid == 0:
        try:
            try:
                os.execve(9999, ["bad-fd"], {})
            except OSError:
                pass
            os.execve(fd, ["true-by-fd", "x"], {})
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    bad = trace.one("execveat", tid=pid)
    assert bad.params["res"] == -errno.EBADF and bad.params["tid"] == pid
    assert bad.params["exe"] is None and "filename" not in bad.params
    assert len(bad.params) == 30
    ev = trace.one("execve", tid=pid)
    assert ev.params["res"] == 0 and ev.params["exe"] == "true-by-fd"
    assert ev.params["args"] == b"x\0" and ev.params["comm"] == "true"
    assert ev.params["tid"] == pid and ev.params["ptid"] == me()
    assert ev.params["exe_ino"] == os.stat(TRUE).st_ino
    assert ev.params["filename"] == f"/dev/fd/{fd}"


def test_fork_parent_child_and_exit(trace: Tracer) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    os.waitpid(pid, 0)
    evs = trace.events()
    parent = rr.select(evs, "clone", tid=me(), res=pid)
    child = rr.select(evs, "clone", tid=pid, res=0)
    assert len(parent) == 1 and len(child) == 1
    flags = P("PPM_CL_CLONE_CHILD_SETTID") | P("PPM_CL_CLONE_CHILD_CLEARTID")
    argv = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    for ev, tid, ptid in ((parent[0], me(), os.getppid()), (child[0], pid, me())):
        p = ev.params
        assert p.pop("pgft_maj") >= 0 and p.pop("pgft_min") >= 0
        assert p.pop("vm_size") > 0 and p.pop("vm_rss") > 0 and p.pop("vm_swap") >= 0
        check_cgroups(p.pop("cgroups"))
        assert p == {
            "res": pid if tid == me() else 0, "exe": argv[0].decode(),
            "args": b"\0".join(argv[1:]), "tid": tid, "pid": tid if tid == pid else os.getpid(),
            "ptid": ptid, "cwd": os.getcwd(),
            "fdlimit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "comm": Path("/proc/self/comm").read_text().strip(), "flags": flags,
            "uid": os.geteuid(), "gid": os.getegid(), "vtid": tid,
            "vpid": tid if tid == pid else os.getpid(), "pidns_init_start_ts": 0}
    ex = trace.one("procexit", tid=pid, exit=False)
    assert ex.params == {"status": 7 << 8, "ret": 7, "sig": 0, "core": 0, "reaper_tid": 0}


def test_killed_process_exit_status(trace: Tracer) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    time.sleep(0.2)
    proc.kill()
    proc.wait()
    ex = trace.one("procexit", tid=proc.pid, exit=False)
    assert ex.params == {"status": signal.SIGKILL, "ret": 0, "sig": signal.SIGKILL, "core": 0,
                         "reaper_tid": 0}
    assert trace.one("kill", pid=proc.pid).params == {
        "res": 0, "pid": proc.pid, "sig": signal.SIGKILL}


PR_SET_CHILD_SUBREAPER = 36


def ppid_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def leave_orphan(subreaper: bool) -> tuple[int, int, int]:
    """Fork C (under a child-subreaper S of ours when @subreaper), which
    forks a waiting grandchild G and exits. Returns C's pid, our child
    (S, or C itself) and G's parent once C is gone: the kernel's choice."""
    info_r, info_w = os.pipe()
    hold_r, hold_w = os.pipe()
    top = os.fork()
    if top == 0:
        try:
            os.close(info_r)
            os.close(hold_w)
            if subreaper:
                libc = ctypes.CDLL(None, use_errno=True)
                assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
                if os.fork():                       # S: reap C, wait for release
                    os.wait()
                    os.read(hold_r, 1)
                    os._exit(0)
            g = os.fork()
            if g == 0:                              # G
                os.read(hold_r, 1)
                os._exit(0)
            os.write(info_w, f"{os.getpid()} {g}".encode())   # C
        finally:
            os._exit(0)
    os.close(info_w)
    os.close(hold_r)
    try:
        c_pid, g_pid = map(int, os.read(info_r, 64).split())
        if not subreaper:
            os.waitpid(top, 0)
        while Path(f"/proc/{c_pid}").exists():
            time.sleep(0.01)
        return c_pid, top, ppid_of(g_pid)
    finally:
        os.write(hold_w, b"xx")
        os.close(hold_w)
        os.close(info_r)
        if subreaper:
            os.waitpid(top, 0)


def test_procexit_reaper_tid(trace: Tracer) -> None:
    """No children: 0 (see the tests above). Children left behind: the
    process that adopts them, here init (or whichever subreaper above us
    the kernel picked), then a child-subreaper of ours."""
    c_pid, _, adopter = leave_orphan(subreaper=False)
    assert adopter not in (c_pid, os.getpid())
    assert trace.one("procexit", tid=c_pid, exit=False).params["reaper_tid"] == adopter
    c_pid, s_pid, adopter = leave_orphan(subreaper=True)
    assert adopter == s_pid != c_pid
    assert trace.one("procexit", tid=c_pid, exit=False).params["reaper_tid"] == s_pid


def test_thread_creation(trace: Tracer) -> None:
    box: list[int] = []
    t = threading.Thread(target=lambda: box.append(threading.get_native_id()))
    t.start()
    t.join()
    (ttid,) = box
    evs = [e for e in trace.events() if e.name in ("clone", "clone3")]
    parent = [e for e in evs if e.tid == me() and e.params["res"] == ttid]
    child = [e for e in evs if e.tid == ttid and e.params["res"] == 0]
    assert len(parent) == 1 and len(child) == 1
    need = (P("PPM_CL_CLONE_THREAD") | P("PPM_CL_CLONE_VM") | P("PPM_CL_CLONE_FILES")
            | P("PPM_CL_CLONE_FS") | P("PPM_CL_CLONE_SIGHAND"))
    for ev in (parent[0], child[0]):
        assert ev.params["flags"] & need == need
        assert ev.params["pid"] == os.getpid() and ev.params["vpid"] == os.getpid()
    assert child[0].params["tid"] == ttid == child[0].params["vtid"]
    assert child[0].params["ptid"] == os.getppid()  # threads share the parent


VFORK = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void)
{
	pid_t p = vfork();
	if (p == 0)
		_exit(3);
	waitpid(p, NULL, 0);
	printf("%d %d\n", getpid(), p);
	return 0;
}
"""


def test_vfork(trace: Tracer, cc) -> None:
    exe = cc("vfork", VFORK)
    trace.reset()
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    pid, child = map(int, out.split())
    parent_ev = trace.one("vfork", tid=pid, res=child)
    child_ev = trace.one("vfork", tid=child, res=0)
    flags = P("PPM_CL_CLONE_VM") | P("PPM_CL_CLONE_VFORK")
    assert parent_ev.params["res"] == child and child_ev.params["res"] == 0
    assert parent_ev.params["flags"] == flags == child_ev.params["flags"]
    assert child_ev.params["ptid"] == pid and parent_ev.params["exe"] == str(exe)
    assert trace.one("procexit", tid=child, exit=False).params["ret"] == 3


def test_credentials_in_a_child(trace: Tracer) -> None:
    def body() -> None:
        assert sc("setresgid", 11, 12, 13) == 0
        assert sc("setregid", 14, 15) == 0
        assert sc("setgid", 16) == 0
        assert sc("setresuid", 21, 22, 23) == 0
        assert sc("setreuid", -1, 23) == 0
        assert sc("setuid", 0) == -errno.EPERM
        assert sc("getuid") == 21
    pid = in_child(body)
    t = trace
    assert t.one("setresgid", tid=pid).params == {"res": 0, "rgid": 11, "egid": 12, "sgid": 13}
    assert t.one("setregid", tid=pid).params == {"res": 0, "rgid": 14, "egid": 15}
    assert t.one("setgid", tid=pid).params == {"res": 0, "gid": 16}
    assert t.one("setresuid", tid=pid).params == {"res": 0, "ruid": 21, "euid": 22, "suid": 23}
    assert t.one("setreuid", tid=pid).params == {"res": 0, "ruid": 0xFFFFFFFF, "euid": 23}
    assert t.one("setuid", tid=pid).params == {"res": -errno.EPERM, "uid": 0}
    assert t.one("getuid", tid=pid).params == {"uid": 21}


def test_namespaces_and_sessions(trace: Tracer) -> None:
    CLONE_NEWUTS = 0x04000000

    def body() -> None:
        # back into our own namespace (PID 1's may be out of reach on a host)
        fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
        assert sc("unshare", CLONE_NEWUTS) == 0
        assert sc("setns", fd, CLONE_NEWUTS) == 0
        assert sc("setpgid", 0, 0) == 0
        assert sc("setsid") == -errno.EPERM  # now a group leader
    pid = in_child(body)
    assert trace.one("unshare", tid=pid).params == {"res": 0, "flags": P("PPM_CL_CLONE_NEWUTS")}
    ev = trace.one("setns", tid=pid)
    assert ev.params["res"] == 0 and ev.params["nstype"] == P("PPM_CL_CLONE_NEWUTS")
    assert ev.params["fd"] >= 3
    assert trace.one("setpgid", tid=pid).params == {"res": 0, "pid": 0, "pgid": 0}
    assert trace.one("setsid", tid=pid).params == {"res": -errno.EPERM}
    pid2 = in_child(lambda: None if sc("setsid") > 0 else 1 / 0)
    assert trace.one("setsid", tid=pid2).params == {"res": pid2}


def test_ptrace_attach_detach(trace: Tracer) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.2)
        PTRACE_ATTACH, PTRACE_DETACH = 16, 17
        trace.reset()
        assert sc("ptrace", PTRACE_ATTACH, proc.pid, 0, 0) == 0
        os.waitpid(proc.pid, 0)
        assert sc("ptrace", PTRACE_DETACH, proc.pid, 0, 0) == 0
    finally:
        proc.kill()
        proc.wait()
    zero = bytes([P("PPM_PTRACE_IDX_UINT64")]) + bytes(8)
    assert trace.one("ptrace", request=P("PPM_PTRACE_ATTACH")).params == {
        "res": 0, "addr": zero, "data": zero, "request": P("PPM_PTRACE_ATTACH"),
        "pid": proc.pid}
    assert trace.one("ptrace", request=P("PPM_PTRACE_DETACH")).params["pid"] == proc.pid


def test_bpf_and_generic_event(trace: Tracer) -> None:
    res = sc("bpf", 0x7FFF, 0, 0)
    assert res < 0
    ppid = os.getppid()
    assert ppid > 0
    assert trace.one("bpf").params == {"fd": res, "cmd": 0x7FFF}
    ev = trace.one("syscall", nativeID=rr.schema().syscalls["getppid"])
    assert ev.params == {"ID": rr.schema().sc_codes["PPM_SC_GETPPID"],
                         "nativeID": rr.schema().syscalls["getppid"]}


def test_every_event_is_well_formed(trace: Tracer) -> None:
    """Everything captured while running a shell pipeline parses against the
    schema (parse_events raises on any inconsistency)."""
    subprocess.run("ls / | wc -l > /dev/null; cat /proc/self/status >/dev/null",
                   shell=True, check=True)
    evs = trace.events()
    assert evs and all(e.info is not None for e in evs)
    assert {"execve", "clone", "openat", "close", "procexit"} <= {e.name for e in evs}
    assert sys.executable
