# SPDX-License-Identifier: Apache-2.0
"""Informational commands: ``--list`` (fields), ``-L`` and ``-l`` (rules),
and the rules files a run loads."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from falco.app.backend import event_names
from falco.errors import ConfigError, RuleLoadError
from falco.fields.registry import FieldRegistry
from falco.rules import LoadMessage, RuleSet, load_rules

log = logging.getLogger(__name__)


def list_fields(registry: FieldRegistry, source: str) -> int:
    """--list [SOURCE]: every field with its description, by class."""
    if source not in ("", "syscall"):
        raise ConfigError(f"unknown event source '{source}' for --list "
                          "(known: syscall)")
    out = sys.stdout
    current = None
    for fdef in sorted(registry, key=lambda f: (f.field_class, f.name)):
        if fdef.field_class != current:
            current = fdef.field_class
            out.write(f"\n-------------------------------\n"
                      f"Field Class: {current}\n\n")
        arg = {"optional": "[ARG]", "required": "[ARG]"}.get(
            fdef.arg.value, "")
        name = f"{fdef.name}{arg}"
        out.write(f"{name:<24} {fdef.desc}\n")
    out.flush()
    return 0


def describe_rule(ruleset: RuleSet, name: str | None) -> int:
    """-L (every rule) and -l RULE (one rule)."""
    rules = list(ruleset.rules)
    if name is not None:
        rules = [r for r in rules if r.name == name]
        if not rules:
            print(f"Error: rule '{name}' not found", file=sys.stderr)
            return 1
    out = sys.stdout
    out.write(f"{'Rule':<50} Description\n{'----':<50} -----------\n")
    for rule in rules:
        desc = " ".join(rule.desc.split())
        out.write(f"{rule.name:<50} {desc}\n")
        if name is not None:
            out.write(f"Priority: {rule.priority.label}\n")
            out.write(f"Tags: {', '.join(sorted(rule.tags))}\n")
            out.write(f"Condition: {rule.condition}\n")
            out.write(f"Output: {rule.output}\n")
    out.flush()
    return 0


def expand_rules_paths(paths: list[str], explicit: bool) -> list[str]:
    """Files to load, in order; directories give their *.yaml sorted."""
    files: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            files += sorted(str(f) for f in p.iterdir()
                            if f.suffix in (".yaml", ".yml") and f.is_file())
        elif p.is_file():
            files.append(path)
        elif explicit:
            raise RuleLoadError(f"rules file not found: {path}")
        else:
            log.warning("Skipping missing rules file/directory %s", path)
    return files


def validate_files(registry: FieldRegistry, args: list[str]) -> int:
    """-V A -V B: load the files together, in order (B may use A's
    macros and lists), and report each one as Ok or Invalid."""
    groups = [(arg, expand_rules_paths([arg], explicit=True))
              for arg in args]
    files = [f for _, group in groups for f in group]
    result = load_rules(files, registry, all_evttypes=event_names(),
                        collect_errors=True)

    def owner(msg: LoadMessage) -> str:
        path = msg.location.path if msg.location is not None else None
        return path if path in files else (files[-1] if files else "")

    status = 0
    for arg, group in groups:
        for warning in (w for w in result.warnings if owner(w) in group):
            print(f"{arg}: Warning: {warning}", file=sys.stderr)
        mine = [e for e in result.errors if owner(e) in group]
        if mine:
            status = 1
            print(f"{arg}: Invalid", flush=True)
            for err in mine:
                print(f"{err}", file=sys.stderr)
        else:
            print(f"{arg}: Ok", flush=True)
    return status
