#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Output isolation benchmark: how long an alert takes to reach the file
output while another output is stalled (a blocked HTTP endpoint), and
with no other output, for comparison.

Sends N alerts (default 2000) through an ``OutputManager`` one at a time,
waiting for each line to be written, and prints the median, 99th
percentile and maximum delay in microseconds of both setups. The tests
only check the order (the file is complete while the other output still
stalls); this measures the delay.

    python3 bench/outputs.py [--alerts 2000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from falco.engine.alert import Alert  # noqa: E402
from falco.outputs import OutputManager  # noqa: E402
from falco.outputs.file import FileOutput  # noqa: E402
from falco.outputs.format import AlertFormatter  # noqa: E402
from falco.rules import Priority  # noqa: E402


class Stalled:
    """An output whose every delivery blocks until the end of the run."""

    name = "stalled"

    def __init__(self) -> None:
        self.release = threading.Event()

    def emit(self, alert: Alert, line: str) -> None:
        self.release.wait()

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass


class TimedFile(FileOutput):
    """The real file output, noting when each line was written."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.written: list[float] = []
        self.cond = threading.Condition()

    def emit(self, alert: Alert, line: str) -> None:
        FileOutput.emit(self, alert, line)
        with self.cond:
            self.written.append(time.perf_counter())
            self.cond.notify()


def run(alerts: int, stalled: bool) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="falco-bench-") as d:
        manager = OutputManager(AlertFormatter())
        blocker = Stalled()
        if stalled:
            manager.add(blocker)
        out = TimedFile(os.path.join(d, "events.txt"))
        manager.add(out)
        delays = []
        for i in range(alerts):
            alert = Alert(time=10**18 + i, rule="bench",
                          priority=Priority.WARNING, output=f"alert {i}")
            start = time.perf_counter()
            manager.send(alert)
            with out.cond:
                out.cond.wait_for(lambda: len(out.written) > i, timeout=30)
            delays.append(out.written[i] - start)
        blocker.release.set()
        manager.stop()
        return delays


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=2000)
    opts = ap.parse_args()
    for label, stalled in (("file alone", False),
                           ("file beside a stalled output", True)):
        us = sorted(d * 1e6 for d in run(opts.alerts, stalled))
        p99 = us[min(len(us) - 1, int(len(us) * 0.99))]
        print(f"{label:<32} median {statistics.median(us):8.1f} us  "
              f"p99 {p99:8.1f} us  max {us[-1]:8.1f} us  "
              f"({opts.alerts} alerts)")


if __name__ == "__main__":
    main()
