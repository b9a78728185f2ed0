# SPDX-License-Identifier: Apache-2.0
"""Falco rules files: loading, compiling, indexing and output formatting.

``load_rules(paths_or_texts, registry, all_evttypes=...)`` reads files in
order (later files override earlier ones), compiles every rule and returns
a :class:`RuleSet`. Errors refuse the whole set (``RulesError``, a
RuleLoadError listing all of them); with ``collect_errors=True`` the set is
returned with ``errors`` and ``warnings`` filled instead (``falco -V``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

from falco.fields.registry import FieldRegistry
from falco.filter.parser import FilterParser
from falco.rules.collector import Collector, ItemError
from falco.rules.compiler import RulesCompiler
from falco.rules.model import ENGINE_VERSION, CompiledRule, LoadMessage, \
    Priority, RulesError
from falco.rules.output import compile_output
from falco.rules.reader import Reader
from falco.rules.ruleset import RuleSet
from falco.rules.yamlsrc import Source, read_text_capped

RulesInput = Union[str, "os.PathLike[str]", Source, tuple[str, str]]

__all__ = ["CompiledRule", "ENGINE_VERSION", "LoadMessage", "Priority",
           "RuleSet", "RulesError", "Source", "compile_output",
           "load_rules", "read_sources"]


def read_sources(inputs: Iterable[RulesInput]) -> list[Source]:
    """Files (a directory means its ``*.yaml``/``*.yml`` files, sorted),
    ``(name, text)`` pairs, Sources, or rules text given as a string."""
    out: list[Source] = []
    for item in inputs:
        out.extend(_sources_of(item))
    return out


def _sources_of(item: RulesInput) -> list[Source]:
    """A one-line string is a path; raises OSError if unreadable."""
    if isinstance(item, Source):
        return [item]
    if isinstance(item, tuple):
        return [Source(item[0], item[1])]
    if isinstance(item, str) and "\n" in item:
        return [Source("<rules>", item)]
    path = Path(item)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.suffix in (".yaml", ".yml"))
    else:
        files = [path]
    return [Source(str(f), read_text_capped(f, "utf-8-sig", "replace"))
            for f in files]


def load_rules(paths_or_texts: Iterable[RulesInput], registry: FieldRegistry,
               *, all_evttypes: frozenset[str] | None = None,
               collect_errors: bool = False,
               parser: FilterParser | None = None) -> RuleSet:
    """Load and compile rules; see the module docstring."""
    col = Collector()
    for item in paths_or_texts:
        try:
            sources = _sources_of(item)
        except OSError as err:
            col.errors.append(LoadMessage(
                "LOAD_ERR_FILE_READ", f"cannot read rules file: "
                f"{err.strerror or err}", "rules content",
                str(getattr(err, "filename", "") or item)))
            continue
        for src in sources:
            try:
                Reader(col, src).read()
            except ItemError as err:
                col.errors.append(err.msg)
    rules: list[CompiledRule] = []
    if not col.errors:
        rules = RulesCompiler(col, registry, all_evttypes, parser).compile()
    if col.errors and not collect_errors:
        raise RulesError(list(col.errors), list(col.warnings))
    return RuleSet(rules if not col.errors else [], list(col.warnings),
                   list(col.errors))
