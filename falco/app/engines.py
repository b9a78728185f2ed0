# SPDX-License-Identifier: Apache-2.0
"""The live event source of a run: the kernel module or the BPF programs.

``engine.kind: kmod`` reads /dev/falco* (falco_probe), ``modern_ebpf``
loads the BPF programs (no module needed, a kernel with BTF); when the key
is not set (``--modern-bpf`` sets it), the module is used if its devices
exist or ``modprobe falco_probe`` loads it, else modern_ebpf, and the
choice is logged.
"""
from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable
from typing import Any, Callable

from falco.config import Config

log = logging.getLogger(__name__)

MODULE = "falco_probe"
FIRST_DEVICE = "/dev/falco0"


def _modprobe() -> tuple[bool, str]:
    try:
        res = subprocess.run(["modprobe", MODULE], capture_output=True,
                             text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    msg = (res.stderr or res.stdout).strip().splitlines()
    return res.returncode == 0, msg[-1] if msg else f"exit {res.returncode}"


def select_engine(kind: str | None, device: str = FIRST_DEVICE,
                  modprobe: Callable[[], tuple[bool, str]] = _modprobe) -> str:
    """The engine a live run uses: @kind when set, else kmod if @device
    exists or the module loads, else modern_ebpf (logged either way)."""
    if kind:
        return kind
    if os.path.exists(device):
        log.info("engine.kind not set: using kmod (%s exists)", device)
        return "kmod"
    loaded, why = modprobe()
    if loaded and os.path.exists(device):
        log.info("engine.kind not set: using kmod (modprobe %s loaded it)",
                 MODULE)
        return "kmod"
    log.info("engine.kind not set: using modern_ebpf (%s missing and "
             "modprobe %s failed: %s)", device, MODULE, why)
    return "modern_ebpf"


def bpf_layout(config: Config) -> Any:
    """The rings engine.modern_ebpf asks for: CPUs per ring buffer, size."""
    from falco.app.backend import preset_bytes
    from falco.driver.bpf import BpfLayout
    opts = config.engine.modern_ebpf
    return BpfLayout(cpus_per_ring=opts.cpus_for_each_buffer,
                     ring_bytes=preset_bytes(opts.buf_size_preset))


def open_modern_ebpf(config: Config,
                     interesting: Iterable[str] | None = None) -> Any:
    from falco.driver.bpf import BpfRingReader
    from falco.events.live import LiveSource
    layout = bpf_layout(config)
    reader = BpfRingReader(layout)
    log.info("modern_ebpf: BPF programs loaded, %d ring buffer(s) of %d "
             "bytes for %d CPUs (cpus_for_each_buffer %d)",
             reader.probe.nrings, layout.ring_bytes, reader.probe.ncpus,
             layout.cpus_per_ring)
    return LiveSource(reader=reader, interesting=interesting)


def open_live(config: Config, open_kmod: Callable[[Config], Any],
              interesting: Iterable[str] | None = None) -> Any:
    """The live source for @config (@open_kmod opens the module's),
    capturing the events named in @interesting (None: every event)."""
    kind = select_engine(config.engine.kind)
    if kind == "modern_ebpf":
        return open_modern_ebpf(config, interesting)
    return open_kmod(config)
