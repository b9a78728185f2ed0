# SPDX-License-Identifier: Apache-2.0
"""Kernel overhead benchmark, run inside the VM (bench/kernel_overhead.sh):
1M open+close of /dev/null and 1M getppid, bare; with falco_probe
capturing, for the default rules, the events read with the prefilter off
("before": the rules' and every state event, no program) and on ("after":
the analysed event set and the rules' prefilter program), while a minimal
C reader drains the rings; with the BPF programs (modern_ebpf) capturing
the "before" set while bench/bpf_drain.py drains them through the
product's C reader; and with Debian's scap module under
`sysdig -w /dev/null`.  Prints each run's time and the slowdown ratios;
asserts nothing."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_RULES = [ROOT / "rules" / "falco_rules.yaml",
                 ROOT / "rules" / "application_rules.yaml",
                 ROOT / "rules" / "falco_rules.local.yaml"]
OPEN_PATH = "/dev/null"



@dataclass
class Run:
    config: str
    workload: str
    seconds: float
    note: str = ""


def loop(bindir: Path, workload: str, n: int) -> float:
    out = subprocess.run([str(bindir / "kernel_overhead_loop"), workload, str(n),
                          OPEN_PATH], capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip())


def default_rules_sets(tmp: Path) -> tuple[list[str], list[str], Path,
                                          list[str]]:
    """Syscall numbers for the default rules with the prefilter off and
    on, the program file of the latter, and the event names of the
    former."""
    from falco.app.backend import event_names, state_events
    from falco.driver.ring import capture_plan
    from falco.fields import default_registry
    from falco.prefilter.analysis import Settings, analyze
    from falco.rules import load_rules
    reg = default_registry()
    rules = load_rules([str(p) for p in DEFAULT_RULES], reg,
                       all_evttypes=event_names())
    legacy = set(rules.evttypes() or ()) | state_events()
    analysis = analyze(rules.enabled_rules, reg,
                       Settings(legacy_state=state_events()))
    prog = tmp / "default.pf"
    assert analysis.program_blob is not None
    prog.write_bytes(analysis.program_blob)
    before = sorted(capture_plan(legacy)[0])
    after = sorted(capture_plan(analysis.event_names)[0])
    return ([str(n) for n in before], [str(n) for n in after], prog,
            sorted(legacy))


def wait_open(pid: int, prefix: str, timeout: float = 300.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def bench_ours(bindir: Path, n: int, runs: list[Run], nrs: list[str],
               label: str, prog: Path | None = None) -> None:
    args = [str(bindir / "kernel_overhead_drain")]
    if prog is not None:
        args += ["-p", str(prog)]
    proc = subprocess.Popen([*args, *nrs], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    if not ready.startswith("ready"):
        raise SystemExit(f"drainer failed: {ready!r}")
    for w in ("open", "getppid"):
        runs.append(Run(label, w, loop(bindir, w, n)))
    proc.send_signal(signal.SIGTERM)
    summary = proc.stdout.read().strip()
    proc.wait()
    for r in runs[-2:]:
        r.note = summary


def bench_bpf(bindir: Path, n: int, runs: list[Run],
              names: list[str]) -> None:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        print("modern_ebpf: this kernel has no BTF, skipped")
        return
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bpf_drain.py"),
                             *names], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    if not ready.startswith("ready"):
        raise SystemExit(f"bpf_drain failed: {ready!r}")
    for w in ("open", "getppid"):
        runs.append(Run("modern_ebpf", w, loop(bindir, w, n)))
    proc.send_signal(signal.SIGTERM)
    summary = proc.stdout.read().strip()
    proc.wait()
    for r in runs[-2:]:
        r.note = summary


def bench_scap(bindir: Path, n: int, ko: str, runs: list[Run]) -> None:
    if subprocess.run(["insmod", ko]).returncode != 0:
        print(f"scap: insmod {ko} failed, skipped")
        return
    try:
        proc = subprocess.Popen(["sysdig", "-w", "/dev/null"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        if not wait_open(proc.pid, "/dev/scap"):
            proc.kill()
            print("scap: sysdig did not open /dev/scap*, skipped")
            return
        time.sleep(2)  # let sysdig finish its /proc scan before measuring
        for w in ("open", "getppid"):
            runs.append(Run("scap+sysdig", w, loop(bindir, w, n)))
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        subprocess.run(["rmmod", "scap"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bindir", type=Path, required=True)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--scap-ko", default="")
    args = ap.parse_args()
    runs: list[Run] = []
    for w in ("open", "getppid"):
        runs.append(Run("bare", w, loop(args.bindir, w, args.n)))
    before, after, prog, legacy_names = default_rules_sets(args.bindir)
    bench_ours(args.bindir, args.n, runs, before, "probe, before")
    bench_ours(args.bindir, args.n, runs, after, "probe, after", prog)
    bench_bpf(args.bindir, args.n, runs, legacy_names)
    if args.scap_ko and Path(args.scap_ko).exists():
        bench_scap(args.bindir, args.n, args.scap_ko, runs)
    else:
        print("scap: module not available, skipped")
    # a second bare run shows the noise of the VM
    for w in ("open", "getppid"):
        runs.append(Run("bare (again)", w, loop(args.bindir, w, args.n)))

    bare = {r.workload: r.seconds for r in runs if r.config == "bare"}
    print(f"\nkernel_overhead: {args.n} iterations per run, qemu TCG, "
          f"{os.cpu_count()} vCPUs, kernel {os.uname().release}")
    print(f"{'config':<16} {'workload':<10} {'seconds':>9} {'ns/iter':>9} {'slowdown':>9}")
    for r in runs:
        print(f"{r.config:<16} {r.workload:<10} {r.seconds:9.3f} "
              f"{r.seconds / args.n * 1e9:9.0f} {r.seconds / bare[r.workload]:8.2f}x")
    scap = {r.workload: r.seconds for r in runs if r.config == "scap+sysdig"}
    for label in ("probe, before", "probe, after"):
        ours = {r.workload: r.seconds for r in runs if r.config == label}
        for w in ("open", "getppid"):
            if w in ours:
                print(f"{w}: falco_probe ({label}) slowdown "
                      f"{(ours[w] / bare[w] - 1) * 100:+.1f}%"
                      + (f" vs scap {(scap[w] / bare[w] - 1) * 100:+.1f}%"
                         if w in scap else ""))
    notes = {r.note for r in runs if r.note}
    for note in notes:
        print(f"falco_probe reader: {note}")
    ebpf = {r.workload: r.seconds for r in runs if r.config == "modern_ebpf"}
    ours = {r.workload: r.seconds for r in runs if r.config == "probe, before"}
    for w in ("open", "getppid"):
        if w in ours and w in ebpf:
            print(f"{w}: modern_ebpf slowdown {ebpf[w] / bare[w]:.2f}x vs "
                  f"falco_probe (before) {ours[w] / bare[w]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
