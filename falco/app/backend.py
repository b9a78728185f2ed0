# SPDX-License-Identifier: Apache-2.0
"""The wiring of the layers below the application: which event source a
run reads, the inspector for it, the event names rules may use, the
versions ``--version`` and ``/versions`` report."""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from falco import __version__
from falco.app import engines
from falco.config import Config
from falco.config.schema import ContainerEngines
from falco.driver._falco_ffi import lib
from falco.driver.ring import SourceStats
from falco.driver.schema import get_schema
from falco.engine.holds import AlertHolds
from falco.engine.loop import EventSource
from falco.events.live import LiveSource
from falco.events.progress import tty_progress
from falco.events.scap import CaptureReader
from falco.rules.model import ENGINE_VERSION
from falco.state import Inspector
from falco.state.parse_fd import FD_EXIT_HANDLERS
from falco.state.parse_proc import PROC_ENTER_HANDLERS, PROC_EXIT_HANDLERS

log = logging.getLogger(__name__)


def event_names() -> frozenset[str]:
    """Every event and syscall name a rule's evt.type may compare with."""
    schema = get_schema()
    return frozenset(schema.by_name) | frozenset(schema.sc_names)


def open_capture(path: str) -> CaptureReader:
    return CaptureReader(path, progress=tty_progress(unless_tty=sys.stdout))


BUFFER_PARAM = "/sys/module/falco_probe/parameters/buffer_bytes"


def preset_bytes(preset: int) -> int:
    """engine.kmod.buf_size_preset (1..10) -> bytes per ring, as Falco:
    1, 2, 4, 8 (default, preset 4), ... 512 MiB."""
    return (1 << (preset - 1)) * 1024 * 1024


def apply_buffer_preset(preset: int, param: str = BUFFER_PARAM) -> bool:
    """Set the module's ring size for the devices we are about to open;
    False (logged) when the parameter cannot be written."""
    want = preset_bytes(preset)
    try:
        with open(param, "r+", encoding="ascii") as fh:
            if int(fh.read().strip() or 0) == want:
                return True
            fh.seek(0)
            fh.write(f"{want}\n")
    except (OSError, ValueError) as exc:
        log.warning("cannot set ring size %d bytes (buf_size_preset %d) "
                    "through %s: %s", want, preset, param, exc)
        return False
    log.info("ring size set to %d bytes per CPU (buf_size_preset %d)",
             want, preset)
    return True


def open_kmod(config: Config, buffer_param: str = BUFFER_PARAM,
              interesting: Iterable[str] | None = None) -> LiveSource:
    """The rings of the loaded module, sized by engine.kmod.buf_size_preset
    (through the module parameter ``buffer_param``) before they are opened,
    capturing the events named in @interesting (None: every event)."""
    if Path(buffer_param).exists():
        apply_buffer_preset(config.engine.kmod.buf_size_preset, buffer_param)
    return LiveSource(interesting=interesting)


def open_live(config: Config, buffer_param: str = BUFFER_PARAM,
              interesting: Iterable[str] | None = None) -> LiveSource:
    """The live source engine.kind names: the module's rings or the BPF
    programs' ring buffers (unset: chosen by falco.app.engines)."""
    return engines.open_live(
        config, lambda c: open_kmod(c, buffer_param, interesting),
        interesting)


def capture_inspector(capture: CaptureReader) -> Inspector:
    """State starts from the capture's own process, fd, user lists."""
    inspector = Inspector()
    inspector.bootstrap_capture(capture.procs, capture.fds, capture.users,
                                capture.groups, capture.interfaces)
    return inspector


def boot_ts_epoch() -> int:
    """This machine's boot as epoch ns (the clock the driver's since-boot
    times count on is CLOCK_BOOTTIME)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def live_inspector(containers: ContainerEngines | None = None) -> Inspector:
    """State starts from /proc; the live module emits self-contained exit
    events: nothing to pair. The container table's bounds and disabled
    container types apply before the /proc scan notes containers."""
    inspector = Inspector(proc_lookups=True, pair_enter_events=False,
                          boot_ts_epoch=boot_ts_epoch())
    if containers is not None:
        configure_container_table(inspector, containers)
    inspector.bootstrap_proc()
    return inspector


@dataclass(frozen=True, slots=True)
class OpenedSource:
    """What a run reads: the source, the inspector whose state it starts
    from, whether it is a capture replay, and the live ring counters
    (None for a capture)."""

    source: EventSource
    inspector: Inspector
    replay: bool
    stats: Callable[[], SourceStats] | None


def open_source(config: Config, capture: str | None,
                interesting: Iterable[str] | None = None) -> OpenedSource:
    """-e CAPTURE (or engine.kind: replay), else the live rings capturing
    the events named in @interesting (None: every event)."""
    if capture is None and config.engine.kind == "replay":
        capture = config.engine.replay.capture_file
    if capture:
        log.info("Reading system call events from file: %s", capture)
        reader = open_capture(capture)
        return OpenedSource(reader, capture_inspector(reader), True, None)
    live = open_live(config, interesting=interesting)
    try:
        inspector = live_inspector(config.container_engines)
    except BaseException:
        live.close()
        raise
    return OpenedSource(live, inspector, False, live.stats)


def configure_container_table(inspector: Inspector,
                              conf: ContainerEngines) -> None:
    """The container table's bounds, wait, and the container types whose
    engine is disabled (their cgroups count as the host's)."""
    table = inspector.containers
    table.max_entries = conf.max_entries
    table.exit_grace_s = conf.exit_grace_s
    table.lookup_wait_s = conf.lookup_wait_ms / 1000
    table.disabled_types = frozenset(
        kind for kind, engine in (("lxc", conf.lxc), ("libvirt-lxc",
                                  conf.libvirt_lxc), ("bpm", conf.bpm))
        if not engine.enabled)


def start_container_engines(inspector: Inspector, config: Config
                            ) -> AlertHolds | None:
    """Live runs: the runtime engines of ``container_engines`` feed the
    inspector's container table (listeners and lookup threads start
    here); returns the engine's alert holds, None without engines or
    with no wait configured."""
    # (imported here: the runtime clients, gRPC among them, are heavy and
    # a replay never needs them)
    from falco.containers.engines import build_engines
    from falco.containers.manager import MetadataManager
    conf = config.container_engines
    table = inspector.containers
    configure_container_table(inspector, conf)
    built = build_engines(conf, inspector.host_root,
                          conf.lookup_timeout_ms / 1000)
    for why in built.unavailable:
        log.warning("container metadata: %s", why)
    if not built.engines:
        return None
    manager = MetadataManager(built.engines, table)
    table.lookups = manager
    manager.start()
    log.info("container engines: %s", ", ".join(
        f"{e.name} ({e.socket})" for e in built.engines))
    return AlertHolds(table, table.lookup_wait_s) \
        if table.lookup_wait_s > 0 else None


def versions() -> dict[str, str]:
    return {
        "falco_version": __version__,
        "engine_version": ".".join(str(v) for v in ENGINE_VERSION),
        "driver_api_version": f"{lib.FPROBE_API_VERSION_MAJOR}."
        f"{lib.FPROBE_API_VERSION_MINOR}.{lib.FPROBE_API_VERSION_PATCH}",
        "driver_schema_version": f"{lib.FPROBE_SCHEMA_VERSION_MAJOR}."
        f"{lib.FPROBE_SCHEMA_VERSION_MINOR}."
        f"{lib.FPROBE_SCHEMA_VERSION_PATCH}",
    }


def state_events() -> frozenset[str]:
    """Events the state tables need whatever the rules ask for."""
    return frozenset(FD_EXIT_HANDLERS) | frozenset(PROC_ENTER_HANDLERS) | \
        frozenset(PROC_EXIT_HANDLERS) | {"close", "procexit"}
