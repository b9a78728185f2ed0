# SPDX-License-Identifier: Apache-2.0
"""Every key of conf/falco.yaml changes what falco does, or is refused.

For each key the test loads conf/falco.yaml with ``-o key=other`` and
observes the part of falco the key is meant to drive (the real command on
a small capture, the outputs built, the services of a run, the live
source), twice with the default and once with the other value. The key
passes when the observation changes, or when loading refuses the value
with a message naming the key (keys Falco has that we do not implement).
A key added to the schema without an entry here fails the test.
"""
from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from falco.app.backend import (OpenedSource, capture_inspector, open_live,
                               start_container_engines)
from falco.app.cli import main
from falco.app.outputs_setup import build_outputs
from falco.app.router import OutputRouter
from falco.app.run import App, Options
from falco.config import Config, load_config
from falco.driver.ring import RingStats, SourceStats
from falco.app.engines import bpf_layout
from falco.engine.loop import Engine
from falco.errors import ConfigError, DriverError
from falco.events.build import make_event
from falco.events.capture_state import ProcEntry
from falco.events.live import LiveSource
from falco.events.scap import CaptureReader, read_capture
from falco.events.scap_writer import ScapWriter
from falco.outputs import OutputManager
from falco.outputs.format import AlertFormatter
from falco.rules import load_rules
from falco.state import Inspector
from support.external import require_tool
from support.fake_ring import FakeRing

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf" / "falco.yaml"
TS = 1_700_000_000_000_000_000
NS = 1_000_000_000
RULES = """
- rule: etc_read
  desc: a file below /etc opened
  condition: evt.type = openat and fd.name startswith /etc
  output: "etc_read %fd.name"
  priority: WARNING
  capture: true
- rule: any_open
  desc: any openat
  condition: evt.type = openat
  output: "any_open %fd.name"
  priority: NOTICE
"""
# What each key is set to instead of its default ({tmp}, {capture},
# {rules}, {pem}, {port}: a free TCP port, are filled in), and the probe that observes it; "refused":
# not implemented, any value but the default is an error (whoever
# implements such a key gives it a probe here).
OTHER: dict[str, tuple[str, str]] = {
    "rules_files": ("[{rules}]", "run"),
    "rules": ("rules[0].disable.rule=etc_*", "run"),
    "append_output": ("append_output[0].extra_output=EXTRA", "run"),
    "watch_config_files": ("false", "services"),
    "time_format_iso_8601": ("true", "run"),
    "priority": ("warning", "run"),
    "rule_matching": ("all", "run"),
    "json_output": ("true", "run"),
    "json_include_output_property": ("false", "run"),
    "json_include_message_property": ("true", "run"),
    "json_include_output_fields_property": ("false", "run"),
    "json_include_tags_property": ("false", "run"),
    "buffered_outputs": ("true", "outputs"),
    "log_stderr": ("false", "run"),
    "log_syslog": ("false", "run"),
    "log_level": ("error", "run"),
    "output_timeout": ("100", "outputs"),
    "outputs.rate": ("0", "outputs"),
    "outputs.max_burst": ("3", "outputs"),
    "outputs_queue.capacity": ("10", "outputs"),
    "stdout_output.enabled": ("false", "run"),
    "file_output.enabled": ("true", "outputs"),
    "file_output.keep_alive": ("true", "outputs"),
    "file_output.filename": ("{tmp}/events2.txt", "outputs"),
    "syslog_output.enabled": ("false", "outputs"),
    "syslog_output.facility": ("local3", "outputs"),
    "syslog_output.path": ("{tmp}/log2.sock", "outputs"),
    "syslog_output.identifier": ("other", "outputs"),
    "program_output.enabled": ("true", "outputs"),
    "program_output.keep_alive": ("true", "outputs"),
    "program_output.program": ("cat > /dev/null", "outputs"),
    "http_output.enabled": ("true", "outputs"),
    "http_output.url": ("http://127.0.0.1:9/other", "outputs"),
    "http_output.user_agent": ("other", "outputs"),
    "http_output.insecure": ("true", "outputs"),
    "http_output.echo": ("true", "outputs"),
    "http_output.keep_alive": ("true", "outputs"),
    "http_output.compress_uploads": ("true", "outputs"),
    "http_output.max_consecutive_timeouts": ("1", "outputs"),
    "http_output.timeout": ("1.5", "outputs"),
    "http_output.connect_timeout": ("1.5", "outputs"),
    "http_output.max_retries": ("0", "outputs"),
    "http_output.retry_backoff": ("1.0", "outputs"),
    "journald_output.enabled": ("true", "outputs"),
    "journald_output.identifier": ("other", "outputs"),
    "syscall_event_drops.threshold": ("0.05", "services"),
    "syscall_event_drops.actions": ("[exit]", "services"),
    "syscall_event_drops.rate": ("1", "services"),
    "syscall_event_drops.max_burst": ("3", "services"),
    "syscall_event_drops.simulate_drops": ("true", "services"),
    "webserver.enabled": ("false", "services"),
    "webserver.threadiness": ("3", "services"),
    "webserver.listen_port": ("{port}", "services"),
    "webserver.listen_address": ("127.0.0.2", "services"),
    "webserver.k8s_healthz_endpoint": ("/health", "services"),
    "webserver.prometheus_metrics_enabled": ("false", "services"),
    "webserver.ssl_enabled": ("true", "services"),
    "webserver.ssl_certificate": ("{pem}", "services"),
    "capture.enabled": ("true", "services"),
    "capture.path_prefix": ("{tmp}/other", "services"),
    "capture.mode": ("all_rules", "services"),
    "capture.default_duration": ("1000", "services"),
    "engine.kind": ("replay", "run"),
    "engine.kmod.buf_size_preset": ("2", "live"),
    "engine.kmod.drop_failed_exit": ("true", "live"),
    "engine.modern_ebpf.cpus_for_each_buffer": ("0", "modern_ebpf"),
    "engine.modern_ebpf.buf_size_preset": ("2", "modern_ebpf"),
    "engine.replay.capture_file": ("{capture}", "run"),
    "base_syscalls.all": ("true", "live"),
    "base_syscalls.custom_set": ("[ptrace]", "live"),
    "base_syscalls.repair": ("true", "live"),
    "prefilter.enabled": ("false", "live"),
    "container_engines.docker.enabled": ("false", "containers"),
    "container_engines.docker.sockets": ("[{tmp}/d.sock]", "containers"),
    "container_engines.podman.enabled": ("false", "containers"),
    "container_engines.podman.sockets": ("[{tmp}/p.sock]", "containers"),
    "container_engines.containerd.enabled": ("false", "containers"),
    "container_engines.containerd.sockets": ("[{tmp}/c.sock]", "containers"),
    "container_engines.cri.enabled": ("false", "containers"),
    "container_engines.cri.sockets": ("[{tmp}/r.sock]", "containers"),
    "container_engines.lxc.enabled": ("false", "containers"),
    "container_engines.libvirt_lxc.enabled": ("false", "containers"),
    "container_engines.bpm.enabled": ("false", "containers"),
    "container_engines.lookup_wait_ms": ("50", "containers"),
    "container_engines.lookup_timeout_ms": ("500", "containers"),
    "container_engines.exit_grace_s": ("5", "containers"),
    "container_engines.max_entries": ("100", "containers"),
}
# What a probe needs set for the key to matter (a key's own entry is
# never applied while it is the key under test).
BASE: dict[str, list[str]] = {
    "run": ["syslog_output.enabled=false", "log_syslog=false",
            "webserver.enabled=false", "watch_config_files=false",
            "syslog_output.path={tmp}/log.sock"],
    "services": ["syscall_event_drops.threshold=0.01",
                 "webserver.listen_port=0", "webserver.listen_address=127.0.0.1",
                 "capture.enabled=true", "capture.path_prefix={tmp}/rec"],
    "outputs": ["file_output.enabled=true", "file_output.filename={tmp}/e.txt",
                "program_output.enabled=true", "http_output.enabled=true",
                "http_output.url=http://127.0.0.1:9/", "journald_output.enabled=true",
                "syslog_output.path={tmp}/log.sock"],
    "live": ["engine.kind=kmod"],
    "containers": [],
    "modern_ebpf": ["engine.kind=modern_ebpf"],
}
EXTRA_BASE = {      # keys that need more than their probe's base
    "json_include_output_property": ["json_output=true"],
    "json_include_message_property": ["json_output=true"],
    "json_include_output_fields_property": ["json_output=true"],
    "json_include_tags_property": ["json_output=true"],
    # unset, the engine would be chosen by this machine's kernel
    "engine.kind": ["engine.replay.capture_file={capture}", "engine.kind=kmod"],
    "engine.replay.capture_file": ["engine.kind=replay"],
    "webserver.ssl_certificate": ["webserver.ssl_enabled=true"],
    # repair completes a custom_set with what the state needs
    "base_syscalls.repair": ["base_syscalls.custom_set=[ptrace]"],
}


def schema_keys(cls: type = Config, prefix: str = "") -> list[str]:
    out = []
    for f in fields(cls):
        if f.metadata.get("internal"):
            continue
        default = f.default_factory() if callable(f.default_factory) \
            else f.default
        key = f"{prefix}{f.name}"
        out += schema_keys(type(default), key + ".") if is_dataclass(
            default) else [key]
    return out


def conf_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix[:-1]]
    return [k for key, value in node.items()
            for k in conf_keys(value, f"{prefix}{key}.")]


def test_conf_documents_exactly_the_schema() -> None:
    conf = conf_keys(yaml.safe_load(CONF.read_text()))
    assert sorted(conf) == sorted(schema_keys())
    assert sorted(OTHER) == sorted(schema_keys())
    assert load_config(str(CONF)).warnings == []


# -- the world a probe runs in ----------------------------------------------
@dataclass
class World:
    tmp: Path
    capsys: pytest.CaptureFixture[str]
    capture: Path
    rules: Path
    pem: Path | None
    syslog: socket.socket
    port: int

    def fill(self, text: str) -> str:
        return text.format(tmp=self.tmp, capture=self.capture,
                           rules=self.rules, pem=self.pem or "{pem}",
                           port=self.port)

    def config(self, overrides: list[str]) -> Config:
        return load_config(str(CONF), [self.fill(o) for o in overrides]).config


def write_capture(path: Path) -> Path:
    """cat opens /tmp/a, /etc/passwd, ... one event a second for 6 s."""
    proc = ProcEntry(tid=7, pid=7, ptid=1, comm="cat", exe="/bin/cat",
                     exepath="/bin/cat", cwd="/")
    names = ["/tmp/a", "/etc/passwd", "/tmp/b", "/tmp/c", "/etc/hosts",
             "/tmp/d"]
    with ScapWriter(path, procs=[proc]) as writer:
        for i, name in enumerate(names):
            writer.write_event(make_event(
                "openat", "<", {"fd": 3, "dirfd": -100, "name": name,
                                "flags": "O_RDONLY", "mode": 0},
                ts=TS + i * NS, tid=7))
    return path


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if shutil.which("openssl") is None:
        return None
    d = tmp_path_factory.mktemp("pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True,
                   capture_output=True, timeout=60)
    pem = d / "falco.pem"
    pem.write_bytes((d / "cert.pem").read_bytes()
                    + (d / "key.pem").read_bytes())
    return pem


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str],
          pem: Path | None):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "log.sock"))
    sock.setblocking(False)
    with socket.socket() as probe:          # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield World(tmp_path, capsys, write_capture(tmp_path / "c.scap"), rules,
                pem, sock, port)
    sock.close()


_STAMP = re.compile(r"^(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}|"
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000): ", re.M)


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            return got


# -- probes: what falco does with a configuration ------------------------------
def probe_run(w: World, overrides: list[str], key: str) -> object:
    """The real command on the capture: exit code, stdout, the log lines
    on stderr (wall-clock stamps removed), syslog datagrams received."""
    args = ["-c", str(CONF), "-M", "5"]
    for o in overrides:
        args += ["-o", w.fill(o)]
    if key != "rules_files":
        args += ["-r", str(w.rules)]
    if not key.startswith("engine."):
        args += ["-e", str(w.capture)]
    code = main(args)
    out, err = w.capsys.readouterr()
    messages = [d.split(b": ", 1)[-1] for d in drain(w.syslog)]
    return code, out, _STAMP.sub("", err), messages


def probe_outputs(w: World, overrides: list[str], key: str) -> object:
    """The outputs a configuration builds, with their settings."""
    manager = build_outputs(w.config(overrides))
    try:
        throttle = manager.throttle
        return (repr(manager.formatter), manager.capacity,
                manager.slow_after,
                None if throttle is None else (throttle.rate,
                                               throttle.max_burst),
                [repr(worker.output) for worker in manager.workers])
    finally:
        manager.stop()


class Counters:
    """Ring counters: 10 events and 1 drop more at every read."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> SourceStats:
        self.reads += 1
        return SourceStats([RingStats(0, n_evts=10 * self.reads,
                                      n_drops_buffer=self.reads)])


def _get(url: str, cafile: Path | None) -> int | str:
    ctx = None
    if url.startswith("https"):
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.check_hostname = False
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return type(exc).__name__


def probe_services(w: World, overrides: list[str], key: str) -> object:
    """A run's services (drop monitor, recorder, web server, file watcher)
    around the engine replaying the capture with growing ring drops."""
    config = w.config(overrides)
    app = App(Options(rules=[str(w.rules)]), config=config)
    reader = CaptureReader(w.capture)
    stats = None if key == "syscall_event_drops.simulate_drops" else Counters()
    app.opened = OpenedSource(reader, capture_inspector(reader), False, stats)
    router = OutputRouter(OutputManager(AlertFormatter()))
    engine = Engine(app.opened.inspector, app.load_rules(config), router)
    services = app.start_services(engine, router, "host")
    try:
        code = engine.run(reader.batches())
        web: list[int | str] | None = None
        if services.web is not None:
            scheme = "https" if services.web.ssl_certificate else "http"
            port = services.web.bound_port
            if key == "webserver.listen_port":     # on that port, or not
                port = w.port
            base = f"{scheme}://127.0.0.1:{port}"
            web = [_get(base + p, w.pem) for p in
                   ("/healthz", "/health", "/metrics", "/versions")]
    finally:
        services.stop()
        reader.close()
        router.stop()
    drops = services.drops
    recordings = {}
    for path in sorted(w.tmp.glob("*.scap")):
        if path.name != "c.scap":
            recordings[path.name] = len(read_capture(path))
            path.unlink()
    return (code, None if drops is None else (drops.detected,
                                              drops.actions_taken),
            recordings, services.watcher is not None, web,
            None if services.web is None else services.web.worker_count)


def probe_live(w: World, overrides: list[str], key: str) -> object:
    """The live source: the ring size asked of the module (through a
    parameter file), the events the reader is told to keep and the
    prefilter program given to the module."""
    config = w.config(overrides)
    param = w.tmp / "buffer_bytes"
    param.write_text("0\n")
    try:
        open_live(config, buffer_param=str(param)).close()
    except DriverError:
        pass                      # no module here: the size was asked first
    ring = FakeRing(0, size=4096, path=str(w.tmp / "ring0"))
    live = LiveSource(rings=[ring])
    try:
        app = App(Options(), config=config)
        app.opened = OpenedSource(live, capture_inspector(
            CaptureReader(w.capture)), False, live.stats)
        app.set_interesting(load_rules([str(w.rules)], app.registry))
        wanted = live.reader.wanted_names
        program = live.reader.prefilter
    finally:
        live.close()
        ring.close()
    return param.read_text(), wanted, program


def probe_containers(w: World, overrides: list[str], key: str) -> object:
    """The runtime engines started for a live run (their sockets need not
    answer), the container table's bounds and wait, and which cgroup
    layouts are taken for containers."""
    config = w.config(overrides)
    inspector = Inspector()
    holds = start_container_engines(inspector, config)
    try:
        table = inspector.containers
        lookups = table.lookups
        engines = [(e.name, e.socket.replace(str(w.tmp), "{tmp}"),
                    getattr(e, "timeout", None))
                   for e in getattr(lookups, "engines", [])]
        kinds = [inspector.container_of([("cpu", path)]) for path in
                 ("/lxc/web01", "/machine.slice/lxc-9-web02.libvirt-lxc",
                  "/bpm-job1.scope")]
        return (engines, table.max_entries, table.exit_grace_s,
                None if holds is None else holds.wait_s, kinds)
    finally:
        inspector.close()


def probe_modern_ebpf(w: World, overrides: list[str], key: str) -> object:
    """The ring buffers the modern_ebpf source asks the kernel for."""
    return bpf_layout(w.config(overrides))


PROBES: dict[str, Callable[[World, list[str], str], object]] = {
    "run": probe_run, "outputs": probe_outputs, "services": probe_services,
    "live": probe_live, "containers": probe_containers,
    "modern_ebpf": probe_modern_ebpf}


# Keys compared with their base value instead of their default: an enabled
# http_output needs a url; the default /tmp/falco prefix is shared by every
# checkout on the machine, and so is the default port 8765.
KEEP_BASE = {"http_output.url", "capture.path_prefix",
             "webserver.listen_port"}


def base_for(key: str, probe: str) -> list[str]:
    """The probe's base without the key's own entry (its default is what
    the other value is compared with), except for KEEP_BASE."""
    base = [o for o in BASE[probe] if o.split("=")[0] != key
            or key in KEEP_BASE]
    return base + EXTRA_BASE.get(key, [])


@pytest.mark.parametrize("key", sorted(OTHER))
def test_key_changes_behaviour_or_is_refused(world: World, key: str) -> None:
    other, probe = OTHER[key]
    override = world.fill(other if "=" in other else f"{key}={other}")
    if probe == "refused":
        with pytest.raises(ConfigError) as info:
            load_config(str(CONF), [override])
        assert str(info.value).startswith(f"{key}: ")
        assert "not" in str(info.value) and "remove the key" in str(info.value)
        return
    if "{pem}" in override:
        require_tool("openssl")
    observe = PROBES[probe]
    base = base_for(key, probe)
    default = observe(world, base, key)
    again = observe(world, base, key)
    assert default == again, "the probe is not deterministic"
    changed = observe(world, base + [override], key)
    assert changed != default, f"{key}: no effect seen by the {probe} probe"
