# SPDX-License-Identifier: Apache-2.0
"""Lists expanded by reference, and cycles in the macro graph.

Falco substitutes lists into conditions in definition order: a list names
the lists defined before it (their items take its place), and an item
that names a list defined after the one holding it is that list's items
where the list is used. Both steps are done here without recursion and
without copying a list twice into one expansion, so a chain of lists of
any length, or lists that name the next one twice (2^n items if copied),
cost time linear in the file. Items appear once (lists are sets to every
operator that takes them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from falco.rules.infos import ListInfo


@dataclass(slots=True)
class ListTable:
    items: dict[str, list[str]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    _expanded: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def compile(cls, infos: Mapping[str, ListInfo]) -> "ListTable":
        """Each list with the items of the lists it names (defined before
        it, by their raw items, as Falco) in their place."""
        table = cls()
        for pos, info in enumerate(infos.values()):
            items: dict[str, None] = {}
            done: set[str] = set()
            for item in info.items:
                ref = infos.get(item)
                if ref is not None and ref.index < info.visibility:
                    if item not in done:
                        done.add(item)
                        items.update(dict.fromkeys(ref.items))
                    table.used.add(item)
                else:
                    items.setdefault(item)
            table.items[info.name] = list(items)
            table.order[info.name] = pos
        return table

    def expand(self, name: str) -> list[str] | None:
        """The items a use of list ``name`` in a condition stands for
        (None: not a list); computed once per list."""
        if name not in self.order:
            return None
        hit = self._expanded.get(name)
        if hit is not None:
            return hit
        out: dict[str, None] = {}
        opened = {name}
        self.used.add(name)
        stack = [(self.order[name], iter(self.items[name]))]
        while stack:
            pos, items = stack[-1]
            item = next(items, None)
            if item is None:
                stack.pop()
                continue
            sub = self.order.get(item)
            if sub is not None and sub > pos:
                if item not in opened:          # its items are there already
                    opened.add(item)
                    self.used.add(item)
                    stack.append((sub, iter(self.items[item])))
                continue
            out.setdefault(item)
        result = self._expanded[name] = list(out)
        return result


def in_cycles(graph: dict[str, list[str]]) -> set[str]:
    """The nodes of ``graph`` on a cycle (Tarjan's strongly connected
    components, iterative: a chain of any length needs no recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: set[str] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)

    for root in graph:
        if root in index:
            continue
        visit(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, kids = work[-1]
            kid = next(kids, None)
            if kid is not None:
                if kid not in graph:
                    continue
                if kid not in index:
                    visit(kid)
                    work.append((kid, iter(graph[kid])))
                elif kid in on_stack:
                    low[node] = min(low[node], index[kid])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1 or node in graph[node]:
                    out.update(comp)
    return out
