# SPDX-License-Identifier: Apache-2.0
"""Reader of the falco_probe per-CPU rings (or of fake rings).

``RingReader`` opens every ``/dev/falco<N>``, checks the API and schema
versions, maps the rings, and hands out batches of raw event records merged
across CPUs by timestamp.  Merging, header parsing, skipping of unwanted
event codes and tail release all run in C (ring.c); Python only sees the
wanted events of a batch.  Capture control (syscalls, tracepoints, snaplen)
and statistics are ioctls on every device.
"""
from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from falco.driver._falco_ffi import ffi, lib
from falco.driver.schema import codes_for_names, get_schema, wanted_bitmap
from falco.errors import DriverError, VersionMismatchError

# struct fsrc_rec: ts, tid, off, len, nparams, type, cpu, hdrlen, flags,
# block_off, seq (layout checked by tests/unit/test_events_ffi.py)
REC_SIZE = ffi.sizeof("struct fsrc_rec")
REC_FMT = struct.Struct("<QQIIIHHHHII%dx" % (REC_SIZE - 44))
DEFAULT_BATCH_BYTES = 4 << 20
DEFAULT_BATCH_EVENTS = 8192
MODULE = "falco_probe"


class RingMemory(Protocol):
    """A mapped ring (fake rings implement this)."""

    cpu: int
    info: Any          # cdata void *
    data: Any          # cdata uint8_t *
    size: int


@dataclass(slots=True)
class RingStats:
    """Counters of one ring: kernel side (info page) and reader side."""

    cpu: int
    n_evts: int = 0
    n_drops_buffer: int = 0
    n_drops_pf: int = 0
    n_preemptions: int = 0
    n_compat: int = 0
    delivered: int = 0
    skipped: int = 0
    corrupt: int = 0
    n_filtered: int = 0

    @property
    def dropped(self) -> int:
        return self.n_drops_buffer + self.n_drops_pf + self.n_preemptions

    @property
    def seen(self) -> int:
        """Events the driver saw: delivered + filtered + dropped."""
        return self.n_evts


@dataclass(slots=True)
class SourceStats:
    per_cpu: list[RingStats] = field(default_factory=list)
    engine: str = "kmod"    # or "modern_ebpf": which driver counted

    @property
    def total(self) -> RingStats:
        t = RingStats(cpu=-1)
        for s in self.per_cpu:
            for name in ("n_evts", "n_drops_buffer", "n_drops_pf",
                         "n_preemptions", "n_compat", "delivered", "skipped",
                         "corrupt", "n_filtered"):
                setattr(t, name, getattr(t, name) + getattr(s, name))
        return t


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Wanted events of one batch: ``data`` holds them back to back;
    ``recs`` are (seq, ts, tid, cpu, code, off, len, nparams)."""

    data: bytes
    recs: list[tuple[int, int, int, int, int, int, int, int]]


def version_str(v: int) -> str:
    return "%d.%d.%d" % ((v >> 44) & 0x7FFFF, (v >> 24) & 0xFFFFF,
                         v & 0xFFFFFF)


def check_version(kind: str, got: int, major: int, minor: int,
                  patch: int, dev: str) -> None:
    """Same major, and the module's (minor, patch) not older than ours."""
    gmaj, gmin, gpat = (got >> 44) & 0x7FFFF, (got >> 24) & 0xFFFFF, \
        got & 0xFFFFFF
    if gmaj != major or (gmin, gpat) < (minor, patch):
        raise VersionMismatchError(
            f"{dev}: {MODULE} {kind} version {version_str(got)} is not "
            f"compatible with this falco (needs {major}.{minor}.{patch} or a "
            f"newer {major}.x); install the {MODULE} module shipped with "
            f"this falco (dkms install falco/0.1.0) and reload it "
            f"(rmmod {MODULE}; modprobe {MODULE})")


def device_paths(prefix: str | None = None) -> list[str]:
    """Existing ``/dev/falco<N>`` paths, ordered by N."""
    prefix = prefix or ffi.string(lib.fsrc_device_prefix()).decode()
    d, base = os.path.split(prefix)
    try:
        names = os.listdir(d or ".")
    except OSError:
        return []
    pat = re.compile(re.escape(base) + r"(\d+)$")
    found = sorted((int(m.group(1)), n) for n in names
                   if (m := pat.match(n)))
    return [os.path.join(d, n) for _, n in found]


def _open_error(path: str, err: int) -> DriverError:
    if err in (errno.ENOENT, errno.ENXIO):
        return DriverError(
            f"cannot open {path}: the {MODULE} kernel module is not loaded; "
            f"load it with 'modprobe {MODULE}' (package falco-dkms)")
    if err == errno.EBUSY:
        return DriverError(
            f"{path} is busy: another falco or capture is already reading "
            "the rings; stop it and retry")
    if err in (errno.EACCES, errno.EPERM):
        return DriverError(
            f"permission denied opening {path}: the devices are root-only "
            "(mode 0600); run falco as root")
    return DriverError(f"cannot open {path}: {os.strerror(err)}")


class RingReader:
    """Batched, merged reader over every ring."""

    engine = "kmod"

    def __init__(self, rings: Sequence[RingMemory] | None = None,
                 devices: Sequence[str] | None = None,
                 batch_bytes: int = DEFAULT_BATCH_BYTES,
                 batch_events: int = DEFAULT_BATCH_EVENTS) -> None:
        self._ds = ffi.new("struct fsrc_devset *")
        self._ds.wait_us = lib.FSRC_WAIT_US_START
        self._out = ffi.new("uint8_t[]", batch_bytes)
        self._outcap = batch_bytes
        self._recs = ffi.new("struct fsrc_rec[]", batch_events)
        self._maxrecs = batch_events
        self._wanted_buf = ffi.new("uint8_t[]", lib.FSRC_WANTED_BYTES)
        self._wanted: Any = ffi.NULL
        self._names: frozenset[str] | None = None
        self._devices: list[str] = []
        self._seq = 0
        self._keep: list[RingMemory] = []
        self._prefilter: bytes | None = None
        if rings is not None:
            self._attach_fake(rings)
        else:
            self._open_devices(list(devices) if devices is not None
                               else device_paths())

    # -- setup -------------------------------------------------------------
    def _attach_fake(self, rings: Sequence[RingMemory]) -> None:
        if len(rings) > lib.FSRC_MAX_RINGS:
            raise DriverError(f"too many rings ({len(rings)})")
        for i, r in enumerate(rings):
            lib.fsrc_ring_attach(ffi.addressof(self._ds.rings, i), r.info,
                                 r.data, r.size, r.cpu)
            self._ds.rings[i].fd = -1
        self._ds.nrings = len(rings)
        self._keep = list(rings)

    def _open_devices(self, paths: list[str]) -> None:
        if not paths:
            loaded = os.path.isdir(f"/sys/module/{MODULE}")
            raise DriverError(
                f"no /dev/falco* devices: the {MODULE} kernel module is "
                + ("loaded but created no device (check dmesg)"
                   if loaded else f"not loaded; load it with 'modprobe "
                   f"{MODULE}' (package falco-dkms)"))
        if len(paths) > lib.FSRC_MAX_RINGS:
            raise DriverError(f"too many devices ({len(paths)})")
        n = 0
        try:
            for cpu, path in enumerate(paths):
                ring = ffi.addressof(self._ds.rings, n)
                rc = lib.fsrc_dev_open(ring, path.encode(), cpu)
                if rc == -errno.ENODEV:
                    continue  # offline CPU
                if rc < 0:
                    raise _open_error(path, -rc)
                self._ds.nrings = n + 1
                self._check_versions(ring.fd, path)
                rc = lib.fsrc_dev_map(ring)
                if rc < 0:
                    raise DriverError(f"cannot map the ring of {path}: "
                                      f"{os.strerror(-rc)}")
                self._devices.append(path)
                n += 1
        except BaseException:
            self.close()
            raise
        if n == 0:
            raise DriverError("every /dev/falco* device is offline")

    def _check_versions(self, fd: int, path: str) -> None:
        out = ffi.new("uint64_t *")
        for kind, req, vers in (
                ("API", lib.FPROBE_IOCTL_GET_API_VERSION,
                 (lib.FPROBE_API_VERSION_MAJOR, lib.FPROBE_API_VERSION_MINOR,
                  lib.FPROBE_API_VERSION_PATCH)),
                ("schema", lib.FPROBE_IOCTL_GET_SCHEMA_VERSION,
                 (lib.FPROBE_SCHEMA_VERSION_MAJOR,
                  lib.FPROBE_SCHEMA_VERSION_MINOR,
                  lib.FPROBE_SCHEMA_VERSION_PATCH))):
            rc = lib.fsrc_ioctl_get_u64(fd, req, out)
            if rc < 0:
                raise VersionMismatchError(
                    f"{path}: cannot read the {kind} version "
                    f"({os.strerror(-rc)}); is this the {MODULE} module of "
                    "this falco?")
            check_version(kind, out[0], *vers, dev=path)

    def close(self) -> None:
        for i in range(self._ds.nrings):
            ring = ffi.addressof(self._ds.rings, i)
            if ring.fd >= 0:
                lib.fsrc_dev_close(ring)
        self._ds.nrings = 0
        self._keep = []

    def __enter__(self) -> "RingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def nrings(self) -> int:
        return int(self._ds.nrings)

    @property
    def live(self) -> bool:
        return bool(self._devices)

    # -- capture control ---------------------------------------------------
    def set_interesting(self, event_names: Iterable[str] | None) -> None:
        """Deliver only these evt.type names (None: everything); on real
        devices also enable exactly the syscalls/tracepoints they need."""
        schema = get_schema()
        if event_names is None:
            self._wanted = ffi.NULL
            self._names = None
        else:
            names = frozenset(event_names)
            bits = wanted_bitmap(schema, names)
            ffi.memmove(self._wanted_buf, bits, len(bits))
            self._wanted = self._wanted_buf
            self._names = names
        if self.live:
            syscalls, tps = capture_plan(event_names)
            self._apply_plan(syscalls, tps)

    def _ioctl(self, req: int, val: int | None) -> None:
        for i in range(self._ds.nrings):
            fd = self._ds.rings[i].fd
            rc = (lib.fsrc_ioctl_none(fd, req) if val is None
                  else lib.fsrc_ioctl_set_u32(fd, req, val))
            if rc < 0:
                raise DriverError(f"{self._devices[i]}: capture control "
                                  f"failed: {os.strerror(-rc)}")

    def _apply_plan(self, syscalls: set[int], tps: set[int]) -> None:
        self._ioctl(lib.FPROBE_IOCTL_DISABLE_ALL_SYSCALLS, None)
        for nr in sorted(syscalls):
            self._ioctl(lib.FPROBE_IOCTL_ENABLE_SYSCALL, nr)
        for tp in range(lib.FPROBE_TP_MAX):
            req = (lib.FPROBE_IOCTL_ENABLE_TP if tp in tps
                   else lib.FPROBE_IOCTL_DISABLE_TP)
            try:
                self._ioctl(req, tp)
            except DriverError:
                if tp in tps:
                    raise

    def set_prefilter(self, program: bytes | None) -> None:
        """Install a prefilter program on every device (None: remove it).
        The module validates it; a refused program changes nothing."""
        if not self.live:
            self._prefilter = program
            return
        keep = ffi.from_buffer(program) if program is not None else ffi.NULL
        size = len(program) if program is not None else 0
        for i in range(self._ds.nrings):
            rc = lib.fsrc_ioctl_prefilter(self._ds.rings[i].fd, keep, size)
            if rc < 0:
                raise DriverError(
                    f"{self._devices[i]}: the module refused the prefilter "
                    f"program ({os.strerror(-rc)})")
        self._prefilter = program

    @property
    def prefilter(self) -> bytes | None:
        return self._prefilter

    def set_snaplen(self, snaplen: int) -> None:
        if not 1 <= snaplen <= lib.FPROBE_SNAPLEN_MAX:
            raise ValueError(f"snaplen must be 1..{lib.FPROBE_SNAPLEN_MAX}")
        if self.live:
            self._ioctl(lib.FPROBE_IOCTL_SET_SNAPLEN, snaplen)

    # -- reading -------------------------------------------------------------
    def next_batch(self, block: bool = True) -> RawBatch:
        """Wanted events of one batch (empty after a back-off sleep)."""
        n = lib.fsrc_next_batch(self._ds, self._out, self._outcap,
                                self._recs, self._maxrecs, self._wanted,
                                1 if block else 0)
        base = self._seq
        self._seq = base + self._ds.batch_seen
        if n == 0:
            return RawBatch(b"", [])
        recs = self._recs
        last = recs[n - 1]
        data = ffi.buffer(self._out, last.off + last.len)[:]
        out = [(base + seq, ts, tid, cpu, typ, off, ln, npar)
               for (ts, tid, off, ln, npar, typ, cpu, _h, _f, _b, seq)
               in REC_FMT.iter_unpack(ffi.buffer(recs, n * REC_SIZE))]
        return RawBatch(data, out)

    def drain(self, block: bool = True) -> int:
        """Consume one batch without handing it to Python; the number of
        wanted events it held (benchmarks: the C reader's own rate)."""
        n = lib.fsrc_next_batch(self._ds, self._out, self._outcap,
                                self._recs, self._maxrecs, self._wanted,
                                1 if block else 0)
        self._seq += self._ds.batch_seen
        return int(n)

    @property
    def wanted_names(self) -> frozenset[str] | None:
        return self._names

    def stats(self) -> SourceStats:
        st = SourceStats()
        for i in range(self._ds.nrings):
            r = self._ds.rings[i]
            info = ffi.cast("struct fprobe_ring_info *", r.info)
            st.per_cpu.append(RingStats(
                cpu=r.cpu, n_evts=info.n_evts,
                n_drops_buffer=info.n_drops_buffer,
                n_drops_pf=info.n_drops_pf,
                n_preemptions=info.n_preemptions, n_compat=info.n_compat,
                delivered=r.delivered, skipped=r.skipped,
                corrupt=r.corrupt, n_filtered=info.n_filtered))
        return st

    @property
    def sleeps(self) -> int:
        return int(self._ds.sleeps)

    @property
    def wait_us(self) -> int:
        return int(self._ds.wait_us)


CLONE_FAMILY = frozenset(("clone", "clone3", "fork", "vfork"))
EXEC_FAMILY = frozenset(("execve", "execveat"))


def capture_plan(event_names: Iterable[str] | None) -> tuple[set[int],
                                                             set[int]]:
    """(native syscall numbers, FPROBE_TP_* indexes) to enable for names.

    None means everything the driver can produce.
    """
    if not lib.FSRC_HAVE_SYSCALLS:
        raise DriverError("this build has no syscall table "
                          "(driver/syscall_table.c missing)")
    table = lib.fprobe_syscall_table
    size = lib.FPROBE_SYSCALL_TABLE_SIZE
    if event_names is None:
        syscalls = {nr for nr in range(size) if table[nr].name[0] != b"\0"}
        return syscalls, set(range(lib.FPROBE_TP_MAX)) - _missing_tps()
    names = set(event_names)
    schema = get_schema()
    codes = codes_for_names(schema, names) - {lib.PPME_GENERIC_E,
                                              lib.PPME_GENERIC_X}
    syscalls = set()
    for nr in range(size):
        ent = table[nr]
        if ent.name[0] == b"\0":
            continue
        if ent.exit_event in codes or ent.enter_event in codes or \
                ffi.string(ent.name).decode() in names:
            syscalls.add(nr)
    tps: set[int] = set()
    if syscalls:
        tps |= {lib.FPROBE_TP_SYS_ENTER, lib.FPROBE_TP_SYS_EXIT}
    if "procexit" in names:
        tps.add(lib.FPROBE_TP_SCHED_PROC_EXIT)
    if names & CLONE_FAMILY:
        tps.add(lib.FPROBE_TP_SCHED_PROC_FORK)
    if names & EXEC_FAMILY:
        tps.add(lib.FPROBE_TP_SCHED_PROC_EXEC)
    return syscalls, tps


def _missing_tps() -> set[int]:
    # sched_switch, page faults and signal_deliver are not provided
    return {3, 4, 5, 6}
