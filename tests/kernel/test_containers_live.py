# SPDX-License-Identifier: Apache-2.0
"""Container metadata from real runtimes, live in the VM.

podman (crun, vfs storage) and containerd (runc, native snapshotter, its
CRI plugin) run on a tmpfs with an image built here from busybox-static
(tests/support/runtimes.py). falco runs live with the default rules and
the runtimes' sockets; a shell started in a container raises "Shell
spawned in container" whose *first* alert already carries the container's
name, image repository and tag (and, for a pod sandbox made through the
CRI API, the pod's name and namespace). The containers run privileged with
the host's /etc mounted, and run a program copied into them: the
container rules of rules/falco_rules.yaml alert with the same metadata. Then: the podman socket stops
while a container runs (falco keeps going, fields print <NA>, a metric
counts it) and comes back (metadata returns).

Printed at the end: for each runtime, the metadata fields seen filled.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.runtimes import (IMAGE, IMAGE_REPO, IMAGE_TAG, Images,  # noqa: E402
                              Runtimes, cleanup_mounts)

pytestmark = pytest.mark.kernel

BASE = Path("/tmp/falco-rt")
SHELL_RULE = "Shell spawned in container"
PRIVILEGED = "Privileged container started"
MOUNT = "Sensitive host path mounted into a container"
DRIFT = "Executable written in container after it started"
# The container's command: a shell (vpid 1) copies a program into the
# running container and runs it (drift).
DRIFT_CMD = ["/bin/sh", "-c", "cp /bin/busybox /tmp/true && /tmp/true"]
CANARY_RULE = "Read sensitive file by untrusted program"
PORT = 8799
FIELDS = ("container.id", "container.name", "container.type", "container.image",
          "container.image.repository", "container.image.tag",
          "container.image.digest", "container.image.id", "container.labels",
          "container.privileged", "container.mounts", "container.ip",
          "container.start_ts", "container.host_network", "container.host_pid",
          "k8s.pod.name", "k8s.ns.name", "k8s.pod.uid", "k8s.pod.labels",
          "k8s.pod.sandbox_id", "k8s.pod.ip")
# The fields each runtime's alerts must carry (the rest are reported).
APPEND = " ".join(f"{f}=%{f}" for f in FIELDS + ("proc.vpid", "proc.ppid"))


@pytest.fixture(scope="module")
def runtimes() -> Iterator[Runtimes]:
    if not Path("/dev/falco0").exists():
        pytest.fail("falco_probe is not loaded (/dev/falco0 missing)")
    for tool in ("podman", "crun", "conmon", "containerd", "ctr", "runc"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            pytest.fail(f"{tool} is missing: scripts/install-deps.sh "
                        "installs .ci/apt-packages.txt")
    BASE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "falco-rt", str(BASE)], check=True)
    images = Images(ROOT / "build" / "container-images").build()
    rt = Runtimes(BASE / "rt", images)
    try:
        rt.start()
    except Exception:
        print(rt.log_tail("podman"), rt.log_tail("containerd"), sep="\n")
        rt.stop()
        cleanup_mounts(BASE)
        raise
    yield rt
    rt.stop()
    cleanup_mounts(BASE)
    subprocess.run(["umount", "-l", str(BASE)], check=False)


class Falco:
    """``python3 -m falco`` live, JSON alerts collected by a thread."""

    def __init__(self, rt: Runtimes, workdir: Path) -> None:
        conf = workdir / "falco.yaml"
        conf.write_text(json.dumps({
            "json_output": True, "rule_matching": "all",
            # the container engines' lookups (and failures) in falco.stderr
            "log_level": "debug",
            "log_syslog": False, "syslog_output": {"enabled": False},
            "webserver": {"enabled": True, "listen_address": "127.0.0.1",
                          "listen_port": PORT},
            "watch_config_files": False,
            "append_output": [{"match": {"rule": SHELL_RULE},
                               "extra_output": APPEND}],
            "container_engines": {
                "docker": {"enabled": False},
                "podman": {"sockets": [rt.podman_sock]},
                "containerd": {"sockets": [rt.containerd_sock]},
                "cri": {"sockets": [rt.containerd_sock]},
                # podman's API answers in seconds under TCG
                "lookup_wait_ms": 8000, "lookup_timeout_ms": 10000,
                "exit_grace_s": 5}}))
        cmd = [sys.executable, "-m", "falco", "-c", str(conf),
               "-r", str(ROOT / "rules" / "falco_rules.yaml")]
        self.stderr = open(workdir / "falco.stderr", "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT)))
        self.alerts: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.workdir = workdir
        self.baseline: dict[str, float] = {}

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                if isinstance(doc, dict) and "rule" in doc:
                    self.alerts.append(doc)
                self.cond.notify_all()

    def wait_for(self, pred: Callable[[dict[str, Any]], bool],
                 timeout: float = 60) -> dict[str, Any] | None:
        end = time.time() + timeout
        with self.cond:
            while True:
                for a in self.alerts:
                    if pred(a):
                        return a
                if time.time() > end or self.proc.poll() is not None:
                    return None
                self.cond.wait(0.5)

    def wait_ready(self, timeout: float = 300) -> None:
        end = time.time() + timeout
        while time.time() < end:
            assert self.proc.poll() is None, self.tail()
            subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
            if self.wait_for(lambda a: a["rule"] == CANARY_RULE, 2):
                return
        pytest.fail(f"falco not ready:\n{self.tail()}")

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics",
                                    timeout=30) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def of_container(self, cid: str) -> list[dict[str, Any]]:
        with self.cond:
            return [a for a in self.alerts
                    if a.get("output_fields", {}).get("container.id") == cid]

    def tail(self, n: int = 40) -> str:
        self.stderr.flush()
        text = (self.workdir / "falco.stderr").read_text(errors="replace")
        return "\n".join(text.splitlines()[-n:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


@pytest.fixture(scope="module")
def falco(runtimes: Runtimes, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Falco]:
    run = Falco(runtimes, tmp_path_factory.mktemp("falco-ctr"))
    try:
        run.wait_ready()
        run.baseline = run.metrics()
        yield run
    finally:
        run.stop()


SEEN: dict[str, dict[str, str]] = {}


def _dump(falco: Falco, cid: str) -> str:
    """Every alert of container ``cid`` (and of the runtime's own
    processes, container.id host excluded: how many)."""
    lines = [f"  {a['rule']}: {json.dumps(a['output_fields'])}"
             for a in falco.of_container(cid)]
    with falco.cond:
        total = len(falco.alerts)
    try:
        counters = {k: v for k, v in falco.metrics().items()
                    if k.startswith("falco_container")}
    except OSError as exc:
        counters = {"metrics": str(exc)}    # type: ignore[dict-item]
    falco.stderr.flush()
    logged = [ln for ln in (falco.workdir / "falco.stderr").read_text(
        errors="replace").splitlines() if cid in ln or "engine" in ln]
    return f"alerts of container {cid} ({total} alerts in all):\n" + \
        "\n".join(lines) + f"\n{counters}\nfalco's log about it:\n" + \
        "\n".join(logged[-30:])


def _first_shell_alert(falco: Falco, cid: str, runtime: str) -> dict[str, Any]:
    """The first "Shell spawned in container" alert of container ``cid``."""
    alert = falco.wait_for(lambda a: a["rule"] == SHELL_RULE and
                           a["output_fields"].get("container.id") == cid)
    assert alert is not None, \
        f"no shell alert for {cid}:\n{_dump(falco, cid)}\n{falco.tail()}"
    first = next(a for a in falco.of_container(cid) if a["rule"] == SHELL_RULE)
    fields = first["output_fields"]
    SEEN[runtime] = {k: str(v) for k, v in fields.items()
                     if k in FIELDS and v is not None and str(v) != "<NA>"}
    return first


def _check_rules(falco: Falco, cid: str, name: str, rules: tuple[str, ...],
                 pod: tuple[str, str] | None = None) -> None:
    """Each of ``rules`` alerted on container ``cid`` with its metadata;
    no alert of the container printed its name as <NA>."""
    for rule in rules:
        alert = falco.wait_for(lambda a: a["rule"] == rule and
                               a["output_fields"].get("container.id") == cid)
        assert alert is not None, \
            f"no {rule!r} alert for {cid}:\n{_dump(falco, cid)}\n{falco.tail()}"
        f = alert["output_fields"]
        assert (f["container.name"], f["container.image.repository"],
                f["container.image.tag"]) == (name, IMAGE_REPO, IMAGE_TAG), alert
        if pod is not None:
            assert (f["k8s.pod.name"], f["k8s.ns.name"]) == pod, alert
        if rule == DRIFT:
            assert f["proc.exepath"] == "/tmp/true", alert
    unnamed = [a for a in falco.of_container(cid)
               if "container.name" in a["output_fields"]
               and a["output_fields"]["container.name"] != name]
    assert unnamed == [], _dump(falco, cid)
    print(_dump(falco, cid))


def test_podman_shell_first_alert(runtimes: Runtimes, falco: Falco) -> None:
    name = f"falco-pm-{uuid.uuid4().hex[:6]}"
    runtimes.podman("run", "--name", name, "--label", "team=blue",
                    "--privileged", "-v", "/etc:/host-etc:ro", IMAGE, *DRIFT_CMD)
    cid = runtimes.podman("inspect", "--format", "{{.Id}}", name).stdout.strip()[:12]
    runtimes.podman("rm", name)
    first = _first_shell_alert(falco, cid, "podman")
    f = first["output_fields"]
    assert (f["container.name"], f["container.image.repository"],
            f["container.image.tag"], f["container.type"]) == \
        (name, IMAGE_REPO, IMAGE_TAG, "podman"), first
    assert f["container.labels"] and "team:blue" in f["container.labels"]
    assert f["container.privileged"] is True
    assert "/etc:/host-etc::false:" in f["container.mounts"], f["container.mounts"]
    _check_rules(falco, cid, name, (PRIVILEGED, MOUNT, DRIFT))


def test_containerd_shell_first_alert(runtimes: Runtimes, falco: Falco) -> None:
    cid = f"falco-cd-{uuid.uuid4().hex[:6]}"
    runtimes.ctr("run", "--rm", "--snapshotter=native", "--label", "team=red",
                 "--privileged", "--mount",
                 "type=bind,src=/etc,dst=/host-etc,options=rbind:ro",
                 IMAGE, cid, *DRIFT_CMD)
    first = _first_shell_alert(falco, cid, "containerd")
    f = first["output_fields"]
    assert (f["container.name"], f["container.image.repository"],
            f["container.image.tag"], f["container.type"]) == \
        (cid, IMAGE_REPO, IMAGE_TAG, "containerd"), first
    assert f["container.image.digest"].startswith("sha256:")
    assert f["container.privileged"] is True
    _check_rules(falco, cid, cid, (PRIVILEGED, MOUNT, DRIFT))


def test_cri_pod_shell_first_alert(runtimes: Runtimes, falco: Falco) -> None:
    """A pod sandbox and a privileged container with /etc mounted, made
    through the CRI API as kubelet would."""
    from support.cri_client import CriClient
    cri = CriClient(runtimes.containerd_sock)
    try:
        pod = cri.run_pod("falco-pod", "falco-ns", {"app": "falco-test"},
                          privileged=True)
    except OSError as exc:
        pytest.fail(f"{exc}\n{runtimes.log_tail('containerd')}")
    try:
        try:
            ctr = cri.start_container(pod, "shell", IMAGE, DRIFT_CMD,
                                      privileged=True,
                                      mounts=[("/etc", "/host-etc", True)])
        except OSError as exc:
            pytest.fail(f"{exc}\n{runtimes.log_tail('containerd')}")
        cid = ctr.id[:12]
        first = _first_shell_alert(falco, cid, "cri")
        f = first["output_fields"]
        assert (f["container.name"], f["container.image.repository"],
                f["container.image.tag"], f["k8s.pod.name"],
                f["k8s.ns.name"]) == ("shell", IMAGE_REPO, IMAGE_TAG,
                                      "falco-pod", "falco-ns"), first
        assert f["k8s.pod.sandbox_id"] == pod.id[:12]
        assert "app:falco-test" in f["k8s.pod.labels"]
        assert f["k8s.pod.ip"] and f["k8s.pod.ip"].startswith("10.88.77."), first
        _check_rules(falco, cid, "shell", (PRIVILEGED, MOUNT, DRIFT),
                     pod=("falco-pod", "falco-ns"))
    finally:
        cri.remove_pod(pod)


def test_runtime_down_then_back(runtimes: Runtimes, falco: Falco) -> None:
    """The podman socket stops while a container runs: falco keeps going,
    a new container's fields print <NA> and the metric counts it; back:
    metadata returns."""
    before = falco.metrics()
    runtimes.stop_daemon("podman")
    name = f"falco-down-{uuid.uuid4().hex[:6]}"
    runtimes.podman("run", "--rm", "--name", name, IMAGE, "sh", "-c", "exit 0")
    alert = falco.wait_for(lambda a: a["rule"] == SHELL_RULE and
                           a["output_fields"].get("container.type") == "podman"
                           and a["output_fields"].get("container.name") is None)
    assert alert is not None, falco.tail()
    assert falco.proc.poll() is None
    after = falco.metrics()
    counted = sum(after.get(k, 0) - before.get(k, 0) for k in (
        "falco_container_no_engine_total", "falco_container_lookup_failures_total"))
    assert counted >= 1, after
    assert after['falco_container_engine_up{engine="podman:%s"}'
                 % runtimes.podman_sock] == 0
    runtimes.start_podman()
    end = time.time() + 120
    while time.time() < end and not falco.metrics().get(
            'falco_container_engine_up{engine="podman:%s"}' % runtimes.podman_sock):
        time.sleep(1)
    name = f"falco-back-{uuid.uuid4().hex[:6]}"
    runtimes.podman("run", "--rm", "--name", name, IMAGE, "sh", "-c", "exit 0")
    alert = falco.wait_for(lambda a: a["rule"] == SHELL_RULE and
                           a["output_fields"].get("container.name") == name)
    assert alert is not None, falco.tail()


def test_removed_containers_leave_the_table(falco: Falco) -> None:
    """Every container the tests ran is gone: the runtimes' destroy events
    (or the last thread's exit, after exit_grace_s) took their entries out
    of falco's table, back to its size before the first container."""
    before = falco.baseline["falco_container_entries"]
    end = time.time() + 120
    now = falco.metrics()
    while time.time() < end and now["falco_container_entries"] > before:
        time.sleep(2)
        now = falco.metrics()
    removed = sum(now[k] - falco.baseline.get(k, 0) for k in (
        "falco_container_removed_destroy_total", "falco_container_removed_exit_total"))
    print(f"container table: {before:.0f} entries before the containers, "
          f"{now['falco_container_entries']:.0f} after; {removed:.0f} removed "
          f"({now['falco_container_removed_destroy_total'] - falco.baseline['falco_container_removed_destroy_total']:.0f} "
          "on destroy events)")
    assert now["falco_container_entries"] <= before, now
    assert removed >= 4


def test_report_fields_seen(request: pytest.FixtureRequest) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for runtime, fields in SEEN.items():
        line = f"container fields seen filled ({runtime}): " + \
            ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
        if reporter:
            reporter.write_line(line)
        else:
            print(line)
    assert SEEN
