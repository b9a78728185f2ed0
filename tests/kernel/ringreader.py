# SPDX-License-Identifier: Apache-2.0
"""Minimal pure-Python reader of the falco_probe rings, for the kernel tests.

It deliberately shares no code with falco.driver: it reads the ABI straight
from the C headers (ioctl numbers, event codes, parameter names and types,
syscall numbers) so the tests check the module against its own headers.

x86 only: loads are not reordered with loads nor stores with stores, so
plain mmap reads/writes give the acquire/release the protocol needs.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

DRIVER = Path(__file__).resolve().parents[2] / "driver"
HDR = struct.Struct("<QQIHI")
assert HDR.size == 26

INFO_FIELDS = ("head", "tail", "n_evts", "n_drops_buffer", "n_drops_pf",
               "n_preemptions", "n_compat", "buffer_size", "n_tracepoint_hit")
STATS_FIELDS = ("n_evts", "n_drops_buffer", "n_drops_pf", "n_preemptions",
                "n_compat", "n_tracepoint_hit", "head", "tail")


def _ioc(direction: int, magic: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (magic << 8) | nr


@dataclass(frozen=True, slots=True)
class Abi:
    """Numbers parsed from driver/uapi/fprobe_abi.h."""

    defines: dict[str, int]
    ioctls: dict[str, int]


@lru_cache(maxsize=1)
def abi() -> Abi:
    text = (DRIVER / "uapi" / "fprobe_abi.h").read_text()
    defines: dict[str, int] = {}
    for name, val in re.findall(r"#define (FPROBE_\w+) (0x[0-9a-fA-F]+|\d+)U?L*\b", text):
        defines[name] = int(val, 0)
    sizes = {"__u32": 4, "__u64": 8, "struct fprobe_stats": 8 * len(STATS_FIELDS),
             "struct fprobe_pf_load": 16, "struct fprobe_stats2": 16 * 8}
    ioctls: dict[str, int] = {}
    magic = defines["FPROBE_IOC_MAGIC"]
    for name, kind, nr, typ in re.findall(
            r"#define (FPROBE_IOCTL_\w+)\s*(?:\\\n\s*)?_IO(R|W|)\(FPROBE_IOC_MAGIC, (\d+)(?:, ([\w ]+))?\)",
            text):
        direction = {"": 0, "W": 1, "R": 2}[kind]
        ioctls[name] = _ioc(direction, magic, int(nr), sizes[typ] if typ else 0)
    return Abi(defines, ioctls)


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class EventInfo:
    code: int
    name: str
    params: tuple[ParamInfo, ...]


@dataclass(frozen=True, slots=True)
class Schema:
    codes: dict[str, int]            # PPME_* -> code
    sc_codes: dict[str, int]         # PPM_SC_* -> code
    events: dict[int, EventInfo]     # code -> info
    syscalls: dict[str, int]         # syscall name -> native number
    tps: dict[str, int]              # FPROBE_TP_* short name -> index


@lru_cache(maxsize=1)
def schema() -> Schema:
    hdr = (DRIVER / "uapi" / "fprobe_events.h").read_text()
    codes = {n: int(v) for n, v in re.findall(r"\b(PPME_\w+) = (\d+),", hdr)}
    sc_codes = {n: int(v) for n, v in re.findall(r"\b(PPM_SC_\w+) = (\d+),", hdr)}
    table = (DRIVER / "event_table.c").read_text()
    events: dict[int, EventInfo] = {}
    # one entry per "[PPME_X] = {"name", ..." up to the next entry
    starts = list(re.finditer(r"^\t\[(PPME_\w+)\] = \{\"(\w+)\"", table, re.M))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(table)
        params = tuple(ParamInfo(p, t) for p, t in re.findall(
            r"\bP[ID]?\(\"(\w+)\", (PT_\w+)", table[m.end():end]))
        events[codes[m.group(1)]] = EventInfo(codes[m.group(1)], m.group(2), params)
    sc = (DRIVER / "syscall_table.c").read_text()
    syscalls = {n: int(nr) for nr, n in re.findall(r"\[(\d+)\] = \{[^\n]*\"(\w+)\" \},", sc)}
    tps = {k[len("FPROBE_TP_"):].lower(): v for k, v in abi().defines.items()
           if k.startswith("FPROBE_TP_") and k != "FPROBE_TP_MAX"}
    return Schema(codes, sc_codes, events, syscalls, tps)


@lru_cache(maxsize=1)
def ppm() -> dict[str, int]:
    """PPM_* constants of fprobe_events.h (flag values carried in events)."""
    hdr = (DRIVER / "uapi" / "fprobe_events.h").read_text()
    out: dict[str, int] = {}
    for name, neg, num, shift in re.findall(
            r"#define (PPM_\w+) \(?(-?)(\d+)U?(?: << (\d+))?\)?\s*$", hdr, re.M):
        val = int(num) << int(shift or 0)
        out[name] = -val if neg else val
    return out


_SIGNED = {"PT_INT8": "b", "PT_INT16": "h", "PT_INT32": "i", "PT_INT64": "q",
           "PT_ERRNO": "q", "PT_FD": "q", "PT_PID": "q", "PT_FD32": "i",
           "PT_PID32": "i"}
_UNSIGNED = {1: "B", 2: "H", 4: "I", 8: "Q"}
_WIDTH = {"PT_UINT8": 1, "PT_FLAGS8": 1, "PT_ENUMFLAGS8": 1, "PT_SIGTYPE": 1,
          "PT_L4PROTO": 1, "PT_SOCKFAMILY": 1, "PT_UINT16": 2, "PT_FLAGS16": 2,
          "PT_ENUMFLAGS16": 2, "PT_PORT": 2, "PT_SYSCALLID": 2, "PT_UINT32": 4,
          "PT_FLAGS32": 4, "PT_ENUMFLAGS32": 4, "PT_UID": 4, "PT_GID": 4,
          "PT_MODE": 4, "PT_BOOL": 4, "PT_SIGSET": 4, "PT_UINT64": 8,
          "PT_RELTIME": 8, "PT_ABSTIME": 8}
_STRINGS = {"PT_CHARBUF", "PT_FSPATH", "PT_FSRELPATH"}


def decode_param(ptype: str, raw: bytes) -> Any:
    """Python value of one parameter (None when empty)."""
    if not raw:
        return None
    if ptype in _SIGNED:
        return struct.unpack("<" + _SIGNED[ptype], raw)[0]
    if ptype in _WIDTH:
        return struct.unpack("<" + _UNSIGNED[_WIDTH[ptype]], raw)[0]
    if ptype in _STRINGS:
        return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return raw


@dataclass(slots=True)
class Event:
    cpu: int
    ts: int
    tid: int
    len: int
    type: int
    nparams: int
    raw: list[bytes]
    info: EventInfo | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name if self.info else f"<{self.type}>"

    @property
    def is_exit(self) -> bool:
        return bool(self.type & 1)

    def __repr__(self) -> str:
        return (f"Event(cpu={self.cpu} tid={self.tid} {self.name}"
                f"{'<' if self.is_exit else '>'} {self.params})")


def parse_events(buf: bytes | memoryview, cpu: int) -> Iterator[Event]:
    """Parse back-to-back events; raises ValueError on a corrupt record."""
    sch = schema()
    off = 0
    end = len(buf)
    while off < end:
        if end - off < HDR.size:
            raise ValueError(f"cpu {cpu}: truncated header at {off}")
        ts, tid, ln, typ, npar = HDR.unpack_from(buf, off)
        if ln < HDR.size + 2 * npar or off + ln > end:
            raise ValueError(f"cpu {cpu}: bad length {ln} at {off}")
        lens = struct.unpack_from(f"<{npar}H", buf, off + HDR.size)
        pos = off + HDR.size + 2 * npar
        raw = []
        for ln_i in lens:
            raw.append(bytes(buf[pos:pos + ln_i]))
            pos += ln_i
        if pos != off + ln:
            raise ValueError(f"cpu {cpu}: params {pos - off} != len {ln} at {off}")
        info = sch.events.get(typ)
        ev = Event(cpu, ts, tid, ln, typ, npar, raw, info)
        if info is not None:
            if len(info.params) != npar:
                raise ValueError(f"{info.name}: {npar} params, table says {len(info.params)}")
            for p, r in zip(info.params, raw):
                ev.params[p.name] = decode_param(p.type, r)
        yield ev
        off += ln


def possible_cpus() -> list[int]:
    text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    cpus: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


class Ring:
    """One /dev/falco<N>: ioctls, mmaps, event reading."""

    def __init__(self, cpu: int, dev_dir: str = "/dev") -> None:
        self.cpu = cpu
        self.fd = os.open(f"{dev_dir}/falco{cpu}", os.O_RDWR | os.O_CLOEXEC)
        self.info: mmap.mmap | None = None
        self.data: mmap.mmap | None = None
        self.size = 0

    # ioctls -------------------------------------------------------------
    def _ioctl_u32(self, name: str, val: int) -> None:
        fcntl.ioctl(self.fd, abi().ioctls[name], struct.pack("<I", val))

    def _ioctl_u64_out(self, name: str) -> int:
        out = fcntl.ioctl(self.fd, abi().ioctls[name], bytes(8))
        return struct.unpack("<Q", out)[0]

    def api_version(self) -> int:
        return self._ioctl_u64_out("FPROBE_IOCTL_GET_API_VERSION")

    def schema_version(self) -> int:
        return self._ioctl_u64_out("FPROBE_IOCTL_GET_SCHEMA_VERSION")

    def enable_syscall(self, nr: int) -> None:
        self._ioctl_u32("FPROBE_IOCTL_ENABLE_SYSCALL", nr)

    def disable_syscall(self, nr: int) -> None:
        self._ioctl_u32("FPROBE_IOCTL_DISABLE_SYSCALL", nr)

    def disable_all_syscalls(self) -> None:
        fcntl.ioctl(self.fd, abi().ioctls["FPROBE_IOCTL_DISABLE_ALL_SYSCALLS"])

    def enable_tp(self, tp: int) -> None:
        self._ioctl_u32("FPROBE_IOCTL_ENABLE_TP", tp)

    def disable_tp(self, tp: int) -> None:
        self._ioctl_u32("FPROBE_IOCTL_DISABLE_TP", tp)

    def set_snaplen(self, n: int) -> None:
        self._ioctl_u32("FPROBE_IOCTL_SET_SNAPLEN", n)

    def set_prefilter(self, blob: bytes) -> None:
        buf = ctypes.create_string_buffer(blob, len(blob))
        arg = struct.pack("<QII", ctypes.addressof(buf), len(blob), 0)
        fcntl.ioctl(self.fd, abi().ioctls["FPROBE_IOCTL_SET_PREFILTER"], arg)

    def stats(self) -> dict[str, int]:
        out = fcntl.ioctl(self.fd, abi().ioctls["FPROBE_IOCTL_GET_STATS"],
                          bytes(8 * len(STATS_FIELDS)))
        return dict(zip(STATS_FIELDS, struct.unpack(f"<{len(STATS_FIELDS)}Q", out)))

    # mapping ------------------------------------------------------------
    def map(self) -> None:
        d = abi().defines
        self.info = mmap.mmap(self.fd, mmap.PAGESIZE, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE,
                              offset=d["FPROBE_MMAP_OFF_INFO"])
        self.size = self.info_fields()["buffer_size"]
        self.data = mmap.mmap(self.fd, 2 * self.size, mmap.MAP_SHARED, mmap.PROT_READ,
                              offset=d["FPROBE_MMAP_OFF_DATA"])

    def info_fields(self) -> dict[str, int]:
        assert self.info is not None
        vals = struct.unpack_from(f"<{len(INFO_FIELDS)}Q", self.info, 0)
        return dict(zip(INFO_FIELDS, vals))

    def pending(self) -> tuple[int, int]:
        f = self.info_fields()
        return f["head"], f["tail"]

    def read(self) -> list[Event]:
        """Consume every complete event present now."""
        assert self.info is not None and self.data is not None
        head, tail = self.pending()
        if head == tail:
            return []
        if head - tail > self.size:
            raise ValueError(f"cpu {self.cpu}: head {head} tail {tail} size {self.size}")
        off = tail & (self.size - 1)
        # a copy: no view of the mapping may outlive this call
        events = list(parse_events(self.data[off:off + head - tail], self.cpu))
        struct.pack_into("<Q", self.info, 8, head)
        return events

    def close(self) -> None:
        for m in (self.data, self.info):
            if m is not None:
                m.close()
        self.data = self.info = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Capture:
    """Every CPU's ring, opened, mapped and configured together."""

    def __init__(self, syscalls: Iterable[str] = (), tps: Iterable[str] = ("sys_enter", "sys_exit"),
                 snaplen: int | None = None) -> None:
        self.rings: list[Ring] = []
        try:
            for cpu in possible_cpus():
                ring = Ring(cpu)
                self.rings.append(ring)
                ring.map()
            sch = schema()
            for r in self.rings:
                if snaplen is not None:
                    r.set_snaplen(snaplen)
                for name in syscalls:
                    r.enable_syscall(sch.syscalls[name])
            self.tps = [sch.tps[t] for t in tps]
            self.events: list[Event] = []
        except BaseException:
            self.close()
            raise

    def start(self) -> "Capture":
        for r in self.rings:
            for tp in self.tps:
                r.enable_tp(tp)
        return self

    def set_prefilter(self, blob: bytes) -> None:
        for r in self.rings:
            r.set_prefilter(blob)

    def n_filtered(self) -> int:
        """Events the prefilter dropped, from the info pages."""
        return sum(struct.unpack_from("<Q", r.info, 8 * 9)[0] for r in self.rings
                   if r.info is not None)

    def stop(self) -> list[Event]:
        """Detach (waits for running probes) and collect everything."""
        for r in self.rings:
            for tp in self.tps:
                r.disable_tp(tp)
        self.drain()
        return self.events

    def drain(self) -> list[Event]:
        for r in self.rings:
            self.events.extend(r.read())
        self.events.sort(key=lambda e: e.ts)
        return self.events

    def stats(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for r in self.rings:
            for k, v in r.stats().items():
                total[k] = total.get(k, 0) + v
        return total

    def close(self) -> None:
        for r in self.rings:
            r.close()
        self.rings = []

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def select(events: Iterable[Event], evname: str, /, *, tid: int | None = None,
           exit: bool | None = True, **params: Any) -> list[Event]:
    """Events named @evname (of thread @tid) whose params match @params."""
    out = []
    for e in events:
        if e.name != evname or (tid is not None and e.tid != tid):
            continue
        if exit is not None and e.is_exit != exit:
            continue
        if all(e.params.get(k) == v for k, v in params.items()):
            out.append(e)
    return out


def errno_of(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


# --- the modern_ebpf source -----------------------------------------------------
#
# The programs are loaded (and attached, and their controls set) by the
# production loader, falco.driver.bpf: that is what is under test.  Their
# ring buffers are read here, in Python, from the kernel's ring buffer
# layout, and the events decoded by parse_events() above from the headers:
# no falco.driver code decodes what the tests compare.

RB_BUSY = 1 << 31
RB_DISCARD = 1 << 30


@lru_cache(maxsize=1)
def bpf_abi() -> dict[str, int]:
    text = (DRIVER / "uapi" / "fprobe_bpf.h").read_text()
    return {n: int(v, 0) for n, v in re.findall(r"#define (FBPF_\w+) \(?(\d+|0x[0-9a-f]+)", text)}


def bpf_available() -> bool:
    """This kernel and process can run the BPF programs (BTF, root)."""
    return Path("/sys/kernel/btf/vmlinux").exists() and os.geteuid() == 0


class BpfRing:
    """One BPF ring buffer of the probe, mapped and read here."""

    def __init__(self, fd: int, size: int, cpu: int) -> None:
        page = mmap.PAGESIZE
        self.cpu = cpu
        self.size = size
        self.cons = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                              offset=0)
        self.prod = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ,
                              offset=page)
        self.busy_seen = 0

    def read(self) -> list[Event]:
        """Consume every committed record present now."""
        page, prefix = mmap.PAGESIZE, bpf_abi()["FBPF_PREFIX_SIZE"]
        cons = struct.unpack_from("<Q", self.cons, 0)[0]
        prod = struct.unpack_from("<Q", self.prod, 0)[0]
        if prod - cons > self.size:
            raise ValueError(f"ring {self.cpu}: producer {prod} consumer {cons}")
        events: list[Event] = []
        while prod - cons >= 8:
            off = page + (cons & (self.size - 1))
            ln = struct.unpack_from("<I", self.prod, off)[0]
            if ln & RB_BUSY:
                self.busy_seen += 1
                break
            rec = ln & ~(RB_BUSY | RB_DISCARD)
            if not ln & RB_DISCARD:
                cpu = struct.unpack_from("<H", self.prod, off + 8)[0]
                body = self.prod[off + 8 + prefix:off + 8 + rec]
                evs = list(parse_events(body, cpu))
                if len(evs) != 1:
                    raise ValueError(f"ring {self.cpu}: record of {len(evs)} events")
                events += evs
            cons += (rec + 8 + 7) & ~7
        struct.pack_into("<Q", self.cons, 0, cons)
        return events

    def close(self) -> None:
        self.cons.close()
        self.prod.close()


class BpfCapture:
    """The Capture interface over the modern_ebpf source."""

    def __init__(self, syscalls: Iterable[str] = (), tps: Iterable[str] = ("sys_enter", "sys_exit"),
                 snaplen: int | None = None, ring_bytes: int = 8 << 20,
                 cpus_per_ring: int = 1) -> None:
        from falco.driver.bpf import BpfLayout, BpfProbe
        self.probe = BpfProbe(BpfLayout(cpus_per_ring=cpus_per_ring, ring_bytes=ring_bytes))
        self.rings: list[BpfRing] = []
        try:
            sch = schema()
            self.probe.set_syscalls(sch.syscalls[n] for n in syscalls)
            if snaplen is not None:
                self.probe.set_snaplen(snaplen)
            for i in range(self.probe.nrings):
                self.rings.append(BpfRing(self.probe.ring_fd(i), ring_bytes,
                                          i * cpus_per_ring))
            self.tps = [sch.tps[t] for t in tps]
            self.events: list[Event] = []
        except BaseException:
            self.close()
            raise

    def start(self) -> "BpfCapture":
        for tp in self.tps:
            self.probe.attach(tp)
        return self

    def set_prefilter(self, blob: bytes) -> None:
        self.probe.set_prefilter(blob)

    def n_filtered(self) -> int:
        return sum(c["n_filtered"] for c in self.probe.counters())

    def stop(self) -> list[Event]:
        """Detach, then collect everything (records still being written
        when the programs were detached included)."""
        for tp in self.tps:
            self.probe.detach(tp)
        for _ in range(100):
            self.drain()
            if not any(r.busy_seen for r in self.rings):
                break
            for r in self.rings:
                r.busy_seen = 0
        return self.events

    def drain(self) -> list[Event]:
        for r in self.rings:
            self.events.extend(r.read())
        self.events.sort(key=lambda e: e.ts)
        return self.events

    def per_cpu_stats(self) -> list[dict[str, int]]:
        return self.probe.counters()

    def stats(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for c in self.probe.counters():
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        return total

    def close(self) -> None:
        for r in self.rings:
            r.close()
        self.rings = []
        self.probe.close()

    def __enter__(self) -> "BpfCapture":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(source: str, syscalls: Iterable[str] = (),
                 tps: Iterable[str] = ("sys_enter", "sys_exit"),
                 snaplen: int | None = None) -> "Capture | BpfCapture":
    """A capture of @source: "kmod" (the module's rings) or "bpf"."""
    if source == "kmod":
        return Capture(syscalls, tps, snaplen)
    if source == "bpf":
        return BpfCapture(syscalls, tps, snaplen)
    raise ValueError(source)
