# SPDX-License-Identifier: Apache-2.0
"""Live rates with the default rules, run inside the VM
(bench/live_rates.sh), with the prefilter off ("before") and on ("after"):

1. a benign busy workload (compiling a small C project over and over, a
   local HTTP server under a client loop, unpacking a tarball) for a fixed
   time: events delivered to Python per second (falco's own count);
2. a syscall generator (open+read+close of /etc/hosts) stepped up in
   rate, 3 s a step: the highest rate falco holds with no event dropped
   (the module's counters, through /metrics).

Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = [ROOT / "rules" / "falco_rules.yaml",
         ROOT / "rules" / "application_rules.yaml",
         ROOT / "rules" / "falco_rules.local.yaml"]
PORT = 18765
GEN = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* gen RATE SECONDS: open+read+close of /etc/hosts, RATE syscalls/s */
int main(int argc, char **argv)
{
	long rate = atol(argv[1]) / 3, secs = atol(argv[2]), i = 0;
	struct timespec t0, now;
	char buf[64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		double el;
		int fd = open("/etc/hosts", O_RDONLY);

		if (fd >= 0) {
			read(fd, buf, sizeof(buf));
			close(fd);
		}
		i++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= secs)
			break;
		if (i > rate * el) {
			double ahead = i / (double)rate - el;

			if (ahead > 0.0005)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	return 0;
}
"""


def start_falco(prefilter: bool, workdir: Path) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "falco", "-v", "-o", "log_level=error",
            "-o", f"prefilter.enabled={'true' if prefilter else 'false'}",
            "-o", "webserver.enabled=true",
            "-o", f"webserver.listen_port={PORT}",
            "-o", "webserver.listen_address=127.0.0.1",
            "-o", "syscall_event_drops.actions=[ignore]"]
    for r in RULES:
        args += ["-r", str(r)]
    err = open(workdir / f"falco-{prefilter}.err", "w")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=err, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if metrics() is not None:
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"falco exited: "
                             f"{(workdir / f'falco-{prefilter}.err').read_text()[-500:]}")
        time.sleep(1)
    raise SystemExit("falco did not start")


def metrics() -> dict[str, float] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics",
                                    timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)(\{[^}]*\})? ([0-9.e+]+)$", line)
        if m:
            key = m.group(1) + (m.group(2) or "")
            out[key] = float(m.group(3))
    return out


def total(m: dict[str, float], name: str) -> float:
    return sum(v for k, v in m.items() if k.startswith(name))


def stop_falco(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def busy_workload(workdir: Path, seconds: float) -> None:
    """Compile, serve HTTP under a client loop, unpack a tarball, all at
    once, for ``seconds``."""
    proj = workdir / "proj"
    proj.mkdir(exist_ok=True)
    for i in range(8):
        (proj / f"f{i}.c").write_text(
            "#include <stdio.h>\n#include <string.h>\n"
            f"int f{i}(const char *s) {{ return (int)strlen(s) + {i}; }}\n")
    (proj / "main.c").write_text("int main(void) { return 0; }\n")
    www = workdir / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_text("hello\n")
    tarball = workdir / "src.tgz"
    subprocess.run(["tar", "czf", str(tarball), "-C", "/usr/include",
                    "linux"], check=True)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind",
                               "127.0.0.1", "--directory", str(www), "18099"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    script = f"""
end=$(( $(date +%s) + {int(seconds)} ))
( while [ $(date +%s) -lt $end ]; do
    for f in {proj}/*.c; do cc -O1 -c -o /dev/null $f; done; done ) &
( while [ $(date +%s) -lt $end ]; do
    curl -s -o /dev/null http://127.0.0.1:18099/index.html || true; done ) &
( while [ $(date +%s) -lt $end ]; do
    rm -rf {workdir}/x; mkdir -p {workdir}/x; tar xzf {tarball} -C {workdir}/x;
  done ) &
wait
"""
    try:
        subprocess.run(["sh", "-c", script], check=False)
    finally:
        server.terminate()
        server.wait()


def delivered_rate(prefilter: bool, workdir: Path, seconds: float) -> str:
    proc = start_falco(prefilter, workdir)
    m0 = metrics() or {}
    t0 = time.time()
    busy_workload(workdir, seconds)
    m1 = metrics() or {}
    secs = time.time() - t0
    stop_falco(proc)
    processed = total(m1, "falco_events_processed_total") - \
        total(m0, "falco_events_processed_total")
    seen = total(m1, "falco_kernel_cpu_events_seen_total") - \
        total(m0, "falco_kernel_cpu_events_seen_total")
    filtered = total(m1, "falco_kernel_cpu_events_filtered_total") - \
        total(m0, "falco_kernel_cpu_events_filtered_total")
    dropped = total(m1, "falco_kernel_cpu_events_dropped_total") - \
        total(m0, "falco_kernel_cpu_events_dropped_total")
    return (f"{processed / secs:10,.0f} events/s to Python "
            f"(seen {seen / secs:,.0f}/s, filtered in the kernel "
            f"{filtered / secs:,.0f}/s, dropped {dropped / secs:,.0f}/s; "
            f"{secs:.0f} s)")


def max_rate(prefilter: bool, workdir: Path, gen: Path,
             rates: list[int]) -> str:
    proc = start_falco(prefilter, workdir)
    held = 0
    lines = []
    try:
        for rate in rates:
            m0 = metrics() or {}
            t0 = time.time()
            subprocess.run([str(gen), str(rate), "3"], check=True)
            time.sleep(1.0)             # let falco catch up
            m1 = metrics() or {}
            secs = time.time() - t0 - 1.0
            dropped = total(m1, "falco_kernel_cpu_events_dropped_total") - \
                total(m0, "falco_kernel_cpu_events_dropped_total")
            got = (total(m1, "falco_kernel_cpu_events_seen_total") -
                   total(m0, "falco_kernel_cpu_events_seen_total")) / secs
            lines.append(f"{rate}/s asked, {got:,.0f}/s seen: "
                         f"{dropped:.0f} dropped")
            if dropped:
                break
            held = rate
    finally:
        stop_falco(proc)
    return f"{held:,} syscalls/s held with no drop ({'; '.join(lines)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rates", default="2000,5000,10000,20000,40000,80000,"
                    "160000")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="falco-live-"))
    try:
        gen = workdir / "gen"
        (workdir / "gen.c").write_text(GEN)
        subprocess.run(["gcc", "-O2", "-o", str(gen),
                        str(workdir / "gen.c")], check=True)
        rates = [int(r) for r in args.rates.split(",")]
        print(f"live rates, default rules, qemu TCG, {os.cpu_count()} "
              f"vCPUs, kernel {os.uname().release}")
        for prefilter, label in ((False, "before (prefilter off)"),
                                 (True, "after (prefilter on)")):
            print(f"{label}: busy workload: "
                  f"{delivered_rate(prefilter, workdir, args.seconds)}")
        for prefilter, label in ((False, "before (prefilter off)"),
                                 (True, "after (prefilter on)")):
            print(f"{label}: generator: "
                  f"{max_rate(prefilter, workdir, gen, rates)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
