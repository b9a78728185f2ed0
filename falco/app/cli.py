# SPDX-License-Identifier: Apache-2.0
"""``falco``: argument parsing and exit codes only (see falco.app.run)."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from falco.app.backend import versions
from falco.app.logs import setup_logging
from falco.app.run import App, Options
from falco.errors import FalcoError

EXIT_OK = 0
EXIT_ERROR = 1

EPILOG = """\
exit status:
  0  success: the run ended (capture replayed, -M elapsed, SIGINT/SIGTERM),
     or an informational command (--list, -L, -l, -V, --dry-run) succeeded
  1  invalid command line, configuration, -o override or rules file;
     -V found errors; syscall_event_drops action "exit" fired
  2  the event source cannot be opened: capture file missing or corrupt,
     kernel module not loaded, busy or of another version, BPF programs
     not loadable (no BTF, no privileges, rejected by the verifier)

signals: SIGINT/SIGTERM stop and print the summary, SIGHUP reloads the
configuration and rules (the old rules stay if the new ones are invalid),
SIGUSR1 reopens the file output (log rotation).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"Error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="falco", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Runtime security: check every system call "
                "against Falco rules and raise alerts.")
    add = p.add_argument
    add("-c", dest="config_file", metavar="FILE",
        help="configuration file (default /etc/falco/falco.yaml, or the "
        "built-in defaults when it does not exist)")
    add("-o", "--option", dest="overrides", action="append", default=[],
        metavar="KEY=VALUE", help="set a configuration key (dot path, "
        "list[N] index), type-checked; repeatable")
    add("-r", dest="rules", action="append", default=[], metavar="FILE",
        help="rules file or directory (repeatable); replaces rules_files")
    add("-e", dest="capture", metavar="CAPTURE",
        help="read events from a .scap/.scap.gz capture instead of the "
        "kernel module")
    add("-M", dest="duration", type=float, metavar="SECONDS",
        help="stop after SECONDS")
    add("-L", dest="list_rules", action="store_true",
        help="list the loaded rules with their descriptions and exit")
    add("-l", dest="describe", metavar="RULE",
        help="describe one rule and exit")
    add("--list", dest="list_fields", nargs="?", const="", metavar="SOURCE",
        help="list the fields usable in conditions and outputs and exit")
    add("-V", "--validate", dest="validate", action="append", default=[],
        metavar="FILE", help="validate a rules file and exit (repeatable)")
    add("-U", "--unbuffered", dest="unbuffered", action="store_true",
        help="flush every output after each alert")
    add("-p", "--print", dest="print_format", metavar="FORMAT",
        help="append FORMAT (fields as %%name) to every alert; -pc adds "
        "container information")
    add("-d", "--daemon", dest="daemon", action="store_true",
        help="run in the background")
    add("-P", "--pidfile", dest="pidfile", metavar="PIDFILE",
        help="write the process id to PIDFILE")
    add("-A", dest="all_events", action="store_true",
        help="monitor every event, including high-volume ones no rule "
        "needs")
    add("-T", dest="disable_tags", action="append", default=[],
        metavar="TAG", help="disable the rules with this tag (repeatable)")
    add("-t", dest="run_tags", action="append", default=[], metavar="TAG",
        help="only run the rules with this tag (repeatable)")
    add("-D", dest="disabled", action="append", default=[],
        metavar="SUBSTRING", help="disable the rules whose name contains "
        "SUBSTRING (plain text, case-sensitive; repeatable); cannot be "
        "combined with -t")
    add("--prefilter-info", dest="prefilter_info", action="store_true",
        help="print, for the loaded rules, the event set, the state each "
        "rule reads and the kernel prefilter of every event type, and "
        "exit")
    add("--dry-run", dest="dry_run", action="store_true",
        help="load configuration and rules, then exit without reading "
        "events")
    add("--modern-bpf", dest="modern_bpf", action="store_true",
        help="capture with the BPF programs (engine.kind=modern_ebpf): no "
        "kernel module, a kernel with BTF")
    add("-v", dest="verbose", action="store_true",
        help="print processing statistics at exit")
    add("--version", dest="version", action="store_true",
        help="print versions (tool, rules engine, driver API and schema)")
    return p


def version_text() -> str:
    v = versions()
    return (f"Falco version: {v['falco_version']}\n"
            f"Engine: {v['engine_version']}\n"
            "Driver:\n"
            f"  API version: {v['driver_api_version']}\n"
            f"  Schema version: {v['driver_schema_version']}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        sys.stdout.write(version_text())
        return EXIT_OK
    fields = vars(args)
    fields.pop("version")
    setup_logging()
    try:
        return App(Options(**fields)).main()
    except FalcoError as exc:
        sys.stdout.flush()
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
