# SPDX-License-Identifier: Apache-2.0
"""The syslog output and Falco's own log against a real rsyslogd, started by
the test on a private socket and stopped at the end."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from support.cli import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE,
                              alert_lines, run_falco, wait_for, write_config)
from support.external import require_tool
from support.sinks import rsyslogd_running

pytestmark = pytest.mark.usefixtures("shared")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    require_tool("rsyslogd")
    with rsyslogd_running(tmp_path) as sink:
        yield sink


def test_alerts_and_log_reach_rsyslog(tmp_path: Path, rsyslog) -> None:
    sock, messages = rsyslog
    cfg = write_config(tmp_path, log_syslog=True, syslog_output={
        "enabled": True, "path": str(sock), "facility": "local2"})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0, res.stderr

    def alerts() -> list[str]:
        if not messages.exists():
            return []
        got = [ln for ln in messages.read_text().splitlines()
               if ln.startswith("local2.warning falco:")]
        return got if len(got) == 8 else []

    got = wait_for(alerts, 30)
    assert [ln.split(":", 1)[1].strip() for ln in got] == \
        alert_lines(res.stdout)
    assert all(ln.endswith(OPEN_SEEN) for ln in got)
    text = messages.read_text()
    assert "user.info falco: Loading rules from file " in text
