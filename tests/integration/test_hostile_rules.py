# SPDX-License-Identifier: Apache-2.0
"""Hostile rules and configuration through the real ``falco`` command: a
backtracking regex with its worst input, 22 doubling macros, chains and
doublings of lists, a list nested 40000 deep, a YAML alias bomb in
falco.yaml. Each must load (and alert) or be refused with file:line:col,
never hang or crash; a reload with them keeps the running rules; SIGTERM
stops a busy run. bench/hostile.py prints the times.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from support.cli import CAT_WRITE, OPEN_SEEN, SINGLE_RULE, falco_argv, env, \
    scap_blocks, wait_for, write_config
from support.hostile import Case, alias_bomb, cases, deep_list, prepare

# What each case must end with: (exit status, alerts, text on stderr).
EXPECTED = {
    "regex /etc/(a+)+ vs /etc/a{40}!": (0, 0, None),
    "22 doubling macros": (0, 1, None),
    "list chain 10000 long (forward references)": (0, 1, None),
    "22 doubling lists (forward references)": (0, 1, None),
    "list nested 40000 deep": (
        1, 0, "rules.yaml:2:72: error: YAML parse error: nesting deeper "
        "than 64 levels"),
    "YAML alias bomb in falco.yaml (9^9)": (
        1, 0, "falco.yaml:11:10: invalid YAML: aliases expand to more "
        "than 100000 nodes"),
}
LOADS = [c for c in cases() if c.term_after is None]
BUSY = [c for c in cases() if c.term_after is not None]


def test_every_case_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(c.name for c in LOADS)


@pytest.mark.parametrize("case", LOADS, ids=[c.name for c in LOADS])
def test_hostile_input_is_loaded_or_refused(tmp_path: Path,
                                            case: Case) -> None:
    args = prepare(case, tmp_path)
    start = time.monotonic()
    res = subprocess.run(falco_argv(*args), capture_output=True, text=True,
                         env=env(), timeout=120)
    print(f"{case.name}: exit {res.returncode} after "
          f"{time.monotonic() - start:.2f} s")
    code, alerts, message = EXPECTED[case.name]
    assert res.returncode == code, res.stderr[-3000:]
    assert res.stdout.count(": Warning ") == alerts
    if message is not None:
        assert message in res.stderr, res.stderr[-3000:]
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("case", BUSY, ids=[c.name for c in BUSY])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_ends_a_busy_run(tmp_path: Path, case: Case,
                                     signum: int) -> None:
    """A million events, each raising an alert: the signal stops the run
    within 5 s (what systemd and an operator expect), queued alerts
    drained for at most 3 s, the summary printed."""
    args = prepare(case, tmp_path)
    proc = subprocess.Popen(falco_argv(*args), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env())
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()      # alerts are flowing
        assert b": Warning busy" in first
        proc.send_signal(signum)
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f"{signal.Signals(signum).name}: stopped in {took:.2f} s")
    assert proc.returncode == 0
    assert b"Events detected:" in out
    assert took < 5.0


@pytest.mark.skipif(not CAT_WRITE.exists(), reason="shared captures")
@pytest.mark.parametrize("what", ["rules", "config"])
def test_hostile_reload_keeps_running_rules(tmp_path: Path,
                                            what: str) -> None:
    """SIGHUP with a rules file nested 40000 deep, or a falco.yaml holding
    an alias bomb: the reload is refused at file:line:col and the running
    rules keep alerting."""
    header, events = scap_blocks(CAT_WRITE)
    half = len(events) // 2
    fifo = tmp_path / "live.scap"
    os.mkfifo(fifo)
    rules = tmp_path / "rules.yaml"
    rules.write_text(SINGLE_RULE.read_text())
    cfg = write_config(tmp_path)
    proc = subprocess.Popen(
        falco_argv("-c", str(cfg), "-r", str(rules), "-e", str(fifo)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    out: list[bytes] = []
    err: list[bytes] = []
    pumps = [threading.Thread(target=sink.extend, args=(stream,),
                              daemon=True)
             for stream, sink in ((proc.stdout, out), (proc.stderr, err))]
    for pump in pumps:
        pump.start()
    try:
        with open(fifo, "wb", buffering=0) as writer:
            writer.write(header + b"".join(events[:half]))
            # Alerts flow: the signal handlers are in place.
            assert wait_for(lambda: any(OPEN_SEEN.encode() in ln
                                        for ln in out), 60), err
            if what == "rules":
                rules.write_text(deep_list())
                where = f"{rules}:2:72"
            else:
                cfg.write_text(alias_bomb())
                where = f"{cfg}:11:10"
            proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: any(b"Reload failed" in ln
                                        for ln in err), 60), err
            writer.write(b"".join(events[half:]))
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pump in pumps:
        pump.join(10)
    assert b"".join(out).decode().count(OPEN_SEEN) == 8
    assert where in b"".join(err).decode()
