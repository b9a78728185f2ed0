# SPDX-License-Identifier: Apache-2.0
"""The /proc scan of a live run already honours container_engines: a
process in an LXC cgroup is a container only while the lxc engine is
enabled, and the table's bounds are set before the scan fills it."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from falco.app.backend import live_inspector
from falco.config.schema import ContainerEngines

PIDS = Path("/sys/fs/cgroup/pids")


@pytest.fixture
def lxc_process() -> Iterator[tuple[int, str]]:
    """A sleeping process whose pids cgroup is /lxc/<name> (cgroup v1)."""
    if os.geteuid() != 0 or not (PIDS / "cgroup.procs").exists():
        pytest.skip("needs root and a cgroup v1 pids hierarchy at "
                    f"{PIDS} to place a process in an LXC cgroup")
    name = f"falco-test-{uuid.uuid4().hex[:8]}"
    cg = PIDS / "lxc" / name
    cg.mkdir(parents=True)
    proc = subprocess.Popen(["sleep", "60"])
    try:
        (cg / "cgroup.procs").write_text(str(proc.pid))
        yield proc.pid, name
    finally:
        proc.kill()
        proc.wait()
        cg.rmdir()
        try:
            cg.parent.rmdir()
        except OSError:
            pass


@pytest.mark.parametrize("enabled", [True, False])
def test_proc_scan_honours_disabled_lxc(lxc_process: tuple[int, str],
                                         enabled: bool) -> None:
    pid, name = lxc_process
    conf = ContainerEngines()
    conf.lxc.enabled = enabled
    conf.max_entries = 7
    inspector = live_inspector(conf)
    try:
        assert inspector.containers.max_entries == 7
        thread = inspector.threads[pid]
        if enabled:
            assert thread.container_id == name
            assert inspector.containers.get(name) is not None
        else:
            assert thread.container_id == "host"
            assert inspector.containers.get(name) is None
    finally:
        inspector.close()
