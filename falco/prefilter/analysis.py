# SPDX-License-Identifier: Apache-2.0
"""The analysis of a loaded ruleset: the state each rule reads, the event
set that feeds the rules and that state, and the prefilter expression of
every event code.

Per event code C the prefilter passes an event when some enabled rule of
C may match it (``Translator``), or the state the rules read may change
through it (``statevents``), or ``base_syscalls.custom_set`` names it.
Rules that read something this analysis cannot account for (the event
stream as a whole, unknown fields) turn state on demand and the program
off: every event the legacy event set holds is then delivered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from falco.driver.schema import Schema, get_schema
from falco.driver._falco_ffi import lib
from falco.fields.registry import FieldRegistry
from falco.filter import syntax
from falco.filter.compiler import fold
from falco.filter.evttypes import assume_evttype
from falco.prefilter.ir import (FALSE, OP_EQ, OP_LT, TRUE, Check, Expr,
                                all_of, any_of, factor, negate)
from falco.prefilter.models import Code
from falco.prefilter.needs import (FD_SCAN, FDS, STREAM, THREADS, Resolver,
                                   RuleNeeds, rule_needs)
from falco.prefilter.program import Program, emit
from falco.prefilter.statevents import (ADDRESS_EVENTS, ADDRESS_READERS,
                                       FD_EVENTS, SOCKET_EVENTS,
                                       SOCKET_READERS, THREAD_EVENTS,
                                       changes_sockets, changes_state)
from falco.prefilter.translate import Translator, guards

FD_NONE = "none"
FD_ON_DEMAND = "on_demand"
FD_TRACKED = "tracked"
_IO_CATEGORIES = (32, 33)      # EC_IO_READ, EC_IO_WRITE: high volume
GENERIC = (lib.PPME_GENERIC_E, lib.PPME_GENERIC_X)


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration the analysis follows."""

    prefilter: bool = True
    all_events: bool = False                 # -A, base_syscalls.all
    custom_set: tuple[str, ...] = ()         # base_syscalls.custom_set
    repair: bool = False                     # base_syscalls.repair
    drop_failed_exit: bool = False           # engine.kmod.drop_failed_exit
    legacy_state: frozenset[str] = frozenset()


@dataclass(slots=True)
class Analysis:
    """What the enabled rules need; see the module docstring."""

    needs: list[RuleNeeds]
    evttypes: dict[str, frozenset[str] | None]
    event_names: frozenset[str] | None     # None: every event
    state_names: frozenset[str]
    fd_mode: str
    threads: bool
    on_demand: bool                        # state on demand is in force
    # live sources follow socket fd state from events (FD_ON_DEMAND)
    track_sockets: bool = False
    reason: str = ""                       # why it is not, if it is not
    exprs: dict[int, Expr] = field(default_factory=dict)
    program: Program | None = None

    @property
    def program_blob(self) -> bytes | None:
        return None if self.program is None else self.program.blob


RuleLike = object
ExtraTexts = Callable[[object], Sequence[str]]


def analyze(rules: Iterable[object], registry: FieldRegistry,
            settings: Settings, extra: ExtraTexts | None = None,
            schema: Schema | None = None) -> Analysis:
    """Analyze the enabled ``rules`` (CompiledRule-like objects)."""
    schema = schema or get_schema()
    resolver = Resolver(registry)
    rules = list(rules)
    needs: list[RuleNeeds] = []
    evttypes: dict[str, frozenset[str] | None] = {}
    for rule in rules:
        outputs = [getattr(rule, "output", "")]
        if extra is not None:
            outputs += list(extra(rule))
        needs.append(rule_needs(rule.name,  # type: ignore[attr-defined]
                                getattr(rule, "ast", None), outputs,
                                resolver))
        evttypes[rule.name] = rule.evttypes  # type: ignore[attr-defined]
    aspects: set[str] = set()
    for n in needs:
        aspects |= n.aspects
    rule_names = _rule_names(evttypes)
    custom = {n for n in settings.custom_set if not n.startswith("!")}
    removed = {n[1:] for n in settings.custom_set if n.startswith("!")}
    fd_mode = _fd_mode(needs, evttypes, schema)
    threads = THREADS in aspects or fd_mode != FD_NONE
    readers: set[str] = set()
    for n in needs:
        if FDS in n.aspects:
            types = evttypes.get(n.rule)
            readers |= SOCKET_READERS if types is None else \
                types & SOCKET_READERS
    track_sockets = fd_mode == FD_ON_DEMAND and bool(readers)
    reason = ""
    if settings.all_events:
        reason = "every event requested (-A / base_syscalls.all)"
    elif not settings.prefilter:
        reason = "prefilter disabled in the configuration"
    elif STREAM in aspects:
        culprits = sorted({f for n in needs for f in n.unknown})
        reason = "rules read " + ", ".join(culprits[:5]) + \
            " (the whole event stream)"
    on_demand = not reason
    state: set[str] = set()
    if custom and not settings.repair:
        state = {"procexit"}
    elif not on_demand:
        state = set(settings.legacy_state)
    else:
        if threads:
            state |= THREAD_EVENTS
        if fd_mode == FD_TRACKED:
            state |= FD_EVENTS
        elif track_sockets:
            state |= SOCKET_EVENTS
            if readers & ADDRESS_READERS:
                state |= ADDRESS_EVENTS
    names: set[str] | None
    if settings.all_events:
        names = None
    elif rule_names is None:
        names = None
    else:
        names = set(rule_names) | state | custom
    if names is not None:
        names -= removed
    result = Analysis(needs, evttypes,
                      None if names is None else frozenset(names),
                      frozenset(state), fd_mode, threads, on_demand,
                      track_sockets=track_sockets and on_demand,
                      reason=reason)
    if on_demand:
        sockets = frozenset(state & (SOCKET_EVENTS | ADDRESS_EVENTS)) \
            if result.track_sockets else frozenset()
        result.exprs = _exprs(rules, registry, schema, names, state,
                              custom, removed, sockets)
    if settings.drop_failed_exit:
        result.exprs = _drop_failed(result.exprs, schema, names)
    if result.exprs:
        result.program = emit(result.exprs)
    return result


def _rule_names(evttypes: dict[str, frozenset[str] | None]
                ) -> frozenset[str] | None:
    out: set[str] = set()
    for types in evttypes.values():
        if types is None:
            return None
        out |= types
    return frozenset(out)


def _fd_mode(needs: list[RuleNeeds],
             evttypes: dict[str, frozenset[str] | None],
             schema: Schema) -> str:
    io = {e.name for e in schema.events
          if e.category & 0x1FF in _IO_CATEGORIES}
    mode = FD_NONE
    for n in needs:
        if FD_SCAN in n.aspects:
            return FD_TRACKED
        if FDS not in n.aspects:
            continue
        types = evttypes.get(n.rule)
        if types is None or types & io:
            return FD_TRACKED
        mode = FD_ON_DEMAND
    return mode


def _codes(schema: Schema, names: set[str] | None) -> list[int]:
    """The (non-generic) event codes of ``names`` (None: all)."""
    return [e.code for e in schema.events
            if e.code not in GENERIC and not e.unused and
            (names is None or e.name in names)]


def _exprs(rules: list[object], registry: FieldRegistry, schema: Schema,
           names: set[str] | None, state: set[str], custom: set[str],
           removed: set[str], sockets: frozenset[str]) -> dict[int, Expr]:
    exprs: dict[int, Expr] = {}
    cache: dict[tuple[object, ...], tuple[Expr, Expr]] = {}
    for code in range(lib.PPM_EVENT_MAX):
        exprs[code] = FALSE
    for c in _codes(schema, names):
        info = schema.events[c]
        if info.name in removed:
            continue
        if info.name in custom:
            exprs[c] = TRUE
            continue
        view = Code(info)
        parts: list[Expr] = []
        if info.name in sockets:
            parts.append(changes_sockets(view))
        elif info.name in state:
            parts.append(changes_state(view))
        tr = Translator(registry, view, cache)
        for rule in rules:
            types = rule.evttypes  # type: ignore[attr-defined]
            if types is not None and info.name not in types:
                continue
            ast = getattr(rule, "ast", None)
            if ast is None:
                parts.append(TRUE)
                break
            tree = fold(assume_evttype(ast, info.name, info.direction))
            parts.append(tr.pair(tree)[0])
            if parts[-1] == TRUE:
                break
        exprs[c] = factor(any_of(*parts))
    exprs.update(_generic(schema, names, removed))
    return exprs


def _generic(schema: Schema, names: set[str] | None,
             removed: set[str]) -> dict[int, Expr]:
    """Syscalls without an event of their own arrive as generic events
    whose name is in parameter 0: pass the wanted ones."""
    if names is None:
        return {c: TRUE for c in GENERIC}
    sc = {n: i for i, n in enumerate(schema.sc_names) if n}
    own = set(schema.by_name)
    wanted = sorted(sc[n] for n in names
                    if n in sc and n not in own and n not in removed)
    out: dict[int, Expr] = {}
    for c in GENERIC:
        view = Code(schema.events[c])
        idx = view.index("ID")
        if idx is None:
            out[c] = TRUE if wanted else FALSE
            continue
        hit = any_of(*(view.test(OP_EQ, idx, n, label="syscall")
                       for n in wanted))
        out[c] = any_of(negate(guards(hit)), hit)
    return out


def _drop_failed(exprs: dict[int, Expr], schema: Schema,
                 names: set[str] | None) -> dict[int, Expr]:
    """engine.kmod.drop_failed_exit: exit events with a negative result
    never leave the kernel."""
    out = dict(exprs)
    for info in schema.events:
        c = info.code
        if not c & 1 or info.unused or c in GENERIC:
            continue
        view = Code(info)
        res = view.res_index()
        if res is None or res != 0 or not view.width(res):
            continue
        failed = all_of(view.test(OP_LT, res, 0, label="res"))
        failed = all_of(guards(failed), failed)
        base = out.get(c, TRUE if names is None or info.name in names
                       else FALSE)
        out[c] = all_of(negate(failed), base)
    return out


__all__ = ["Analysis", "FD_NONE", "FD_ON_DEMAND", "FD_TRACKED", "Settings",
           "analyze", "Check", "syntax"]
