# SPDX-License-Identifier: Apache-2.0
"""Build ``Event`` objects from Python values (tests, fakes, synthetic input).

Example::

    ev = make_event("openat", "<", {"fd": 3, "dirfd": -100,
                                    "name": "/etc/shadow",
                                    "flags": "O_RDONLY", "mode": 0},
                    tid=42)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from falco.driver.schema import get_schema
from falco.events.encode import encode_event
from falco.events.event import Event

DEFAULT_TS = 1_700_000_000_000_000_000


def event_code(name: str, direction: str) -> int:
    """The current (non-legacy) code of event ``name`` in ``direction``.

    ``direction`` is ">" / "<" (also "e"/"x", "enter"/"exit").
    """
    d = {"e": ">", "enter": ">", "x": "<", "exit": "<"}.get(direction,
                                                            direction)
    if d not in (">", "<"):
        raise ValueError(f"direction must be '>' or '<', not {direction!r}")
    return get_schema().current(name, d).code


def make_event(name: str, direction: str,
               params: Mapping[str, object] | Sequence[object] = (),
               ts: int = DEFAULT_TS, tid: int = 1, cpu: int = 0,
               num: int = 0, code: int | None = None) -> Event:
    """An Event of type ``name`` built from Python values.

    ``params`` by name (dict; missing ones are empty) or in table order
    (list).  Values: ints (flags also as "O_RDONLY|O_CLOEXEC", errno also as
    "ENOENT"), str for paths and strings (args/env/cgroups as
    "\\0"-separated str or a list), bytes for buffers, SockAddr/SockTuple,
    list of (fd, flags) for fdlists.  ``code`` forces a specific
    (e.g. legacy) event code.
    """
    if code is None:
        code = event_code(name, direction)
    raw = encode_event(code, ts, tid, params)
    return Event.from_bytes(raw, num=num, cpu=cpu)
