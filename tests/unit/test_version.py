# SPDX-License-Identifier: Apache-2.0
"""One version number: falco/__init__.py is the source, every other place that
spells the version (setup.py's result, dkms.conf, debian/changelog, the
driver's version macro) must agree with it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _source_version() -> str:
    text = (ROOT / "falco" / "__init__.py").read_text()
    m = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert m, "falco/__init__.py has no __version__ line"
    return m.group(1)


VERSION = _source_version()


def test_version_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_setup_py_reports_the_same_version() -> None:
    out = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == VERSION


def test_dkms_conf_package_version() -> None:
    conf = (ROOT / "dkms.conf").read_text()
    m = re.search(r'^PACKAGE_VERSION="?([^"\n]+)"?$', conf, re.M)
    assert m, "dkms.conf has no PACKAGE_VERSION"
    assert m.group(1) == VERSION
    name = re.search(r'^PACKAGE_NAME="?([^"\n]+)"?$', conf, re.M)
    assert name and name.group(1) == "falco"


def test_debian_changelog_top_entry() -> None:
    first = (ROOT / "debian" / "changelog").read_text().splitlines()[0]
    m = re.match(r"^falco \(([^)]+)\) ", first)
    assert m, first
    upstream = m.group(1).rsplit("-", 1)[0] if "-" in m.group(1) else m.group(1)
    assert upstream == VERSION


def _driver_versions() -> list[tuple[str, str]]:
    """Every version string the driver sources define."""
    pat = re.compile(r'(?:MODULE_VERSION\(\s*"([^"]+)"\s*\)|'
                     r'#define\s+\w*(?:DRIVER|MODULE|PROBE)_VERSION\w*\s+"([^"]+)")')
    found = []
    for path in sorted((ROOT / "driver").rglob("*")):
        if path.suffix not in (".c", ".h") or not path.is_file():
            continue
        for m in pat.finditer(path.read_text(errors="replace")):
            found.append((str(path.relative_to(ROOT)), m.group(1) or m.group(2)))
    return found


def test_driver_version_macro() -> None:
    if not (ROOT / "driver").is_dir():
        pytest.fail("driver/ is missing")
    found = _driver_versions()
    assert found, "no version macro (MODULE_VERSION or *_VERSION string) in driver/"
    for path, version in found:
        assert version == VERSION, f"{path}: {version} != {VERSION}"
