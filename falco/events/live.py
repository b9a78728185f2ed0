# SPDX-License-Identifier: Apache-2.0
"""Live event source: the ring reader's batches turned into ``Event``s."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from falco.driver.ring import RingMemory, RingReader, SourceStats
from falco.driver.schema import get_schema
from falco.events.event import Event


class LiveSource:
    """Events from /dev/falco* (or fake rings, or the modern_ebpf source's
    ring buffers), merged by timestamp.

    Only wanted events become Python objects: the C reader skips the rest.
    """

    def __init__(self, rings: Sequence[RingMemory] | None = None,
                 devices: Sequence[str] | None = None,
                 interesting: Iterable[str] | None = None,
                 snaplen: int | None = None,
                 reader: RingReader | None = None, **kw: int) -> None:
        # @reader: an opened reader of another source (the modern_ebpf
        # BpfRingReader); owned by the source from here on
        self.reader = reader if reader is not None else \
            RingReader(rings=rings, devices=devices, **kw)
        try:
            self.set_interesting(interesting)
            if snaplen is not None:
                self.reader.set_snaplen(snaplen)
        except BaseException:
            self.reader.close()
            raise

    @property
    def engine(self) -> str:
        """engine.kind of the reader: "kmod" or "modern_ebpf"."""
        return self.reader.engine

    def set_interesting(self, event_names: Iterable[str] | None) -> None:
        self.reader.set_interesting(
            None if event_names is None else set(event_names))

    def set_snaplen(self, snaplen: int) -> None:
        self.reader.set_snaplen(snaplen)

    def set_prefilter(self, program: bytes | None) -> None:
        """Let the kernel drop what ``program`` filters (None: nothing)."""
        self.reader.set_prefilter(program)

    def next_batch(self, block: bool = True) -> list[Event]:
        """The wanted events of one batch, in timestamp order (may be
        empty: the reader slept because every ring was empty)."""
        raw = self.reader.next_batch(block)
        if not raw.recs:
            return []
        events = get_schema().events
        data = raw.data
        names = self.reader.wanted_names
        out = []
        for seq, ts, tid, cpu, code, off, length, nparams in raw.recs:
            ev = Event(seq, ts, tid, cpu, code, events[code], data, off,
                       length, 26, nparams)
            if names is not None and code <= 1 and ev.name not in names:
                continue
            out.append(ev)
        return out

    def batches(self) -> Iterator[list[Event]]:
        """Batches for as long as the reader runs; an empty one after an
        idle back-off, so that the consumer can check for a stop."""
        while True:
            yield self.next_batch()

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def stats(self) -> SourceStats:
        return self.reader.stats()

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> "LiveSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
