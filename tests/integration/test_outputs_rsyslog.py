# SPDX-License-Identifier: Apache-2.0
"""The syslog output and Falco's own log against a real rsyslogd, started by
the test on a private socket and stopped at the end."""
from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from support.cli import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE,
                              alert_lines, run_falco, wait_for, write_config)

pytestmark = pytest.mark.skipif(
    not CAT_WRITE.exists() or shutil.which("rsyslogd") is None,
    reason="needs the shared captures and rsyslog")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    sock, messages = tmp_path / "log", tmp_path / "messages"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f"""\
global(workDirectory="{tmp_path}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")
template(name="plain" type="string"
         string="%syslogfacility-text%.%syslogseverity-text% %programname%:%msg%\\n")
*.* action(type="omfile" file="{messages}" template="plain")
""")
    proc = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i",
                             str(tmp_path / "rsyslogd.pid")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(sock.exists, 30), "rsyslogd did not start"
        yield sock, messages
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
