# SPDX-License-Identifier: Apache-2.0
"""capture.*: an alert starts a recording of the following events."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli_support import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE,
                              alert_lines, run_falco, write_config)

pytestmark = pytest.mark.skipif(not CAT_WRITE.exists(),
                                reason="shared captures not available")


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
    if shutil.which("sysdig"):
        out = subprocess.run(["sysdig", "-r", str(files[0])],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and " open " in out.stdout


def test_rules_mode_needs_rule_capture_flag(tmp_path: Path) -> None:
    prefix = tmp_path / "rec"
    cfg = write_config(tmp_path, capture={
        "enabled": True, "mode": "rules", "path_prefix": str(prefix)})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0
    assert not list(tmp_path.glob("rec_*.scap"))
