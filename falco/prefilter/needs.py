# SPDX-License-Identifier: Apache-2.0
"""Which state a rule reads, from the fields of its condition (exceptions
and macros included), its output and the extra outputs that apply to it.

Aspects:
- ``threads``: the thread table (process tree, names, arguments, cwd,
  users, containers), kept by the process events;
- ``fds``: fd table entries an event uses but did not create itself
  (looked up on demand unless the fd events are delivered anyway);
- ``fd_scan``: the whole fd table of a process (``fd.types``,
  ``proc.fdopencount``): every fd event must be delivered;
- ``stream``: values that depend on every event seen (``evt.deltatime``,
  ``evt.reltime``) or fields this analysis does not know: no event may be
  left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from falco.fields.registry import FieldRegistry, UnknownFieldError
from falco.filter import syntax

THREADS = "threads"
FDS = "fds"
FD_SCAN = "fd_scan"
STREAM = "stream"
ASPECTS = (THREADS, FDS, FD_SCAN, STREAM)

# Event-only fields (their value comes from the event alone).
_EVENT_ONLY = frozenset((
    "evt.num", "evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime",
    "evt.datetime.s", "evt.rawtime", "evt.rawtime.s", "evt.rawtime.ns",
    "evt.outputtime", "evt.latency", "evt.latency.s", "evt.latency.ns",
    "evt.latency.human", "evt.latency.quantized", "evt.dir", "evt.type",
    "evt.type.is", "syscall.type", "evt.cpu", "evt.rawarg", "evt.buffer",
    "evt.res", "evt.rawres", "evt.failed", "evt.is_io", "evt.is_io_read",
    "evt.is_io_write", "evt.io_dir", "evt.is_wait", "evt.wait_latency",
    "evt.count", "evt.count.exit", "evt.count.procinfo",
    "evt.count.threadinfo", "evt.around", "evt.is_open_read",
    "evt.is_open_write", "evt.is_open_exec", "evt.is_open_create",
    "evt.source", "evt.hostname", "evt.is_async", "evt.asynctype",
    "evt.pluginname", "evt.plugininfo", "evt.infra.docker.name",
    "evt.infra.docker.container.id", "evt.infra.docker.container.name",
    "evt.infra.docker.container.image"))
# Event fields that also read the fd the event uses.
_EVENT_FD = frozenset(("evt.category", "evt.buflen", "evt.is_syslog",
                       "evt.count.error", "evt.count.error.file",
                       "evt.count.error.net", "evt.count.error.memory",
                       "evt.count.error.other"))
_STREAM = frozenset(("evt.deltatime", "evt.deltatime.s", "evt.deltatime.ns",
                     "evt.reltime", "evt.reltime.s", "evt.reltime.ns"))
_FD_SCAN = frozenset(("fd.types", "proc.fdopencount", "proc.fdusage"))
_THREAD_CLASSES = ("proc.", "thread.", "user.", "group.", "container.",
                   "k8s.")
_FD_ARGS = frozenset(("fd", "fd1", "fd2", "oldfd", "newfd", "pidfd"))
_ID_ARGS = frozenset(("uid", "euid", "ruid", "suid", "loginuid", "gid",
                      "egid", "rgid", "sgid"))
_OUTPUT_FIELD = re.compile(
    r"%-?\d*(?:[A-Za-z0-9_]+\()?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)"
    r"(?:\[([^\]\s]*)\])?")


def field_aspects(name: str, arg: str | None = None) -> frozenset[str]:
    """The state aspects field ``name`` (with its argument) reads."""
    if name in _EVENT_ONLY:
        return frozenset()
    if name in _STREAM:
        return frozenset((STREAM,))
    if name in _FD_SCAN:
        return frozenset((FD_SCAN, FDS, THREADS))
    if name in _EVENT_FD:
        return frozenset((FDS,))
    if name in ("evt.arg", "evt.args", "evt.info"):
        if name == "evt.arg" and arg is not None:
            key = arg.split(".")[-1]
            if key in _FD_ARGS:
                return frozenset((FDS, THREADS))
            if key in _ID_ARGS:
                return frozenset((THREADS,))
            if not key.isdigit():
                return frozenset()
        return frozenset((FDS, THREADS))
    if name in ("evt.abspath",) or name.startswith("fs.path."):
        return frozenset((FDS, THREADS))
    if name.startswith("fd."):
        return frozenset((FDS, THREADS))
    if name.startswith(_THREAD_CLASSES):
        if name.startswith(("proc.stdin.", "proc.stdout.", "proc.stderr.")):
            return frozenset((FDS, THREADS))
        return frozenset((THREADS,))
    return frozenset((STREAM,))


def condition_fields(node: syntax.Expr) -> set[tuple[str, str | None]]:
    """(field, argument) pairs a condition reads."""
    out: set[tuple[str, str | None]] = set()
    stack: list[syntax.Expr] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (syntax.And, syntax.Or)):
            stack.extend(cur.children)
        elif isinstance(cur, syntax.Not):
            stack.append(cur.child)
        elif isinstance(cur, (syntax.BinaryCheck, syntax.UnaryCheck)):
            _lhs_fields(cur.lhs, out)
            rhs = getattr(cur, "rhs", None)
            if isinstance(rhs, syntax.ValExpr):
                _lhs_fields(rhs.operand, out)
            elif isinstance(rhs, syntax.TransformExpr):
                _lhs_fields(rhs, out)
    return out


def _lhs_fields(node: syntax.LhsExpr,
                out: set[tuple[str, str | None]]) -> None:
    while isinstance(node, syntax.TransformExpr):
        node = node.operand
    out.add((node.name, node.arg))


def output_fields(text: str) -> set[tuple[str, str | None]]:
    """(field, argument) pairs an output format reads."""
    return {(m.group(1), m.group(2)) for m in _OUTPUT_FIELD.finditer(text)}


@dataclass(frozen=True, slots=True)
class RuleNeeds:
    """What one rule reads: its fields and the aspects they need."""

    rule: str
    fields: frozenset[str]
    aspects: frozenset[str]
    # fields whose values the analysis does not know (STREAM)
    unknown: frozenset[str] = field(default=frozenset())


def rule_needs(rule: str, cond: syntax.Expr | None, outputs: Iterable[str],
               resolve: Callable[[str], tuple[str, str | None] | None]
               ) -> RuleNeeds:
    """Needs of a rule from its condition and its output formats.

    ``resolve`` maps a field name as written (``evt.arg.flags``) to the
    registered field and argument (``evt.arg``, ``flags``), or None when
    the field is unknown."""
    pairs: set[tuple[str, str | None]] = set()
    if cond is None:
        pairs.add(("<no condition>", None))
    else:
        pairs |= condition_fields(cond)
    for text in outputs:
        pairs |= output_fields(text)
    names: set[str] = set()
    aspects: set[str] = set()
    unknown: set[str] = set()
    for name, arg in pairs:
        hit = resolve(name)
        if hit is None:
            unknown.add(name)
            aspects.add(STREAM)
            continue
        fname, dotted = hit
        names.add(name if arg is None else f"{name}[{arg}]")
        got = field_aspects(fname, arg if arg is not None else dotted)
        if STREAM in got:
            unknown.add(name)
        aspects |= got
    return RuleNeeds(rule, frozenset(names), frozenset(aspects),
                     frozenset(unknown))


class Resolver:
    """Field-name resolution against a registry (for ``rule_needs``)."""

    def __init__(self, registry: FieldRegistry) -> None:
        self.registry = registry

    def __call__(self, name: str) -> tuple[str, str | None] | None:
        try:
            fdef, dotted = self.registry.resolve(name)
        except UnknownFieldError:
            return None
        return fdef.name, dotted
