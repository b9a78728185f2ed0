# SPDX-License-Identifier: Apache-2.0
"""falco.app.cli.main with an injected Backend: the whole command (config,
rules, outputs, engine, summary, exit codes) on small fakes, in-process."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from falco.app.backend import Backend
from falco.app.cli import main
from falco.errors import CaptureError, RuleLoadError


@dataclass
class Evt:
    name: str
    ts: int
    num: int = 0


@dataclass
class Rule:
    name: str
    priority: str
    evttypes: frozenset[str]
    tags: tuple[str, ...] = ()
    source: str = "syscall"
    desc: str = "a rule"

    def matches(self, ctx: Any) -> bool:
        return True

    def format_output(self, ctx: Any) -> tuple[str, dict[str, Any]]:
        return f"{self.name} on {ctx.name}", {"evt.type": ctx.name}


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rules_for(self, name: str) -> list[Rule]:
        return [r for r in self.rules if name in r.evttypes]


class Capture:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __iter__(self) -> Iterator[Evt]:
        for i, name in enumerate(self.names):
            yield Evt(name, 1_700_000_000_000_000_000 + i, i)


def backend(tmp_path: Path, loaded: list[list[str]]) -> Backend:
    def load_rules(files: list[str], registry: Any, **kw: Any) -> RuleSet:
        loaded.append(list(files))
        text = "".join(Path(f).read_text() for f in files)
        if "broken" in text:
            raise RuleLoadError("broken rules", None)
        return RuleSet([Rule("write_etc", "Warning", frozenset({"open"})),
                        Rule("shell", "Error", frozenset({"execve"})),
                        Rule("net", "Informational", frozenset({"connect"}))])

    def open_capture(path: str) -> Capture:
        if not Path(path).exists():
            raise CaptureError(f"cannot open capture {path}")
        return Capture(Path(path).read_text().split())

    return Backend(registry=lambda: [], load_rules=load_rules,
                   event_names=lambda: frozenset({"open", "execve"}),
                   open_capture=open_capture,
                   open_live=lambda config: Capture([]),
                   inspector_for=lambda source: type(
                       "I", (), {"process": staticmethod(lambda e: e)})(),
                   versions=lambda: {"falco_version": "0.1.0"})


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    logger = logging.getLogger("falco")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def quiet_config(tmp_path: Path) -> str:
    cfg = tmp_path / "falco.yaml"
    cfg.write_text("log_syslog: false\nsyslog_output: {enabled: false}\n"
                   "webserver: {enabled: false}\nwatch_config_files: false\n"
                   "time_format_iso_8601: true\n")
    return str(cfg)


def test_summary_in_the_articles_shape(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- rule: x\n")
    cap = tmp_path / "events.txt"
    cap.write_text("open close open connect-not-matching")
    loaded: list[list[str]] = []
    code = main(["-c", quiet_config(tmp_path), "-r", str(rules), "-e",
                 str(cap)], backend(tmp_path, loaded))
    out = capsys.readouterr().out
    assert code == 0 and loaded == [[str(rules)]]
    assert out.splitlines()[:2] == [
        "2023-11-14T22:13:20.000000000+0000: Warning write_etc on open",
        "2023-11-14T22:13:20.000000002+0000: Warning write_etc on open"]
    assert out.endswith("Events detected: 2\n"
                        "Rule counts by severity:\n"
                        "   Error: 0\n"
                        "   Warning: 2\n"
                        "   Informational: 0\n"
                        "Triggered rules by rule name:\n"
                        "   write_etc: 2\n")


def test_errors_and_exit_codes(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("broken\n")
    loaded: list[list[str]] = []
    be = backend(tmp_path, loaded)
    cfg = quiet_config(tmp_path)
    assert main(["-c", cfg, "-r", str(rules), "-e", "x"], be) == 1
    assert "Error: broken rules" in capsys.readouterr().err
    rules.write_text("fine\n")
    assert main(["-c", cfg, "-r", str(rules), "-e",
                 str(tmp_path / "none")], be) == 2
    assert "cannot open capture" in capsys.readouterr().err
    assert main(["-c", cfg, "-r", str(rules), "-o", "priority=7"], be) == 1
    assert "-o priority=7" in capsys.readouterr().err
    assert main(["--version"], be) == 0
    assert capsys.readouterr().out.startswith("Falco version: 0.1.0\n")


def test_list_and_describe_rules(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("fine\n")
    be = backend(tmp_path, [])
    cfg = quiet_config(tmp_path)
    assert main(["-c", cfg, "-r", str(rules), "-L"], be) == 0
    out = capsys.readouterr().out
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == \
        ["write_etc", "shell", "net"]
    assert main(["-c", cfg, "-r", str(rules), "-l", "shell"], be) == 0
    assert "Priority: Error" in capsys.readouterr().out
