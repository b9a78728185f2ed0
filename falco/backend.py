# SPDX-License-Identifier: Apache-2.0
"""The layers below the CLI, gathered behind one injectable object.

``default_backend()`` wires the real event sources, state inspector, field
registry and rules loader; tests can pass their own ``Backend`` to
``falco.cli.main``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from falco.config import Config


@dataclass(frozen=True, slots=True)
class Backend:
    registry: Callable[[], Any]
    load_rules: Callable[..., Any]
    event_names: Callable[[], Sequence[str]]
    open_capture: Callable[[str], Any]
    open_live: Callable[[Config], Any]
    inspector_for: Callable[[Any], Any]
    versions: Callable[[], dict[str, str]]
    output_format: Callable[[str, Any], Callable[[Any], Any]] | None = None


def _registry() -> Any:
    from falco.fields import default_registry
    return default_registry()


def _load_rules(paths: Sequence[str], registry: Any, **kwargs: Any) -> Any:
    from falco.rules import load_rules
    return load_rules(list(paths), registry, **kwargs)


def _event_names() -> Sequence[str]:
    from falco.events import event_names
    return event_names()


def _open_capture(path: str) -> Any:
    from falco.events import open_capture
    return open_capture(path)


def _open_live(config: Config) -> Any:
    from falco.events import open_live
    return open_live(buf_size_preset=config.engine.kmod.buf_size_preset)


def _inspector_for(source: Any) -> Any:
    from falco.state import Inspector
    return Inspector.for_source(source)


def _versions() -> dict[str, str]:
    from falco import __version__
    out = {"falco_version": __version__, "engine_version": "unknown",
           "driver_api_version": "unknown",
           "driver_schema_version": "unknown"}
    try:
        from falco.rules import ENGINE_VERSION
        out["engine_version"] = str(ENGINE_VERSION)
    except ImportError:
        pass
    try:
        from falco.events import driver_versions
        api, schema = driver_versions()
        out["driver_api_version"] = str(api)
        out["driver_schema_version"] = str(schema)
    except ImportError:
        pass
    return out


def _output_format(fmt: str, registry: Any) -> Callable[[Any], Any]:
    from falco.rules import compile_output
    return compile_output(fmt, registry)


def default_backend() -> Backend:
    return Backend(_registry, _load_rules, _event_names, _open_capture,
                   _open_live, _inspector_for, _versions, _output_format)
