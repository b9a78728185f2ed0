# SPDX-License-Identifier: Apache-2.0
"""The shipped rulesets: complete metadata, a positive e2e action per rule,
and a clean load with the real engine (no errors, no warnings), also with
the article's two rules loaded unchanged on top."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco.driver.schema import get_schema
from falco.fields import default_registry
from falco.rules import Priority, RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
DEFAULT_FILES = [RULES_DIR / "falco_rules.yaml",
                 RULES_DIR / "application_rules.yaml",
                 RULES_DIR / "falco_rules.local.yaml"]
ARTICLE_FILE = ROOT / "tests" / "data" / "article_rules.yaml"
ACTIONS = ROOT / "tests" / "kernel" / "actions"

MITRE_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
MITRE_TACTIC = re.compile(r"^mitre_[a-z_]+$")
ANALYST_FIELDS = ("%user.name", "%proc.cmdline", "%container.id")


def _items(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text()) or []


def _rules() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, it) for p in DEFAULT_FILES for it in _items(p) if "rule" in it]


def rule_slug(name: str) -> str:
    """File name of a rule's action script (shared with the e2e test)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


RULES = _rules()
RULE_IDS = [r["rule"] for _, r in RULES]


def test_rulesets_are_not_empty() -> None:
    files = {f for f, _ in RULES}
    assert files == {"falco_rules.yaml", "application_rules.yaml"}
    assert len(RULES) >= 40


def test_rule_names_are_unique() -> None:
    seen: set[str] = set()
    dups = [n for n in RULE_IDS if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    assert not dups


@pytest.mark.parametrize("rule", [r for _, r in RULES], ids=RULE_IDS)
def test_rule_metadata(rule: dict[str, Any]) -> None:
    for key in ("desc", "condition", "output", "priority", "tags"):
        assert rule.get(key), f"{rule['rule']}: missing {key}"
    Priority.parse(str(rule["priority"]))        # raises when unknown
    tags = rule["tags"]
    assert any(MITRE_TECHNIQUE.match(t) for t in tags), f"no MITRE technique in {tags}"
    assert any(MITRE_TACTIC.match(t) for t in tags), f"no MITRE tactic in {tags}"
    for field in ANALYST_FIELDS:
        assert field in rule["output"], f"{rule['rule']}: output lacks {field}"
    # Conditions only look at exit events, which is what the driver emits.
    assert "evt.dir = >" not in rule["condition"]
    assert "evt.dir=>" not in rule["condition"]


def test_local_rules_file_is_empty() -> None:
    text = (RULES_DIR / "falco_rules.local.yaml").read_text()
    assert _items(RULES_DIR / "falco_rules.local.yaml") == []
    assert "override" in text  # it documents how to override


def test_required_engine_version_declared() -> None:
    for path in DEFAULT_FILES[:2]:
        first = _items(path)[0]
        assert "required_engine_version" in first, path.name


@pytest.mark.parametrize("name", RULE_IDS)
def test_rule_has_positive_action(name: str) -> None:
    script = ACTIONS / f"{rule_slug(name)}.sh"
    assert script.is_file(), f"no action script {script.name}"
    assert os.access(script, os.X_OK), f"{script.name} is not executable"
    header = script.read_text().splitlines()[:15]
    assert f"# rule: {name}" in header, f"{script.name} does not declare '# rule: {name}'"


ARTICLE_TEXT = {
    "write_etc": {
        "desc": "an attempt to write to any file below /etc, not in a pipe installer session",
        "condition": "write_etc_common and not proc.sname=fbash",
        "output": "File below /etc opened for writing (user=%user.name "
                  "command=%proc.cmdline file=%fd.name)",
        "priority": "WARNING",
    },
    "system_binaries_network_activity_container": {
        "desc": "any network activity performed by system binaries that are not "
                "expected to send or receive any network traffic in a container",
        "condition": "((inbound or outbound) and (fd.sockfamily = ip)) and "
                     "fd.name != '' and container",
        "output": "Suspicious binary sent/received network traffic from "
                  "container=%container.id (user=%user.name command=%proc.cmdline "
                  "connection=%fd.name type=%evt.type)",
        "priority": "WARNING",
    },
}


def test_article_rules_are_verbatim() -> None:
    items = _items(ARTICLE_FILE)
    assert [it["rule"] for it in items] == list(ARTICLE_TEXT)
    for it in items:
        body = {k: v for k, v in it.items() if k != "rule"}
        assert body == ARTICLE_TEXT[it["rule"]]


def test_article_macros_defined_in_default_rules() -> None:
    macros = {it["macro"] for it in _items(DEFAULT_FILES[0]) if "macro" in it}
    assert {"write_etc_common", "inbound", "outbound", "container"} <= macros


# --- the real engine --------------------------------------------------------

def _load(paths: list[Path]) -> RuleSet:
    schema = get_schema()
    names = frozenset(e.name for e in schema.events if not e.unused)
    return load_rules([str(p) for p in paths], default_registry(),
                      all_evttypes=names, collect_errors=True)


def test_default_rules_load_without_errors_or_warnings() -> None:
    result = _load(DEFAULT_FILES)
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert [r.name for r in result.rules] == RULE_IDS


def test_article_rules_load_unchanged_on_top() -> None:
    result = _load(DEFAULT_FILES + [ARTICLE_FILE])
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert [r.name for r in result.rules] == RULE_IDS + [
        "write_etc", "system_binaries_network_activity_container"]


def test_article_rules_need_our_macros() -> None:
    """Loaded alone, the article rules must fail: the macros come from us."""
    result = _load([ARTICLE_FILE])
    assert result.rules == []
    assert [(e.code, e.item_name, e.message) for e in result.errors] == [
        ("LOAD_ERR_VALIDATE", "write_etc",
         "Undefined macro 'write_etc_common' used in filter."),
        ("LOAD_ERR_VALIDATE", "system_binaries_network_activity_container",
         "Undefined macro 'inbound' used in filter.")]


def _output_fields(output: str) -> set[str]:
    return set(re.findall(r"%([a-z][a-z0-9_.]*(?:\[[^\]]*\])?)", output))


@pytest.mark.parametrize("name", RULE_IDS)
def test_action_expectations_are_output_fields(name: str) -> None:
    """JSON alerts carry only the fields of the rule's output, so an action
    can only expect those."""
    rule = next(r for _, r in RULES if r["rule"] == name)
    script = ACTIONS / f"{rule_slug(name)}.sh"
    if not script.is_file():
        pytest.fail(f"no action script {script.name}")
    expect = [ln for ln in script.read_text().splitlines()[:15] if ln.startswith("# expect:")]
    keys = {tok.split("=", 1)[0] for ln in expect for tok in ln.split(":", 1)[1].split()}
    assert keys, f"{script.name} expects no fields"
    assert keys <= _output_fields(rule["output"]), keys - _output_fields(rule["output"])
