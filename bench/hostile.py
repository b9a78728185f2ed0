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

from support.hostile import Case, cases, prepare  # noqa: E402


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


if __name__ == "__main__":
    main()
