# SPDX-License-Identifier: Apache-2.0
"""The modern_ebpf source as such: its error messages, exact accounting of
ring buffer overflow per CPU (harness and product readers), CPUs sharing a
ring buffer, and load/attach/detach cycles under a syscall storm that leave
no program, map or link behind.  Runs natively (scripts/bpf-test.sh) and in
the VM."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pytest

import ringreader as rr
from conftest import IN_VM

pytestmark = [pytest.mark.kernel, pytest.mark.bpf]

ROOT = Path(__file__).resolve().parents[2]
STORM = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]), i;
	for (i = 0; n < 0 || i < n; i++) {
		syscall(SYS_getppid);
		if (i % 16 == 0)
			close(open("/dev/null", O_RDONLY));
	}
	return 0;
}
"""
SMALL_RING = 2 * 4096
STORM_SET = ["getppid", "openat", "close"]


@pytest.fixture
def storm(cc: Callable[[str, str], Path]) -> Path:
    return cc("bpf-storm", STORM)


@pytest.fixture
def background(storm: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        p = subprocess.Popen(["nice", "-n", "19", str(storm), "-1"])
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.kill()
        p.wait()


def assert_exact_per_cpu(per_cpu: list[dict[str, int]], delivered: Counter[int]) -> dict[str, int]:
    """Every event a CPU counted was read from a ring or counted as lost."""
    total: Counter[str] = Counter()
    for cpu, c in enumerate(per_cpu):
        lost = c["n_drops_buffer"] + c["n_drops_pf"] + c["n_preemptions"]
        assert c["n_evts"] == delivered[cpu] + lost, (cpu, c, delivered)
        total.update(c)
    assert sum(delivered.values()) == sum(delivered[cpu] for cpu in range(len(per_cpu)))
    return dict(total)


def test_overflow_accounting_is_exact(storm: Path) -> None:
    cap = rr.BpfCapture(STORM_SET, ("sys_enter", "sys_exit"), ring_bytes=SMALL_RING)
    try:
        cap.start()
        subprocess.run([str(storm), "20000"], check=True)
        events = cap.stop()
        total = assert_exact_per_cpu(cap.per_cpu_stats(), Counter(e.cpu for e in events))
    finally:
        cap.close()
    assert total["n_drops_buffer"] > 0  # it really overflowed
    assert total["n_evts"] >= 20000 + 20000 // 16 * 3
    assert all(e.len <= SMALL_RING for e in events)


@pytest.mark.parametrize("cpus_per_ring", [1, 0], ids=["per-cpu", "one-ring"])
def test_exact_while_reading_under_storm(background: Callable[[], object],
                                         cpus_per_ring: int) -> None:
    """Read while a storm runs on every CPU; with one ring for all CPUs the
    record prefix still names the CPU of each event."""
    cap = rr.BpfCapture(STORM_SET, ("sys_enter", "sys_exit"), ring_bytes=16 * 4096,
                        cpus_per_ring=cpus_per_ring)
    try:
        assert len(cap.rings) == (cap.probe.ncpus if cpus_per_ring else 1)
        cap.start()
        for _ in range(os.cpu_count() or 1):
            background()
        delivered: Counter[int] = Counter()
        # this reader decodes in Python: under TCG a few rounds suffice
        for _ in range(20 if IN_VM else 300):
            evs = cap.drain()
            delivered.update(e.cpu for e in evs)
            cap.events.clear()
            time.sleep(0.002)
        delivered.update(e.cpu for e in cap.stop())
        total = assert_exact_per_cpu(cap.per_cpu_stats(), delivered)
    finally:
        cap.close()
    assert total["n_evts"] > 0
    assert set(delivered) <= set(range(cap.probe.ncpus))
    if (os.cpu_count() or 1) > 1:
        assert len(delivered) > 1  # events of several CPUs, told apart


def test_product_reader_per_cpu_accounting(storm: Path) -> None:
    """The C merge (BpfRingReader, what falco runs) counts what it delivered
    and skipped per recording CPU: with the programs detached and the rings
    drained, seen == delivered + skipped + lost on every CPU."""
    from falco.driver.bpf import BpfLayout, BpfRingReader
    reader = BpfRingReader(BpfLayout(cpus_per_ring=0, ring_bytes=SMALL_RING))
    try:
        reader.set_interesting({"getppid", "openat", "close"})
        subprocess.run([str(storm), "20000"], check=True)
        reader.set_interesting(set())     # detaches every program
        while reader.drain(block=False):
            pass
        stats = reader.stats()
    finally:
        reader.close()
    total = stats.total
    assert total.n_drops_buffer > 0
    for s in stats.per_cpu:
        assert s.n_evts == s.delivered + s.skipped + s.dropped, s
    assert total.corrupt == 0


def test_non_root_gets_privileges_message() -> None:
    code = ("import os, sys\n"
            "from falco.driver.bpf import BpfRingReader\n"
            "from falco.errors import BpfError\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "try:\n    BpfRingReader()\n"
            "except BpfError as e:\n    print(e); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 3, out.stderr
    assert "not enough privileges" in out.stdout and "CAP_BPF" in out.stdout, out.stdout


REJECTED = r"""
#include "fbpf.h"
char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(fbpf_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct fbpf_counters *c = fbpf_counters_of(cpu);

	/* no NULL check: the verifier must refuse this */
	c->n_evts++;
	return 0;
}
"""


@pytest.mark.skipif(IN_VM, reason="clang under TCG takes minutes: runs natively "
                    "(scripts/bpf-test.sh, in make test)")
def test_verifier_rejection_names_its_log(tmp_path: Path) -> None:
    """A program the verifier refuses: one message naming the file that
    holds the verifier's log."""
    from falco.driver.bpf import BpfProbe
    from falco.errors import BpfError
    src = tmp_path / "rejected.bpf.c"
    src.write_text(REJECTED)
    obj = tmp_path / "rejected.bpf.o"
    bpf = ROOT / "driver" / "bpf"
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                    "-ffreestanding", "-I", str(bpf / "build"), "-I", str(bpf),
                    "-c", str(src), "-o", str(obj)], check=True)
    with pytest.raises(BpfError) as exc:
        BpfProbe(obj=obj)
    msg = str(exc.value)
    m = re.search(r"verifier log saved to (\S+)$", msg)
    assert "verifier rejected program 'fbpf_sys_exit'" in msg and m, msg
    # where the verifier stopped and why, in the message itself
    assert "invalid mem access" in msg and "c->n_evts++" in msg, msg
    log = Path(m.group(1))
    try:
        text = log.read_text()
        assert "fbpf_sys_exit" in text and "invalid mem access" in text, text[-2000:]
    finally:
        log.unlink()


def test_missing_btf_and_object_messages(tmp_path: Path) -> None:
    from falco.driver.bpf import preflight
    from falco.errors import BpfError
    with pytest.raises(BpfError, match="no BTF .*CONFIG_DEBUG_INFO_BTF"):
        preflight(ROOT / "falco" / "driver" / "falco_probe.bpf.o", btf=str(tmp_path / "none"))
    with pytest.raises(BpfError, match="BPF object .* not found"):
        preflight(tmp_path / "missing.bpf.o")


def _fbpf_objects(ignore: frozenset[str] = frozenset()) -> list[str]:
    out = []
    for kind in ("prog", "map", "link"):
        text = subprocess.run(["bpftool", kind, "show"], capture_output=True, text=True,
                              check=True).stdout
        out += [f"{kind}: {ln.strip()}" for ln in text.splitlines()
                if "fbpf" in ln and f"{kind}: {ln.strip()}" not in ignore]
    return out


def _wait_none_left(before: frozenset[str], timeout: float = 30.0) -> list[str]:
    """Objects of ours not in @before; the kernel frees programs and maps
    after an RCU grace period."""
    end = time.monotonic() + timeout
    left = _fbpf_objects(before)
    while left and time.monotonic() < end:
        time.sleep(0.2)
        left = _fbpf_objects(before)
    return left


@pytest.mark.skipif(IN_VM, reason="20 BPF loads take minutes under TCG: runs natively "
                    "(scripts/bpf-test.sh, in make test)")
def test_attach_detach_cycles_under_storm_leave_nothing(background: Callable[[], object]) -> None:
    before = frozenset(_fbpf_objects())
    background()
    for cycle in range(20):
        cap = rr.BpfCapture(["getppid", "openat", "close", "execve", "clone", "connect"],
                            ("sys_enter", "sys_exit", "sched_proc_exit", "sched_proc_exec",
                             "sched_proc_fork"))
        try:
            cap.start()
            assert _fbpf_objects(before), cycle
            seen = 0
            for _ in range(1000):
                seen += len(cap.drain())
                if seen:
                    break
                time.sleep(0.001)
            assert seen, cycle
        finally:
            cap.close()
    assert _wait_none_left(before) == []


RULE = """
- rule: bpf cli probe file
  desc: a file of this test opened
  condition: evt.type in (open, openat) and evt.dir = < and fd.name startswith {prefix}
  output: "probe file opened (file=%fd.name proc=%proc.name cpu=%evt.cpu)"
  priority: WARNING
"""


@pytest.mark.skipif(IN_VM, reason="falco's start takes minutes under TCG; the VM runs the "
                    "module's CLI test; this one runs natively (scripts/bpf-test.sh)")
def test_cli_modern_bpf_alerts_and_metrics_per_cpu(tmp_path: Path) -> None:
    import json
    import urllib.request
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(prefix=tmp_path / "probe-"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "falco", "--modern-bpf", "-r", str(rules),
         "-o", "json_output=true", "-o", "syslog_output.enabled=false", "-o", "log_syslog=false",
         "-o", "webserver.enabled=true", "-o", "webserver.listen_address=127.0.0.1",
         "-o", "webserver.listen_port=0", "-o", "watch_config_files=false"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        seen, port = "", None
        while port is None:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
            m = re.search(r"Webserver listening on 127\.0\.0\.1:(\d+)", seen)
            port = int(m.group(1)) if m else None
        assert "modern_ebpf: BPF programs loaded" in seen, seen
        alert = None
        for i in range(120):
            (tmp_path / f"probe-{i}").write_text("x")
            time.sleep(0.25)
            os.set_blocking(proc.stdout.fileno(), False)
            for line in proc.stdout.readlines():
                if "probe file opened" in line:
                    alert = json.loads(line)
            if alert:
                break
        assert alert, seen
        assert alert["output_fields"]["proc.name"] == Path(sys.executable).name[:15]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            metrics = r.read().decode()
    finally:
        proc.send_signal(2)
        proc.wait(120)
    total = int(re.search(r"^falco_kernel_events_total (\d+)$", metrics, re.M).group(1))
    per_cpu = {int(c): int(n) for c, n in re.findall(
        r'^falco_kernel_cpu_events_total\{cpu="(\d+)"\} (\d+)$', metrics, re.M)}
    delivered = {int(c): int(n) for c, n in re.findall(
        r'^falco_kernel_cpu_delivered_total\{cpu="(\d+)"\} (\d+)$', metrics, re.M)}
    assert total > 0 and sum(per_cpu.values()) == total, metrics
    assert set(per_cpu) == set(delivered) == set(range(len(per_cpu))), metrics
    assert sum(delivered.values()) > 0
    assert all(delivered[c] <= per_cpu[c] for c in per_cpu)
