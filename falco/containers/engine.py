# SPDX-License-Identifier: Apache-2.0
"""What every runtime client offers the manager."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Protocol

from falco.containers.info import ContainerInfo

CREATE, START, DESTROY = "create", "start", "destroy"


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    action: str          # CREATE, START or DESTROY
    full_id: str
    namespace: str = ""  # containerd namespace, when there is one


class EventStream(Protocol):
    def __iter__(self) -> Iterator[RuntimeEvent]: ...

    def close(self) -> None: ...


class Engine(Protocol):
    """A runtime reached over one socket. Every call may raise OSError
    (socket gone, timeout, bad answer); ``inspect`` returns None for a
    container the runtime does not know."""

    name: str
    socket: str
    # Container types (from cgroup layouts) this engine may know.
    types: frozenset[str]

    def probe(self) -> bool: ...

    def inspect(self, full_id: str) -> ContainerInfo | None: ...

    def list(self) -> list[ContainerInfo]: ...

    def events(self) -> EventStream: ...

    def close(self) -> None: ...


def parse_time_ns(text: object) -> int | None:
    """RFC 3339 with nanoseconds ("2024-01-02T03:04:05.123456789Z" or with
    an offset) -> ns since the epoch; None for Go's zero time or junk."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    main, frac, zone = text, "", "+00:00"
    if main.endswith("Z"):
        main = main[:-1]
    elif len(main) > 6 and main[-6] in "+-" and main[-3] == ":":
        main, zone = main[:-6], main[-6:]
    if "." in main:
        main, frac = main.split(".", 1)
    try:
        whole = datetime.fromisoformat(main + zone)
    except ValueError:
        return None
    digits = (frac + "000000000")[:9]
    if not digits.isdigit():
        return None
    return int(whole.timestamp()) * 1_000_000_000 + int(digits)
