# SPDX-License-Identifier: Apache-2.0
"""Fake rings with the kernel's layout, for tests without the module.

A fake ring is a file: one 4 KiB info page (``struct fprobe_ring_info``)
followed by the data area.  The reader maps the data area twice back to
back exactly like the module's mmap does, and ``FakeRing.write`` is the
producer side (free space from head/tail, copy, release-store of head), so
the same C consumer code runs against it.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

from falco.driver._falco_ffi import ffi, lib
from falco.errors import DriverError

INFO_BYTES = 4096


class FakeRing:
    """One file-backed ring; ``write`` appends whole events."""

    def __init__(self, cpu: int, size: int = 1 << 20,
                 path: str | None = None) -> None:
        if size <= 0 or size & (size - 1) or size % 4096:
            raise ValueError("ring size must be a power of two >= 4096")
        self.cpu = cpu
        self.size = size
        if path is None:
            fd, path = tempfile.mkstemp(prefix=f"fakering{cpu}-")
            os.close(fd)
        self.path = path
        with open(path, "r+b" if os.path.exists(path) else "w+b") as fh:
            fh.truncate(INFO_BYTES + size)
        self._fd = os.open(path, os.O_RDWR)
        pinfo = ffi.new("void **")
        pdata = ffi.new("uint8_t **")
        rc = lib.fsrc_fake_map(self._fd, size, 1, pinfo, pdata)
        if rc < 0:
            os.close(self._fd)
            raise DriverError(f"cannot map fake ring {path}: "
                              f"{os.strerror(-rc)}")
        self.info: Any = pinfo[0]
        self.data: Any = pdata[0]
        self._info = ffi.cast("struct fprobe_ring_info *", self.info)
        self._info.buffer_size = size

    @property
    def head(self) -> int:
        return int(self._info.head)

    @property
    def tail(self) -> int:
        return int(self._info.tail)

    @property
    def counters(self) -> dict[str, int]:
        i = self._info
        return {"n_evts": i.n_evts, "n_drops_buffer": i.n_drops_buffer,
                "n_drops_pf": i.n_drops_pf,
                "n_preemptions": i.n_preemptions}

    def write(self, events: bytes, nevents: int = 1) -> bool:
        """Append ``nevents`` whole events; False (counted as buffer
        drops) when they do not fit."""
        return lib.fsrc_fake_write(self.info, self.data,
                                   ffi.from_buffer(events),
                                   len(events), nevents) == 0

    def write_raw(self, blob: bytes) -> None:
        """Publish arbitrary bytes (to test corrupt records)."""
        off = self.head & (self.size - 1)
        ffi.memmove(self.data + off, ffi.from_buffer(blob), len(blob))
        self._info.head = self.head + len(blob)

    def close(self, unlink: bool = True) -> None:
        if self.info is not None:
            lib.fsrc_fake_unmap(self.info, self.data, self.size)
            self.info = None
            self.data = None
            os.close(self._fd)
            if unlink:
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass

    def __enter__(self) -> "FakeRing":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fake_rings(ncpus: int, size: int = 1 << 20,
               directory: str | None = None) -> list[FakeRing]:
    """``ncpus`` fake rings (files in ``directory`` or a temp dir)."""
    out = []
    for cpu in range(ncpus):
        path = (os.path.join(directory, f"falco{cpu}.ring")
                if directory else None)
        out.append(FakeRing(cpu, size, path))
    return out


def close_all(rings: Sequence[FakeRing]) -> None:
    for r in rings:
        r.close()
