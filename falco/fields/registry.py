# SPDX-License-Identifier: Apache-2.0
"""The field registry: the contract between the state layer and the filter.

A field is a name such as ``proc.name`` or ``fd.sip``, a type used for type
checking at compile time, a description shown by ``falco --list`` and an
extractor that reads one value from an event context.

Extractor contract: ``extract(ctx, arg)`` where ``ctx`` is the state layer's
event context (see ``falco.state``) and ``arg`` is the bracket or dotted
argument (``proc.aname[2]`` -> ``"2"``, ``evt.arg.name`` -> ``"name"``) or
None. It returns the value, or None when the value is missing (printed as
``<NA>``). A field with ``multi=True`` returns a tuple of values.

A field whose checks are not "extract, then compare" (``evt.around``,
``fd.sip.name = <host name>``) has a ``compare`` hook (``Comparator``).

A field that cannot be computed here is registered with ``unavailable``
set to the reason (and the :func:`unavailable` extractor): it stays in the
registry so that rules using it still load, and the rules compiler warns
(``LOAD_UNAVAILABLE_FIELD``) naming the rule, the field and the reason.
"""
from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping


class FieldType(enum.Enum):
    STRING = "string"
    INT = "int"            # signed or unsigned integer
    BOOL = "bool"
    IPADDR = "ipaddr"      # IPv4/IPv6 address; compares against CIDR too
    IPNET = "ipnet"        # network; compared with CIDR
    PORT = "port"
    PATH = "path"          # a string that pmatch/glob treat as a path
    BYTES = "bytes"        # bcontains/bstartswith
    ABSTIME = "abstime"    # ns since epoch
    RELTIME = "reltime"    # ns duration
    CHARBUF_LIST = "list"  # several strings (e.g. fd.types)


class IntKind(enum.Enum):
    """Width and sign of a numeric field's value (Falco's PT_INT16 ..
    PT_UINT64): how a literal compared with the field is read. A negative
    literal against an unsigned field is its two's complement
    (``user.uid = -1`` is 4294967295, as Falco); a literal that does not
    fit the width is refused (Falco truncates it silently)."""
    INT16 = (16, True)
    INT32 = (32, True)
    INT64 = (64, True)
    UINT16 = (16, False)
    UINT32 = (32, False)
    UINT64 = (64, False)

    @property
    def bits(self) -> int:
        return self.value[0]

    @property
    def signed(self) -> bool:
        return self.value[1]


# The kind of a numeric field that does not name one.
_DEFAULT_KINDS: Mapping[FieldType, IntKind] = MappingProxyType({
    FieldType.INT: IntKind.INT64, FieldType.PORT: IntKind.UINT16,
    FieldType.ABSTIME: IntKind.UINT64, FieldType.RELTIME: IntKind.UINT64})


class ArgMode(enum.Enum):
    NONE = "none"            # no argument allowed
    OPTIONAL = "optional"    # proc.aname and proc.aname[2]
    REQUIRED = "required"    # evt.arg[...], proc.aenv[HOME]


Extractor = Callable[[Any, "str | None"], Any]
# A check the field makes itself instead of comparing an extracted value:
# compare(op, values, arg) -> predicate over an event context, or None to
# compare the extracted value as usual. It runs when a condition is
# compiled (values: the right-hand side's texts) and raises ValueError for
# an operator or value it refuses.
Comparator = Callable[[str, "tuple[str, ...]", "str | None"],
                      "Callable[[Any], bool] | None"]


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type: FieldType
    desc: str
    extract: Extractor
    arg: ArgMode = ArgMode.NONE
    multi: bool = False
    # Event names the field is meaningful for, or None for every event.
    evttypes: frozenset[str] | None = None
    # True when the field is deprecated or kept only for old rules.
    deprecated: bool = False
    # Why this field has no value here, or None when it is computed.
    unavailable: str | None = None
    compare: Comparator | None = None
    # Width and sign of a numeric field when not the type's default
    # (int: INT64; port: UINT16; abstime, reltime: UINT64).
    int_kind: IntKind | None = None

    @property
    def field_class(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def kind(self) -> IntKind | None:
        """Width and sign of a numeric field; None for other types."""
        if self.int_kind is not None:
            return self.int_kind
        return _DEFAULT_KINDS.get(self.type)


def unavailable(_ctx: Any, _arg: str | None) -> None:
    """The extractor of every field declared ``unavailable``."""
    return None


class UnknownFieldError(KeyError):
    """Raised by lookup; carries suggestions for "did you mean"."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        hint = ""
        if self.suggestions:
            hint = "; did you mean " + " or ".join(
                f"'{s}'" for s in self.suggestions) + "?"
        return f"unknown field '{self.name}'{hint}"


@dataclass(slots=True)
class FieldRegistry:
    """Fields by name. Build one per engine; nothing here is global."""

    _fields: dict[str, FieldDef] = field(default_factory=dict)

    def register(self, fdef: FieldDef) -> None:
        if fdef.name in self._fields:
            raise ValueError(f"field {fdef.name} registered twice")
        if fdef.unavailable is not None and (
                not fdef.unavailable.strip()
                or fdef.extract is not unavailable):
            raise ValueError(f"field {fdef.name}: an unavailable field "
                             "needs a reason and the unavailable extractor")
        if fdef.int_kind is not None and fdef.type not in _DEFAULT_KINDS:
            raise ValueError(f"field {fdef.name}: a width and sign for a "
                             f"{fdef.type.value} field")
        self._fields[fdef.name] = fdef

    def register_all(self, fdefs: Iterable[FieldDef]) -> None:
        for fdef in fdefs:
            self.register(fdef)

    def resolve(self, name: str) -> tuple[FieldDef, str | None]:
        """Split ``name`` into a known field and its dotted argument.

        ``evt.arg.name`` -> (evt.arg, "name"); ``proc.name`` -> (proc.name,
        None). The longest registered prefix wins.
        """
        fdef = self._fields.get(name)
        if fdef is not None:
            return fdef, None
        parts = name.split(".")
        for cut in range(len(parts) - 1, 1, -1):
            prefix = ".".join(parts[:cut])
            fdef = self._fields.get(prefix)
            if fdef is not None and fdef.arg is not ArgMode.NONE:
                return fdef, ".".join(parts[cut:])
        raise UnknownFieldError(name, self.suggest(name))

    def lookup(self, name: str) -> FieldDef:
        return self.resolve(name)[0]

    def __contains__(self, name: str) -> bool:
        try:
            self.resolve(name)
        except UnknownFieldError:
            return False
        return True

    def suggest(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, list(self._fields), n=3,
                                         cutoff=0.75)

    def __iter__(self) -> Iterator[FieldDef]:
        return iter(self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)
