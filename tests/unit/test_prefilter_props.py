# SPDX-License-Identifier: Apache-2.0
"""The prefilter is sound: whenever a rule's full condition (exceptions,
macros, lists, negations) matches an event, the program compiled for the
event's code lets it pass.

Checked with random conditions from the grammar (hypothesis) over random
events, and for every rule of our default rulesets and of Falco's
stable, incubating and sandbox rulesets on events synthesized from their
own constants, through the real inspector and the rule's real predicate.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco.app.backend import event_names
from falco.driver.schema import get_schema
from falco.errors import RuleLoadError
from falco.fields import default_registry
from falco.filter import syntax
from falco.filter.compiler import ConditionCompiler
from falco.rules import load_rules
from support.prefilter_check import Pools, check, check_leaf, leaves

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT.parent / "shared" / "upstream-rules"
REGISTRY = default_registry()
SCHEMA = get_schema()
CODES = sorted({c for n in ("openat", "open", "creat", "openat2", "connect",
                            "accept", "accept4", "execve", "socket", "chmod",
                            "ptrace", "setuid", "unlinkat", "renameat2",
                            "symlinkat", "prctl", "listen", "clone")
                for c in SCHEMA.codes(n)})


def rule_codes(rule: object) -> list[int]:
    names = rule.evttypes  # type: ignore[attr-defined]
    if names is None:
        return CODES
    return sorted({c for n in names for c in SCHEMA.codes(n)})


def check_rules(paths: list[Path], n: int, seed: int) -> None:
    """Each rule whole on its codes, then each of its checks alone (both
    ways) on random events of those codes."""
    rules = load_rules([str(p) for p in paths], REGISTRY,
                       all_evttypes=event_names())
    rng = random.Random(seed)
    compiler = ConditionCompiler(REGISTRY, event_names())
    failures = []
    done: set[tuple[str, int]] = set()
    for rule in rules.enabled_rules:
        pools = Pools()
        pools.add_constants(rule.ast)
        codes = rule_codes(rule)
        for code in codes:
            name = SCHEMA.events[code].name
            pred = rule.for_event(name).predicate
            bad = check(rule.ast, pred, REGISTRY, [code], rng, pools, n,
                        want=3)
            if bad is not None:
                failures.append((rule.name, bad))
                break
        for leaf in leaves(rule.ast):
            pred = compiler.compile(leaf).predicate
            for code in codes:
                key = (syntax.to_text(leaf), code)
                if key in done:
                    continue
                done.add(key)
                bad = check_leaf(leaf, pred, REGISTRY, code, rng, pools, 8)
                if bad is not None:
                    failures.append((rule.name, bad))
    assert not failures, failures[:3]


def test_default_rules_are_sound() -> None:
    check_rules([ROOT / "rules" / "falco_rules.yaml",
                 ROOT / "rules" / "application_rules.yaml"], 60, 1)


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="../shared missing")
def test_upstream_rules_are_sound() -> None:
    check_rules([UPSTREAM / "falco_rules.yaml",
                 UPSTREAM / "falco-incubating_rules.yaml",
                 UPSTREAM / "falco-sandbox_rules.yaml"], 30, 2)


# -- random conditions ------------------------------------------------------
PATHS = ["/etc/shadow", "/etc", "/etc/", "shadow", "/tmp/x", "/", "x",
         "/etc/*", "*shadow", "/dev/null", "a b", "/usr/bin", "bin"]
INTS = ["0", "1", "-1", "-2", "2", "3", "80", "443", "0x10", "1.5", "17",
        "-115", "65535"]
# field -> values it is compared with (its own kind, plus a few others)
FIELDS = {
    "evt.rawres": INTS, "evt.res": ["SUCCESS", "ENOENT", "EINPROGRESS",
                                    "EAGAIN", "EWOULDBLOCK", "-4095", "0"],
    "evt.failed": ["true", "false"], "evt.is_open_read": ["true", "false"],
    "evt.is_open_write": ["true", "false"],
    "evt.is_open_exec": ["true", "false"],
    "evt.is_open_create": ["true", "false"],
    "proc.name": ["bash", "cat", "sh", "x", "mysqld", ""],
    "fd.name": PATHS, "fd.directory": PATHS, "fd.filename": PATHS,
    "fd.nameraw": PATHS, "fs.path.name": PATHS,
    "fd.typechar": ["f", "d", "4", "6", "u", "o"],
    "fd.type": ["file", "directory", "ipv4", "unix"],
    "fd.num": INTS, "fd.sport": INTS, "fd.cport": INTS,
    "fd.sip": ["10.0.0.1", "10.0.0.0/8", "127.0.0.1", "::1"],
    "fd.cip": ["10.0.0.1", "192.168.0.0/16", "0.0.0.0"],
    "fd.sockfamily": ["ip", "unix"], "fd.l4proto": ["tcp", "udp"],
    "evt.arg.flags": ["O_RDONLY", "O_WRONLY", "O_CREAT", "O_TRUNC",
                      "O_RDWR", "RDONLY", "O_"],
    "evt.arg.mode": ["S_ISUID", "S_ISGID", "0755", "S_IX"],
    "evt.arg.request": ["PTRACE_ATTACH", "PTRACE_POKETEXT", "16", "99"],
    "evt.arg.domain": ["AF_PACKET", "17", "AF_INET", "2"],
    "evt.arg.option": ["PR_SET_NAME", "15", "99"],
    "evt.arg.name": PATHS, "evt.arg.target": PATHS,
    "evt.arg.linkpath": PATHS, "evt.arg.path": PATHS,
    "evt.arg.res": INTS + ["ENOENT"], "evt.rawarg.uid": INTS,
    "evt.arg.uid": ["root", "0"], "evt.rawarg.flags": INTS,
    "evt.arg.fd": INTS, "evt.arg.dirfd": INTS, "evt.arg.data": PATHS,
    "proc.pname": ["bash", "x"], "evt.dir": ["<", ">"],
    "evt.type": ["openat", "connect", "execve"],
}
OPS = ["=", "!=", "<", "<=", ">", ">=", "contains", "startswith",
       "endswith", "in", "pmatch", "glob", "exists", "icontains"]


@st.composite
def conditions(draw: st.DrawFn, depth: int = 3) -> syntax.Expr:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        fname = draw(st.sampled_from(sorted(FIELDS)))
        op = draw(st.sampled_from(OPS))
        lhs = syntax.FieldExpr(fname)
        values = FIELDS[fname]
        if op == "exists":
            return syntax.UnaryCheck(lhs, op)
        if op in ("in", "pmatch"):
            items = draw(st.lists(st.sampled_from(values), min_size=1,
                                  max_size=4))
            return syntax.BinaryCheck(lhs, op, syntax.ListValue(tuple(
                syntax.StrValue(v, True) for v in items)))
        return syntax.BinaryCheck(lhs, op, syntax.StrValue(
            draw(st.sampled_from(values)), True))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return syntax.Not(draw(conditions(depth - 1)))
    children = tuple(draw(st.lists(conditions(depth - 1), min_size=2,
                                   max_size=3)))
    return (syntax.And if kind == 1 else syntax.Or)(children)


@settings(max_examples=800, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(conditions(), st.integers(0, 1 << 30))
def test_random_conditions_are_sound(cond: syntax.Expr, seed: int) -> None:
    try:
        compiled = ConditionCompiler(REGISTRY, event_names()).compile(cond)
    except RuleLoadError:
        return
    pools = Pools()
    pools.add_constants(cond)
    rng = random.Random(seed)
    codes = rng.sample(CODES, 4)
    bad = check(compiled.ast, compiled.predicate, REGISTRY, codes, rng,
                pools, 12)
    assert bad is None, bad
    compiler = ConditionCompiler(REGISTRY, event_names())
    for leaf in leaves(compiled.ast):
        pred = compiler.compile(leaf).predicate
        for code in codes[:2]:
            bad = check_leaf(leaf, pred, REGISTRY, code, rng, pools, 6)
            assert bad is None, bad
