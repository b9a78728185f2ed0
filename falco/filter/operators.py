# SPDX-License-Identifier: Apache-2.0
"""Comparison operators: typed constants and per-value test closures.

Everything that can be computed from the rule text is computed here once
(numbers parsed, sets built, regexes compiled, lower-case needles made),
so a test at run time is a couple of Python operations on the extracted
value.
"""
from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from types import MappingProxyType
from typing import Any, Callable, Mapping

from falco.fields.registry import FieldType, IntKind
from falco.filter.re2 import Regex, RegexError

Test = Callable[[Any], bool]

NUMERIC = frozenset({FieldType.INT, FieldType.PORT, FieldType.ABSTIME,
                     FieldType.RELTIME})
STRINGY = frozenset({FieldType.STRING, FieldType.PATH,
                     FieldType.CHARBUF_LIST})
_EQ_OPS = frozenset({"=", "==", "!=", "in", "intersects", "exists"})
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_STR_OPS = frozenset({"contains", "icontains", "startswith", "endswith",
                      "glob", "iglob", "regex", "pmatch"})

# As Falco's filter compiler: lists (fd.types) take only in, intersects and
# exists; bcontains/bstartswith are for byte buffers alone.
ALLOWED_OPS: Mapping[FieldType, frozenset[str]] = MappingProxyType({
    FieldType.STRING: _EQ_OPS | _ORDER_OPS | _STR_OPS,
    FieldType.PATH: _EQ_OPS | _ORDER_OPS | _STR_OPS,
    FieldType.CHARBUF_LIST: frozenset({"in", "intersects", "exists"}),
    FieldType.INT: _EQ_OPS | _ORDER_OPS,
    FieldType.PORT: _EQ_OPS | _ORDER_OPS,
    FieldType.ABSTIME: _EQ_OPS | _ORDER_OPS,
    FieldType.RELTIME: _EQ_OPS | _ORDER_OPS,
    FieldType.BOOL: _EQ_OPS,
    FieldType.IPADDR: _EQ_OPS,
    FieldType.IPNET: _EQ_OPS,
    FieldType.BYTES: _EQ_OPS | frozenset({"contains", "startswith",
                                          "endswith", "bcontains",
                                          "bstartswith"}),
})


class OperandError(ValueError):
    """A right-hand value does not fit the field's type or operator."""


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return to_str(value).encode("utf-8", "surrogateescape")


# A decimal integer as Falco reads one (scanf "%d"): leading blanks and a
# sign allowed; hex, octal prefixes, fractions, trailing text are not.
_DECIMAL = re.compile(r"[ \t\n\r\f\v]*[-+]?[0-9]+")
_HEX_BYTES = re.compile(r"(?:[0-9a-fA-F]{2})+")


def parse_number(text: str, kind: IntKind = IntKind.INT64) -> int:
    """A decimal literal as the field's value: a negative number against
    an unsigned field is its two's complement (as Falco); a number that
    does not fit the field's width is an error (Falco truncates it)."""
    if _DECIMAL.fullmatch(text) is None:
        raise OperandError(f"'{text}' is not a valid number")
    value = int(text)
    low = -(1 << (kind.bits - 1))
    high = (1 << (kind.bits - (1 if kind.signed else 0))) - 1
    if not low <= value <= high:
        raise OperandError(f"'{text}' does not fit a {kind.bits}-bit "
                           f"{'signed' if kind.signed else 'unsigned'} "
                           f"field ({low}..{high})")
    if value < 0 and not kind.signed:
        value += 1 << kind.bits
    return value


def parse_port(text: str) -> int:
    """Digits, a service name (``http``, from the services database, as
    Falco) or nothing (port 0). A number above 65535 is an error (Falco
    truncates it to 16 bits)."""
    if text.isdigit() and text.isascii():
        if int(text) > 0xFFFF:
            raise OperandError(f"'{text}' is not a valid port "
                               "(0..65535)")
        return int(text)
    if not text:
        return 0
    try:
        return socket.getservbyname(text)
    except OSError:
        raise OperandError(f"unrecognized protocol '{text}': neither a "
                           "port number nor a service name") from None


def parse_bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise OperandError(f"'{text}' is not a valid boolean (true or false)")


def parse_addr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address (the one-address network it is compared as)."""
    try:
        return ipaddress.ip_network(ipaddress.ip_address(text))
    except ValueError:
        raise OperandError(f"'{text}' is not a valid IP address") from None


def parse_net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A network written address/prefix (host bits are ignored)."""
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise OperandError(f"'{text}' is not a valid IP network "
                           "(address/prefix)") from None


def parse_hex(text: str) -> bytes:
    """bcontains/bstartswith: pairs of hex digits, nothing else."""
    if _HEX_BYTES.fullmatch(text) is None:
        raise OperandError(f"'{text}' is not a hex byte string (pairs of "
                           "hex digits, no spaces or 0x): bcontains and "
                           "bstartswith take hex strings only")
    return bytes.fromhex(text)


def convert(ftype: FieldType, op: str, text: str,
            kind: IntKind | None = None) -> Any:
    """Turn a literal into the constant compared against ``ftype`` (a
    number as the field's width and sign, ``kind``: 64-bit signed if
    None)."""
    if op in ("bcontains", "bstartswith"):
        return parse_hex(text)
    if ftype is FieldType.BYTES:
        return text.encode("utf-8", "surrogateescape")
    if "\0" in text:
        raise OperandError("a value cannot contain a NUL byte (\\x00)")
    if ftype is FieldType.PORT:
        return parse_port(text)
    if ftype in NUMERIC:
        return parse_number(text, kind or IntKind.INT64)
    if ftype is FieldType.BOOL:
        return parse_bool(text)
    if ftype is FieldType.IPADDR:
        return parse_addr(text)
    if ftype is FieldType.IPNET:
        return parse_net(text)
    return text


def _ip_of(value: Any) -> Any:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value.network_address
    try:
        return ipaddress.ip_address(to_str(value))
    except ValueError:
        try:
            return ipaddress.ip_network(to_str(value),
                                        strict=False).network_address
        except ValueError:
            return None


def _ip_test(nets: list[Any], negate: bool) -> Test:
    # per-check cache: value -> None (not an address), False/True (hit)
    seen: dict[Any, bool | None] = {}

    def test(value: Any) -> bool:
        if value in seen:
            hit = seen[value]
        else:
            ip = _ip_of(value)
            hit = None if ip is None else any(
                ip.version == n.version and ip in n for n in nets)
            if len(seen) >= 4096:
                seen.clear()
            seen[value] = hit
        if hit is None:
            return False
        return hit != negate
    return test


def glob_regex(pattern: str, icase: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern),
                      re.IGNORECASE if icase else 0)


def _pmatch_test(dirs: list[str]) -> Test:
    prefixes = frozenset(d.rstrip("/") or "/" for d in dirs)
    root = "/" in prefixes

    def test(value: Any) -> bool:
        path = to_str(value)
        if root and path.startswith("/"):
            return True
        if path in prefixes:
            return True
        cut = path.find("/", 1)
        while cut > 0:
            if path[:cut] in prefixes:
                return True
            cut = path.find("/", cut + 1)
        return False
    return test


def scalar_test(ftype: FieldType, op: str, const: Any) -> Test:
    """A test of one extracted value against one constant."""
    if ftype in (FieldType.IPADDR, FieldType.IPNET):
        if op in ("=", "=="):
            return _ip_test([const], False)
        if op == "!=":
            return _ip_test([const], True)
    if op in ("=", "=="):
        if ftype in STRINGY:
            return lambda v: (v if v.__class__ is str else to_str(v)) == const
        return lambda v: v == const
    if op == "!=":
        if ftype in STRINGY:
            return lambda v: (v if v.__class__ is str else to_str(v)) != const
        return lambda v: v != const
    if op in _ORDER_OPS:
        conv: Callable[[Any], Any] = to_str if ftype in STRINGY else _num
        if op == "<":
            return lambda v: conv(v) < const
        if op == "<=":
            return lambda v: conv(v) <= const
        if op == ">":
            return lambda v: conv(v) > const
        return lambda v: conv(v) >= const
    if op in ("bcontains", "bstartswith") or ftype is FieldType.BYTES:
        if op in ("contains", "bcontains"):
            return lambda v: const in to_bytes(v)
        if op == "endswith":
            return lambda v: to_bytes(v).endswith(const)
        return lambda v: to_bytes(v).startswith(const)
    if op == "contains":
        return lambda v: const in (v if v.__class__ is str else to_str(v))
    if op == "icontains":
        low = const.lower()
        return lambda v: low in to_str(v).lower()
    if op == "startswith":
        return lambda v: (v if v.__class__ is str else to_str(v)
                          ).startswith(const)
    if op == "endswith":
        return lambda v: (v if v.__class__ is str else to_str(v)
                          ).endswith(const)
    if op in ("glob", "iglob"):
        match = glob_regex(const, op == "iglob").match
        return lambda v: match(to_str(v)) is not None
    if op == "regex":
        try:
            full = Regex(const).fullmatch
        except RegexError as exc:
            raise OperandError(f"invalid regular expression '{const}': "
                               f"{exc}") from None
        return _cached_test(full)
    raise OperandError(f"operator '{op}' needs a list")


def _cached_test(match: Callable[[str], bool]) -> Test:
    """``match`` remembered per value: the same names (a library, a
    config file) come back event after event. Bounded: cleared when full."""
    seen: dict[str, bool] = {}

    def test(value: Any) -> bool:
        text = value if value.__class__ is str else to_str(value)
        hit = seen.get(text)
        if hit is None:
            hit = match(text)
            if len(seen) >= 4096:
                seen.clear()
            seen[text] = hit
        return hit
    return test


def list_test(ftype: FieldType, op: str, consts: list[Any]) -> Test:
    """A test of one extracted value against a list of constants."""
    if op == "pmatch":
        return _pmatch_test([to_str(c) for c in consts])
    if ftype in (FieldType.IPADDR, FieldType.IPNET):
        return _ip_test(consts, False)
    if ftype in STRINGY:
        members = frozenset(consts)
        return lambda v: (v if v.__class__ is str else to_str(v)) in members
    members2 = frozenset(consts)
    return lambda v: v in members2


def _num(value: Any) -> Any:
    if isinstance(value, (int, float)):
        return value
    try:
        return parse_number(to_str(value))
    except OperandError:
        return float("nan")


def field_vs_field(op: str) -> Callable[[Any, Any], bool]:
    """Comparison of two extracted values (``val()``)."""
    table: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: _same(a, b), "==": lambda a, b: _same(a, b),
        "!=": lambda a, b: not _same(a, b),
        "<": lambda a, b: _ordered(a, b) < 0,
        "<=": lambda a, b: _ordered(a, b) <= 0,
        ">": lambda a, b: _ordered(a, b) > 0,
        ">=": lambda a, b: _ordered(a, b) >= 0,
        "contains": lambda a, b: to_str(b) in to_str(a),
        "icontains": lambda a, b: to_str(b).lower() in to_str(a).lower(),
        "startswith": lambda a, b: to_str(a).startswith(to_str(b)),
        "endswith": lambda a, b: to_str(a).endswith(to_str(b)),
        "glob": lambda a, b: glob_regex(to_str(b), False).match(
            to_str(a)) is not None,
        "iglob": lambda a, b: glob_regex(to_str(b), True).match(
            to_str(a)) is not None,
        "in": lambda a, b: _same(a, b) or (isinstance(b, tuple) and a in b),
    }
    if op not in table:
        raise OperandError(f"operator '{op}' cannot compare two fields")
    return table[op]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return to_str(a) == to_str(b)


def _ordered(a: Any, b: Any) -> int:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (a > b) - (a < b)
    sa, sb = to_str(a), to_str(b)
    return (sa > sb) - (sa < sb)
