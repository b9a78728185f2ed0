# SPDX-License-Identifier: Apache-2.0
"""What the event source delivers and what the inspector keeps, from the
analysis of the loaded rules (falco.prefilter): the event set, the
prefilter program (installed in the kernel, or run by the capture
scanner) and state on demand; and the ``--prefilter-info`` report.

A reload installs the union of the old and the new programs first, lets
the engine switch rules at the first event published after that, then
installs the new program alone: no event the new rules need is filtered
in between.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from falco.app.append_output import AppendOutput, formats_for
from falco.app.backend import OpenedSource, capture_inspector, state_events
from falco.config import Config
from falco.driver.schema import get_schema
from falco.events.scap import CaptureReader
from falco.fields.registry import FieldRegistry
from falco.prefilter.analysis import (FD_ON_DEMAND, Analysis, Settings,
                                      analyze)
from falco.prefilter.ir import FALSE, Expr, any_of, render
from falco.prefilter.program import emit
from falco.rules import RuleSet
from falco.rules.model import CompiledRule
from falco.state.ondemand import CaptureFdSource, ProcFdSource

log = logging.getLogger(__name__)


def settings_from(config: Config, all_events: bool) -> Settings:
    base = config.base_syscalls
    return Settings(prefilter=config.prefilter.enabled,
                    all_events=all_events or base.all,
                    custom_set=tuple(base.custom_set), repair=base.repair,
                    drop_failed_exit=config.engine.kmod.drop_failed_exit,
                    legacy_state=state_events())


def analyze_rules(ruleset: RuleSet, registry: FieldRegistry,
                  settings: Settings, appends: Sequence[AppendOutput] = ()
                  ) -> Analysis:
    def extra(rule: object) -> list[str]:
        assert isinstance(rule, CompiledRule)
        return formats_for(appends, rule)
    return analyze(ruleset.enabled_rules, registry, settings, extra)


def apply(opened: OpenedSource, analysis: Analysis,
          program: bytes | None = None) -> None:
    """Configure the source and the inspector for ``analysis`` (or, while
    a reload is under way, for ``program``, the union of two)."""
    source = opened.source
    if opened.replay:
        # A replay without state on demand reads every event, as before.
        names = analysis.event_names if analysis.on_demand else None
        blob = analysis.program_blob if analysis.on_demand else None
    else:
        names = analysis.event_names
        blob = analysis.program_blob
    if program is not None:
        blob = program
    source.set_interesting(names)
    set_prefilter = getattr(source, "set_prefilter")
    set_prefilter(blob)
    inspector = opened.inspector
    want = analysis.on_demand and analysis.fd_mode == FD_ON_DEMAND
    # a replay asks its second inspector for sockets too (exact). Live,
    # sockets are kept from events under both engines: /proc cannot name
    # the socket of a process that is already gone when its listen or
    # connect is read. The module passes the closes of sockets (judged at
    # sys_enter); the BPF programs emit no close enter event, so there a
    # socket's entry leaves when its fd number is reused or its process
    # exits (the inspector's add_fd)
    track = want and analysis.track_sockets and not opened.replay
    if track and not inspector.track_sockets:
        inspector.keep_sockets_only()
    inspector.track_sockets = track
    if not want:
        if inspector.fd_source is not None:
            inspector.fd_source.close()
            inspector.fd_source = None
        return
    if inspector.fd_source is not None:
        return
    if opened.replay:
        assert isinstance(source, CaptureReader)
        path = source.path

        def make() -> tuple[CaptureReader, object]:
            reader = CaptureReader(path)
            return reader, capture_inspector(reader)
        inspector.fd_source = CaptureFdSource(make)
    else:
        inspector.fd_source = ProcFdSource(inspector.procfs)


def union_program(old: Analysis, new: Analysis) -> bytes | None:
    """A program passing what either analysis passes (None: no filter)."""
    if old.program is None or new.program is None:
        return None
    codes = set(old.program.exprs) | set(new.program.exprs)
    merged: dict[int, Expr] = {}
    for c in codes:
        merged[c] = any_of(old.program.exprs.get(c, FALSE),
                           new.program.exprs.get(c, FALSE))
    return emit(merged).blob


def union_names(old: Analysis, new: Analysis) -> frozenset[str] | None:
    if old.event_names is None or new.event_names is None:
        return None
    return old.event_names | new.event_names


def switch_time() -> int:
    """Event time (CLOCK_REALTIME ns) from which every event was judged
    by the program just installed."""
    return time.time_ns()


Printer = Callable[[str], None]


def report(analysis: Analysis, out: Printer) -> None:
    """``--prefilter-info``: the analysis in readable form."""
    out("Prefilter: " + ("on" if analysis.program is not None and
                         analysis.on_demand else "off") +
        (f" ({analysis.reason})" if analysis.reason else ""))
    out("State on demand: " + ("on" if analysis.on_demand else "off") +
        f"; thread table: {'kept' if analysis.threads else 'not needed'}"
        f"; fd tables: {analysis.fd_mode.replace('_', ' ')}")
    names = analysis.event_names
    out("Event set: " + ("every event" if names is None else
                         f"{len(names)} events: " +
                         ", ".join(sorted(names))))
    if analysis.state_names:
        out("  of which for the state: " +
            ", ".join(sorted(analysis.state_names)))
    out("")
    out("State each rule reads:")
    for need in analysis.needs:
        aspects = ", ".join(sorted(need.aspects)) or "the event only"
        types = analysis.evttypes.get(need.rule)
        out(f"  {need.rule}: {aspects} "
            f"[events: {'all' if types is None else ', '.join(sorted(types))}]")
        if need.unknown:
            out(f"    reads what no analysis covers: "
                f"{', '.join(sorted(need.unknown))}")
    out("")
    program = analysis.program
    if program is None:
        out("Prefilter program: none (every event of the set passes)")
        return
    out(f"Prefilter program: {program.n_insns} instructions, "
        f"{len(program.blob)} bytes")
    if program.widened:
        out("  too large: made PASS for codes "
            + ", ".join(str(c) for c in program.widened))
    schema = get_schema()
    for code in sorted(program.exprs):
        expr = program.exprs[code]
        info = schema.events[code]
        if expr == FALSE:
            continue
        old = " (old version)" if info.old else ""
        out(f"  {info.direction} {info.name} [code {code}]{old}: "
            f"pass if {render(expr)}")
    out("  every other event: drop")
