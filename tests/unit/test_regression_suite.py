# SPDX-License-Identifier: Apache-2.0
"""Falco's former regression suite (../shared/falco-regression) run
against this engine.

Two kinds of cases run:

* validation cases (``validate_rules_file``): loaded through
  ``falco.rules.load_rules`` in collecting mode; the expected errors and
  warnings (item type, item name, code, message) must be reported;
* detection cases (``rules_file`` + a capture from ../shared/captures):
  the rules must load, then ``python -m falco -r ... -e CAPTURE`` runs as a
  subprocess and its alerts (JSON), exit status, stdout and stderr are
  checked against the case.

Cases that cannot run here are listed in ``CANNOT_RUN`` with the reason;
every other case is generated from the YAML, nothing is hard-coded.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from falco.driver.schema import get_schema
from falco.fields import default_registry
from falco.fields.registry import FieldRegistry
from falco.rules import Priority, RuleSet, load_rules
from support.external import CAPTURES, REGRESSION as SUITE, ROOT

SUITE_FILES = ("falco_tests.yaml", "falco_tests_exceptions.yaml")

# Cases that need something this project does not have, with the reason.
CANNOT_RUN = {
    "grpc_unix_socket_outputs": "gRPC output is not implemented",
    "builtin_rules_no_warnings": "needs trace_files/empty.scap and Falco's "
                                 "built-in rules (not in ../shared)",
    "detect_counts": "needs traces-positive/falco-event-generator.scap "
                     "(not in ../shared/captures)",
    "syscalls": "needs trace_files/syscall.scap (not in ../shared/captures)",
}
for _name in ("none", "ignore", "ignore_and_log", "threshold_oor",
              "threshold_neg", "log", "alert", "exit"):
    CANNOT_RUN[f"monitor_syscall_drops_{_name}"] = (
        "needs trace_files/ping_sendto.scap (not in ../shared/captures)")


class _SuiteLoader(yaml.SafeLoader):
    """The suite files tag their top mapping with avocado's ``!mux``."""


_SuiteLoader.add_constructor(
    "!mux", lambda loader, node: loader.construct_mapping(node, deep=True))


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in SUITE_FILES:
        path = SUITE / name
        if not path.exists():          # no ../shared: test_suite_* says so
            continue
        doc = yaml.load(path.read_text(), Loader=_SuiteLoader)
        out.extend(sorted(doc["trace_files"].items()))
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _why_not(name: str, case: dict[str, Any]) -> str | None:
    if name in CANNOT_RUN:
        return CANNOT_RUN[name]
    files = _as_list(case.get("rules_file")) + \
        _as_list(case.get("validate_rules_file"))
    if any("k8s_audit" in f or "plugins" in f for f in files):
        return "k8s audit / plugin rules are not supported"
    if case.get("validate_rules_file"):
        return None
    trace = case.get("trace_file")
    if trace and not (CAPTURES / Path(trace).name).exists():
        return f"needs {trace} (not in ../shared/captures)"
    return None


ALL = _cases()
VALIDATE = [(n, c) for n, c in ALL if c.get("validate_rules_file")
            and _why_not(n, c) is None]
DETECT = [(n, c) for n, c in ALL if not c.get("validate_rules_file")
          and _why_not(n, c) is None]
SKIPPED = [(n, _why_not(n, c)) for n, c in ALL if _why_not(n, c)]


def _params(cases: list[tuple[str, Any]]) -> list[Any]:
    """The cases, or without ../shared one that the fixture skips."""
    return [pytest.param(n, c, id=n) for n, c in cases] or [
        pytest.param("", {}, id="no-reference-data")]


Env = tuple[FieldRegistry, frozenset[str]]


@pytest.fixture(scope="module")
def env(shared: Path) -> Env:
    schema = get_schema()
    names = frozenset(n for n in (*schema.by_name, *schema.sc_names)
                      if n and n != "NA")
    return default_registry(), names


def _load(env: Env, files: list[str]) -> RuleSet:
    registry, names = env
    return load_rules([SUITE / f for f in files], registry,
                      all_evttypes=names, collect_errors=True)


def _matches(expected: dict[str, Any], got: Any) -> bool:
    if got.item_type != expected["item_type"]:
        return False
    if str(got.item_name) != str(expected.get("item_name", "")):
        return False
    if got.code != expected["code"]:
        return False
    if "message_contains" in expected:
        return expected["message_contains"] in got.message
    message = expected["message"]
    if message.startswith("yaml-cpp: "):
        where = re.search(r"line (\d+), column (\d+)", message)
        assert where is not None
        return got.location is not None and \
            (got.location.line, got.location.column) == \
            (int(where.group(1)), int(where.group(2)))
    return got.message == message or got.message.startswith(message)


@pytest.mark.usefixtures("shared")
def test_suite_is_present_and_partitioned() -> None:
    """The suite has the cases it had; the ones that cannot run are the
    listed ones plus the k8s audit/plugin cases, each for a reason that
    still holds (a capture said to be missing is missing)."""
    assert len(ALL) == 134
    names = {n for n, _ in ALL}
    assert set(CANNOT_RUN) <= names, set(CANNOT_RUN) - names
    assert (len(VALIDATE), len(DETECT), len(SKIPPED)) == (41, 81, 12)
    plugin = {n for n, why in SKIPPED if why.startswith("k8s audit")}
    assert {n for n, _ in SKIPPED} == set(CANNOT_RUN) | plugin
    for name, case in ALL:
        trace = case.get("trace_file")
        if trace and name in CANNOT_RUN and "not in ../shared" in \
                CANNOT_RUN[name]:
            assert not (CAPTURES / Path(trace).name).exists(), \
                f"{name}: {trace} is there now: run the case"


@pytest.mark.parametrize("name,case", _params(VALIDATE))
def test_validation_case(env: Env, name: str,
                         case: dict[str, Any]) -> None:
    for ok_file in _as_list(case.get("validate_ok")):
        alone = _load(env, [f"rules/{ok_file}"])
        assert not alone.errors, [str(e) for e in alone.errors]
    files = _as_list(case["validate_rules_file"])
    rs = _load(env, files)
    # falco -V A -V B also validates A and B one by one: warnings may come
    # from either run
    warnings = list(rs.warnings)
    if len(files) > 1:
        for f in files:
            warnings += _load(env, [f]).warnings
    report = "\n".join(str(m) for m in rs.errors + warnings)
    for exp in _as_list(case.get("validate_errors")):
        assert any(_matches(exp, e) for e in rs.errors), \
            f"missing error {exp}\ngot:\n{report}"
    for exp in _as_list(case.get("validate_warnings")):
        assert any(_matches(exp, w) for w in warnings), \
            f"missing warning {exp}\ngot:\n{report}"
    if case.get("exit_status", 0) == 1 or case.get("validate_errors"):
        assert rs.errors, "expected the rules to be refused"
    else:
        assert not rs.errors, report
    expected_no_evt = {w["item_name"] for w in
                       _as_list(case.get("validate_warnings"))
                       if w["code"] == "LOAD_NO_EVTTYPE"}
    if expected_no_evt:
        got = {w.item_name for w in rs.warnings
               if w.code == "LOAD_NO_EVTTYPE"}
        assert got == expected_no_evt


def _command(case: dict[str, Any], tmp: Path, json_out: bool) -> list[str]:
    cmd = [sys.executable, "-m", "falco"]
    if case.get("conf_file"):
        cmd += ["-c", str(SUITE / case["conf_file"])]
    for f in _as_list(case.get("rules_file")):
        cmd += ["-r", str(SUITE / f)]
    cmd += ["-e", str(CAPTURES / Path(case["trace_file"]).name)]
    cmd += ["-o", f"json_output={'true' if json_out else 'false'}"]
    for key in ("json_include_output_property",
                "json_include_tags_property"):
        if key in case:
            cmd += ["-o", f"{key}={str(case[key]).lower()}"]
    if case.get("time_iso_8601"):
        cmd += ["-o", "time_format_iso_8601=true"]
    if case.get("priority"):
        cmd += ["-o", f"priority={case['priority'].lower()}"]
    if case.get("all_events"):
        cmd.append("-A")
    for pattern in _as_list(case.get("disabled_rules")):
        cmd += ["-D", pattern]
    for tag in _as_list(case.get("disable_tags")):
        cmd += ["-T", tag]
    for tag in _as_list(case.get("run_tags")):
        cmd += ["-t", tag]
    for out in _as_list(case.get("output_strictly_contains")):
        for target in out:
            if target.endswith("file_output.txt"):
                cmd += ["-o", f"file_output.filename={tmp / 'file.txt'}"]
            if target.endswith("program_output.txt"):
                cmd += ["-o", "program_output.program=cat >> "
                        f"{tmp / 'program.txt'}"]
    return cmd


def _strictly_contains(expected: str, actual: str, json_out: bool) -> bool:
    want = [ln for ln in expected.splitlines() if ln.strip()]
    have = [ln for ln in actual.splitlines() if ln.strip()]
    if json_out:
        want_objs = [json.loads(ln) for ln in want]
        have_objs = [json.loads(ln) for ln in have if ln.startswith("{")]
        return all(w in have_objs for w in want_objs)
    return all(w in have for w in want)


@pytest.mark.parametrize("name,case", _params(DETECT))
def test_detection_case(env: Env, name: str,
                        case: dict[str, Any], tmp_path: Path) -> None:
    rules = _as_list(case.get("rules_file"))
    rs = _load(env, rules)
    if case.get("exit_status", 0) == 0:
        assert not rs.errors, [str(e) for e in rs.errors]
    strict = _as_list(case.get("output_strictly_contains"))
    text_checks = (case.get("stdout_contains") and not case.get(
        "json_output")) or (strict and not case.get("json_output"))
    json_out = bool(case.get("json_output")) or not text_checks
    envvars = {**os.environ, "FALCO_HOSTNAME": "test-falco-hostname",
               "TZ": "UTC"}
    proc = subprocess.run(_command(case, tmp_path, json_out),
                          capture_output=True, text=True, cwd=ROOT,
                          env=envvars, timeout=600)
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == case.get("exit_status", 0), err[-2000:]
    for pattern in _as_list(case.get("stdout_contains")):
        assert re.search(pattern, out), (pattern, out[:2000])
    for pattern in _as_list(case.get("stderr_contains")):
        assert re.search(pattern, err), (pattern, err[-2000:])
    for entry in strict:
        for target, expected_file in entry.items():
            actual = out if target == "stdout" else (
                (tmp_path / ("file.txt" if "file_output" in target
                             else "program.txt")).read_text())
            expected = (SUITE / expected_file).read_text()
            assert _strictly_contains(expected, actual, json_out)
    if not json_out:
        return
    alerts = [json.loads(ln) for ln in out.splitlines()
              if ln.startswith("{") and '"rule"' in ln]
    if "detect" in case:
        assert bool(alerts) is bool(case["detect"]), out[:2000]
    for level in _as_list(case.get("detect_level")) if case.get(
            "detect") else []:
        label = Priority.parse(level).label
        assert any(a["priority"] == label for a in alerts), level
    for counts in _as_list(case.get("detect_counts")):
        for rule, count in counts.items():
            got = sum(1 for a in alerts if a["rule"] == rule)
            assert got == count, f"{rule}: {got} alerts, expected {count}"


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize("name,reason", _params(SKIPPED))
def test_case_that_cannot_run(name: str, reason: str) -> None:
    pytest.skip(f"{name}: {reason}")
