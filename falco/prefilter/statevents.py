# SPDX-License-Identifier: Apache-2.0
"""The events the state parsers learn from, and when one can change it.

Two families: the thread table (falco/state/parse_proc.py) and the fd
table (parse_fd.py, parse_net.py). For each event name, the condition
under which the parser changes anything: a failed call changes nothing,
so only successful ones have to reach the state. tests check that these
names are exactly the parsers' handler tables.
"""
from __future__ import annotations

from falco.prefilter.ir import (ARG_FDTYPE, ARG_SOURCE, FDTYPE_SOCK, OP_EQ,
                                OP_LT, SOURCE_MODULE, TRUE, Check, Expr,
                                all_of, any_of, negate)
from falco.prefilter.models import EINPROGRESS, Code
from falco.prefilter.translate import guards

THREAD_EVENTS = frozenset((
    "clone", "clone3", "fork", "vfork", "execve", "execveat", "procexit",
    "setuid", "setresuid", "setreuid", "setgid", "setresgid", "setregid",
    "chdir", "fchdir", "prctl", "setsid", "setpgid", "capset"))
FD_EVENTS = frozenset((
    "open", "openat", "openat2", "creat", "open_by_handle_at", "pipe",
    "pipe2", "dup", "dup2", "dup3", "fcntl", "close", "close_range",
    "memfd_create", "eventfd", "eventfd2", "signalfd", "signalfd4",
    "epoll_create", "epoll_create1", "inotify_init", "inotify_init1",
    "timerfd_create", "userfaultfd", "io_uring_setup", "pidfd_open",
    "pidfd_getfd", "socket", "connect", "accept", "accept4", "bind",
    "listen", "socketpair"))
PR_SET_NAME = 15
F_DUPFD, F_DUPFD_CLOEXEC = 1, 26
# Socket fd state that rules on socket calls read, followed exactly on
# live sources (a replay asks its full second inspector): where sockets
# are made, copied and closed (the module tells a socket's close from a
# file's, at sys_enter), and bound for the calls that read a socket's own
# address (listen, bind). connect and accept read only what socket()
# left (the transport); their own fields come from the event.
SOCKET_EVENTS = frozenset((
    "socket", "socketpair", "dup", "dup2", "dup3", "fcntl", "close",
    "close_range"))
SOCKET_READERS = frozenset(("connect", "listen", "bind", "accept",
                            "accept4", "shutdown", "getsockname"))
ADDRESS_READERS = frozenset(("listen", "bind", "shutdown"))
ADDRESS_EVENTS = frozenset(("bind", "listen"))


def changes_state(code: Code) -> Expr:
    """When an event of ``code`` may change the table its name feeds
    (also whenever its tests cannot be evaluated on the event)."""
    expr = _changes(code)
    return any_of(negate(guards(expr)), expr)


def changes_sockets(code: Code) -> Expr:
    """When an event of ``code`` may change socket fd state on a live
    source: sockets made, bound, copied (a copy of a socket), closed
    (seen at sys_enter, while the module can still tell a socket's fd)."""
    live = Check(OP_EQ, ARG_SOURCE, 0, 1, SOURCE_MODULE)
    return all_of(live, _socket_change(code))


def _socket_change(code: Code) -> Expr:
    name = code.name
    if name == "close":
        if code.is_exit:
            return negate(TRUE)
        fd = code.index("fd")
        if fd is None or not code.width(fd):
            return TRUE
        return _is_socket(fd)
    if not code.is_exit:
        return negate(TRUE)
    base = changes_state(code)
    if name in ("dup", "dup2", "dup3"):
        old = code.index("oldfd")
        if old is None:
            old = code.index("fd")
        return base if old is None else all_of(base, _is_socket(old))
    if name == "fcntl":
        cmd, fd = code.index("cmd"), code.index("fd")
        if cmd is None or fd is None or not code.width(cmd):
            return base
        dupfd = any_of(code.test(OP_EQ, cmd, F_DUPFD),
                       code.test(OP_EQ, cmd, F_DUPFD_CLOEXEC))
        return all_of(base, any_of(negate(guards(dupfd)), dupfd),
                      _is_socket(fd))
    return base


def _is_socket(idx: int) -> Check:
    return Check(OP_EQ, ARG_FDTYPE + idx, 0, 1, FDTYPE_SOCK,
                 label="fd")


def _changes(code: Code) -> Expr:
    if not code.is_exit:
        return TRUE if code.name == "procexit" else negate(TRUE)
    res = code.res_index()
    if res is None or not code.width(res):
        return TRUE
    ok = negate(code.test(OP_LT, res, 0, label="res"))
    if code.name == "connect":
        return any_of(ok, code.test(OP_EQ, res, EINPROGRESS, label="res"))
    if code.name == "prctl":
        opt = code.index("option")
        if opt is None or not code.width(opt):
            return ok
        return all_of(ok, code.test(OP_EQ, opt, PR_SET_NAME))
    return ok
