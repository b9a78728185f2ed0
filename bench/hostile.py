#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/hostile: how long falco takes on hostile rules and configuration.

Runs each case of tests/support/hostile.py (a backtracking regex meeting
its worst input, 22 doubling macros, chains and doublings of lists, a
list nested 40000 deep, a YAML alias bomb in falco.yaml, SIGTERM into a
busy replay) as a real ``python -m falco`` process, with a time limit
(default 10 s). Prints, per case: how the process ended (exit code,
signal, or still running at the limit), the time it took (a Python start
is about 1.3 s of it), the alerts or the first error line and, when it
was still running at the limit, how long SIGTERM took to stop it (SIGKILL
after 5 more seconds).

Then the crafted capture (9 hostile file names and command lines, one
alert each) through every output of a real falco, stdout under
LANG=C.UTF-8: per output, the lines (or entries) received, how many of
them are forged (start like an alert but are not one) and, for JSON, how
many are valid UTF-8 JSON.

Then the cost of the control-character rule: the default rules replayed
over 300000 opens of a library, with and without its section (process
CPU time per event).

Then the web server: a real falco with the web server on (TLS and plain),
/healthz timed while 5 idle TLS connections (no ClientHello) and 50 idle
plain ones (25 silent, 25 with half a request) are held, and the
process's thread count.

``--tree DIR`` runs another checkout (e.g. an older commit exported with
``git archive``), so the same run prints before and after figures:

    python3 bench/hostile.py --tree /tmp/before --tree .

Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.cli import CAT_WRITE, SINGLE_RULE, scap_blocks  # noqa: E402
from support.hostile import Case, cases, idle_connections, \
    make_certificate, prepare, time_healthz, \
    write_busy_capture  # noqa: E402


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run_case(tree: Path, case: Case, limit: float) -> str:
    """How the run ended; times are wall clock and the child's CPU time
    (the machine may be busy: CPU time is the comparable figure)."""
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        args = prepare(case, Path(tmp))
        env = dict(os.environ, PYTHONPATH=str(tree))
        env.pop("NOTIFY_SOCKET", None)
        cpu0 = _children_cpu()
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "falco", *args],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=tree)
        try:
            out, err = proc.communicate(timeout=case.term_after or limit)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            try:
                out, err = proc.communicate(timeout=5)
                stop = f"SIGTERM stopped it in {time.monotonic() - sent:.2f} s"
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                stop = "SIGTERM did not stop it in 5 s (killed)"
            alerts = out.count(b": Warning ")
            return (f"still running at {case.term_after or limit:.0f} s; "
                    f"{stop}; {alerts} alerts printed; cpu "
                    f"{_children_cpu() - cpu0:.2f} s")
        took = time.monotonic() - start
        code = proc.returncode
        how = (f"killed by signal {-code}" if code < 0
               else f"exit {code}")
        errors = [ln for ln in err.decode(errors="replace").splitlines()
                  if "rror" in ln]
        first = errors[0][:150] if errors else \
            f"{out.count(b': Warning ')} alerts"
        return (f"{how} after {took:.2f} s (cpu {_children_cpu() - cpu0:.2f}"
                f" s)  {first}")


def crafted_outputs(tree: Path, json_output: bool) -> str:
    """The crafted capture through stdout, file, program, syslog, journald
    and HTTP; what each output received."""
    import json
    import socket
    import uuid
    from support.hostile import HOSTILE_NAMES, OPEN_RULES, \
        write_open_capture
    from support.sinks import http_listener, journal_entries, \
        journald_available, journald_running
    ident = f"falco-bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="hostile-out-") as tmp, \
            http_listener() as http:
        base = Path(tmp)
        write_open_capture(base / "h.scap", list(HOSTILE_NAMES.values()))
        (base / "rules.yaml").write_text(OPEN_RULES)
        log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        log.bind(str(base / "log"))
        log.setblocking(False)
        journald = journald_available()
        (base / "falco.yaml").write_text(json.dumps({
            "json_output": json_output, "log_syslog": False,
            "webserver": {"enabled": False}, "watch_config_files": False,
            "stdout_output": {"enabled": True},
            "file_output": {"enabled": True,
                            "filename": str(base / "file.txt")},
            "program_output": {"enabled": True, "keep_alive": True,
                               "program": f"cat >> {base}/program.txt"},
            "syslog_output": {"enabled": True, "path": str(base / "log"),
                              "identifier": ident},
            "journald_output": {"enabled": journald, "identifier": ident},
            "http_output": {"enabled": True, "url":
                            f"http://127.0.0.1:{http.server_port}/"}}))
        env = dict(os.environ, PYTHONPATH=str(tree), LANG="C.UTF-8",
                   LC_ALL="C.UTF-8")
        ctx = journald_running() if journald else None
        if ctx is not None:
            ctx.__enter__()
        try:
            res = subprocess.run(
                [sys.executable, "-m", "falco", "-c", str(base / "falco.yaml"),
                 "-r", str(base / "rules.yaml"), "-e", str(base / "h.scap")],
                env=env, cwd=tree, capture_output=True, timeout=300)
            time.sleep(2)
            got: dict[str, list[bytes]] = {
                "stdout": [ln for ln in res.stdout.splitlines()
                           if not ln.startswith((b"Events detected",
                                                 b"Rule counts", b"   ",
                                                 b"Triggered", b"Syscall"))],
                "file": _lines(base / "file.txt"),
                "program": _lines(base / "program.txt")}
            datagrams = []
            while True:
                try:
                    datagrams.append(log.recv(65536))
                except BlockingIOError:
                    break
            got["syslog"] = [ln for d in datagrams
                             for ln in d.split(b": ", 1)[1].splitlines()]
            if journald:
                entries = journal_entries(ident)
                got["journald"] = [
                    e["MESSAGE"].encode() if isinstance(e["MESSAGE"], str)
                    else b"<blob>" for e in entries]
            got["http"] = list(http.bodies)
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
            log.close()
    out = []
    for name, lines in got.items():
        forged = sum(ln.startswith(b"00:00:00.000000000: Critical")
                     for ln in lines)
        part = f"{name} {len(lines)} lines"
        if forged:
            part += f" ({forged} forged)"
        if json_output or name == "http":
            valid = 0
            for ln in lines:
                try:
                    json.loads(ln.decode("utf-8"))
                    valid += 1
                except (UnicodeDecodeError, ValueError):
                    pass
            part += f", {valid} valid JSON"
        if b"<blob>" in lines:
            part += f", {lines.count(b'<blob>')} shown as blob"
        out.append(part)
    return f"{len(HOSTILE_NAMES)} alerts raised: " + "; ".join(out)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def rule_cost(tree: Path, events: int = 300_000) -> str:
    """CPU time per event of the default rules on plain opens, with and
    without the control-character section."""
    rules = (tree / "rules" / "falco_rules.yaml").read_text()
    marker = "# Hostile input: names and command lines"
    cut = rules.find(marker)
    out = []
    with tempfile.TemporaryDirectory(prefix="hostile-cost-") as tmp:
        base = Path(tmp)
        write_busy_capture(base / "opens.scap", events,
                           name="/usr/lib/x86_64-linux-gnu/libc.so.6")
        variants = [("with", rules)]
        if cut >= 0:
            start = rules.rfind("# ----", 0, cut)
            variants.append(("without", rules[:start]))
        for label, text in variants:
            (base / "rules.yaml").write_text(text)
            (base / "falco.yaml").write_text(
                "stdout_output: {enabled: false}\nsyslog_output: {enabled:"
                " false}\nlog_syslog: false\nwebserver: {enabled: false}\n"
                "watch_config_files: false\n")
            env = dict(os.environ, PYTHONPATH=str(tree))
            cpu0 = _children_cpu()
            subprocess.run([sys.executable, "-m", "falco", "-c",
                            str(base / "falco.yaml"), "-r",
                            str(base / "rules.yaml"), "-e",
                            str(base / "opens.scap")], env=env, cwd=tree,
                           capture_output=True, check=True)
            took = _children_cpu() - cpu0
            out.append(f"{label} the section: {took:.2f} s CPU, "
                       f"{took / events * 1e6:.2f} us/event")
    return "; ".join(out)


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def web_case(tree: Path, tls: bool) -> str:
    """/healthz under idle clients, against a real falco of ``tree``."""
    with tempfile.TemporaryDirectory(prefix="hostile-web-") as tmp:
        base = Path(tmp)
        pem, ca = make_certificate(base)
        fifo = base / "live.scap"
        os.mkfifo(fifo)
        cfg = base / "falco.yaml"
        cfg.write_text(
            "stdout_output: {enabled: false}\nsyslog_output: {enabled: "
            "false}\nlog_syslog: false\nwatch_config_files: false\n"
            "webserver: {enabled: true, listen_address: 127.0.0.1, "
            f"listen_port: 0, ssl_enabled: {str(tls).lower()}, "
            f"ssl_certificate: {pem}}}\n")
        env = dict(os.environ, PYTHONPATH=str(tree))
        proc = subprocess.Popen(
            [sys.executable, "-m", "falco", "-c", str(cfg), "-r",
             str(SINGLE_RULE), "-e", str(fifo)], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env, cwd=tree)
        idle: list[object] = []
        try:
            header, events = scap_blocks(CAT_WRITE)
            with open(fifo, "wb", buffering=0) as writer:
                writer.write(header + events[0])    # then nothing
                assert proc.stderr is not None
                port = 0
                for raw in proc.stderr:
                    if b"Webserver listening" in raw:
                        port = int(raw.rsplit(b":", 1)[1])
                        break
                threads = _threads(proc.pid)
                idle = idle_connections(port, 5)
                idle += idle_connections(port, 25)
                idle += idle_connections(port, 25,
                                         b"GET /healthz HTTP/1.1\r\n")
                took, answer = time_healthz(port, ca if tls else None)
                after = _threads(proc.pid)
        finally:
            for sock in idle:
                sock.close()        # type: ignore[attr-defined]
            proc.kill()
            proc.wait()
    return (f"/healthz {answer} in {took:.3f} s with {len(idle)} idle "
            f"clients connected (of 55 tried); threads {threads} -> {after}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", type=Path,
                    help="checkout to run (repeatable; default this one)")
    ap.add_argument("--limit", type=float, default=10.0,
                    help="seconds before SIGTERM (default 10)")
    opts = ap.parse_args()
    trees = opts.tree or [ROOT]
    for case in cases():
        print(f"{case.name}:")
        for tree in trees:
            print(f"  {tree}: {run_case(tree.resolve(), case, opts.limit)}",
                  flush=True)
    for json_output in (False, True):
        print(f"crafted capture, {'JSON' if json_output else 'text'} "
              "output, stdout under LANG=C.UTF-8:")
        for tree in trees:
            print(f"  {tree}: {crafted_outputs(tree.resolve(), json_output)}",
                  flush=True)
    print(f"control-character rule on {300_000} plain opens:")
    for tree in trees:
        print(f"  {tree}: {rule_cost(tree.resolve())}", flush=True)
    for tls in (True, False):
        print(f"web server ({'TLS' if tls else 'plain'}), 5 idle TLS + 50 "
              "idle plain clients:")
        for tree in trees:
            print(f"  {tree}: {web_case(tree.resolve(), tls)}", flush=True)


if __name__ == "__main__":
    main()
