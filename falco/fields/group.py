# SPDX-License-Identifier: Apache-2.0
"""group.* fields: the thread's group."""
from __future__ import annotations

from typing import Any

from falco.fields._common import I, S, field
from falco.fields.registry import FieldDef, IntKind
from falco.state.context import EventContext


def _name(ctx: EventContext, _arg: str | None) -> Any:
    t = ctx.thread
    if t is None or t.gid < 0:
        return None
    return ctx.inspector.users_of(t).group_name(t.gid)


def fields() -> list[FieldDef]:
    return [
        field("group.gid", I, "effective group id",
              lambda c, a: None if c.thread is None
              else c.thread.gid & 0xFFFFFFFF, kind=IntKind.UINT32),
        field("group.name", S, "group name (the id when unknown)", _name),
    ]
