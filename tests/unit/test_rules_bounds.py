# SPDX-License-Identifier: Apache-2.0
"""Rules and configuration are bounded: YAML depth and alias expansion are
checked before any loader recurses, macros and lists are expanded by
reference (work linear in the file, also when a macro doubles at every
level), no RecursionError escapes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from falco.config import load_config
from falco.errors import ConfigError
from falco.rules import load_rules
from falco.rules.yamlsrc import MAX_DEPTH, YamlBoundsError, check_bounds, \
    read_text_capped
from support.hostile import alias_bomb, deep_list, doubling_macros, \
    forward_lists
from support.state_sim import Sim


@pytest.fixture(scope="module")
def sim() -> Sim:
    return Sim()


def load(sim: Sim, text: str, name: str = "rules.yaml") -> Any:
    return load_rules([(name, text)], sim.registry, collect_errors=True)


def opened(sim: Sim, name: str) -> Any:
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/usr/bin/app", ["x"])
    return sim.x("openat", 100, fd=3, dirfd=-100, name=name, flags=1,
                 mode=0)


def nested(depth: int) -> str:
    return "- list: l\n  items: " + "[" * depth + "x" + "]" * depth + "\n"


def test_depth_limit_is_checked_before_loading() -> None:
    # the items list is at depth 3 (document list, item map, items)
    check_bounds(nested(MAX_DEPTH - 2), "ok.yaml")
    with pytest.raises(YamlBoundsError) as info:
        check_bounds(nested(MAX_DEPTH - 1), "deep.yaml")
    mark = info.value.problem_mark     # the bracket one level too deep
    assert (mark.line + 1, mark.column + 1) == (2, 10 + MAX_DEPTH - 2)


def test_alias_expansion_limit() -> None:
    with pytest.raises(YamlBoundsError, match="aliases expand to more"):
        check_bounds(alias_bomb(), "falco.yaml")
    # anchors used a few times, as people do, are fine
    check_bounds("a: &x [1, 2, 3]\nb: *x\nc: [*x, *x]\n", "ok.yaml")


def test_rules_file_nested_40000_deep(sim: Sim) -> None:
    rs = load(sim, deep_list(40000))
    (err,) = rs.errors
    assert err.code == "LOAD_ERR_YAML_PARSE"
    assert "nesting deeper than 64 levels" in err.message
    assert (err.location.path, err.location.line) == ("rules.yaml", 2)
    assert len(err.snippet.splitlines()[0]) <= 120     # not 80 000 chars


def test_config_alias_bomb_and_depth(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    with pytest.raises(ConfigError) as info:
        load_config(str(bomb))
    assert f"{bomb}:11:10" in str(info.value)
    deep = tmp_path / "deep.yaml"
    deep.write_text("rules_files: " + "[" * 40000 + "]" * 40000 + "\n")
    with pytest.raises(ConfigError, match="nesting deeper than"):
        load_config(str(deep))


def test_file_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 2048)
    assert read_text_capped(path, limit=2048) == "x" * 2048
    with pytest.raises(OSError, match="larger than"):
        read_text_capped(path, limit=2047)


def test_doubling_macros_compile_and_match(sim: Sim) -> None:
    """m21 stands for 2^21 checks; it is one shared subtree per macro."""
    rs = load(sim, doubling_macros(22))
    assert not rs.errors, [str(e) for e in rs.errors]
    (rule,) = rs.rules
    assert rule.predicate(opened(sim, "/etc/passwd"))
    assert not rule.predicate(opened(sim, "/etc/shadow"))
    spec = rule.specializer("openat")
    assert spec(opened(sim, "/etc/passwd"))


def test_shared_subtree_is_evaluated_once_per_event(sim: Sim) -> None:
    """(m and a) or (m and b): m is evaluated once per event however many
    parents use it (a tree evaluation would be 2^n)."""
    n = 20
    out = ["- macro: m0\n  condition: fd.name startswith /etc/p\n"]
    for i in range(1, n):
        out.append(f"- macro: m{i}\n  condition: (m{i - 1} and "
                   f"proc.name != a{i}) or (m{i - 1} and proc.name != "
                   f"b{i})\n")
    out.append(f"""\
- rule: r
  desc: d
  condition: evt.type = openat and m{n - 1}
  output: o
  priority: WARNING
""")
    rs = load(sim, "".join(out))
    assert not rs.errors, [str(e) for e in rs.errors]
    (rule,) = rs.rules
    assert rule.predicate(opened(sim, "/etc/passwd"))
    assert not rule.predicate(opened(sim, "/etc/shadow"))


def test_forward_list_chain_needs_no_recursion(sim: Sim) -> None:
    rs = load(sim, forward_lists(20000, 1))
    assert not rs.errors, [str(e) for e in rs.errors][:3]
    (rule,) = rs.rules
    assert rule.predicate(opened(sim, "/etc/passwd"))
    assert rule.predicate(opened(sim, "/etc/x19999"))
    assert not rule.predicate(opened(sim, "/etc/y"))


def test_doubling_lists_are_expanded_once(sim: Sim) -> None:
    rs = load(sim, forward_lists(22, 2))
    assert not rs.errors, [str(e) for e in rs.errors][:3]
    (rule,) = rs.rules
    assert rule.predicate(opened(sim, "/etc/passwd"))
    assert rule.predicate(opened(sim, "/etc/x21"))


@pytest.mark.parametrize("macros,looping", [
    ("- macro: a\n  condition: fd.name = x\n"
     "- macro: a\n  condition: a or fd.name = y\n", {"a"}),
    ("- macro: a\n  condition: fd.name = x\n"
     "- macro: b\n  condition: a\n"
     "- macro: c\n  condition: b\n"
     "- macro: a\n  condition: c\n", {"a", "b", "c"}),
])
def test_macro_loops(sim: Sim, macros: str, looping: set[str]) -> None:
    rs = load(sim, macros + """\
- rule: r
  desc: d
  condition: evt.type = openat and a
  output: o
  priority: WARNING
""")
    loops = {e.item_name for e in rs.errors
             if "reference loop in macro" in e.message}
    assert loops == looping, [str(e) for e in rs.errors]


def test_long_macro_chain_is_an_error_not_a_crash(sim: Sim) -> None:
    """Each macro nests the previous one: past the depth limit the rule is
    refused with its location; no RecursionError escapes."""
    out = ["- macro: m0\n  condition: fd.name = /etc/passwd\n"]
    for i in range(1, 3000):
        out.append(f"- macro: m{i}\n  condition: not m{i - 1}\n")
    out.append("""\
- rule: r
  desc: d
  condition: evt.type = openat and m2999
  output: o
  priority: WARNING
""")
    rs = load(sim, "".join(out))
    (err,) = rs.errors
    assert err.item_name == "r" and err.location is not None
