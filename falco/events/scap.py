# SPDX-License-Identifier: Apache-2.0
"""Reader of .scap / .scap.gz capture files.

The event blocks are walked in C (``fsrc_scan_events``): events whose code is
not wanted are skipped there and never become Python objects.  The other
blocks (section header, machine info, process/fd/user/interface lists) are
parsed in Python by scap_blocks and exposed as dataclasses.
"""
from __future__ import annotations

import io
import mmap
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator

from falco.driver._falco_ffi import ffi, lib
from falco.driver.schema import get_schema, wanted_bitmap
from falco.errors import CaptureError, DecodeError
from falco.events import scap_blocks as B
from falco.events.capture_state import (FdEntry, GroupEntry, InterfaceEntry,
                                        MachineInfo, ProcEntry, UserEntry)
from falco.events.event import Event

ProgressFn = Callable[[int, int], None]

CHUNK = 4 << 20
# struct fsrc_rec as Python sees it (layout checked in test_events_ffi):
# ts, tid, off, len, nparams, type, cpu, hdrlen, flags, block_off, seq
REC_SIZE = ffi.sizeof("struct fsrc_rec")
REC_FMT = struct.Struct("<QQIIIHHHHII%dx" % (REC_SIZE - 44))
MAX_RECS = 4096
MAP_MIN = 1 << 20       # uncompressed captures from this size are mapped
MAX_BLOCK = 64 << 20
# Events scanned ahead for the exit of an enter event the prefilter drops.
LOOKAHEAD = 256


class _Stream:
    """Sequential (optionally gunzipped) bytes of a capture file."""

    def __init__(self, fh: io.BufferedReader) -> None:
        self.fh = fh
        head = fh.read(2)
        self.gz = head == b"\x1f\x8b"
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) \
            if self.gz else None
        self.pending = head
        self.raw_read = len(head)

    def read(self) -> bytes:
        """Next chunk of decompressed bytes, b"" at the end."""
        while True:
            data = self.pending + self.fh.read1(CHUNK)
            self.pending = b""
            self.raw_read += len(data)
            if self.inflate is None:
                return data
            if not data:
                tail = self.inflate.flush()
                return tail
            try:
                out = self.inflate.decompress(data)
                while self.inflate.eof and self.inflate.unused_data:
                    rest = self.inflate.unused_data
                    self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    out += self.inflate.decompress(rest)
            except zlib.error as exc:
                raise DecodeError(f"corrupt gzip stream: {exc}",
                                  self.raw_read) from None
            if out:
                return out


class CaptureReader:
    """Read one capture: header blocks eagerly, events lazily.

    ``interesting`` is a set of event names (evt.type) or None for all.
    """

    def __init__(self, path: str | os.PathLike[str],
                 interesting: Iterable[str] | None = None,
                 progress: ProgressFn | None = None) -> None:
        self.path = os.fspath(path)
        try:
            self._fh = open(self.path, "rb")
            self.size = os.fstat(self._fh.fileno()).st_size
        except OSError as exc:
            raise CaptureError(f"cannot open capture {self.path}: "
                               f"{exc.strerror}; check the path and its "
                               "permissions") from None
        self._stream = _Stream(self._fh)
        self._buf: bytes | mmap.mmap = b""
        self._pos = 0
        self._base = 0          # file (decompressed) offset of _buf[0]
        self._eof = False
        self._map: mmap.mmap | None = None
        self._progress = progress
        if not self._stream.gz and self.size >= MAP_MIN:
            # An uncompressed capture is scanned in place: no copies.
            try:
                self._map = mmap.mmap(self._fh.fileno(), 0,
                                      access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self._map = None
            if self._map is not None:
                self._buf, self._eof = self._map, True
                if progress is not None:
                    progress(self.size, self.size)
        self.version: tuple[int, int] = (0, 0)
        self.machine: MachineInfo | None = None
        self.procs: list[ProcEntry] = []
        self.fds: list[FdEntry] = []
        self.users: list[UserEntry] = []
        self.groups: list[GroupEntry] = []
        self.interfaces: list[InterfaceEntry] = []
        self.seen = 0
        self.skipped = 0
        self.delivered = 0
        self.filtered = 0
        self._filter = ffi.new("struct fsrc_scan_filter *")
        self._filter.lookahead = LOOKAHEAD
        self._prog: bytes | None = None
        self._comms = ffi.NULL
        self._wanted_buf = ffi.new("uint8_t[]", lib.FSRC_WANTED_BYTES)
        self._wanted = ffi.NULL
        self._names: frozenset[str] | None = None
        self._recs = ffi.new("struct fsrc_rec[]", MAX_RECS)
        self._cpos = ffi.new("uint64_t *")
        self._nrecs = ffi.new("int *")
        self._cskip = ffi.new("uint64_t *")
        self._cseen = ffi.new("uint64_t *")
        self.set_interesting(interesting)
        try:
            self._read_header()
        except DecodeError as exc:
            self.close()
            exc.path = self.path
            raise CaptureError(f"not a readable capture: {exc}") from None
        except BaseException:
            self.close()
            raise

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        if self._map is not None:
            self._buf = b""
            try:
                self._map.close()
            except BufferError:     # events still point into it
                pass
            self._map = None
        self._fh.close()

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_interesting(self, names: Iterable[str] | None) -> None:
        """Deliver only events with these names (None: all)."""
        if names is None:
            self._wanted = ffi.NULL
            self._names = None
        else:
            wanted = frozenset(names)
            self._names = wanted
            bits = wanted_bitmap(get_schema(), wanted)
            ffi.memmove(self._wanted_buf, bits, len(bits))
            self._wanted = self._wanted_buf
        self._filter.wanted = self._wanted

    def set_prefilter(self, program: bytes | None) -> None:
        """Evaluate a prefilter program on every wanted event, as the live
        module does (None: none). Its thread-name tests read the names of
        the capture's threads, kept in step with the events delivered."""
        if program is not None and \
                lib.fprobe_pf_validate(ffi.from_buffer(program),
                                       len(program)) != 0:
            raise CaptureError("invalid prefilter program")
        self._prog = program
        self._filter.prog = ffi.from_buffer(program) if program is not None \
            else ffi.NULL
        if program is not None and self._comms == ffi.NULL:
            self._comms = ffi.new("struct fsrc_comms *")
            for p in self.procs:
                comm = str(getattr(p, "comm", "") or "").encode(
                    "utf-8", "surrogateescape")
                lib.fsrc_comms_set(self._comms, int(p.tid), comm, len(comm))
        self._filter.comms = self._comms if program is not None \
            else ffi.NULL

    @property
    def prefilter(self) -> bytes | None:
        return self._prog

    # -- buffer management -----------------------------------------------
    def _fill(self) -> bool:
        """Append more bytes to the buffer; False at end of file."""
        if self._eof:
            return False
        data = self._stream.read()
        if not data:
            self._eof = True
            return False
        if self._pos:
            self._base += self._pos
            self._buf = self._buf[self._pos:] + data
            self._pos = 0
        else:
            self._buf += data
        if self._progress is not None:
            self._progress(self._stream.raw_read, self.size)
        return True

    def _need(self, n: int) -> bool:
        while len(self._buf) - self._pos < n:
            if not self._fill():
                return False
        return True

    def _block(self) -> tuple[int, bytes, int] | None:
        """Next whole non-event block (type, body, body offset)."""
        if not self._need(8):
            if len(self._buf) - self._pos:
                raise DecodeError("truncated block header",
                                  self._base + self._pos, self.path)
            return None
        p = self._pos
        btype = int.from_bytes(self._buf[p:p + 4], "little")
        blen = int.from_bytes(self._buf[p + 4:p + 8], "little")
        where = self._base + p
        if blen < 12 or blen > MAX_BLOCK:
            raise DecodeError(f"block type 0x{btype:x} has bad length "
                              f"{blen}", where, self.path)
        if not self._need(blen):
            raise DecodeError(f"truncated block type 0x{btype:x}: "
                              f"{blen} bytes announced, "
                              f"{len(self._buf) - self._pos} left", where,
                              self.path)
        p = self._pos
        trailer = int.from_bytes(self._buf[p + blen - 4:p + blen], "little")
        if trailer != blen:
            raise DecodeError(f"block type 0x{btype:x}: trailer length "
                              f"{trailer} != header length {blen}", where,
                              self.path)
        body = self._buf[p + 8:p + blen - 4]
        self._pos = p + blen
        return btype, body, where + 8

    def _read_header(self) -> None:
        if not self._need(12):
            raise DecodeError("file too short for a section header", 0)
        if int.from_bytes(self._buf[0:4], "little") != B.SHB:
            raise DecodeError("missing section header block", 0)
        blk = self._block()
        assert blk is not None
        self.version = B.parse_shb(blk[1], blk[2])
        if self.version[0] > 1:
            raise DecodeError(f"capture format {self.version[0]}."
                              f"{self.version[1]} is newer than 1.x", 8)
        while self._need(4):
            btype = int.from_bytes(self._buf[self._pos:self._pos + 4],
                                   "little")
            if btype in B.EVENT_BLOCKS:
                break
            self._handle_block()

    def _handle_block(self) -> None:
        blk = self._block()
        if blk is None:
            return
        btype, body, off = blk
        if btype in (B.MI, B.MI_INT):
            self.machine = B.parse_machine_info(body, off)
        elif btype in B.PL_VERSION:
            self.procs.extend(B.parse_proclist(body, off, btype))
        elif btype in (B.FDL, B.FDL_INT, B.FDL_V2):
            self.fds.extend(B.parse_fdlist(body, off, btype))
        elif btype in (B.UL, B.UL_INT, B.UL_V2):
            users, groups = B.parse_userlist(body, off, btype)
            self.users.extend(users)
            self.groups.extend(groups)
        elif btype in (B.IL, B.IL_INT, B.IL_V2):
            self.interfaces.extend(B.parse_iflist(body, off, btype))
        elif btype == B.SHB:
            self.version = B.parse_shb(body, off)
        # unknown block types are skipped

    # -- events -----------------------------------------------------------
    def batches(self) -> Iterator[list[Event]]:
        """Wanted events in file order, a list per scanned chunk."""
        events = get_schema().events
        recs = self._recs
        eof_scanned = False
        while True:
            buf = self._buf
            self._cpos[0] = self._pos
            self._cskip[0] = 0
            self._cseen[0] = 0
            filtered0 = self._filter.filtered
            rc = lib.fsrc_scan_filtered(ffi.from_buffer(buf), len(buf),
                                        self._cpos, 1 if self._eof else 0,
                                        recs, MAX_RECS, self._nrecs,
                                        self._filter, self._cskip,
                                        self._cseen)
            seen0 = self.seen
            self.seen += self._cseen[0]
            self.skipped += self._cskip[0]
            self.filtered += self._filter.filtered - filtered0
            n = self._nrecs[0]
            scanned_to = self._cpos[0]
            if n:
                out: list[Event] = []
                names = self._names
                for (ts, tid, off, ln, npar, typ, cpu, hdrlen, _fl, _bo,
                     seq) in REC_FMT.iter_unpack(
                        ffi.buffer(recs, n * REC_SIZE)):
                    ev = Event(seen0 + seq, ts, tid, cpu, typ, events[typ],
                               buf, off, ln, hdrlen,
                               npar if hdrlen == 26 else -1)
                    if names is not None and typ <= 1 and \
                            ev.name not in names:
                        self.skipped += 1
                        n -= 1
                        continue
                    out.append(ev)
                self.delivered += n
                self._pos = scanned_to
                if out:
                    yield out
            self._pos = scanned_to
            if rc == lib.FSRC_SCAN_FULL:
                continue
            if rc == lib.FSRC_SCAN_CORRUPT:
                raise DecodeError("corrupt event block",
                                  self._base + self._pos, self.path)
            if rc == lib.FSRC_SCAN_OTHER:
                self._handle_block()
                continue
            # FSRC_SCAN_MORE
            before = len(self._buf) - self._pos
            if not self._fill():
                if before and not eof_scanned:
                    eof_scanned = True      # scan the rest knowing it ends
                    continue
                if before:
                    raise DecodeError(f"truncated event block ({before} "
                                      "bytes at the end of the file)",
                                      self._base + self._pos, self.path)
                return

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch


def read_capture(path: str | os.PathLike[str],
                 interesting: Iterable[str] | None = None) -> list[Event]:
    """Every (wanted) event of a capture, for tests and small files."""
    with CaptureReader(path, interesting) as rd:
        return list(rd)
