# SPDX-License-Identifier: Apache-2.0
"""The Debian packages in a real kernel (VM): install falco and falco-dkms
with apt, check DKMS built and installed falco_probe, load it with
modprobe, start the service with `service falco start`, see an alert reach
syslog (rsyslogd) and the journal (systemd-journald), then check that
`apt remove` and `apt purge` leave nothing behind.

The .debs come from scripts/build-deb.sh (out/). The VM shares the host's
root file system read-only; /etc, /usr, /var and /root get tmpfs overlays so
the installation stays inside the VM. Run it with the module not loaded by
the harness: scripts/vm-run.sh --no-module 'python3 -m pytest -m kernel
tests/kernel/test_packaging.py'.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("FALCO_DEB_DIR", ROOT / "out"))
MODULE = "falco_probe"
# Output text of "Read sensitive file by untrusted program" (cat /etc/shadow).
ALERT_TEXT = "Sensitive file opened for reading by untrusted program"
OVERLAY_DIRS = ("/etc", "/usr", "/var", "/root")
T = TypeVar("T")


def sh(*cmd: str, timeout: float = 600, check: bool = True,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", **(env or {}))
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    return proc


def wait_for(probe: Callable[[], T], timeout: float, step: float = 1.0) -> T | None:
    end = time.time() + timeout
    while time.time() < end:
        got = probe()
        if got:
            return got
        time.sleep(step)
    return None


def debs() -> tuple[Path, Path]:
    falco = sorted(OUT.glob("falco_*_*.deb"))
    dkms = sorted(OUT.glob("falco-dkms_*_all.deb"))
    if not falco or not dkms:
        pytest.skip(f"no packages in {OUT}: run scripts/build-deb.sh first")
    return falco[-1], dkms[-1]


def _writable(path: str) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=path, prefix=".falco-pkg-probe.")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def overlay(stack: ExitStack, workdir: Path) -> None:
    """Throw-away writable layers over the shared root file system."""
    for i, d in enumerate(OVERLAY_DIRS):
        if _writable(d):
            continue
        layer = workdir / f"layer{i}"
        layer.mkdir()
        sh("mount", "-t", "tmpfs", "falco-pkg", str(layer))
        (layer / "upper").mkdir()
        (layer / "work").mkdir()
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={d},upperdir={layer}/upper,workdir={layer}/work", d)
        stack.callback(subprocess.run, ["umount", "-l", str(layer)], check=False)
        stack.callback(subprocess.run, ["umount", "-l", d], check=False)


def _socket_alive(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def start_logging(stack: ExitStack, workdir: Path) -> Path:
    """rsyslogd (fed by journald's forwarding socket) and journald owning
    /dev/log, as on a Debian machine booted with systemd."""
    journald = Path("/lib/systemd/systemd-journald")
    if not journald.exists() or not shutil.which("rsyslogd") or not shutil.which("journalctl"):
        pytest.skip("systemd-journald, journalctl or rsyslogd not installed")
    syslog_file = workdir / "syslog"
    conf = workdir / "rsyslog.conf"
    conf.write_text(
        'module(load="imuxsock" SysSock.Use="off")\n'
        'input(type="imuxsock" Socket="/run/systemd/journal/syslog" CreatePath="on")\n'
        f'*.* {syslog_file}\n')
    Path("/run/systemd/journal").mkdir(parents=True, exist_ok=True)
    rsyslog = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i", str(workdir / "rsyslog.pid")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(rsyslog.wait, 20)
    stack.callback(rsyslog.terminate)
    assert wait_for(lambda: _socket_alive("/run/systemd/journal/syslog"), 60), \
        "rsyslogd did not open the forwarding socket"
    jd = subprocess.Popen([str(journald)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(jd.wait, 20)
    stack.callback(jd.terminate)
    assert wait_for(lambda: _socket_alive("/run/systemd/journal/dev-log"), 60), \
        "journald did not open /run/systemd/journal/dev-log"
    dev_log = Path("/dev/log")
    if dev_log.is_symlink() or dev_log.exists():
        dev_log.unlink()
    dev_log.symlink_to("/run/systemd/journal/dev-log")
    stack.callback(lambda: dev_log.unlink() if dev_log.is_symlink() else None)
    return syslog_file


def module_loaded() -> bool:
    return any(line.split()[0] == MODULE for line in Path("/proc/modules").read_text().splitlines())


def installed_files(package: str) -> list[str]:
    out = sh("dpkg-query", "-L", package).stdout.splitlines()
    return [p for p in out if p and p not in ("/.",)]


def leftovers(files: list[str]) -> list[str]:
    """Files (not shared directories) of a package that still exist."""
    return [p for p in files if os.path.lexists(p) and not os.path.isdir(p)]


@pytest.fixture(scope="module")
def vm() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.environ.get("FALCO_KERNEL_VM"):
        pytest.skip("runs inside the VM harness only (it installs packages)")
    with tempfile.TemporaryDirectory(prefix="falco-pkg-") as d, ExitStack() as stack:
        workdir = Path(d)
        overlay(stack, workdir)
        yield workdir


def test_install_run_remove_purge(vm: Path) -> None:
    falco_deb, dkms_deb = debs()
    kver = os.uname().release
    version = re.search(r"_([^_]+)_", dkms_deb.name).group(1).split("-")[0]  # type: ignore[union-attr]

    with ExitStack() as stack:
        # A module loaded by the harness would hide the one DKMS builds; its
        # copy under updates/ goes aside and comes back for the next tests.
        if module_loaded():
            sh("rmmod", MODULE)
        stale = Path(f"/lib/modules/{kver}/updates/{MODULE}.ko")
        if stale.exists():
            aside = vm / "harness.ko"
            shutil.copy2(stale, aside)
            stale.unlink()
            stack.callback(shutil.copy2, aside, stale)
            stack.callback(lambda: subprocess.run(["rmmod", MODULE], capture_output=True))

        # -- install ------------------------------------------------------------
        sh("apt-get", "install", "-y", "--no-install-recommends",
           str(dkms_deb), str(falco_deb), timeout=3600)
        status = sh("dkms", "status", "-m", "falco", "-v", version).stdout
        assert re.search(rf"falco/{re.escape(version)}, {re.escape(kver)}, \S+: installed",
                         status), status
        built = list(Path(f"/lib/modules/{kver}/updates/dkms").glob(f"{MODULE}.ko*"))
        assert built, "DKMS installed no falco_probe.ko"
        assert Path("/usr/bin/falco").exists()
        for conf in ("falco.yaml", "falco_rules.yaml", "falco_rules.local.yaml",
                     "application_rules.yaml"):
            assert Path("/etc/falco", conf).exists(), conf
        conffiles = sh("dpkg-query", "-W", "-f", "${Conffiles}", "falco").stdout
        assert "/etc/falco/falco_rules.yaml" in conffiles
        files = installed_files("falco") + installed_files("falco-dkms")

        # -- load and run -------------------------------------------------------
        sh("modprobe", MODULE)
        assert module_loaded()
        assert str(sh("modinfo", "-n", MODULE).stdout.strip()).startswith(
            f"/lib/modules/{kver}/updates/dkms/"), "modprobe did not pick the DKMS module"
        syslog_file = start_logging(stack, vm)
        sh("service", "falco", "start", timeout=300)
        stack.callback(subprocess.run, ["service", "falco", "stop"], capture_output=True,
                       timeout=120)

        def alert_in_both() -> bool:
            subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
            in_syslog = syslog_file.exists() and ALERT_TEXT in syslog_file.read_text(
                errors="replace")
            journal = subprocess.run(["journalctl", "--no-pager", "-t", "falco", "-o", "cat"],
                                     capture_output=True, text=True, timeout=60).stdout
            return in_syslog and ALERT_TEXT in journal

        ok = wait_for(alert_in_both, 600, step=3)
        if not ok:
            status = sh("service", "falco", "status", check=False)
            pytest.fail("no alert in syslog and journal\n"
                        f"syslog: {syslog_file.read_text(errors='replace')[-2000:] if syslog_file.exists() else '-'}\n"
                        f"status: {status.stdout}{status.stderr}")
        sh("service", "falco", "stop", timeout=120)

        # -- remove: program and module gone, configuration kept ------------------
        sh("rmmod", MODULE, check=False)
        sh("apt-get", "remove", "-y", "falco", "falco-dkms", timeout=1800)
        assert not Path("/usr/bin/falco").exists()
        assert not Path(f"/usr/src/falco-{version}").exists()
        assert "falco" not in sh("dkms", "status", "-m", "falco").stdout
        assert not list(Path(f"/lib/modules/{kver}/updates/dkms").glob(f"{MODULE}.ko*"))
        assert Path("/etc/falco/falco.yaml").exists(), "remove must keep conffiles"

        # -- purge: nothing left -----------------------------------------------------
        sh("apt-get", "purge", "-y", "falco", "falco-dkms", timeout=600)
        left = leftovers(files)
        assert left == [], left
        for path in ("/etc/falco", "/var/log/falco", f"/usr/src/falco-{version}",
                     "/var/lib/dkms/falco", "/etc/init.d/falco", "/etc/logrotate.d/falco"):
            assert not os.path.lexists(path), path
        dpkg = sh("dpkg-query", "-W", "-f", "${db:Status-Status}\n", "falco", "falco-dkms",
                  check=False).stdout
        assert "installed" not in dpkg and "config-files" not in dpkg, dpkg
