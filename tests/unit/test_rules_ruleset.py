# SPDX-License-Identifier: Apache-2.0
"""RuleSet: event-type index, load order, selection and matching modes."""
from __future__ import annotations

import pytest

from falco.rules import Priority, RuleSet, load_rules
from falco.rules.ruleset import MIXED_SELECTION
from support.contexts import EVENT_NAMES, REGISTRY, ctx

RULES = """
- rule: open_cat
  desc: d
  condition: evt.type in (open, openat) and proc.name = cat
  output: o
  priority: WARNING
  tags: [a, b]
- rule: anything_cat
  desc: d
  condition: proc.name = cat
  output: o
  priority: INFO
  tags: [b]
  warn_evttypes: false
- rule: exec_any
  desc: d
  condition: evt.type = execve
  output: o
  priority: ERROR
- rule: open_dev_null
  desc: d
  condition: evt.type = open and fd.name = /dev/null
  output: o
  priority: DEBUG
  tags: [c]
- rule: off
  desc: d
  condition: evt.type = close
  output: o
  priority: ERROR
  enabled: false
"""


@pytest.fixture()
def rs() -> RuleSet:
    return load_rules([("r.yaml", RULES)], REGISTRY,
                      all_evttypes=EVENT_NAMES)


def names(rules: object) -> list[str]:
    return [r.name for r in rules]  # type: ignore[attr-defined]


def test_index_keeps_load_order_with_all_type_rules(rs: RuleSet) -> None:
    assert names(rs.rules_for("open")) == ["open_cat", "anything_cat",
                                           "open_dev_null"]
    assert names(rs.rules_for("execve")) == ["anything_cat", "exec_any"]
    assert names(rs.rules_for("close")) == ["anything_cat"]
    assert names(rs.rules_for("no_such_event")) == ["anything_cat"]
    assert rs.evttypes() is None
    rs.set_enabled(False, name="anything_cat")
    assert rs.evttypes() == frozenset({"open", "openat", "execve"})


def test_match_first_and_all(rs: RuleSet) -> None:
    where = ctx("open", comm="cat", name="/dev/null")
    assert names(rs.match(where, "open")) == ["open_cat"]
    assert names(rs.match(where, "open", "all")) == ["open_cat",
                                                     "anything_cat",
                                                     "open_dev_null"]
    assert names(rs.match(ctx("open", comm="dog"), "open", "all")) == []


def test_disable_by_substring_and_tags(rs: RuleSet) -> None:
    rs.select(disabled=["open_"])
    assert names(rs.enabled_rules) == ["anything_cat", "exec_any"]


def test_disabled_tags(rs: RuleSet) -> None:
    rs.select(disabled_tags=["a", "c"])
    assert names(rs.enabled_rules) == ["anything_cat", "exec_any"]


def test_enabled_tags_only(rs: RuleSet) -> None:
    rs.select(enabled_tags=["b"])
    assert names(rs.enabled_rules) == ["open_cat", "anything_cat"]


def test_cannot_mix_enabled_and_disabled(rs: RuleSet) -> None:
    with pytest.raises(ValueError, match="You can not specify both"):
        rs.select(disabled=["x"], enabled_tags=["a"])
    assert MIXED_SELECTION.startswith("You can not")


def test_min_priority(rs: RuleSet) -> None:
    rs.select(min_priority="warning")
    assert names(rs.enabled_rules) == ["open_cat", "exec_any"]
    rs.select(min_priority=Priority.DEBUG)
    assert len(rs.enabled_rules) == 4


def test_wildcard_enable(rs: RuleSet) -> None:
    rs.set_enabled(False, name="*")
    assert rs.enabled_rules == ()
    assert rs.set_enabled(True, name="open_*") == 2
    assert names(rs.enabled_rules) == ["open_cat", "open_dev_null"]
    rs.set_enabled(True, name="off")
    assert "off" in names(rs.rules_for("close"))
