# SPDX-License-Identifier: Apache-2.0
"""debian/falco.service: exposure at most 3.5 in `systemd-analyze security
--offline=true`, every capability it keeps said why. The packaging test
(tests/packaging) proves the sandboxed service still works."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "debian" / "falco.service"


def test_exposure_at_most_3_5() -> None:
    res = subprocess.run(["systemd-analyze", "security", "--offline=true",
                          "--no-pager", str(UNIT)],
                         capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for falco\.service: "
                      r"([\d.]+)", res.stdout)
    assert match, res.stdout + res.stderr
    print(f"exposure {match.group(1)}")
    assert float(match.group(1)) <= 3.5


def test_each_kept_capability_is_explained() -> None:
    text = UNIT.read_text()
    (line,) = [ln for ln in text.splitlines()
               if ln.startswith("CapabilityBoundingSet=")]
    kept = line.split("=", 1)[1].split()
    assert kept and all(c.startswith("CAP_") for c in kept)
    comments = "\n".join(ln for ln in text.splitlines()
                         if ln.startswith("#"))
    for cap in kept:
        assert re.search(rf"#.*\b{cap}\b.*:", comments), cap
    assert "CAP_SYS_ADMIN" not in kept


def test_module_is_loaded_before_the_device_allow_list_is_set() -> None:
    """DeviceAllow=char-falco resolves the driver's major when the unit's
    cgroup is made, before ExecStartPre: the module unit runs first."""
    text = UNIT.read_text()
    assert "DevicePolicy=closed" in text and "DeviceAllow=char-falco" in text
    assert re.search(r"^After=.*falco-module\.service", text, re.M)
    assert re.search(r"^Wants=.*falco-module\.service", text, re.M)
    module = UNIT.with_name("falco.falco-module.service").read_text()
    assert "modprobe falco_probe" in module
