# SPDX-License-Identifier: Apache-2.0
"""Every parameter name a state parser asks for exists in some version of
the events that parser handles: a misspelt name would read as "parameter
absent" forever (pidfd_getfd once asked for "pidfd", which no event has)."""
from __future__ import annotations

import ast
import inspect
from types import ModuleType

import pytest

from falco.driver.schema import get_schema
from falco.state import parse_fd, parse_net, parse_proc


def _loop_values(tree: ast.AST) -> dict[str, list[str]]:
    """Loop variables bound to literal strings: ``for name in ("a", "b")``
    and ``for name, attr in (("a", "x"), ...)`` (the first element)."""
    bound: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.For) and isinstance(node.iter,
                                                         ast.Tuple)):
            continue
        target = node.target
        if isinstance(target, ast.Tuple):
            target = target.elts[0]
            items = [e.elts[0] for e in node.iter.elts
                     if isinstance(e, ast.Tuple)]
        else:
            items = node.iter.elts
        if isinstance(target, ast.Name):
            bound[target.id] = [e.value for e in items
                                if isinstance(e, ast.Constant)]
    return bound


def _asked_names(module: ModuleType) -> dict[str, int]:
    """Names passed to ctx.arg / ctx.int_arg, with their lines."""
    tree = ast.parse(inspect.getsource(module))
    bound = _loop_values(tree)
    names: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func,
                                                     ast.Attribute) \
                and node.func.attr in ("arg", "int_arg") and node.args:
            first = node.args[0]
            values = [first]
            if isinstance(first, ast.IfExp):
                values = [first.body, first.orelse]
            for v in values:
                if isinstance(v, ast.Name) and v.id in bound:
                    for name in bound[v.id]:
                        names.setdefault(name, node.lineno)
                    continue
                assert isinstance(v, ast.Constant) and \
                    isinstance(v.value, str), ast.dump(first)
                names.setdefault(v.value, node.lineno)
    return names


def _params_of(events: set[str]) -> set[str]:
    params: set[str] = set()
    for info in get_schema().events:
        if info.name in events:
            params.update(p.name for p in info.params)
    return params


@pytest.mark.parametrize("module,handled", [
    (parse_proc, set(parse_proc.PROC_EXIT_HANDLERS)
     | set(parse_proc.PROC_ENTER_HANDLERS)),
    (parse_fd, set(parse_fd.FD_EXIT_HANDLERS)),
    (parse_net, set(parse_net.NET_EXIT_HANDLERS)
     | set(parse_net.IO_EXIT_HANDLERS)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_parsers_ask_for_parameters_that_exist(module: ModuleType,
                                               handled: set[str]) -> None:
    asked = _asked_names(module)
    assert asked
    known = _params_of(handled)
    missing = {name: line for name, line in asked.items()
               if name not in known}
    assert missing == {}, f"{module.__name__}: no handled event has {missing}"
