# SPDX-License-Identifier: Apache-2.0
"""capture.*: an alert starts a recording of the following events."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from falco.events import SockTuple, make_event
from falco.events.capture_state import ProcEntry
from falco.events.scap_writer import ScapWriter
from support.cli import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE,
                              alert_lines, run_falco, write_config)
from support.external import require_tool

needs_shared = pytest.mark.usefixtures("shared")


@needs_shared
def test_alert_records_a_replayable_capture(tmp_path: Path) -> None:
    prefix = tmp_path / "rec"
    cfg = write_config(tmp_path, capture={
        "enabled": True, "mode": "all_rules", "path_prefix": str(prefix),
        "default_duration": 1})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0, res.stderr
    files = sorted(tmp_path.glob("rec_*.scap"))
    assert [f.name for f in files] == ["rec_1470327477881781397.scap"]
    # The recording starts at the first alert and lasts 1 ms of event time
    # (the 8 alerts span 0.3 ms), with the process list of that moment:
    # replaying it raises the same alerts again.
    from falco.events.scap import read_capture
    recorded, original = read_capture(files[0]), read_capture(CAT_WRITE)
    first_alert = 1470327477881781397
    assert min(e.ts for e in recorded) == first_alert
    assert max(e.ts for e in recorded) <= first_alert + 1_000_000
    assert len(recorded) < len([e for e in original
                                if e.ts >= first_alert]) + 10
    assert len(recorded) < len(original)
    again = run_falco("-c", str(write_config(tmp_path, name="plain.yaml")),
                      "-r", str(SINGLE_RULE), "-e", str(files[0]))
    assert again.returncode == 0, again.stderr
    lines = alert_lines(again.stdout)
    assert lines == alert_lines(res.stdout)
    assert len(lines) == 8 and all(ln.endswith(OPEN_SEEN) for ln in lines)
    out = subprocess.run([require_tool("sysdig"), "-r", str(files[0])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and " open " in out.stdout


@needs_shared
def test_rules_mode_needs_rule_capture_flag(tmp_path: Path) -> None:
    prefix = tmp_path / "rec"
    cfg = write_config(tmp_path, capture={
        "enabled": True, "mode": "rules", "path_prefix": str(prefix)})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0
    assert not list(tmp_path.glob("rec_*.scap"))


FD_RULES = """
- rule: Data written
  desc: a write to the database file
  condition: evt.type = write and evt.dir = < and fd.name = /srv/data.db
  output: "wrote (file=%fd.name ino=%fd.ino)"
  priority: WARNING
- rule: Sent to the server
  desc: a write on the connection
  condition: evt.type = write and evt.dir = < and fd.sip = 10.0.0.2 and fd.rport = 443
  output: "sent (conn=%fd.name proto=%fd.l4proto)"
  priority: WARNING
"""


def test_recording_carries_the_fds_opened_before_it(tmp_path: Path) -> None:
    """The file and the connection are opened before the first alert; the
    recording starts at that alert, so only its fd list can name them."""
    src = tmp_path / "input.scap"
    t0 = 1_700_000_000_000_000_000
    app = ProcEntry(tid=100, pid=100, ptid=1, comm="app", exe="/usr/bin/app",
                    exepath="/usr/bin/app")
    w = ScapWriter(src, procs=[app])
    w.write_event(make_event("openat", "<", {
        "fd": 7, "dirfd": -100, "name": "/srv/data.db", "flags": "O_RDWR",
        "mode": 0, "dev": 0x803, "ino": 4242}, ts=t0, tid=100))
    w.write_event(make_event("socket", "<", {"fd": 8, "domain": 2, "type": 1, "proto": 0},
                             ts=t0 + 500, tid=100))
    w.write_event(make_event("connect", "<", {
        "res": 0, "fd": 8, "tuple": SockTuple(2, "10.0.0.1", 40000, "10.0.0.2", 443)},
        ts=t0 + 1000, tid=100))
    for i, fd in enumerate((7, 8)):
        w.write_event(make_event("write", "<", {"res": 3, "data": b"abc", "fd": fd,
                                                "size": 3},
                                 ts=t0 + 10**9 + i * 1000, tid=100))
    w.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(FD_RULES)
    prefix = tmp_path / "rec"
    cfg = write_config(tmp_path, capture={
        "enabled": True, "mode": "all_rules", "path_prefix": str(prefix),
        "default_duration": 1000})
    first = run_falco("-c", str(cfg), "-r", str(rules), "-e", str(src))
    assert first.returncode == 0, first.stderr
    expected = ["wrote (file=/srv/data.db ino=4242)",
                "sent (conn=10.0.0.1:40000->10.0.0.2:443 proto=tcp)"]
    assert [ln.split("Warning ", 1)[1] for ln in alert_lines(first.stdout)] == expected
    files = sorted(tmp_path.glob("rec_*.scap"))
    assert [f.name for f in files] == [f"rec_{t0 + 10**9}.scap"]
    from falco.events.scap import read_capture
    assert [e.name for e in read_capture(files[0]) if e.direction == "<"] == \
        ["write", "write"]
    again = run_falco("-c", str(write_config(tmp_path, name="plain.yaml")),
                      "-r", str(rules), "-e", str(files[0]))
    assert again.returncode == 0, again.stderr
    assert [ln.split("Warning ", 1)[1] for ln in alert_lines(again.stdout)] == expected
    out = subprocess.run([require_tool("sysdig"), "-r", str(files[0]), "-p",
                          "%fd.name", "evt.type=write and evt.dir=<"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["/srv/data.db", "10.0.0.1:40000->10.0.0.2:443"], \
        out.stdout + out.stderr
