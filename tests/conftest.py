# SPDX-License-Identifier: Apache-2.0
"""Fixtures for every suite (unit, integration, kernel, packaging)."""
from __future__ import annotations

from pathlib import Path

import pytest

from support.external import MISSING, SHARED, in_ci, require_shared


def pytest_report_header(config: pytest.Config) -> str:
    return f"reference data: {SHARED if SHARED.is_dir() else MISSING}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if in_ci() and not SHARED.is_dir():
        raise pytest.UsageError(MISSING + "; CI=true needs it")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The reference data directory ../shared (see support.external)."""
    return require_shared()
