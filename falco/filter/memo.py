# SPDX-License-Identifier: Apache-2.0
"""Field values extracted once per event, shared by every check using them."""
from __future__ import annotations

from typing import Any, Callable

from falco.state.context import EventContext

_MISSING: Any = object()


class MemoKey:
    """A private ``ctx.cache`` key; never equal to the state's own keys."""

    __slots__ = ("name", "arg")

    def __init__(self, name: str, arg: str | None) -> None:
        self.name = name
        self.arg = arg


def memo(extract: Callable[[Any, str | None], Any],
         arg: str | None, name: str = "") -> Callable[[EventContext], Any]:
    """``extract(ctx, arg)`` computed once per event.

    The state layer's event context carries a per-event ``cache`` dict:
    the value is kept there, so nothing outlives the event.
    """
    key = MemoKey(name, arg)       # hashes by identity: cheap lookups

    def get(ctx: EventContext) -> Any:
        cache = ctx.cache
        if cache is None:
            cache = ctx.cache = {}
            value = cache[key] = extract(ctx, arg)
            return value
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = extract(ctx, arg)
        return value
    return get
