# SPDX-License-Identifier: Apache-2.0
"""falco.app.cli.main in-process: the whole command (config, rules,
outputs, engine, summary, exit codes) on a real rules file and a capture
written in the driver's format."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pytest

from falco.app.cli import main
from falco.events.build import make_event
from falco.events.capture_state import ProcEntry
from falco.events.scap_writer import ScapWriter

TS = 1_700_000_000_000_000_000
RULES = """
- rule: write_etc
  desc: a file below /etc opened
  condition: evt.type = openat and fd.name startswith /etc
  output: "write_etc %fd.name"
  priority: WARNING
- rule: shell
  desc: a shell started
  condition: evt.type = execve and proc.name = sh
  output: "shell %proc.cmdline"
  priority: ERROR
- rule: net
  desc: a connection
  condition: evt.type = connect
  output: "net %fd.name"
  priority: INFO
"""


def write_capture(path: Path, names: list[str]) -> Path:
    """A capture of openat events of ``cat`` (tid 7), one per name."""
    proc = ProcEntry(tid=7, pid=7, ptid=1, comm="cat", exe="/bin/cat",
                     exepath="/bin/cat", cwd="/")
    with ScapWriter(path, procs=[proc]) as writer:
        for i, name in enumerate(names):
            writer.write_event(make_event(
                "openat", "<", {"fd": 3, "dirfd": -100, "name": name,
                                "flags": "O_RDONLY", "mode": 0},
                ts=TS + i, tid=7))
    return path


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


def rules_file(tmp_path: Path, text: str = RULES) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return str(path)


def test_summary_in_the_articles_shape(tmp_path: Path, capsys) -> None:
    cap = write_capture(tmp_path / "c.scap",
                        ["/etc/passwd", "/tmp/x", "/etc/hosts"])
    code = main(["-c", quiet_config(tmp_path), "-r", rules_file(tmp_path),
                 "-e", str(cap)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:2] == [
        "2023-11-14T22:13:20.000000000+0000: Warning write_etc /etc/passwd",
        "2023-11-14T22:13:20.000000002+0000: Warning write_etc /etc/hosts"]
    assert out.endswith("Events detected: 2\n"
                        "Rule counts by severity:\n"
                        "   Error: 0\n"
                        "   Warning: 2\n"
                        "   Informational: 0\n"
                        "Triggered rules by rule name:\n"
                        "   write_etc: 2\n")


def test_disable_by_substring(tmp_path: Path, capsys) -> None:
    cap = write_capture(tmp_path / "c.scap", ["/etc/passwd"])
    cfg, rules = quiet_config(tmp_path), rules_file(tmp_path)
    assert main(["-c", cfg, "-r", rules, "-e", str(cap), "-D", "te_e"]) == 0
    assert "Events detected: 0\n" in capsys.readouterr().out
    # a regular expression is plain text to -D: nothing is disabled
    assert main(["-c", cfg, "-r", rules, "-e", str(cap), "-D", "^w.*"]) == 0
    assert "Events detected: 1\n" in capsys.readouterr().out
    assert main(["-c", cfg, "-r", rules, "-e", str(cap), "-D", "x",
                 "-t", "y"]) == 1
    assert "both disabled (-D/-T) and enabled (-t)" in \
        capsys.readouterr().err


def test_errors_and_exit_codes(tmp_path: Path, capsys) -> None:
    cfg = quiet_config(tmp_path)
    broken = rules_file(tmp_path, RULES.replace("proc.name = sh",
                                                "proc.name = = sh"))
    assert main(["-c", cfg, "-r", broken, "-e", "x"]) == 1
    assert "rules.yaml:9:48: error: unexpected '='" in capsys.readouterr().err
    rules = rules_file(tmp_path)
    assert main(["-c", cfg, "-r", rules, "-e",
                 str(tmp_path / "none")]) == 2
    assert "cannot open capture" in capsys.readouterr().err
    assert main(["-c", cfg, "-r", rules, "-o", "priority=7"]) == 1
    assert "-o priority=7" in capsys.readouterr().err
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Falco version: 0.1.0\nEngine: 0.")
    assert "unknown" not in out


def test_list_and_describe_rules(tmp_path: Path, capsys) -> None:
    cfg, rules = quiet_config(tmp_path), rules_file(tmp_path)
    assert main(["-c", cfg, "-r", rules, "-L"]) == 0
    out = capsys.readouterr().out
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == \
        ["write_etc", "shell", "net"]
    assert main(["-c", cfg, "-r", rules, "-l", "shell"]) == 0
    out = capsys.readouterr().out
    assert "Priority: Error\n" in out
    assert "Condition: evt.type = execve and proc.name = sh\n" in out
