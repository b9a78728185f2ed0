# SPDX-License-Identifier: Apache-2.0
"""The counters ``/metrics`` serves (Prometheus text format)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from falco import __version__
from falco.app.drops import DropMonitor, read_per_cpu, read_stats
from falco.app.router import OutputRouter
from falco.app.webserver import Metric
from falco.driver.ring import SourceStats
from falco.engine.loop import Engine
from falco.rules.model import Priority


@dataclass(slots=True)
class Metrics:
    engine: Engine
    router: OutputRouter
    drops: DropMonitor | None
    source_stats: Callable[[], SourceStats] | None

    def collect(self) -> list[Metric]:
        stats = self.engine.stats
        manager = self.router.manager
        # totals and per CPU from one reading
        snap = self.source_stats() if self.source_stats is not None else None
        src = read_stats(self.source_stats, snap)
        per_cpu = read_per_cpu(snap)
        by_rule = [({"rule": name}, float(n))
                   for name, n in stats.by_rule.items()]
        by_prio = [({"priority": Priority(sev).label}, float(n))
                   for sev, n in sorted(stats.by_severity.items())]
        out_metrics: list[Metric] = [
            ("falco_outputs_queued_total", "Alerts queued per output",
             "counter", [({"output": w.name}, float(w.stats.queued))
                         for w in manager.workers]),
            ("falco_outputs_delivered_total", "Alerts delivered per output",
             "counter", [({"output": w.name}, float(w.stats.delivered))
                         for w in manager.workers]),
            ("falco_outputs_dropped_total",
             "Alerts dropped per output because its queue was full",
             "counter", [({"output": w.name}, float(w.stats.dropped))
                         for w in manager.workers]),
            ("falco_outputs_failed_total", "Alerts an output failed to send",
             "counter", [({"output": w.name}, float(w.stats.failed))
                         for w in manager.workers]),
        ]
        return [
            ("falco_info", "Falco build information", "gauge",
             [({"version": __version__}, 1.0)]),
            ("falco_events_processed_total", "Events processed by the engine",
             "counter", [({}, float(stats.events))]),
            ("falco_alerts_total", "Alerts raised", "counter",
             [({}, float(stats.detections))]),
            ("falco_rules_matches_total", "Alerts raised per rule",
             "counter", by_rule),
            ("falco_alerts_by_priority_total", "Alerts raised per priority",
             "counter", by_prio),
            ("falco_outputs_suppressed_total",
             "Alerts suppressed by outputs throttling", "counter",
             [({}, float(manager.suppressed))]),
            *out_metrics,
            ("falco_kernel_events_total", "Events seen by the driver",
             "counter", [({}, float(src.get("n_evts", 0)))]),
            ("falco_kernel_drops_total", "Events the driver dropped",
             "counter", [({}, float(src.get("n_drops", 0)))]),
            ("falco_kernel_filtered_total",
             "Events the kernel prefilter kept from falco", "counter",
             [({}, float(src.get("n_filtered", 0)))]),
            *[(f"falco_kernel_cpu_{key}_total", f"{what}, per CPU", "counter",
               [({"cpu": str(cpu)}, float(c[counter]))
                for cpu, c in sorted(per_cpu.items())])
              for key, counter, what in (
                  ("events", "n_evts", "Events seen by the driver"),
                  ("delivered", "delivered", "Events read from the driver"),
                  ("skipped", "skipped",
                   "Events read and skipped in C (no rule needs them)"),
                  ("filtered", "n_filtered",
                   "Events filtered in the kernel by the prefilter"),
                  ("drops", "n_drops", "Events the driver dropped"))],
            ("falco_syscall_event_drops_detected_total",
             "Seconds in which drops were detected", "counter",
             [({}, float(self.drops.detected if self.drops else 0))]),
            ("falco_reloads_total", "Configuration and rules reloads",
             "counter", [({}, float(stats.reloads))]),
            *self.engine.inspector.containers.metrics(),
        ]
