# SPDX-License-Identifier: Apache-2.0
"""What ``falco`` does once its arguments are parsed.

Order: configuration, logging, the informational commands (--list, -V,
-L, -l), rules, --dry-run, then the run itself: outputs, source, engine,
web server, signals, sd_notify; at the end the summary. Every error found
before the run starts is raised as a FalcoError and printed by the CLI.
"""
from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from falco import __version__
from falco.app import append_output
from falco.app.append_output import AppendOutput
from falco.app import interest
from falco.app.backend import (OpenedSource, event_names, open_source,
                               start_container_engines, versions)
from falco.app.drops import DropMonitor, cpu_report
from falco.app.lifecycle import (FileWatcher, PidFile, Services, Signals,
                                Watchdog, daemonize, sd_notify,
                                watchdog_interval)
from falco.app.listings import (describe_rule, expand_rules_paths,
                                list_fields, validate_files)
from falco.app.logs import setup_logging
from falco.app.metrics import Metrics
from falco.app.outputs_setup import build_outputs, outputs_changed
from falco.app.recording import CaptureRecorder
from falco.app.router import OutputRouter
from falco.app.webserver import WebServer
from falco.config import Config, load_config
from falco.engine.alert import default_hostname
from falco.engine.loop import Engine, ExtraFormat
from falco.errors import ConfigError, FalcoError, RuleLoadError
from falco.events.event import Event
from falco.fields import default_registry
from falco.fields.registry import FieldRegistry
from falco.outputs import OutputManager
from falco.prefilter.analysis import Analysis
from falco.rules import RuleSet, load_rules

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "/etc/falco/falco.yaml"
CONTAINER_FORMAT = "container_id=%container.id container_name=%container.name"
# Objects allocated between two young garbage collections while events flow
# (Python's default: 700). Per-event objects die by reference counting; with
# the default, whole batches of events are scanned and promoted over and
# over, about a tenth of a replay's time.
EVENT_LOOP_GC_THRESHOLD = 10_000
# Seconds the outputs get to drain after SIGINT/SIGTERM (or -M): the whole
# stop stays under 5 s even with an output that hangs.
STOP_DRAIN_BUDGET = 3.0


@dataclass(slots=True)
class Options:
    config_file: str | None = None
    overrides: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    capture: str | None = None
    duration: float | None = None
    list_rules: bool = False
    describe: str | None = None
    list_fields: str | None = None
    validate: list[str] = field(default_factory=list)
    unbuffered: bool = False
    print_format: str | None = None
    daemon: bool = False
    pidfile: str | None = None
    all_events: bool = False
    disable_tags: list[str] = field(default_factory=list)
    run_tags: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    dry_run: bool = False
    verbose: bool = False
    modern_bpf: bool = False
    prefilter_info: bool = False


@dataclass(slots=True)
class App:
    opts: Options
    config: Config = field(default_factory=Config)
    registry: FieldRegistry = field(default_factory=default_registry)
    engine: Engine | None = None
    router: OutputRouter | None = None
    opened: OpenedSource | None = None
    explicit: frozenset[str] = frozenset()
    # what the rules need (event set, state, prefilter) and the
    # append_output/-p entries it accounts for
    analysis: Analysis | None = None
    appends: list[AppendOutput] = field(default_factory=list)
    # the rule set interesting() analysed, until set_interesting() uses it
    _analysed: RuleSet | None = None
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)
    _watcher: FileWatcher | None = None

    # -- loading -------------------------------------------------------
    def load_config(self) -> Config:
        path = self.opts.config_file
        if path is None and Path(DEFAULT_CONFIG).is_file():
            path = DEFAULT_CONFIG
        loaded = load_config(path, self.opts.overrides)
        for warning in loaded.warnings:
            log.warning("%s", warning)
        self.explicit = loaded.explicit
        if self.opts.modern_bpf:
            loaded.config.engine.kind = "modern_ebpf"
        return loaded.config

    def rules_files(self, config: Config) -> list[str]:
        if self.opts.rules:
            return expand_rules_paths(self.opts.rules, explicit=True)
        return expand_rules_paths(config.rules_files, explicit=False)

    def load_rules(self, config: Config) -> RuleSet:
        """Load, then select: the ``rules:`` enable/disable entries of the
        configuration in order, then -D/-T/-t and the minimum priority."""
        files = self.rules_files(config)
        if not files:
            raise RuleLoadError("no rules files to load (use -r FILE or "
                                "rules_files in the configuration)")
        for path in files:
            log.info("Loading rules from file %s", path)
        ruleset = load_rules(files, self.registry,
                             all_evttypes=event_names())
        for warning in ruleset.warnings:
            log.warning("%s", warning)
        for item in config.rules:
            for action, sel in item.items():
                ruleset.set_enabled(
                    action == "enable", name=sel.get("rule"),
                    tags=[sel["tag"]] if "tag" in sel else None)
        try:
            ruleset.select(disabled=self.opts.disabled,
                           disabled_tags=self.opts.disable_tags,
                           enabled_tags=self.opts.run_tags,
                           min_priority=config.priority)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return ruleset

    # -- entry point ---------------------------------------------------
    def main(self) -> int:
        self.config = config = self.load_config()
        setup_logging(stderr=config.log_stderr, syslog=config.log_syslog,
                      level=config.log_level,
                      iso=config.time_format_iso_8601,
                      syslog_path=config.syslog_output.path)
        log.info("Falco version: %s", __version__)
        if config.source_path:
            log.info("Falco initialized with configuration file %s",
                     config.source_path)
        if self.opts.list_fields is not None:
            return list_fields(self.registry, self.opts.list_fields)
        if self.opts.validate:
            return validate_files(self.registry, self.opts.validate)
        ruleset = self.load_rules(config)
        if self.opts.list_rules or self.opts.describe:
            return describe_rule(ruleset, self.opts.describe)
        extra = self.extra_output(config)
        if self.opts.prefilter_info:
            interest.report(self.analyze(ruleset, config), print)
            return 0
        if self.opts.dry_run:
            log.info("Dry run: configuration and rules are valid")
            return 0
        return self.run(ruleset, extra)

    def extra_output(self, config: Config) -> ExtraFormat | None:
        """append_output entries and -p, as one (rule, ctx) callable."""
        fmt = self.opts.print_format
        if fmt in ("c", "container", "k", "kubernetes"):
            fmt = CONTAINER_FORMAT
        entries = append_output.build(config.append_output, fmt,
                                      self.registry)
        self.appends = entries
        return append_output.combine(entries)

    def analyze(self, ruleset: RuleSet, config: Config) -> Analysis:
        """What the enabled rules need (falco.prefilter)."""
        return interest.analyze_rules(
            ruleset, self.registry,
            interest.settings_from(config, self.opts.all_events),
            self.appends)

    # -- the run -------------------------------------------------------
    def run(self, ruleset: RuleSet, extra: ExtraFormat | None) -> int:
        config = self.config
        pidfile = PidFile(self.opts.pidfile) if self.opts.pidfile else None
        if self.opts.daemon:
            daemonize()
        if pidfile is not None:
            pidfile.write()
        opened = self.opened = open_source(config, self.opts.capture,
                                           self.interesting(ruleset))
        manager = build_outputs(config, unbuffered=self.opts.unbuffered)
        self.router = router = OutputRouter(manager)
        hostname = default_hostname()
        engine = self.engine = Engine(
            opened.inspector, ruleset, router, config.rule_matching,
            hostname, extra)
        if not opened.replay:
            engine.holds = start_container_engines(opened.inspector, config)
        self.set_interesting(ruleset)
        services = self.start_services(engine, router, hostname)
        started = time.monotonic()
        try:
            code = self.process_events(engine, services)
        finally:
            services.stop()
            opened.inspector.close()        # container runtime listeners
            opened.source.close()
            router.stop(STOP_DRAIN_BUDGET if engine.stopping else None)
            if pidfile is not None:
                pidfile.remove()
        self.print_summary(engine, services, time.monotonic() - started)
        return code

    def start_services(self, engine: Engine, router: OutputRouter,
                       hostname: str) -> Services:
        """What runs beside the engine: drop monitor, capture recorder,
        web server, signal handlers, -M timer, watched files, watchdog."""
        config, services = self.config, Services()
        assert self.opened is not None
        if config.syscall_event_drops.actions:
            sed = config.syscall_event_drops
            services.drops = DropMonitor(
                tuple(sed.actions), sed.threshold, sed.rate, sed.max_burst,
                sed.simulate_drops, self.opened.stats, router, engine.stop,
                hostname)
        if config.capture.enabled:
            services.recorder = CaptureRecorder(
                config.capture.path_prefix, config.capture.mode,
                config.capture.default_duration, inspector=engine.inspector)
            engine.on_match = services.recorder.on_match
        engine.on_event = chain(
            services.drops.on_event if services.drops else None,
            services.recorder.on_event if services.recorder else None)
        services.web = self.start_webserver(engine, router, services.drops)
        services.signals = Signals(engine.interrupt, self.request_reload,
                                   self.reopen, engine.interrupt)
        services.signals.install()
        if self.opts.duration is not None:       # -M
            signal.setitimer(signal.ITIMER_REAL,
                             max(self.opts.duration, 0.001))
        if config.watch_config_files:
            self._watcher = FileWatcher(
                self.watched(config), self.request_reload)
            self._watcher.start()
        services.watcher = self._watcher
        sd_notify("READY=1")
        interval = watchdog_interval()
        if interval:
            services.watchdog = Watchdog(
                interval, alive=lambda: not engine.stopping)
            services.watchdog.start()
        return services

    def start_webserver(self, engine: Engine, router: OutputRouter,
                        drops: DropMonitor | None) -> WebServer | None:
        """As in Falco, a capture replay runs no web server, unless the
        configuration asks for one in so many words."""
        ws = self.config.webserver
        assert self.opened is not None
        if not ws.enabled or (self.opened.replay
                              and "webserver.enabled" not in self.explicit):
            return None
        web = WebServer(ws.listen_address, ws.listen_port,
                        Metrics(engine, router, drops,
                                self.opened.stats).collect,
                        versions, ws.k8s_healthz_endpoint,
                        ws.prometheus_metrics_enabled,
                        ws.ssl_certificate if ws.ssl_enabled else None,
                        ws.threadiness)
        try:
            web.start()
        except OSError as exc:
            log.error("webserver: cannot start on %s:%d: %s",
                      ws.listen_address, ws.listen_port, exc)
            return None
        log.info("Webserver listening on %s:%d", ws.listen_address,
                 web.bound_port)
        return web

    def process_events(self, engine: Engine, services: Services) -> int:
        log.info("Starting internal event processing")
        gc_thresholds = gc.get_threshold()
        gc.set_threshold(EVENT_LOOP_GC_THRESHOLD, *gc_thresholds[1:])
        assert self.opened is not None
        try:
            return engine.run(self.opened.source.batches())
        finally:
            gc.set_threshold(*gc_thresholds)
            sd_notify("STOPPING=1")

    def print_summary(self, engine: Engine, services: Services,
                      elapsed: float) -> None:
        try:
            sys.stdout.write(engine.stats.summary())
            sys.stdout.flush()
        except BrokenPipeError:         # falco ... | head
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if services.drops is not None:
            sys.stderr.write(services.drops.summary())
        if self.opened is not None and self.opened.stats is not None:
            sys.stderr.write(cpu_report(self.opened.stats()))
        if self.opts.verbose:
            events = engine.stats.events
            sys.stderr.write(f"Elapsed time: {elapsed:.3f}, Captured Events: "
                             f"{events}, {events / max(elapsed, 1e-9):.2f} "
                             "eps\n")
        assert self.router is not None
        for line in self.router.report():
            log.warning("%s", line)

    def set_interesting(self, ruleset: RuleSet) -> None:
        """The source delivers what the rules and the state they read
        need; the inspector looks up on demand what is left out."""
        opened = self.opened
        if opened is None:
            return
        # the analysis interesting() just made for opening the source
        analysis = self.analysis
        if analysis is None or self._analysed is not ruleset:
            analysis = self.analysis = self.analyze(ruleset, self.config)
        self._analysed = None
        if analysis.reason:
            log.info("prefilter and state on demand off: %s",
                     analysis.reason)
        interest.apply(opened, analysis)

    def interesting(self, ruleset: RuleSet) -> set[str] | None:
        """The event names the rules and the state they read need (None:
        every event); a live source opens with them, so the hooks for the
        others never run."""
        self.analysis = self.analyze(ruleset, self.config)
        self._analysed = ruleset
        names = self.analysis.event_names
        return None if names is None else set(names)

    def reinstall(self, ruleset: RuleSet, engine: Engine) -> None:
        """Reload: the union of the old and new prefilters until the engine
        runs the new rules, then the new one alone."""
        opened, old = self.opened, self.analysis
        new = self.analyze(ruleset, self.config)
        if opened is None or old is None:
            engine.swap_rules(ruleset)
            return
        opened.source.set_interesting(interest.union_names(old, new))
        interest.apply(opened, new, interest.union_program(old, new))
        opened.source.set_interesting(interest.union_names(old, new))
        since = 0 if opened.replay else interest.switch_time()

        def applied() -> None:
            self.analysis = new
            if not opened.replay:
                interest.apply(opened, new)
        engine.swap_rules(ruleset, since, applied)

    def watched(self, config: Config) -> list[str]:
        files = [config.source_path] if config.source_path else []
        return files + (self.opts.rules or list(config.rules_files))

    def reopen(self) -> None:
        """SIGUSR1: reopen the file outputs (log rotation)."""
        if self.router is not None:
            log.info("SIGUSR1 received, reopening outputs")
            self.router.reopen()

    # -- reload (SIGHUP, watch_config_files) ----------------------------
    def request_reload(self) -> None:
        threading.Thread(target=self.reload, name="reload",
                         daemon=True).start()

    def reload(self) -> bool:
        """Load config and rules again; keep the old ones on any error."""
        engine, router = self.engine, self.router
        if engine is None or router is None:
            return False
        with self._reload_lock:
            sd_notify("RELOADING=1")
            try:
                config = self.load_config()
                ruleset = self.load_rules(config)
                extra = self.extra_output(config)
                manager: OutputManager | None = None
                if outputs_changed(self.config, config):
                    manager = build_outputs(config,
                                            unbuffered=self.opts.unbuffered)
            except (FalcoError, RecursionError, MemoryError) as exc:
                # Hostile input is bounded before it can recurse or grow;
                # should a bound be missed, the old rules still run.
                log.error("Reload failed, keeping the running configuration "
                          "and rules: %s", exc or type(exc).__name__)
                sd_notify("READY=1")
                return False
            engine.rule_matching = config.rule_matching
            engine.extra_output = extra
            if manager is not None:
                router.swap(manager).stop()
            self.config = config
            setup_logging(stderr=config.log_stderr, syslog=config.log_syslog,
                          level=config.log_level,
                          iso=config.time_format_iso_8601,
                          syslog_path=config.syslog_output.path)
            self.reinstall(ruleset, engine)
            if self._watcher is not None:
                self._watcher.paths = self.watched(config)
            log.info("Configuration and rules reloaded")
            sd_notify("READY=1")
            return True


EventHook = Callable[[Event], None]


def chain(*hooks: EventHook | None) -> EventHook | None:
    """One per-event callback out of several (None if there are none)."""
    live = [h for h in hooks if h is not None]
    if len(live) <= 1:
        return live[0] if live else None

    def call(evt: Event) -> None:
        for hook in live:
            hook(evt)
    return call
