# SPDX-License-Identifier: Apache-2.0
"""In the VM: ``falco -r rules/falco_rules.yaml`` live, in text mode, prints
the "File below /etc opened for writing" alert and, on Ctrl+C (SIGINT),
the summary."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = "/etc/falco-cli-live.conf"
# rules/falco_rules.yaml's "Write below etc" (priority ERROR).
ALERT = re.compile(r"^\d\d:\d\d:\d\d\.\d{9}: Error File below /etc opened "
                   r"for writing \(user=root command=sh -c echo x > "
                   + re.escape(TARGET) + r" process=sh .*file="
                   + re.escape(TARGET))
# The seed's example line, from the article's write_etc rule.
SEED = re.compile(r"^\d\d:\d\d:\d\d\.\d{9}: Warning File below /etc opened "
                  r"for writing \(user=root command=sh -c echo x > "
                  + re.escape(TARGET) + r" file=" + re.escape(TARGET)
                  + r"\)$")


def _writable_etc(stack: list[list[str]], workdir: Path) -> None:
    try:
        with open(TARGET, "w"):
            pass
        os.unlink(TARGET)
        return
    except OSError:
        pass
    ovl = workdir / "ovl"
    ovl.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "falco-cli", str(ovl)], check=True)
    (ovl / "upper").mkdir()
    (ovl / "work").mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir=/etc,upperdir={ovl}/upper,workdir={ovl}/work",
                    "/etc"], check=True)
    stack += [["umount", "-l", "/etc"], ["umount", "-l", str(ovl)]]


def _metrics(proc: subprocess.Popen[str]) -> str:
    """/healthz then /metrics of the running falco (port from its log)."""
    import json
    import urllib.request
    port = None
    end = time.monotonic() + 60
    seen = ""
    while port is None and time.monotonic() < end:
        seen += proc.stderr.readline()
        m = re.search(r"Webserver listening on 127\.0\.0\.1:(\d+)", seen)
        port = int(m.group(1)) if m else None
    assert port, seen
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(base + "/healthz", timeout=30) as r:
        assert json.loads(r.read()) == {"status": "ok"}
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        return r.read().decode()


def test_live_write_below_etc_and_summary_on_ctrl_c() -> None:
    undo: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="falco-cli-") as d:
        work = Path(d)
        cfg = work / "falco.yaml"
        cfg.write_text("stdout_output: {enabled: true}\n"
                       "syslog_output: {enabled: false}\nlog_syslog: false\n"
                       "webserver: {enabled: true, listen_address: "
                       "127.0.0.1, listen_port: 0}\n"
                       "watch_config_files: false\n")
        try:
            _writable_etc(undo, work)
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            proc = subprocess.Popen(
                [sys.executable, "-m", "falco", "-c", str(cfg), "-r",
                 str(ROOT / "rules" / "falco_rules.yaml"),
                 "-r", str(ROOT / "tests" / "data" / "article_rules.yaml"),
                 "-o", "rule_matching=all",
                 "-o", "engine.kmod.buf_size_preset=5"], cwd=ROOT,
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            lines: list[str] = []
            reader = threading.Thread(
                target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                daemon=True)
            reader.start()
            found = None
            end = time.monotonic() + 300
            while found is None and time.monotonic() < end:
                assert proc.poll() is None, proc.stderr.read()
                subprocess.run(["sh", "-c", f"echo x > {TARGET}"],
                               check=True)
                time.sleep(1)
                found = next((ln for ln in list(lines)
                              if ALERT.search(ln)), None)
                seed = next((ln for ln in list(lines)
                             if SEED.search(ln)), None)
                found = found if seed else None
            ring_bytes = Path("/sys/module/falco_probe/parameters/"
                              "buffer_bytes").read_text().strip()
            metrics = _metrics(proc)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(120)
            reader.join(30)
            err = proc.stderr.read()
        finally:
            for cmd in undo:
                subprocess.run(cmd, check=False)
    assert found is not None, "".join(lines[-20:]) + err
    assert ring_bytes == str(16 << 20)      # buf_size_preset 5 = 16 MiB
    kernel_events = re.search(r"^falco_kernel_events_total (\d+)$",
                              metrics, re.M)
    assert kernel_events and int(kernel_events.group(1)) > 0, metrics
    assert re.search(r'^falco_rules_matches_total\{rule="Write below etc"\}'
                     r" \d+$", metrics, re.M), metrics
    assert code == 0, err
    out = "".join(lines)
    m = re.search(r"^Events detected: (\d+)\nRule counts by severity:\n"
                  r"((?:   \w+: \d+\n)+)Triggered rules by rule name:\n"
                  r"((?:   .+: \d+\n)+)\Z", out, re.M)
    assert m, out[-2000:]
    assert int(m.group(1)) >= 1
    assert re.search(r"^   Write below etc: \d+$", m.group(3), re.M)
    assert re.search(r"^   write_etc: \d+$", m.group(3), re.M)
    assert re.search(r"^   Warning: [1-9]\d*$", m.group(2), re.M)
