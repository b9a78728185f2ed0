# SPDX-License-Identifier: Apache-2.0
"""State updates for the process family: clone/fork/vfork/clone3,
execve/execveat, procexit, set*uid/set*gid, chdir/fchdir, prctl, setsid.

Each handler takes the inspector and the event context of an exit event
(procexit is an enter-direction event) and updates the tables.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Callable

from falco.state.containers import parse_cgroups
from falco.state.context import EventContext
from falco.state.entries import (
    CL_CLONE_FILES, CL_CLONE_PARENT, CL_CLONE_THREAD, PR_SET_NAME, ThreadInfo)
from falco.state.paths import concatenate_paths, dir_with_slash

if TYPE_CHECKING:
    from falco.state.inspector import Inspector

Handler = Callable[["Inspector", EventContext], None]
CLONE_EVENTS = frozenset(("clone", "clone3", "fork", "vfork"))


def split_args(raw: str) -> list[str]:
    """``"a\\0b\\0"`` -> ["a", "b"]; ``""`` (no arguments) -> []."""
    parts = raw.split("\0")
    if parts[-1] == "":
        parts.pop()
    return parts


def _fill_common(insp: Inspector, t: ThreadInfo, ctx: EventContext,
                 new_image: bool) -> None:
    """What clone and execve exits both carry. ``new_image``: an execve,
    whose program, arguments and environment replace the old ones."""
    exe = ctx.arg("exe")
    args = ctx.arg("args")
    # The driver reads argv[0] and the arguments in one copy of the
    # argument area: no exe means that copy failed, and the empty args
    # that come with it say nothing. A new image never keeps the old
    # one's command line (libsinsp: empty exe and args then).
    if exe is not None:
        t.exe = exe
        if args is not None:
            t.args = split_args(args)
    elif new_image:
        t.exe = ""
        t.args = []
    comm = ctx.arg("comm")
    if comm is not None:
        t.comm = comm               # may be "" (prctl PR_SET_NAME "")
    cwd = ctx.arg("cwd")
    # None: the driver could not resolve the directory; a path is never "".
    if cwd:
        insp.main_thread(t).cwd = dir_with_slash(cwd)
    cgroups = ctx.arg("cgroups")
    if cgroups is not None:         # "": in no cgroup at all
        t.cgroups = parse_cgroups(cgroups)
        t.container_id = insp.container_of(t.cgroups)
    uid = ctx.arg("uid")
    if isinstance(uid, int):
        t.uid = t.euid = uid
    gid = ctx.arg("gid")
    if isinstance(gid, int):
        t.gid = t.egid = gid
    t.fdlimit = ctx.int_arg("fdlimit", t.fdlimit)
    vm_size = ctx.arg("vm_size")
    if isinstance(vm_size, int):
        t.vmsize = vm_size
        t.vmrss = ctx.int_arg("vm_rss", t.vmrss)


def _new_child(insp: Inspector, parent: ThreadInfo, tid: int, pid: int,
               ptid: int, flags: int, ts: int) -> ThreadInfo:
    child = ThreadInfo(tid=tid, pid=pid, ptid=ptid)
    for attr in ("comm", "exe", "exepath", "args", "env", "tty", "uid", "gid",
                 "euid", "egid", "loginuid", "cgroups", "container_id", "sid",
                 "pgid", "vpgid", "exe_flags", "exe_ino", "exe_ino_ctime",
                 "exe_ino_mtime", "cap_permitted", "cap_effective",
                 "cap_inheritable", "fdlimit", "incomplete"):
        setattr(child, attr, getattr(parent, attr))
    pmain = insp.main_thread(parent)
    child.cwd = pmain.cwd
    child.flags = flags
    child.clone_ts = ts
    if flags & CL_CLONE_THREAD:
        child.fds = pmain.fds
    elif flags & CL_CLONE_FILES:
        child.fds = pmain.fds
    else:
        fds = {}
        for fd, fdi in pmain.fds.items():
            copy = fdi.clone(fd)
            copy.cloexec = fdi.cloexec
            fds[fd] = copy
        child.fds = fds
    return child


def parse_clone_exit(insp: Inspector, ctx: EventContext) -> None:
    evt = ctx.evt
    res = evt.res
    if not isinstance(res, int) or res < 0:
        return
    flags = ctx.int_arg("flags")
    if res > 0:
        # Caller side: the event describes the parent; res is the child.
        parent = ctx.thread
        if parent is None:
            return
        if flags & CL_CLONE_THREAD:
            pid, ptid = parent.pid, parent.ptid
        elif flags & CL_CLONE_PARENT:
            # the caller's parent is the child's (runc's container init)
            pid, ptid = res, parent.ptid
        else:
            pid, ptid = res, parent.tid
        known = insp.threads.get(res)
        if known is not None and known.ptid == ptid and not known.dead \
                and not known.incomplete:
            return      # the child's own exit event came first

        child = _new_child(insp, parent, res, pid, ptid, flags, evt.ts)
        if parent.vtid == parent.tid:
            child.vtid = res
            child.vpid = pid
        insp.add_thread(child)
        return
    # Child side: the event describes the new thread itself.
    tid = ctx.int_arg("tid", evt.tid)
    pid = ctx.int_arg("pid", tid)
    ptid = ctx.int_arg("ptid")
    existing = insp.threads.get(tid)
    if existing is not None and not existing.incomplete \
            and existing.ptid == ptid and not existing.dead:
        t = existing        # created a moment ago from the parent's event
    else:
        parent = insp.threads.get(ptid) if not flags & CL_CLONE_THREAD \
            else insp.threads.get(pid)
        if parent is None:
            parent = insp.lookup_thread(ptid, evt.ts) if ptid > 0 else None
        if parent is not None:
            t = _new_child(insp, parent, tid, pid, ptid, flags, evt.ts)
        else:
            t = ThreadInfo(tid=tid, pid=pid, ptid=ptid, clone_ts=evt.ts,
                           flags=flags)
        insp.add_thread(t)      # replaces a stale entry with this tid
    t.ptid = ptid
    t.incomplete = False
    _fill_common(insp, t, ctx, new_image=False)
    t.vtid = ctx.int_arg("vtid", t.vtid)
    t.vpid = ctx.int_arg("vpid", t.vpid)
    # ns since boot (0: the host's namespace) -> epoch ns
    pidns_start = ctx.int_arg("pidns_init_start_ts", -1)
    if pidns_start >= 0:
        t.pidns_init_start_ts = pidns_start + insp.boot_ts_epoch \
            if pidns_start else 0
    ctx.thread = t


def parse_execve_exit(insp: Inspector, ctx: EventContext) -> None:
    res = ctx.evt.res
    t = ctx.thread
    if t is None or not isinstance(res, int) or res < 0:
        return
    if t.incomplete:
        # First sight of this thread: take its identity from the event and
        # what it inherited from a known parent.
        pid = ctx.int_arg("pid", t.pid)
        ptid = ctx.int_arg("ptid", t.ptid)
        if (pid, ptid) != (t.pid, t.ptid):
            # re-file it: thread group, parent's children
            insp.remove_thread(t, reparent=False)
            t.pid, t.ptid = pid, ptid
            insp.add_thread(t)
        parent = insp.threads.get(t.ptid)
        if parent is not None:
            for attr in ("uid", "gid", "euid", "egid", "loginuid", "sid",
                         "pgid", "vpgid", "tty", "env"):
                setattr(t, attr, getattr(parent, attr))
    _fill_common(insp, t, ctx, new_image=True)
    t.incomplete = False
    main = insp.main_thread(t)
    env = ctx.arg("env")
    if env is not None:             # "": an empty environment
        t.env = split_args(env)
    t.tty = ctx.int_arg("tty", t.tty)
    loginuid = ctx.arg("loginuid")
    if isinstance(loginuid, int):
        t.loginuid = loginuid & 0xFFFFFFFF
    t.exe_flags = ctx.int_arg("flags")
    for name, attr in (("cap_inheritable", "cap_inheritable"),
                       ("cap_permitted", "cap_permitted"),
                       ("cap_effective", "cap_effective"),
                       ("exe_ino", "exe_ino"),
                       ("exe_ino_ctime", "exe_ino_ctime"),
                       ("exe_ino_mtime", "exe_ino_mtime"),
                       ("pgid", "pgid"), ("vpgid", "vpgid")):
        value = ctx.arg(name)
        if isinstance(value, int):
            setattr(t, attr, value)
    # trusted_exepath, else the path given to execve (exit or enter event),
    # else argv[0] when it is a path; a bare name says nothing. An empty
    # path (execveat of an fd with AT_EMPTY_PATH) names no file either.
    exepath = _first_path(ctx.arg("trusted_exepath"), ctx.arg("filename"),
                          ctx.arg("pathname"), t.exe)
    if "/" in exepath:
        t.exepath = concatenate_paths(main.cwd, exepath)
    else:
        t.exepath = ""
    # close-on-exec fds go away.
    fds = t.fds
    doomed = [fd for fd, fdi in fds.items() if fdi.cloexec]
    for fd in doomed:
        del fds[fd]


def _first_path(*candidates: object) -> str:
    for path in candidates:
        if isinstance(path, str) and path:
            return path
    return ""


def parse_procexit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    if t is None:
        return
    reaper = ctx.arg("reaper_tid")
    insp.mark_exited(t, reaper if isinstance(reaper, int) else None)


def _set_uid(t: ThreadInfo, uid: object) -> None:
    if isinstance(uid, int) and uid >= 0 and uid != 0xFFFFFFFF:
        t.uid = t.euid = uid


def _set_gid(t: ThreadInfo, gid: object) -> None:
    if isinstance(gid, int) and gid >= 0 and gid != 0xFFFFFFFF:
        t.gid = t.egid = gid


def _ok(ctx: EventContext) -> bool:
    res = ctx.evt.res
    return ctx.thread is not None and isinstance(res, int) and res >= 0


def parse_setuid_exit(insp: Inspector, ctx: EventContext) -> None:
    if _ok(ctx):
        assert ctx.thread is not None
        _set_uid(ctx.thread, ctx.arg("uid"))


def parse_setreuid_exit(insp: Inspector, ctx: EventContext) -> None:
    if _ok(ctx):
        assert ctx.thread is not None
        _set_uid(ctx.thread, ctx.arg("euid"))


def parse_setgid_exit(insp: Inspector, ctx: EventContext) -> None:
    if _ok(ctx):
        assert ctx.thread is not None
        _set_gid(ctx.thread, ctx.arg("gid"))


def parse_setregid_exit(insp: Inspector, ctx: EventContext) -> None:
    if _ok(ctx):
        assert ctx.thread is not None
        _set_gid(ctx.thread, ctx.arg("egid"))


def parse_chdir_exit(insp: Inspector, ctx: EventContext) -> None:
    if not _ok(ctx):
        return
    assert ctx.thread is not None
    path = ctx.arg("path")
    if path:                # chdir("") fails: a successful one has a path
        main = insp.main_thread(ctx.thread)
        main.cwd = dir_with_slash(concatenate_paths(main.cwd, path))


def parse_fchdir_exit(insp: Inspector, ctx: EventContext) -> None:
    if not _ok(ctx):
        return
    fdi = ctx.fdinfo
    if fdi is not None and fdi.name.startswith("/"):
        assert ctx.thread is not None
        insp.main_thread(ctx.thread).cwd = dir_with_slash(fdi.name)


def parse_prctl_exit(insp: Inspector, ctx: EventContext) -> None:
    if not _ok(ctx):
        return
    assert ctx.thread is not None
    if ctx.arg("option") == PR_SET_NAME:
        name = ctx.arg("arg2_str")
        if isinstance(name, str):       # "" is a name too
            ctx.thread.comm = name[:15]


def parse_setsid_exit(insp: Inspector, ctx: EventContext) -> None:
    res = ctx.evt.res
    if ctx.thread is not None and isinstance(res, int) and res > 0:
        ctx.thread.sid = res
        ctx.thread.pgid = ctx.thread.vpgid = res


def parse_setpgid_exit(insp: Inspector, ctx: EventContext) -> None:
    if not _ok(ctx):
        return
    assert ctx.thread is not None
    pid = ctx.arg("pid")
    pgid = ctx.arg("pgid")
    if pid in (0, ctx.thread.pid) and isinstance(pgid, int):
        value = ctx.thread.pid if pgid == 0 else pgid
        ctx.thread.pgid = ctx.thread.vpgid = value


def parse_capset_exit(insp: Inspector, ctx: EventContext) -> None:
    if not _ok(ctx):
        return
    assert ctx.thread is not None
    for name in ("cap_inheritable", "cap_permitted", "cap_effective"):
        value = ctx.arg(name)
        if isinstance(value, int):
            setattr(ctx.thread, name, value)


PROC_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    **{name: parse_clone_exit for name in CLONE_EVENTS},
    "execve": parse_execve_exit, "execveat": parse_execve_exit,
    "setuid": parse_setuid_exit, "setresuid": parse_setreuid_exit,
    "setreuid": parse_setreuid_exit, "setgid": parse_setgid_exit,
    "setresgid": parse_setregid_exit, "setregid": parse_setregid_exit,
    "chdir": parse_chdir_exit, "fchdir": parse_fchdir_exit,
    "prctl": parse_prctl_exit, "setsid": parse_setsid_exit,
    "setpgid": parse_setpgid_exit, "capset": parse_capset_exit,
})
PROC_ENTER_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "procexit": parse_procexit,
})
