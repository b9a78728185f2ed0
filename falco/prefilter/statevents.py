# SPDX-License-Identifier: Apache-2.0
"""The events the state parsers learn from, and when one can change it.

Two families: the thread table (falco/state/parse_proc.py) and the fd
table (parse_fd.py, parse_net.py). For each event name, the condition
under which the parser changes anything: a failed call changes nothing,
so only successful ones have to reach the state. tests check that these
names are exactly the parsers' handler tables.
"""
from __future__ import annotations

from falco.prefilter.ir import OP_EQ, OP_LT, TRUE, Expr, all_of, any_of, \
    negate
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


def changes_state(code: Code) -> Expr:
    """When an event of ``code`` may change the table its name feeds
    (also whenever its tests cannot be evaluated on the event)."""
    expr = _changes(code)
    return any_of(negate(guards(expr)), expr)


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
