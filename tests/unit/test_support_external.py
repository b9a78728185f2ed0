# SPDX-License-Identifier: Apache-2.0
"""What tests need from outside the repository: missing, they skip with
one reason, and under CI=true they fail (tests/support/external.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import external


def test_missing_reference_data_skips_then_fails_in_ci(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(external, "SHARED", tmp_path / "no-shared")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception,
                       match="reference data missing"):
        external.require_shared()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: failing"):
        external.require_shared()
    monkeypatch.setattr(external, "SHARED", tmp_path)
    assert external.require_shared() == tmp_path


def test_missing_tool_skips_then_fails_in_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not installed"):
        external.require_tool("no-such-tool-anywhere")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: failing"):
        external.require_tool("no-such-tool-anywhere")
    assert external.require_tool("sh").endswith("/sh")


def test_ci_entry_point_sets_ci() -> None:
    run = (external.ROOT / ".ci" / "run").read_text()
    assert "\nexport CI=true\n" in run
    assert run.index("export CI=true") < run.index("make test")
