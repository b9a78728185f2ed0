# SPDX-License-Identifier: Apache-2.0
"""The modern_ebpf source: BPF programs (driver/bpf/) emitting the events of
the falco_probe module into BPF ring buffers.

``BpfProbe`` loads the BPF object through libbpf (csrc/bpfload.c), after
checking what the kernel and this process need, and gives one clear error
for each missing thing: kernel BTF, ring buffer support, privileges, or a
program the verifier rejects (its log saved to a file named in the error).
``BpfRingReader`` is a ``RingReader`` over the probe's ring buffers: the
same batches and k-way timestamp merge in C, the same capture plan (syscall
mask and hooks) applied through the probe's control map instead of ioctls,
and the same per-CPU counters.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falco.driver._falco_ffi import ffi, lib
from falco.driver.ring import (DEFAULT_BATCH_BYTES, DEFAULT_BATCH_EVENTS,
                               RingReader, RingStats, SourceStats,
                               capture_plan)
from falco.errors import BpfError

log = logging.getLogger(__name__)

BTF_PATH = "/sys/kernel/btf/vmlinux"
OBJECT_NAME = "falco_probe.bpf.o"
OBJECT_ENV = "FALCO_BPF_PROBE"
DEFAULT_RING_BYTES = 8 << 20
# Capability numbers (linux/capability.h)
CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_PERFMON, CAP_BPF = 21, 24, 38, 39


def object_path() -> Path:
    """The BPF object: $FALCO_BPF_PROBE, else the one shipped beside this
    module (built by `make -C driver/bpf`, installed by the .deb)."""
    env = os.environ.get(OBJECT_ENV)
    return Path(env) if env else Path(__file__).resolve().parent / OBJECT_NAME


def effective_caps(status: str = "/proc/self/status") -> int:
    try:
        for line in Path(status).read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def _kernel_before(major: int, minor: int, release: str | None = None) -> bool:
    nums = (release or os.uname().release).split("-")[0].split(".")
    try:
        return (int(nums[0]), int(nums[1])) < (major, minor)
    except (IndexError, ValueError):
        return False


def missing_privileges(caps: int | None = None,
                       release: str | None = None) -> list[str]:
    """Capabilities this process lacks to load and attach the programs:
    CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and CAP_SYS_RESOURCE on
    kernels before 5.11, which charge BPF maps to RLIMIT_MEMLOCK."""
    caps = effective_caps() if caps is None else caps
    need = {} if caps & (1 << CAP_SYS_ADMIN) else \
        {"CAP_BPF": CAP_BPF, "CAP_PERFMON": CAP_PERFMON}
    if _kernel_before(5, 11, release):
        need["CAP_SYS_RESOURCE"] = CAP_SYS_RESOURCE
    return [name for name, bit in need.items() if not caps & (1 << bit)]


def preflight(obj: Path, btf: str = BTF_PATH) -> None:
    """Raise BpfError for the first thing missing before a load is tried."""
    if not os.path.exists(btf):
        raise BpfError(
            f"modern_ebpf: this kernel has no BTF ({btf} missing; it needs "
            "CONFIG_DEBUG_INFO_BTF=y, Linux 5.8 or newer): use the kmod "
            "engine (engine.kind: kmod, with the falco-dkms package)")
    if not obj.is_file():
        raise BpfError(
            f"modern_ebpf: BPF object {obj} not found: build it with "
            "'make -C driver/bpf' or set "
            f"{OBJECT_ENV}=/path/to/{OBJECT_NAME}")
    lacking = missing_privileges()
    if lacking:
        raise BpfError(
            "modern_ebpf: not enough privileges to load BPF programs: "
            f"missing {', '.join(lacking)}; run falco as root or grant "
            "CAP_BPF and CAP_PERFMON (CAP_SYS_RESOURCE before Linux 5.11)")
    rc = lib.fsrc_bpf_probe_ringbuf()
    if rc == 0:
        raise BpfError(
            "modern_ebpf: this kernel has no BPF ring buffers "
            "(BPF_MAP_TYPE_RINGBUF, Linux 5.8 or newer): use the kmod "
            "engine")
    if rc < 0:
        raise _errno_error("probing BPF ring buffer support", -rc)


def _errno_error(what: str, err: int) -> BpfError:
    if err in (1, 13):  # EPERM, EACCES
        return BpfError(
            f"modern_ebpf: permission denied {what}: run falco as root or "
            "grant CAP_BPF and CAP_PERFMON (CAP_SYS_RESOURCE before Linux "
            "5.11); a kernel in lockdown mode refuses BPF programs that "
            "read kernel memory")
    return BpfError(f"modern_ebpf: {what} failed: {os.strerror(err)}")


_LOG_PROG = re.compile(r"prog '([^']*)': -- BEGIN PROG LOAD LOG --")
_LOG_END = "-- END PROG LOAD LOG --"


def verifier_excerpt(text: str, count: int = 8,
                     width: int = 160) -> tuple[str, list[str]]:
    """The program the verifier refused last in libbpf's log @text and the
    last @count lines of the verifier's log for it (where it stopped and
    why), each cut to @width characters and with control characters
    shown as '?'.  Without a verifier log: the last lines of @text."""
    prog = ""
    body = text
    starts = list(_LOG_PROG.finditer(text))
    if starts:
        prog = starts[-1].group(1)
        body = text[starts[-1].end():]
        end = body.find(_LOG_END)
        if end >= 0:
            body = body[:end]
    lines = [ln.rstrip() for ln in body.splitlines() if ln.strip()]
    clean = ["".join(ch if ch.isprintable() else "?" for ch in ln[:width])
             for ln in lines[-count:]]
    return prog, clean


def _log_path() -> str:
    fd, path = tempfile.mkstemp(prefix="falco-bpf-verifier-", suffix=".log")
    os.close(fd)
    return path


@dataclass(frozen=True, slots=True)
class BpfLayout:
    """Rings of a load: ``cpus_per_ring`` CPUs share one ring buffer of
    ``ring_bytes`` (0: one ring for every CPU)."""

    cpus_per_ring: int = 1
    ring_bytes: int = DEFAULT_RING_BYTES


class BpfProbe:
    """The loaded BPF object: rings, controls, counters, attached hooks."""

    def __init__(self, layout: BpfLayout = BpfLayout(),
                 obj: Path | None = None) -> None:
        path = obj or object_path()
        preflight(path)
        size = layout.ring_bytes
        if size < 4096 or size & (size - 1):
            raise BpfError(f"modern_ebpf: ring size {size} must be a power "
                           "of two of at least 4096 bytes")
        log_path = _log_path()
        err = ffi.new("int *")
        stage = ffi.new("char[]", 32)
        handle = lib.fsrc_bpf_open(str(path).encode(), layout.cpus_per_ring,
                                   size, log_path.encode(), err, stage, 32)
        if handle == ffi.NULL:
            raise self._load_error(path, ffi.string(stage).decode(),
                                   -err[0], log_path)
        os.unlink(log_path)
        self._raw = handle
        self._h: Any = ffi.gc(handle, lib.fsrc_bpf_close)
        self.layout = layout
        self.ncpus = int(lib.fsrc_bpf_ncpus(handle))
        self.nrings = int(lib.fsrc_bpf_nrings(handle))
        self.config = lib.fsrc_bpf_config(handle)
        self._counters = lib.fsrc_bpf_counters(handle)
        self.attached: set[int] = set()

    @staticmethod
    def _load_error(path: Path, stage: str, err: int,
                    log_path: str) -> BpfError:
        text = ""
        try:
            text = Path(log_path).read_text(errors="replace")
        except OSError:
            pass
        if stage == "load" and ("BEGIN PROG LOAD LOG" in text
                                or err in (13, 22, 7)):
            prog, lines = verifier_excerpt(text)
            which = f"program '{prog}'" if prog else "a program"
            shown = "".join(f"\n  | {ln}" for ln in lines)
            return BpfError(
                f"modern_ebpf: the kernel's verifier rejected {which} of "
                f"{path} ({os.strerror(err)}); the end of its log:{shown}"
                f"\nverifier log saved to {log_path}")
        if os.path.exists(log_path) and not text:
            os.unlink(log_path)
            log_path = ""
        where = f" (libbpf log: {log_path})" if log_path else ""
        if err in (1, 13):
            return _errno_error(f"loading {path}", err)
        return BpfError(f"modern_ebpf: cannot {stage} {path}: "
                        f"{os.strerror(err)}{where}")

    @property
    def handle(self) -> Any:
        return self._h

    def attach(self, tp: int) -> None:
        rc = lib.fsrc_bpf_attach(self._h, tp)
        if rc < 0:
            raise _errno_error(f"attaching the hook {tp}", -rc)
        self.attached.add(tp)

    def detach(self, tp: int) -> None:
        lib.fsrc_bpf_detach(self._h, tp)
        self.attached.discard(tp)

    def ring_fd(self, index: int) -> int:
        """File descriptor of ring buffer @index (owned by the probe)."""
        return int(lib.fsrc_bpf_ring_fd(self._h, index))

    def set_syscalls(self, syscalls: Iterable[int]) -> None:
        want = set(syscalls)
        for nr in range(lib.FPROBE_SYSCALL_TABLE_SIZE):
            self.config.syscalls[nr] = 1 if nr in want else 0

    def set_snaplen(self, snaplen: int) -> None:
        self.config.snaplen = snaplen

    def set_prefilter(self, program: bytes | None) -> None:
        """Install a prefilter program for every hook (None: remove it);
        a malformed program is refused and changes nothing."""
        blob = ffi.from_buffer(program) if program is not None else ffi.NULL
        rc = lib.fsrc_bpf_set_prefilter(self._h, blob,
                                        len(program) if program else 0)
        if rc < 0:
            raise BpfError("modern_ebpf: the prefilter program was refused "
                           f"({os.strerror(-rc)})")

    def counters(self) -> list[dict[str, int]]:
        """Kernel-side counters of every possible CPU."""
        out = []
        for cpu in range(self.ncpus):
            c = self._counters[cpu]
            out.append({"n_evts": c.n_evts, "n_drops_buffer": c.n_drops_buffer,
                        "n_drops_pf": c.n_drops_pf,
                        "n_preemptions": c.n_preemptions,
                        "n_compat": c.n_compat,
                        "n_tracepoint_hit": c.n_tracepoint_hit,
                        "n_filtered": c.n_filtered})
        return out

    def close(self) -> None:
        if self._h is not None:
            for tp in list(self.attached):
                self.detach(tp)
            ffi.gc(self._h, None)
            self._h = None
            lib.fsrc_bpf_close(self._raw)


class BpfRingReader(RingReader):
    """The merged, batched reader over a BpfProbe's ring buffers."""

    engine = "modern_ebpf"

    def __init__(self, layout: BpfLayout = BpfLayout(),
                 obj: Path | None = None,
                 batch_bytes: int = DEFAULT_BATCH_BYTES,
                 batch_events: int = DEFAULT_BATCH_EVENTS) -> None:
        super().__init__(rings=[], batch_bytes=batch_bytes,
                         batch_events=batch_events)
        self.probe = BpfProbe(layout, obj)
        # delivered, skipped per recording CPU
        self._percpu = ffi.new("uint64_t[]", 2 * self.probe.ncpus)
        lib.fsrc_bpf_attach_rings(self.probe.handle, self._ds, self._percpu)

    @property
    def live(self) -> bool:
        return True

    def _apply_plan(self, syscalls: set[int], tps: set[int]) -> None:
        self.probe.set_syscalls(syscalls)
        for tp in range(lib.FPROBE_TP_MAX):
            if not lib.fsrc_bpf_has_hook(tp):
                continue
            if tp in tps:
                self.probe.attach(tp)
            else:
                self.probe.detach(tp)

    def set_snaplen(self, snaplen: int) -> None:
        if not 1 <= snaplen <= lib.FPROBE_SNAPLEN_MAX:
            raise ValueError(f"snaplen must be 1..{lib.FPROBE_SNAPLEN_MAX}")
        self.probe.set_snaplen(snaplen)

    def set_prefilter(self, program: bytes | None) -> None:
        """The module's prefilter program, evaluated by the BPF programs
        (driver/bpf/fbpf_prefilter.h) on every event before it is written."""
        self.probe.set_prefilter(program)
        self._prefilter = program

    def stats(self) -> SourceStats:
        st = SourceStats(engine=self.engine)
        corrupt = [0] * self.probe.ncpus
        for i in range(self._ds.nrings):
            r = self._ds.rings[i]
            corrupt[min(r.cpu, self.probe.ncpus - 1)] += r.corrupt
        for cpu, c in enumerate(self.probe.counters()):
            st.per_cpu.append(RingStats(
                cpu=cpu, n_evts=c["n_evts"],
                n_drops_buffer=c["n_drops_buffer"],
                n_drops_pf=c["n_drops_pf"],
                n_preemptions=c["n_preemptions"], n_compat=c["n_compat"],
                n_filtered=c["n_filtered"],
                delivered=int(self._percpu[2 * cpu]),
                skipped=int(self._percpu[2 * cpu + 1]),
                corrupt=corrupt[cpu]))
        return st

    def close(self) -> None:
        self._ds.nrings = 0
        probe = getattr(self, "probe", None)
        if probe is not None:
            probe.close()
        super().close()


def bpf_capture_plan(event_names: Iterable[str] | None) -> tuple[set[int],
                                                                 set[int]]:
    """The module's capture plan restricted to the hooks the BPF object has."""
    syscalls, tps = capture_plan(event_names)
    return syscalls, {tp for tp in tps if lib.fsrc_bpf_has_hook(tp)}
