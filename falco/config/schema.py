# SPDX-License-Identifier: Apache-2.0
"""The falco.yaml schema: one dataclass per section, defaults as Falco's.

Every key a user may set is a field here; its Python type is what the loader
type-checks file values and ``-o`` overrides against. ``choices`` and
``min``/``max`` in a field's metadata add value checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from falco.outputs.syslog import FACILITIES
from falco.rules.model import Priority

DEFAULT_RULES_FILES = (
    "/etc/falco/falco_rules.yaml",
    "/etc/falco/application_rules.yaml",
    "/etc/falco/falco_rules.local.yaml",
    "/etc/falco/rules.d",
)

PRIORITY_NAMES = Priority.names()
# Falco's log levels: the priorities, "info" spelled short.
LOG_LEVELS = tuple(n for n in PRIORITY_NAMES if n != "informational")
SYSLOG_FACILITIES = tuple(FACILITIES)
DROP_ACTIONS = ("ignore", "log", "alert", "exit")


def _opt(default: Any, **meta: Any) -> Any:
    """A field with an immutable default and validation metadata."""
    return field(default=default, metadata=meta)


def _unimplemented(default: Any, why: str, **meta: Any) -> Any:
    """A key Falco has and we do not implement yet: its default is
    accepted, any other value is refused with ``why`` (never ignored)."""
    return field(default=default, metadata={"unimplemented": why, **meta})


def _list(default: tuple[str, ...] = (), **meta: Any) -> Any:
    return field(default_factory=lambda: list(default), metadata=meta)


@dataclass(slots=True)
class StdoutOutput:
    enabled: bool = True


@dataclass(slots=True)
class FileOutput:
    enabled: bool = False
    keep_alive: bool = False
    filename: str = "./events.txt"


@dataclass(slots=True)
class SyslogOutput:
    enabled: bool = True
    facility: str = _opt("user", choices=SYSLOG_FACILITIES)
    # Ours: the local syslog datagram socket (tests bind a temporary one).
    path: str = "/dev/log"
    identifier: str = "falco"


@dataclass(slots=True)
class ProgramOutput:
    enabled: bool = False
    keep_alive: bool = False
    program: str = ("jq '{text: .output}' | curl -d @- -X POST "
                    "https://hooks.slack.com/services/XXX")


@dataclass(slots=True)
class HttpOutput:
    enabled: bool = False
    url: str = ""
    user_agent: str = "falcosecurity/falco"
    insecure: bool = False
    echo: bool = False
    keep_alive: bool = False
    compress_uploads: bool = False
    max_consecutive_timeouts: int = _opt(5, min=0)
    # Ours: seconds per request, retries with exponential backoff.
    timeout: float = _opt(5.0, min=0.001)
    connect_timeout: float = _opt(2.0, min=0.001)
    max_retries: int = _opt(3, min=0)
    retry_backoff: float = _opt(0.25, min=0.0)


@dataclass(slots=True)
class JournaldOutput:
    enabled: bool = False
    identifier: str = "falco"


@dataclass(slots=True)
class OutputsThrottle:
    rate: float = _opt(1.0, min=0.0)
    max_burst: int = _opt(1000, min=0)


@dataclass(slots=True)
class OutputsQueue:
    capacity: int = _opt(0, min=0)


@dataclass(slots=True)
class SyscallEventDrops:
    threshold: float = _opt(0.1, min=0.0, max=1.0)
    actions: list[str] = _list(("log", "alert"), choices=DROP_ACTIONS)
    rate: float = _opt(0.03333, min=0.0)
    max_burst: int = _opt(1, min=0)
    simulate_drops: bool = False


@dataclass(slots=True)
class Webserver:
    enabled: bool = True
    # Worker threads, each serving many connections; 0: one per CPU.
    threadiness: int = _opt(0, min=0, max=64)
    listen_port: int = _opt(8765, min=0, max=65535)
    # Not Falco's 0.0.0.0: /metrics tells anyone who can reach it what runs.
    listen_address: str = "127.0.0.1"
    k8s_healthz_endpoint: str = "/healthz"
    prometheus_metrics_enabled: bool = True
    ssl_enabled: bool = False
    ssl_certificate: str = "/etc/falco/falco.pem"


@dataclass(slots=True)
class Capture:
    enabled: bool = False
    # A directory only root can enter (0700, made by the package).
    path_prefix: str = "/var/lib/falco/captures/falco"
    mode: str = _opt("rules", choices=("rules", "all_rules"))
    default_duration: int = _opt(5000, min=0)


@dataclass(slots=True)
class BaseSyscalls:
    all: bool = False
    repair: bool = False
    custom_set: list[str] = _list()


@dataclass(slots=True)
class Prefilter:
    enabled: bool = True


@dataclass(slots=True)
class EngineReplay:
    capture_file: str = ""


@dataclass(slots=True)
class EngineKmod:
    buf_size_preset: int = _opt(4, min=1, max=10)
    drop_failed_exit: bool = False


@dataclass(slots=True)
class EngineModernEbpf:
    # CPUs sharing one ring buffer (0: one buffer for all CPUs). 1, like the
    # module's rings: events leave in timestamp order; CPUs sharing a
    # buffer save memory but may interleave events microseconds apart.
    cpus_for_each_buffer: int = _opt(1, min=0)
    buf_size_preset: int = _opt(4, min=1, max=10)


@dataclass(slots=True)
class EngineSection:
    # None: the module if it is there or loads, else modern_ebpf
    kind: str | None = _opt(None, choices=("kmod", "modern_ebpf", "replay"))
    kmod: EngineKmod = field(default_factory=EngineKmod)
    modern_ebpf: EngineModernEbpf = field(default_factory=EngineModernEbpf)
    replay: EngineReplay = field(default_factory=EngineReplay)


@dataclass(slots=True)
class SocketEngine:
    """A runtime reached over unix sockets; no sockets: its defaults."""

    enabled: bool = True
    sockets: list[str] = _list()


@dataclass(slots=True)
class SimpleEngine:
    enabled: bool = True


@dataclass(slots=True)
class ContainerEngines:
    """Falco's container_engines keys (the container plugin's engines)."""

    docker: SocketEngine = field(default_factory=SocketEngine)
    podman: SocketEngine = field(default_factory=SocketEngine)
    containerd: SocketEngine = field(default_factory=SocketEngine)
    cri: SocketEngine = field(default_factory=SocketEngine)
    lxc: SimpleEngine = field(default_factory=SimpleEngine)
    libvirt_lxc: SimpleEngine = field(default_factory=SimpleEngine)
    bpm: SimpleEngine = field(default_factory=SimpleEngine)
    # Ours: how long the alerts of a container first seen wait for its
    # metadata; one API call's timeout; how long an entry stays after its
    # last thread left; the table's size.
    lookup_wait_ms: int = _opt(300, min=0, max=60_000)
    lookup_timeout_ms: int = _opt(2000, min=10, max=60_000)
    exit_grace_s: float = _opt(30.0, min=0.0)
    max_entries: int = _opt(4096, min=16)


@dataclass(slots=True)
class Config:
    rules_files: list[str] = _list(DEFAULT_RULES_FILES)
    # Ordered selectors: [{disable: {rule: "*"}}, {enable: {tag: network}}]
    rules: list[dict[str, Any]] = field(default_factory=list)
    # [{match: {source, tag, rule}, extra_output: FORMAT, extra_fields: []}]
    append_output: list[dict[str, Any]] = field(default_factory=list)
    watch_config_files: bool = True
    time_format_iso_8601: bool = False
    priority: str = _opt("debug", choices=PRIORITY_NAMES)
    rule_matching: str = _opt("first", choices=("first", "all"))
    json_output: bool = False
    json_include_output_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True
    json_include_tags_property: bool = True
    buffered_outputs: bool = False
    log_stderr: bool = True
    log_syslog: bool = True
    log_level: str = _opt("info", choices=LOG_LEVELS)
    output_timeout: int = _opt(2000, min=0)
    outputs: OutputsThrottle = field(default_factory=OutputsThrottle)
    outputs_queue: OutputsQueue = field(default_factory=OutputsQueue)
    stdout_output: StdoutOutput = field(default_factory=StdoutOutput)
    file_output: FileOutput = field(default_factory=FileOutput)
    syslog_output: SyslogOutput = field(default_factory=SyslogOutput)
    program_output: ProgramOutput = field(default_factory=ProgramOutput)
    http_output: HttpOutput = field(default_factory=HttpOutput)
    journald_output: JournaldOutput = field(default_factory=JournaldOutput)
    syscall_event_drops: SyscallEventDrops = field(
        default_factory=SyscallEventDrops)
    webserver: Webserver = field(default_factory=Webserver)
    capture: Capture = field(default_factory=Capture)
    base_syscalls: BaseSyscalls = field(default_factory=BaseSyscalls)
    prefilter: Prefilter = field(default_factory=Prefilter)
    engine: EngineSection = field(default_factory=EngineSection)
    container_engines: ContainerEngines = field(
        default_factory=ContainerEngines)
    # Where the configuration came from (None: built-in defaults).
    source_path: str | None = _opt(None, internal=True)
