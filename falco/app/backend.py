# SPDX-License-Identifier: Apache-2.0
"""The layers below the CLI, gathered behind one injectable object.

``default_backend()`` wires the real event sources, state inspector, field
registry and rules loader; tests can pass their own ``Backend`` to
``falco.app.cli.main``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Collection, Sequence

from falco.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backend:
    registry: Callable[[], Any]
    load_rules: Callable[..., Any]
    event_names: Callable[[], Collection[str]]
    open_capture: Callable[[str], Any]
    open_live: Callable[[Config], Any]
    inspector_for: Callable[[Any], Any]
    versions: Callable[[], dict[str, str]]
    output_format: Callable[[str, Any], Callable[[Any], Any]] | None = None
    state_events: Callable[[], Collection[str]] | None = None


def _registry() -> Any:
    from falco.fields import default_registry
    return default_registry()


def _load_rules(paths: Sequence[str], registry: Any, **kwargs: Any) -> Any:
    from falco.rules import load_rules
    return load_rules(list(paths), registry, **kwargs)


def _event_names() -> frozenset[str]:
    from falco.driver.schema import get_schema
    schema = get_schema()
    return frozenset(schema.by_name) | frozenset(schema.sc_names)


def _open_capture(path: str) -> Any:
    import sys
    from falco.events.progress import tty_progress
    from falco.events.scap import CaptureReader
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


def _open_live(config: Config) -> Any:
    from falco.events.live import LiveSource
    from pathlib import Path
    if Path(BUFFER_PARAM).exists():
        apply_buffer_preset(config.engine.kmod.buf_size_preset)
    return LiveSource()


def _inspector_for(source: Any) -> Any:
    from falco.state import Inspector
    if hasattr(source, "procs"):            # a capture: its own proc lists
        inspector = Inspector()
        inspector.bootstrap_capture(source.procs, source.fds,
                                    getattr(source, "users", ()),
                                    getattr(source, "groups", ()),
                                    getattr(source, "interfaces", ()))
        return inspector
    # The live module emits self-contained exit events: nothing to pair.
    inspector = Inspector(proc_lookups=True, pair_enter_events=False)
    inspector.bootstrap_proc()
    return inspector


def _versions() -> dict[str, str]:
    from falco import __version__
    out = {"falco_version": __version__, "engine_version": "unknown",
           "driver_api_version": "unknown",
           "driver_schema_version": "unknown"}
    try:
        from falco.rules.model import ENGINE_VERSION
        out["engine_version"] = ".".join(str(v) for v in ENGINE_VERSION)
    except ImportError:
        pass
    try:
        from falco.driver._falco_ffi import lib
        out["driver_api_version"] = (
            f"{lib.FPROBE_API_VERSION_MAJOR}.{lib.FPROBE_API_VERSION_MINOR}."
            f"{lib.FPROBE_API_VERSION_PATCH}")
        out["driver_schema_version"] = (
            f"{lib.FPROBE_SCHEMA_VERSION_MAJOR}."
            f"{lib.FPROBE_SCHEMA_VERSION_MINOR}."
            f"{lib.FPROBE_SCHEMA_VERSION_PATCH}")
    except ImportError:
        pass
    return out


def _output_format(fmt: str, registry: Any) -> Callable[[Any], Any]:
    from falco.errors import ConfigError
    from falco.rules.output import OutputFormatError, compile_output
    try:
        return compile_output(fmt, registry).format
    except OutputFormatError as exc:
        raise ConfigError(f"invalid -p format '{fmt}' at offset "
                          f"{exc.offset}: {exc}") from None


def _state_events() -> frozenset[str]:
    """Events the state tables need whatever the rules ask for."""
    from falco.state.parse_fd import FD_EXIT_HANDLERS
    from falco.state.parse_proc import PROC_ENTER_HANDLERS, PROC_EXIT_HANDLERS
    return frozenset(FD_EXIT_HANDLERS) | frozenset(PROC_ENTER_HANDLERS) | \
        frozenset(PROC_EXIT_HANDLERS) | {"close", "procexit"}


def default_backend() -> Backend:
    return Backend(_registry, _load_rules, _event_names, _open_capture,
                   _open_live, _inspector_for, _versions, _output_format,
                   _state_events)
