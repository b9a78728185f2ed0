# SPDX-License-Identifier: Apache-2.0
"""The Debian packages in a real kernel (VM).

scripts/test-packaging.sh (`make test-packaging`) builds the .debs, installs
them with apt into a throw-away overlay of the host's root file system
(natively, in a chroot: DKMS compiles falco_probe there against the 6.1
headers), then runs this file three times on that tree:

- phase "ebpf": natively on the host, in a chroot of the tree right after
  the installation: the installed falco runs with the BPF programs the
  package ships (`--modern-bpf`, no module) and `cat /etc/shadow` raises
  its alert.
- phase "systemd": the 6.1 kernel boots under qemu with the tree as its root
  file system and systemd as PID 1. The enabled falco.service starts at
  boot (Type=notify, falco-module.service loads the module first), its
  hardening (debian/falco.service: capability bounding set, system call
  filter, device allow list, read-only system) still lets it read
  /dev/falco*; an alert reaches the journal and syslog; the program output
  runs in the sandbox and reaches a socket under /run (where container
  runtimes listen); the HTTP output posts; `systemctl reload` keeps the
  process and reloads the rules; a killed daemon is restarted; `systemctl
  stop` stops it.
- phase "vm": the 6.1 kernel boots under qemu with the tree as its root file
  system. The packages are installed and DKMS built and installed
  falco_probe; `modprobe falco_probe` loads the DKMS module; `service falco
  start` (the sysvinit script: PID 1 is not systemd) runs the daemon; an
  alert reaches syslog (rsyslogd) and the journal (systemd-journald);
  `service falco stop` stops it; `apt-get remove falco` stops a running
  daemon and keeps the configuration.
- phase "chroot": back on the host, `apt-get remove falco-dkms` takes the
  module away (DKMS's full depmod takes minutes under TCG, seconds here) and
  `apt-get purge` leaves nothing behind.

The tests run in file order and share one installation; anywhere else
(FALCO_PKG_PHASE unset) they skip, as they change the installed system.
They live outside tests/kernel: that suite's fixtures load the development
module (driver/falco_probe.ko) before every test, which would hide the one
DKMS built.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

MODULE = "falco_probe"
PACKAGES = ("falco", "falco-dkms")
# Output text of "Read sensitive file by untrusted program" (cat /etc/shadow).
ALERT_TEXT = "Sensitive file opened for reading by untrusted program"
PIDFILE = Path("/run/falco.pid")
T = TypeVar("T")


def log(msg: str) -> None:
    print(f"[packaging {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*cmd: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)
    log(f"{' '.join(cmd)} -> {proc.returncode} ({time.monotonic() - start:.1f} s)")
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    return proc


def wait_for(probe: Callable[[], T], timeout: float, step: float = 1.0) -> T | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = probe()
        if got:
            return got
        time.sleep(step)
    return None


def module_loaded() -> bool:
    return any(line.split()[0] == MODULE
               for line in Path("/proc/modules").read_text().splitlines())


def package_status(package: str) -> str:
    """dpkg's status word: installed, config-files or not-installed."""
    out = sh("dpkg-query", "-W", "-f", "${db:Status-Status}", package, check=False)
    return out.stdout.strip() if out.returncode == 0 else "not-installed"


def dkms_status() -> str:
    return sh("dkms", "status", "-m", "falco").stdout


def falco_pid() -> int | None:
    """The daemon's pid from its pid file, if that process is alive."""
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def start_service() -> int:
    """`service falco start`; the daemon's pid, or a failure showing why
    the daemon is not running (its own messages, run in the foreground)."""
    sh("service", "falco", "start", timeout=300)
    pid = wait_for(falco_pid, 10)
    if pid:
        return pid
    try:
        run = subprocess.run(["/usr/bin/falco", "-c", "/etc/falco/falco.yaml"],
                             capture_output=True, text=True, timeout=120)
        why = f"exit {run.returncode}: {run.stdout[-1500:]}{run.stderr[-3000:]}"
    except subprocess.TimeoutExpired as e:
        why = f"runs in the foreground: {e.stderr!r:.3000}"
    pytest.fail(f"service falco start left no running daemon; falco -c: {why}")


def _socket_alive(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


class Logging:
    """systemd-journald owning /dev/log and forwarding to rsyslogd, as on a
    Debian machine booted with systemd; both started by hand."""

    def __init__(self, workdir: Path) -> None:
        self.syslog_file = workdir / "syslog"
        self.procs: list[subprocess.Popen[bytes]] = []
        journald = Path("/lib/systemd/systemd-journald")
        if not journald.exists() or not shutil.which("rsyslogd") \
                or not shutil.which("journalctl"):
            pytest.fail("systemd-journald, journalctl or rsyslogd not installed")
        conf = workdir / "rsyslog.conf"
        conf.write_text(
            'module(load="imuxsock" SysSock.Use="off")\n'
            'input(type="imuxsock" Socket="/run/systemd/journal/syslog" CreatePath="on")\n'
            f'*.* {self.syslog_file}\n')
        Path("/run/systemd/journal").mkdir(parents=True, exist_ok=True)
        self.procs.append(subprocess.Popen(
            ["rsyslogd", "-n", "-f", str(conf), "-i", str(workdir / "rsyslog.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        assert wait_for(lambda: _socket_alive("/run/systemd/journal/syslog"), 120), \
            "rsyslogd did not open the forwarding socket"
        self.procs.append(subprocess.Popen([str(journald)], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        assert wait_for(lambda: _socket_alive("/run/systemd/journal/dev-log"), 120), \
            "journald did not open /run/systemd/journal/dev-log"
        dev_log = Path("/dev/log")
        if dev_log.is_symlink() or dev_log.exists():
            dev_log.unlink()
        dev_log.symlink_to("/run/systemd/journal/dev-log")
        log("journald and rsyslogd up")

    def syslog(self) -> str:
        return self.syslog_file.read_text(errors="replace") if self.syslog_file.exists() else ""

    def journal(self) -> str:
        return subprocess.run(["journalctl", "--no-pager", "-t", "falco", "-o", "cat"],
                              capture_output=True, text=True, timeout=120).stdout

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        Path("/dev/log").unlink(missing_ok=True)


def phase() -> str:
    return os.environ.get("FALCO_PKG_PHASE", "")


@dataclass(frozen=True)
class Tree:
    """The tree scripts/test-packaging.sh prepared."""
    version: str  # upstream version of the packages (falco-<version> in DKMS)
    kver: str  # the VM's kernel, which DKMS built for
    workdir: Path  # scratch space (syslog file, rsyslog configuration)


@pytest.fixture(scope="module")
def env() -> Iterator[Tree]:
    if phase() not in ("ebpf", "systemd", "vm", "chroot"):
        pytest.skip("runs in the tree prepared by scripts/test-packaging.sh "
                    "(make test-packaging)")
    if os.geteuid() != 0:
        pytest.fail("needs root")
    if phase() == "vm" and subprocess.run(["mountpoint", "-q", "/var/cache"]).returncode == 0:
        # virtme hides /var/cache under an empty tmpfs: man-db's trigger
        # would rebuild its whole index over 9p instead of updating it.
        sh("umount", "/var/cache")
    version = os.environ.get("FALCO_PKG_VERSION", "")
    if not version:
        pytest.fail("FALCO_PKG_VERSION unset")
    with tempfile.TemporaryDirectory(prefix="falco-pkg-") as d:
        yield Tree(version=version, kver=os.environ.get("KVER", os.uname().release),
                   workdir=Path(d))
    if phase() == "vm":
        if falco_pid():
            subprocess.run(["service", "falco", "stop"], capture_output=True, timeout=120)
        if module_loaded():
            subprocess.run(["rmmod", MODULE], capture_output=True)


def only_in(wanted: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(phase() != wanted, reason=f"runs in the {wanted} phase")


def systemctl(*args: str, check: bool = True) -> str:
    return sh("systemctl", *args, check=check).stdout.strip()


def unit_state() -> str:
    return systemctl("is-active", "falco.service", check=False)


def main_pid() -> int:
    return int(systemctl("show", "-p", "MainPID", "--value", "falco.service"))


def unit_journal() -> str:
    return sh("journalctl", "--no-pager", "-o", "cat", "-u", "falco.service").stdout


@only_in("ebpf")
def test_modern_ebpf_from_the_package_alerts(env: Tree) -> None:
    objs = list(Path("/usr/lib/python3/dist-packages/falco/driver").glob("*.bpf.o"))
    assert [p.name for p in objs] == ["falco_probe.bpf.o"], objs
    assert not Path("/dev/falco0").exists()
    out = env.workdir / "falco.out"
    with open(out, "w") as fh:
        proc = subprocess.Popen(
            ["/usr/bin/falco", "--modern-bpf", "-c", "/etc/falco/falco.yaml",
             "-o", "stdout_output.enabled=true", "-o", "syslog_output.enabled=false",
             "-o", "log_syslog=false", "-o", "webserver.enabled=false"],
            stdout=fh, stderr=subprocess.STDOUT, text=True)
    try:
        def alerted() -> bool:
            assert proc.poll() is None, out.read_text()[-3000:]
            subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
            return ALERT_TEXT in out.read_text()
        assert wait_for(alerted, 180, step=2), out.read_text()[-3000:]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    text = out.read_text()
    assert "using modern_ebpf" not in text  # the option chose it, not the fallback
    assert "modern_ebpf: BPF programs loaded" in text, text[-3000:]


@only_in("systemd")
def test_unit_starts_at_boot_reads_the_devices_and_alerts(env: Tree) -> None:
    assert Path("/proc/1/comm").read_text().strip() == "systemd"
    state = wait_for(lambda: unit_state() in ("active", "failed") and unit_state(), 600,
                     step=2)
    assert state == "active", systemctl("status", "falco.service", "--no-pager", check=False)
    assert module_loaded(), "falco-module.service did not load falco_probe"
    pid = main_pid()
    devices = sorted(str(p) for p in Path("/dev").glob("falco[0-9]*"))
    opened = sorted(os.readlink(p) for p in Path(f"/proc/{pid}/fd").iterdir()
                    if os.readlink(p).startswith("/dev/falco"))
    assert devices and opened == devices, (opened, devices)

    def alerted() -> bool:
        subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
        return ALERT_TEXT in unit_journal()
    assert wait_for(alerted, 300, step=3), unit_journal()[-3000:]


# The capabilities debian/falco.service keeps (CapabilityBoundingSet).
KEPT_CAPS = {"CAP_SYS_PTRACE": 19, "CAP_DAC_READ_SEARCH": 2, "CAP_BPF": 39,
             "CAP_PERFMON": 38}
# A program run by the program output, inside the service's sandbox: it
# hands every alert line to a socket under /run, as a container runtime's.
RUNTIME_SOCKET = "/run/pkg-runtime/runtime.sock"
RELAY = ("python3 -c 'import socket, sys\n"
         "for line in sys.stdin:\n"
         "    s = socket.socket(socket.AF_UNIX)\n"
         f"    s.connect(\"{RUNTIME_SOCKET}\")\n"
         "    s.sendall(line.encode())\n"
         "    s.close()'")


def replace_block(text: str, key: str, body: str) -> str:
    """falco.yaml with the top-level ``key:`` block's indented lines
    replaced by ``body``."""
    new, count = re.subn(rf"^{key}:\n(?:[ #].*\n)*",
                         lambda _: f"{key}:\n{body}", text, count=1, flags=re.M)
    assert count == 1, key
    return new


class _Collect(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@only_in("systemd")
def test_hardened_unit_syslog_program_http_and_runtime_socket(env: Tree) -> None:
    """The sandbox is in force (bounding set, no new privileges, seccomp),
    yet alerts reach syslog, the program output runs and reaches a socket
    under /run (where container runtimes listen), the HTTP output posts."""
    pid = main_pid()
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":\t", 1) for line in status.splitlines()
                  if ":\t" in line)
    bounding = int(fields["CapBnd"], 16)
    assert bounding == sum(1 << bit for bit in KEPT_CAPS.values()), hex(bounding)
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"

    def in_syslog() -> bool:
        subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
        return any(ALERT_TEXT in Path(f).read_text(errors="replace")
                   for f in ("/var/log/syslog", "/var/log/user.log")
                   if Path(f).exists())
    assert wait_for(in_syslog, 300, step=3), "no alert in /var/log/syslog"

    Path(RUNTIME_SOCKET).parent.mkdir(parents=True, exist_ok=True)
    runtime = socket.socket(socket.AF_UNIX)
    runtime.bind(RUNTIME_SOCKET)
    runtime.listen(16)
    relayed: list[bytes] = []

    def serve_runtime() -> None:
        while True:
            try:
                conn, _ = runtime.accept()
            except OSError:
                return
            with conn:
                relayed.append(conn.recv(65536))
    http_srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collect)
    http_srv.bodies = []  # type: ignore[attr-defined]
    threads = [threading.Thread(target=serve_runtime, daemon=True),
               threading.Thread(target=http_srv.serve_forever, daemon=True)]
    for thread in threads:
        thread.start()
    config = Path("/etc/falco/falco.yaml")
    original = config.read_text()
    try:
        text = replace_block(original, "program_output",
                             "  enabled: true\n  keep_alive: true\n"
                             f"  program: {json.dumps(RELAY)}\n")
        text = replace_block(text, "http_output",
                             "  enabled: true\n"
                             f"  url: http://127.0.0.1:{http_srv.server_port}/\n")
        config.write_text(text)
        reloads = unit_journal().count("Configuration and rules reloaded")
        systemctl("reload", "falco.service")
        assert wait_for(lambda: unit_journal().count(
            "Configuration and rules reloaded") > reloads, 120), unit_journal()[-3000:]

        def delivered() -> bool:
            subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
            posted = [json.loads(b) for b in http_srv.bodies]  # type: ignore[attr-defined]
            return any(ALERT_TEXT in p["output"] for p in posted) and \
                any(ALERT_TEXT.encode() in r for r in relayed)
        assert wait_for(delivered, 300, step=3), (
            http_srv.bodies[-3:], relayed[-3:],  # type: ignore[attr-defined]
            unit_journal()[-3000:])
    finally:
        config.write_text(original)
        systemctl("reload", "falco.service")
        http_srv.shutdown()
        runtime.close()
        Path(RUNTIME_SOCKET).unlink(missing_ok=True)
    assert main_pid() == pid


@only_in("systemd")
def test_unit_reload_restart_on_failure_and_stop(env: Tree) -> None:
    pid = main_pid()
    reloads = unit_journal().count("rules reloaded")
    systemctl("reload", "falco.service")
    assert wait_for(lambda: unit_journal().count("rules reloaded") > reloads, 120), \
        unit_journal()[-3000:]
    assert unit_state() == "active" and main_pid() == pid
    os.kill(pid, 9)
    # Restart=on-failure after RestartSec=10s; READY=1 again under emulation
    restarted = wait_for(lambda: unit_state() == "active" and main_pid() not in (0, pid), 300,
                         step=2)
    assert restarted, systemctl("status", "falco.service", "--no-pager", check=False)
    assert int(systemctl("show", "-p", "NRestarts", "--value", "falco.service")) == 1
    new_pid = main_pid()
    systemctl("stop", "falco.service")
    assert unit_state() == "inactive"
    assert not Path(f"/proc/{new_pid}").exists()


@only_in("vm")
def test_installed_and_dkms_built_module(env: Tree) -> None:
    version, kver = env.version, env.kver
    assert os.uname().release == kver
    for package in PACKAGES:
        assert package_status(package) == "installed", package
    status = dkms_status()
    assert re.search(rf"falco/{re.escape(version)}, {re.escape(kver)}, \S+: installed",
                     status), status
    built = list(Path(f"/lib/modules/{kver}/updates/dkms").glob(f"{MODULE}.ko*"))
    assert built, "DKMS installed no falco_probe.ko"
    assert Path("/usr/bin/falco").exists()
    assert Path(f"/usr/src/falco-{version}/dkms.conf").exists()
    for conf in ("falco.yaml", "falco_rules.yaml", "falco_rules.local.yaml",
                 "application_rules.yaml"):
        assert Path("/etc/falco", conf).exists(), conf
    conffiles = sh("dpkg-query", "-W", "-f", "${Conffiles}", "falco").stdout
    assert "/etc/falco/falco_rules.yaml" in conffiles


@only_in("vm")
def test_modprobe_service_alert_to_syslog_and_journal(env: Tree) -> None:
    kver = env.kver
    assert not module_loaded(), "falco_probe loaded before modprobe"
    sh("modprobe", MODULE)
    assert module_loaded()
    path = sh("modinfo", "-n", MODULE).stdout.strip()
    assert path.startswith(f"/lib/modules/{kver}/updates/dkms/"), \
        f"modprobe did not pick the DKMS module: {path}"

    logging = Logging(env.workdir)
    try:
        pid = start_service()
        log(f"falco running as pid {pid}")

        def alert_in_both() -> bool:
            subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
            return ALERT_TEXT in logging.syslog() and ALERT_TEXT in logging.journal()

        if not wait_for(alert_in_both, 600, step=3):
            status = sh("service", "falco", "status", check=False)
            pytest.fail("no alert in both syslog and journal\n"
                        f"syslog: {logging.syslog()[-2000:]}\n"
                        f"journal: {logging.journal()[-2000:]}\n"
                        f"status: {status.stdout}{status.stderr}")
        log("alert in syslog and journal")
        sh("service", "falco", "status")
        sh("service", "falco", "stop", timeout=120)
        assert wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30), \
            "service falco stop left the daemon running"
        assert sh("service", "falco", "status", check=False).returncode == 3
    finally:
        logging.stop()


@only_in("vm")
def test_apt_remove_falco_stops_daemon_keeps_configuration(env: Tree) -> None:
    if not module_loaded():
        sh("modprobe", MODULE)
    pid = start_service()
    sh("apt-get", "remove", "-y", "falco", timeout=900)
    dpkg_log = Path("/var/log/dpkg.log")
    if dpkg_log.exists():  # where the time went
        log("dpkg.log:\n" + "".join(dpkg_log.read_text().splitlines(True)[-30:]))
    assert package_status("falco") == "config-files"
    assert not Path(f"/proc/{pid}").exists(), "removing falco left the daemon running"
    assert not Path("/usr/bin/falco").exists()
    assert not Path("/usr/lib/python3/dist-packages/falco").exists()
    assert Path("/etc/falco/falco.yaml").exists(), "remove must keep conffiles"
    # The init script is a conffile: kept, but no longer executable.
    assert Path("/etc/init.d/falco").exists()
    assert not os.access("/etc/init.d/falco", os.X_OK)
    sh("service", "falco", "start", check=False)
    assert not falco_pid()
    sh("rmmod", MODULE)


# DKMS runs a full depmod on removal: minutes under TCG over 9p, seconds
# natively. The rest runs in a chroot of the same tree on the host.
@only_in("chroot")
def test_apt_remove_falco_dkms_takes_the_module_away(env: Tree) -> None:
    version, kver = env.version, env.kver
    assert package_status("falco") == "config-files"
    sh("apt-get", "remove", "-y", "falco-dkms", timeout=900)
    assert package_status("falco-dkms") in ("config-files", "not-installed")
    assert not Path(f"/usr/src/falco-{version}").exists()
    assert "falco" not in dkms_status()
    assert not Path("/var/lib/dkms/falco").exists()
    assert not list(Path(f"/lib/modules/{kver}").rglob(f"{MODULE}.ko*"))
    assert MODULE not in Path(f"/lib/modules/{kver}/modules.dep").read_text()


@only_in("chroot")
def test_apt_purge_leaves_nothing(env: Tree) -> None:
    version = env.version
    sh("apt-get", "purge", "-y", *PACKAGES, timeout=900)
    for package in PACKAGES:
        assert package_status(package) == "not-installed", package
    files_list = Path(os.environ.get("FALCO_PKG_FILES", "/nonexistent"))
    assert files_list.is_file(), f"FALCO_PKG_FILES: {files_list}: no list of the installed files"
    files = [p for p in files_list.read_text().splitlines() if p and p != "/."]
    assert "/usr/bin/falco" in files
    left = [p for p in files if os.path.lexists(p) and not os.path.isdir(p)]
    assert left == [], left
    for path in ("/etc/falco", "/var/log/falco", f"/usr/src/falco-{version}",
                 "/var/lib/dkms/falco", "/etc/init.d/falco", "/etc/logrotate.d/falco",
                 "/etc/default/falco", "/lib/systemd/system/falco.service",
                 "/etc/systemd/system/multi-user.target.wants/falco.service",
                 "/var/lib/systemd/deb-systemd-helper-enabled/falco.service.dsh-also"):
        assert not os.path.lexists(path), path
    rc_links = [str(p) for p in Path("/etc").glob("rc?.d/*falco*")]
    assert rc_links == [], rc_links
    info = [str(p) for package in PACKAGES
            for p in Path("/var/lib/dpkg/info").glob(f"{package}.*")]
    assert info == [], info
