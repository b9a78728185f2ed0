# SPDX-License-Identifier: Apache-2.0
"""proc.* fields: the process (and its ancestors) of the event's thread."""
from __future__ import annotations

from typing import Any, Callable

from falco.fields._common import (
    B, I, P, S, ancestor, ancestors, cmdline, env_value, exeline, field,
    main_of, parent_of)
from falco.fields.registry import ArgMode, FieldDef, FieldType, IntKind
from falco.state.context import EventContext
from falco.state.entries import (
    EXE_FROM_MEMFD, EXE_LOWER_LAYER, EXE_UPPER_LAYER, EXE_WRITABLE)

Get = Callable[[Any], Any]


def _self(get: Get) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        t = ctx.thread
        return None if t is None else get(t)
    return extract


def _parent(get: Get) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        p = parent_of(ctx)
        return None if p is None else get(p)
    return extract


def _any_ancestor(get: Get) -> Callable[[Any, str | None], Any]:
    """proc.aname[N] for one level; proc.aname: every ancestor (a tuple)."""
    def extract(ctx: EventContext, arg: str | None) -> Any:
        if arg is None:
            values = tuple(get(a) for a in ancestors(ctx))
            return values or None
        t = ancestor(ctx, arg)
        return None if t is None else get(t)
    return extract


# A thread known only by its tid has the literal name "<NA>", as in
# libsinsp, so that rules such as proc_name_exists behave the same.
def _name(t: Any) -> Any:
    return t.comm


def _exe(t: Any) -> Any:
    return t.exe


def _exepath(t: Any) -> Any:
    return t.exepath


def _cmdline(t: Any) -> Any:
    return cmdline(t)


def _args(ctx: EventContext, arg: str | None) -> Any:
    t = ctx.thread
    if t is None:
        return None
    if arg is not None:
        try:
            return t.args[int(arg)]
        except (ValueError, IndexError):
            return None
    return " ".join(t.args)


def _aargs(ctx: EventContext, arg: str | None) -> Any:
    if arg is None:
        return tuple(" ".join(a.args) for a in ancestors(ctx)) or None
    t = ancestor(ctx, arg)
    return None if t is None else " ".join(t.args)


def _env(ctx: EventContext, arg: str | None) -> Any:
    t = main_of(ctx)
    if t is None:
        return None
    if arg is None:
        return " ".join(t.env)
    return env_value(t.env, arg)


def _aenv(ctx: EventContext, arg: str | None) -> Any:
    t = main_of(ctx)
    if t is None:
        return None
    if arg is None:
        return " ".join(t.env)
    if arg.isdigit():
        a = ancestor(ctx, arg)
        return None if a is None else " ".join(a.env)
    value = env_value(t.env, arg)
    if value is not None:
        return value
    for a in ancestors(ctx):
        value = env_value(a.env, arg)
        if value is not None:
            return value
    return None


def _cwd(ctx: EventContext, _arg: str | None) -> Any:
    t = main_of(ctx)
    return None if t is None else t.cwd


def _loginshellid(ctx: EventContext, _arg: str | None) -> Any:
    t = main_of(ctx)
    if t is None:
        return None
    found = t.pid if t.comm.endswith("sh") else None
    for a in ancestors(ctx):
        if a.comm.endswith("sh"):
            found = a.pid
    return found


def _ppid(ctx: EventContext, _arg: str | None) -> Any:
    t = main_of(ctx)
    return None if t is None else t.ptid


def _group_leader(ctx: EventContext, attr: str) -> Any:
    """The process whose pid is the thread's sid/vpgid/pgid, or the eldest
    ancestor sharing it."""
    t = main_of(ctx)
    if t is None:
        return None
    want = getattr(t, attr)
    if t.pid == want or t.vpid == want:
        return t
    leader = None
    for a in ancestors(ctx):
        if getattr(a, attr) != want:
            break
        leader = a
        if a.pid == want or a.vpid == want:
            break
    return leader


def _leader(attr: str, get: Get) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        t = _group_leader(ctx, attr)
        return None if t is None else get(t)
    return extract


def _duration(ctx: EventContext, t: Any) -> Any:
    if t is None or not t.clone_ts:
        return None
    return ctx.evt.ts - t.clone_ts


def _exe_flag(bit: int) -> Callable[[Any, str | None], Any]:
    return _self(lambda t: bool(t.exe_flags & bit))


def _nonzero(attr: str) -> Callable[[Any, str | None], Any]:
    return _self(lambda t: getattr(t, attr) or None)


def _std(fd: int, what: str) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        t = ctx.thread
        fdi = None if t is None else ctx.inspector.fd_of(t, fd)
        if fdi is None:
            return None
        return fdi.type.value if what == "type" else fdi.name
    return extract


def _fdusage(ctx: EventContext, _arg: str | None) -> Any:
    t = main_of(ctx)
    if t is None or t.fdlimit <= 0:
        return None
    return len(t.fds) * 100 // t.fdlimit


def _ctime_since_start(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None or not t.exe_ino_ctime or not t.clone_ts:
        return None
    return t.clone_ts - t.exe_ino_ctime


def _ctime_since_pidns(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None or not t.exe_ino_ctime or not t.pidns_init_start_ts:
        return None
    return t.exe_ino_ctime - t.pidns_init_start_ts


def fields() -> list[FieldDef]:
    OPT = ArgMode.OPTIONAL
    REL = FieldType.RELTIME
    ABS = FieldType.ABSTIME
    return [
        field("proc.exe", S, "first command-line argument (argv[0])",
              _self(_exe)),
        field("proc.pexe", S, "proc.exe of the parent", _parent(_exe)),
        field("proc.aexe", S, "proc.exe of an ancestor: proc.aexe[1] is the "
              "parent; without index, any ancestor",
              _any_ancestor(_exe), OPT, multi=True),
        field("proc.exepath", P, "full path of the executable",
              _self(_exepath)),
        field("proc.pexepath", P, "proc.exepath of the parent",
              _parent(_exepath)),
        field("proc.aexepath", P, "proc.exepath of an ancestor",
              _any_ancestor(_exepath), OPT, multi=True),
        field("proc.name", S, "process name (comm, up to 16 chars)",
              _self(_name)),
        field("proc.pname", S, "name of the parent process", _parent(_name)),
        field("proc.aname", S, "name of an ancestor: proc.aname[1] is the "
              "parent, [2] the grandparent; without index, any ancestor",
              _any_ancestor(_name), OPT, multi=True),
        field("proc.args", S, "command-line arguments (without argv[0])",
              _args, OPT),
        field("proc.aargs", S, "proc.args of an ancestor", _aargs, OPT,
              multi=True),
        field("proc.cmdline", S, "process name and arguments",
              _self(_cmdline)),
        field("proc.pcmdline", S, "proc.cmdline of the parent",
              _parent(_cmdline)),
        field("proc.acmdline", S, "proc.cmdline of an ancestor",
              _any_ancestor(_cmdline), OPT, multi=True),
        field("proc.cmdnargs", I, "number of command-line arguments",
              _self(lambda t: len(t.args)), kind=IntKind.UINT64),
        field("proc.cmdlenargs", I, "total length of the arguments",
              _self(lambda t: sum(len(a) for a in t.args)),
              kind=IntKind.UINT64),
        field("proc.exeline", S, "proc.exe followed by the arguments",
              _self(exeline)),
        field("proc.env", S, "environment; proc.env[NAME] one variable",
              _env, OPT),
        field("proc.aenv", S, "environment variable of the process or its "
              "nearest ancestor that has it", _aenv, OPT),
        field("proc.cwd", P, "current working directory", _cwd),
        field("proc.loginshellid", I, "pid of the oldest shell ancestor",
              _loginshellid),
        field("proc.tty", I, "controlling terminal (0 if none)",
              _self(lambda t: t.tty), kind=IntKind.UINT32),
        field("proc.pid", I, "process id (thread group id)", _self(lambda t: t.pid)),
        field("proc.ppid", I, "parent process id", _ppid),
        field("proc.apid", I, "pid of an ancestor", _any_ancestor(
            lambda t: t.pid), OPT, multi=True),
        field("proc.vpid", I, "process id in its pid namespace",
              _self(lambda t: t.vpid if t.vpid >= 0 else None)),
        field("proc.pvpid", I, "parent's id in its pid namespace",
              _parent(lambda t: t.vpid if t.vpid >= 0 else None)),
        field("proc.sid", I, "session id of the process", _self(lambda t: t.sid)),
        field("proc.sname", S, "name of the session leader",
              _leader("sid", _name)),
        field("proc.sid.exe", S, "proc.exe of the session leader",
              _leader("sid", _exe)),
        field("proc.sid.exepath", P, "proc.exepath of the session leader",
              _leader("sid", _exepath)),
        field("proc.vpgid", I, "process group id (namespace)",
              _self(lambda t: t.vpgid)),
        field("proc.vpgid.name", S, "name of the process group leader",
              _leader("vpgid", _name)),
        field("proc.vpgid.exe", S, "proc.exe of the process group leader",
              _leader("vpgid", _exe)),
        field("proc.vpgid.exepath", P, "exepath of the process group leader",
              _leader("vpgid", _exepath)),
        field("proc.pgid", I, "process group id", _self(lambda t: t.pgid)),
        field("proc.pgid.name", S, "name of the process group leader",
              _leader("pgid", _name)),
        field("proc.pgid.exe", S, "proc.exe of the process group leader",
              _leader("pgid", _exe)),
        field("proc.pgid.exepath", P, "exepath of the process group leader",
              _leader("pgid", _exepath)),
        field("proc.duration", REL, "ns since the process started",
              lambda c, a: _duration(c, main_of(c))),
        field("proc.ppid.duration", REL, "ns since the parent started",
              lambda c, a: _duration(c, parent_of(c))),
        field("proc.pid.ts", ABS, "start time of the process",
              lambda c, a: (t := main_of(c)) and t.clone_ts or None),
        field("proc.ppid.ts", ABS, "start time of the parent",
              lambda c, a: (t := parent_of(c)) and t.clone_ts or None),
        field("proc.is_exe_writable", B, "executable writable by the user",
              _exe_flag(EXE_WRITABLE)),
        field("proc.is_exe_upper_layer", B, "executable in an overlayfs "
              "upper layer", _exe_flag(EXE_UPPER_LAYER)),
        field("proc.is_exe_lower_layer", B, "executable in an overlayfs "
              "lower layer", _exe_flag(EXE_LOWER_LAYER)),
        field("proc.is_exe_from_memfd", B, "executable is a memfd",
              _exe_flag(EXE_FROM_MEMFD)),
        field("proc.is_sid_leader", B, "process is its session leader",
              _self(lambda t: t.sid == t.vpid)),
        field("proc.is_vpgid_leader", B, "process leads its process group",
              _self(lambda t: t.vpgid == t.vpid)),
        field("proc.is_pgid_leader", B, "process leads its process group",
              _self(lambda t: t.pgid == t.pid)),
        field("proc.exe_ino", I, "inode of the executable",
              _nonzero("exe_ino")),
        field("proc.exe_ino.ctime", ABS, "ctime of the executable",
              _nonzero("exe_ino_ctime")),
        field("proc.exe_ino.mtime", ABS, "mtime of the executable",
              _nonzero("exe_ino_mtime")),
        field("proc.exe_ino.ctime_duration_proc_start", ABS, "ns between "
              "the executable's ctime and the process start",
              _ctime_since_start),
        field("proc.exe_ino.ctime_duration_pidns_start", ABS, "ns between "
              "the pid namespace start and the executable's ctime",
              _ctime_since_pidns),
        field("proc.pidns_init_start_ts", I, "start time of the pid "
              "namespace's init", _nonzero("pidns_init_start_ts"),
              kind=IntKind.UINT64),
        field("proc.fdopencount", I, "number of open fds",
              lambda c, a: (t := main_of(c)) and len(t.fds),
              kind=IntKind.UINT64),
        field("proc.fdlimit", I, "fd limit", _self(lambda t: t.fdlimit)),
        field("proc.fdusage", I, "open fds as a percentage of the limit",
              _fdusage, kind=IntKind.INT32),
        field("proc.vmsize", I, "virtual memory size (kB)",
              lambda c, a: (t := main_of(c)) and t.vmsize,
              kind=IntKind.UINT64),
        field("proc.vmrss", I, "resident memory (kB)",
              lambda c, a: (t := main_of(c)) and t.vmrss, kind=IntKind.UINT64),
        field("proc.vmswap", I, "swapped memory (kB)",
              lambda c, a: (t := main_of(c)) and t.vmswap,
              kind=IntKind.UINT64),
        field("proc.nthreads", I, "number of threads",
              lambda c, a: (t := main_of(c)) and t.nthreads,
              kind=IntKind.UINT64),
        field("proc.nchilds", I, "number of child threads",
              lambda c, a: (t := main_of(c)) and max(t.nthreads - 1, 0),
              kind=IntKind.UINT64),
        field("proc.stdin.type", S, "type of fd 0", _std(0, "type")),
        field("proc.stdout.type", S, "type of fd 1", _std(1, "type")),
        field("proc.stderr.type", S, "type of fd 2", _std(2, "type")),
        field("proc.stdin.name", S, "name of fd 0", _std(0, "name")),
        field("proc.stdout.name", S, "name of fd 1", _std(1, "name")),
        field("proc.stderr.name", S, "name of fd 2", _std(2, "name")),
    ]
