# SPDX-License-Identifier: Apache-2.0
"""What tests need from outside the repository, found in one place: the
reference data beside the checkout (``../shared``: captures, Falco's
regression suite, upstream rules) and installed tools (sysdig, rsyslogd,
openssl, ...).

A test that needs ../shared asks for the ``shared`` fixture
(tests/conftest.py), or its module sets
``pytestmark = pytest.mark.usefixtures("shared")``; one that needs a tool
calls ``require_tool``. When the thing is missing the test skips with one
reason, and under ``CI=true`` it fails: CI never passes by skipping.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CAPTURES = SHARED / "captures"
REGRESSION = SHARED / "falco-regression"
UPSTREAM_RULES = SHARED / "upstream-rules"
MISSING = (f"reference data missing: {SHARED} (../shared beside the "
           "checkout: captures, falco-regression, upstream-rules)")


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason}; CI=true: failing", pytrace=False)
    pytest.skip(reason)


def require_shared() -> Path:
    """``../shared``, or skip (fail under CI=true) with one reason."""
    if not SHARED.is_dir():
        _missing(MISSING)
    return SHARED


def require(present: bool, what: str) -> None:
    """Skip (fail under CI=true) unless ``present``: ``what`` names the
    missing dependency and where the project lists it."""
    if not present:
        _missing(what)


def require_tool(name: str) -> str:
    """The path of an installed program the project's dependency lists
    name (.ci/apt-packages.txt), or skip (fail under CI=true)."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not installed (scripts/install-deps.sh)")
    assert path is not None
    return path
