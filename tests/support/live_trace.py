# SPDX-License-Identifier: Apache-2.0
"""Run a command while the real module traces it (kernel tests, in the VM).

``trace(argv, interesting, on_event)`` starts a ``LiveSource`` and an
``Inspector`` bootstrapped from /proc, runs ``argv`` and hands every event
with its context and the command's pid to ``on_event`` until the command
has exited and the rings are drained. ``in_tree(registry, ctx, root)``
tells the events of the command's process tree. ``field(ctx, "proc.aname[2]")`` reads one field
through the real registry.
"""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Collection, Sequence

from falco.events.event import Event
from falco.events.live import LiveSource
from falco.fields import FieldRegistry, default_registry
from falco.state import EventContext, Inspector


def field(registry: FieldRegistry, ctx: EventContext, name: str) -> object:
    arg = None
    if name.endswith("]"):
        name, _, arg = name[:-1].partition("[")
    fdef, dotted = registry.resolve(name)
    return fdef.extract(ctx, arg if arg is not None else dotted)


def in_tree(registry: FieldRegistry, ctx: EventContext, root: int) -> bool:
    t = ctx.thread
    if t is None:
        return False
    apids = field(registry, ctx, "proc.apid")
    return t.pid == root or (isinstance(apids, tuple) and root in apids)


def trace(argv: Sequence[str], interesting: Collection[str] | None,
          on_event: Callable[[Event, EventContext, int], None],
          timeout: float = 300.0,
          inspector: Inspector | None = None) -> int:
    """Returns the pid of the command, after it exited with status 0."""
    """``interesting``: event names, None for all; ``inspector``: one
    already bootstrapped (by default a new one, from /proc)."""
    # the command's procexit ends the trace (the rings keep bringing the
    # rest of the system's events)
    names = None if interesting is None else set(interesting) | {"procexit"}
    with LiveSource(interesting=names) as src:
        insp = inspector
        if insp is None:
            insp = Inspector(proc_lookups=True)
            insp.bootstrap_proc()
        try:
            proc = subprocess.Popen(list(argv))
            deadline = time.monotonic() + timeout
            idle = 0
            exited = False
            while time.monotonic() < deadline:
                batch = src.next_batch()
                for evt in batch:
                    on_event(evt, insp.process(evt), proc.pid)
                    exited = exited or (evt.name == "procexit"
                                        and evt.tid == proc.pid)
                if proc.poll() is not None:
                    idle = idle + 1 if not batch else 0
                    if exited or idle >= 3:
                        break
            assert proc.wait(timeout=60) == 0
        finally:
            insp.close()
    return proc.pid


__all__ = ["default_registry", "field", "in_tree", "trace"]
