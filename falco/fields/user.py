# SPDX-License-Identifier: Apache-2.0
"""user.* fields: the thread's (effective) user and login user."""
from __future__ import annotations

from typing import Any

from falco.fields._common import I, S, field
from falco.fields.registry import FieldDef, IntKind
from falco.state.context import EventContext
from falco.state.entries import NO_LOGINUID


def _user(ctx: EventContext) -> Any:
    t = ctx.thread
    if t is None or t.uid < 0:
        return None
    return ctx.inspector.users_of(t).user(t.uid)


def _name(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None or t.uid < 0:
        return None
    return ctx.inspector.users_of(t).user_name(t.uid)


def _loginuid(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None:
        return None
    return -1 if t.loginuid == NO_LOGINUID else t.loginuid


def _loginname(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None or t.loginuid == NO_LOGINUID:
        return None
    return ctx.inspector.users_of(t).user_name(t.loginuid)


def fields() -> list[FieldDef]:
    return [
        field("user.uid", I, "effective user id (4294967295 if unknown)",
              lambda c, a: None if c.thread is None
              else c.thread.uid & 0xFFFFFFFF, kind=IntKind.UINT32),
        field("user.name", S, "user name (the id when unknown)", _name),
        field("user.homedir", S, "home directory of the user",
              lambda c, a: (u := _user(c)) and u.homedir or None),
        field("user.shell", S, "login shell of the user",
              lambda c, a: (u := _user(c)) and u.shell or None),
        field("user.loginuid", I, "audit login uid (-1 if not set)",
              _loginuid),
        field("user.loginname", S, "name of the login user", _loginname),
    ]
