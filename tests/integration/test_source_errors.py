# SPDX-License-Identifier: Apache-2.0
"""Source errors as the user sees them: one message saying what to do and
a non-zero exit status (the live cases run on a host without the module)."""
from __future__ import annotations

from pathlib import Path

import pytest

import support.cli as support
from falco.driver.ring import device_paths

pytestmark = pytest.mark.usefixtures("shared")


@pytest.mark.skipif(bool(device_paths()), reason="falco_probe is loaded")
def test_live_without_module(tmp_path: Path) -> None:
    cfg = support.write_config(tmp_path, engine={"kind": "kmod"})
    res = support.run_falco("-c", str(cfg), "-r", str(support.SINGLE_RULE),
                            timeout=60)
    assert res.returncode == 2, res.stderr
    assert "modprobe falco_probe" in res.stderr
    assert "Traceback" not in res.stderr


def test_capture_is_a_directory(tmp_path: Path) -> None:
    cfg = support.write_config(tmp_path)
    res = support.run_falco("-c", str(cfg), "-r", str(support.SINGLE_RULE),
                            "-e", str(tmp_path))
    assert res.returncode == 2, res.stderr
    assert "Is a directory" in res.stderr
    assert "Traceback" not in res.stderr


def test_capture_not_a_capture(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 100)
    cfg = support.write_config(tmp_path)
    res = support.run_falco("-c", str(cfg), "-r", str(support.SINGLE_RULE),
                            "-e", str(junk))
    assert res.returncode == 2, res.stderr
    assert "not a readable capture" in res.stderr
