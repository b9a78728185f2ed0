# SPDX-License-Identifier: Apache-2.0
"""Crafted captures through every output: file names and command lines
holding a newline and a forged alert line, ANSI/OSC escapes, CR, invalid
UTF-8, U+2028/NEL, literal backslash sequences. Each alert must arrive
exactly once, on one line, printable, and decode back to the bytes the
attacker wrote; JSON must be valid. stdout runs in a strict UTF-8 locale.

Sinks are real: a file, a program, rsyslogd, systemd-journald (read back
with journalctl) and an HTTP listener on 127.0.0.1.
"""
from __future__ import annotations

import json
import subprocess
import unicodedata
import uuid
from pathlib import Path

import pytest

from falco.outputs.encode import unescape_json_value, unescape_text
from support.cli import run_falco, wait_for, write_config
from support.external import require, require_tool
from support.hostile import COMM, HOSTILE_NAMES, OPEN_RULES, \
    expected_output, write_open_capture
from support.sinks import http_listener, journal_entries, \
    journald_available, journald_running, rsyslogd_running

NAMES = list(HOSTILE_NAMES.values())
N = len(NAMES)
PREFIX = ": Warning "

@pytest.fixture(autouse=True, scope="module")
def _sinks_installed() -> None:
    """rsyslogd, journald and systemd-python are listed dependencies:
    missing, the tests skip (fail under CI=true)."""
    require_tool("rsyslogd")
    require(journald_available(), "systemd-journald, journalctl or "
            "systemd-python is not installed (.ci/apt-packages.txt, "
            "requirements-dev.txt)")


def printable(text: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp")
               for c in text)


def check_text_lines(lines: list[str], where: str) -> None:
    """One line per alert, in order, each decoding back to the bytes."""
    assert len(lines) == N, (where, lines)
    for line, name in zip(lines, NAMES):
        assert printable(line), (where, line)
        head, _, body = line.partition(PREFIX)
        assert head and body, (where, line)
        assert unescape_text(body) == expected_output(name), (where, line)


def check_fields(fields: dict[str, object], name: bytes) -> None:
    assert isinstance(fields["fd.name"], str)
    assert unescape_json_value(fields["fd.name"]) == name
    assert unescape_json_value(str(fields["proc.cmdline"])) == \
        COMM + b" " + name


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("hostile")
    scap, rules = base / "hostile.scap", base / "rules.yaml"
    write_open_capture(scap, NAMES)
    rules.write_text(OPEN_RULES)
    return scap, rules


@pytest.fixture(scope="module")
def journald() -> None:
    with journald_running():
        yield


@pytest.mark.parametrize("json_output", [False, True])
def test_every_output_gets_each_alert_once(
        tmp_path: Path, capture: tuple[Path, Path], journald: None,
        json_output: bool) -> None:
    scap, rules = capture
    ident = f"falco-hostile-{uuid.uuid4().hex[:12]}"
    file_out, prog_out = tmp_path / "events.txt", tmp_path / "program.txt"
    sysdir = tmp_path / "syslog"
    sysdir.mkdir()
    with rsyslogd_running(sysdir) as (sock, messages), \
            http_listener() as http:
        cfg = write_config(
            tmp_path, json_output=json_output,
            file_output={"enabled": True, "filename": str(file_out)},
            program_output={"enabled": True, "keep_alive": True,
                            "program": f"cat >> {prog_out}"},
            syslog_output={"enabled": True, "path": str(sock),
                           "facility": "local4", "identifier": ident},
            journald_output={"enabled": True, "identifier": ident},
            http_output={"enabled": True,
                         "url": f"http://127.0.0.1:{http.server_port}/"})
        res = run_falco("-c", str(cfg), "-r", str(rules), "-e", str(scap),
                        extra_env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                                   "PYTHONIOENCODING": "utf-8:strict"})
        assert res.returncode == 0, res.stderr
        stdout = [ln for ln in res.stdout.splitlines()
                  if ": Warning " in ln or ln.startswith("{")]

        def syslog_lines() -> list[str]:
            if not messages.exists():
                return []
            got = [ln.split(": ", 1)[1] for ln in
                   messages.read_text(errors="strict").splitlines()
                   if ln.startswith(f"local4.warning {ident}:")]
            return got if len(got) >= N else []
        syslog = wait_for(syslog_lines, 30)
        bodies = list(http.bodies)
    journal = wait_for(lambda: (lambda e: e if len(e) >= N else [])(
        journal_entries(ident)), 30)

    # Nothing an attacker wrote became a line of its own.
    assert "Critical Fake alert" not in "".join(
        ln.split(PREFIX, 1)[0] for ln in res.stdout.splitlines())
    files = {"stdout": stdout,
             "file": file_out.read_text(errors="strict").splitlines(),
             "program": prog_out.read_text(errors="strict").splitlines(),
             "syslog": syslog,
             "journald": [e["MESSAGE"] for e in journal]}
    for where, lines in files.items():
        assert all(isinstance(ln, str) for ln in lines), \
            (where, "a journal field stored as a blob")
        assert lines == files["stdout"], where
    assert len(bodies) == N
    if json_output:
        objs = [json.loads(ln) for ln in stdout]
        check_text_lines([o["output"] for o in objs], "json output")
        for obj, name in zip(objs, NAMES):
            check_fields(obj["output_fields"], name)
    else:
        check_text_lines(stdout, "text")
    for body, name in zip(bodies, NAMES):
        obj = json.loads(body.decode("utf-8"))      # strict UTF-8
        check_fields(obj["output_fields"], name)
        assert PREFIX in obj["output"]
    for entry, name in zip(journal, NAMES):
        assert unescape_text(str(entry["FALCO_FIELD_FD_NAME"])) == name
        check_fields(json.loads(str(entry["FALCO_OUTPUT_FIELDS"])), name)


def test_stdout_in_every_locale(tmp_path: Path,
                                capture: tuple[Path, Path]) -> None:
    """The same bytes under a strict UTF-8 locale, C and POSIX."""
    scap, rules = capture
    cfg = write_config(tmp_path)
    seen = set()
    for lang in ("C.UTF-8", "C", "POSIX"):
        res = subprocess.run(
            ["python3", "-m", "falco", "-c", str(cfg), "-r", str(rules),
             "-e", str(scap)], capture_output=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "LANG": lang, "LC_ALL": lang,
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        lines = [ln for ln in res.stdout.splitlines()
                 if b": Warning " in ln]
        check_text_lines([ln.decode("utf-8") for ln in lines], lang)
        seen.add(tuple(lines))
    assert len(seen) == 1
