# SPDX-License-Identifier: Apache-2.0
"""Helpers for running the real ``falco`` command (python -m falco).

No tests here; the test_cli_* and test_outputs_* modules import it.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from support.external import CAPTURES, REGRESSION, ROOT
CAT_WRITE = CAPTURES / "cat_write.scap"
SINGLE_RULE = REGRESSION / "rules" / "single_rule.yaml"
OPEN_SEEN = "Warning An open was seen (command=cat /dev/null)"


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT)
    out.pop("NOTIFY_SOCKET", None)
    out.pop("WATCHDOG_USEC", None)
    out.update(extra)
    return out


def write_config(tmp_path: Path, name: str = "falco.yaml",
                 **keys: Any) -> Path:
    """A quiet config: stdout only, no syslog, no web server."""
    base: dict[str, Any] = {
        "stdout_output": {"enabled": True},
        "syslog_output": {"enabled": False},
        "log_syslog": False,
        "log_stderr": True,
        "webserver": {"enabled": False},
        "watch_config_files": False,
    }
    for key, value in keys.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(base))
    return path


def falco_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "falco", *args]


def run_falco(*args: str, timeout: float = 120, extra_env: dict[str, str]
              | None = None, cwd: Path | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(falco_argv(*args), capture_output=True, text=True,
                          timeout=timeout, env=env(**(extra_env or {})),
                          cwd=cwd or ROOT)


def start_falco(*args: str, extra_env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(falco_argv(*args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=env(**(extra_env or {})), cwd=cwd or ROOT)


def alert_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ": Warning " in ln
            or ln.startswith("{")]


def wait_for(pred: Callable[[], Any], timeout: float = 30.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    return pred()


def scap_blocks(path: Path = CAT_WRITE) -> tuple[bytes, list[bytes]]:
    """Split a capture into its header blocks and its event blocks."""
    data = gzip.decompress(path.read_bytes()) if path.read_bytes()[:2] == \
        b"\x1f\x8b" else path.read_bytes()
    from falco.events.scap_blocks import EVENT_BLOCKS as event_types
    header, events, pos = b"", [], 0
    while pos < len(data):
        btype = int.from_bytes(data[pos:pos + 4], "little")
        blen = int.from_bytes(data[pos + 4:pos + 8], "little")
        block = data[pos:pos + blen]
        if btype in event_types:
            events.append(block)
        elif not events:
            header += block
        else:
            events.append(block)
        pos += blen
    return header, events
