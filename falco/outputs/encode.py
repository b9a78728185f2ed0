# SPDX-License-Identifier: Apache-2.0
"""The one encoding step every alert goes through before any output.

Field values are the attacker's: a file name may hold a newline followed by
a line shaped like an alert, terminal escapes, invalid UTF-8. Values reach
us as ``str`` where each byte of an invalid UTF-8 sequence is a lone
surrogate U+DC80..U+DCFF (Python's ``surrogateescape``); conditions match
those raw values. Only what is printed is encoded, once per alert.

Text (the alert line of stdout, file, syslog, program, journald MESSAGE and
JSON ``output``) is valid UTF-8 without any control character, and
reversible (:func:`unescape_text` gives the original bytes back):

=========================================  ===============================
input                                      printed as
=========================================  ===============================
``\\``                                     ``\\\\``
newline, carriage return, tab              ``\\n`` ``\\r`` ``\\t``
other C0 controls (U+0000-U+001F), DEL     ``\\xNN`` (the byte)
C1 controls (U+0080-U+009F, 2 bytes)       ``\\xc2\\xNN`` (both bytes)
each byte of an invalid UTF-8 sequence     ``\\xNN``
U+2028, U+2029 (line/paragraph separator)  ``\\u2028`` ``\\u2029``
bidirectional controls (U+061C, U+200E,    ``\\uXXXX``
U+200F, U+202A-U+202E, U+2066-U+2069) and
invisible U+200B, U+2060, U+FEFF
anything else (valid UTF-8, ``é``, CJK)    unchanged
=========================================  ===============================

So ``\\xNN`` always stands for one raw byte, and a real newline (``\\n``)
never prints like a name holding the four characters ``\\x0a``
(``\\\\x0a``).

JSON strings of ``output_fields`` (the attacker's values) are the value with
``\\`` doubled and each invalid byte as ``\\xNN`` (the same rule as the text,
applied before JSON's own escaping): decode the JSON, then
:func:`unescape_json_value`. JSON's escapes cover the controls; the JSON
text itself also escapes DEL, C1, U+2028/2029, the bidirectional controls
and the invisible characters above as ``\\uXXXX``, so a JSON line holds no
character a line reader or a terminal acts on, and is always valid UTF-8. The keys the administrator
wrote (rule name, tags, source) and the host name are kept as written, as
Falco does (:func:`admin_text` only makes them valid UTF-8).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

# Everything the text form rewrites; the common case (none) costs a search.
_TEXT_SPECIAL = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060"
    "\u2066-\u2069\ufeff\ud800-\udfff]")
_JSON_SPECIAL = re.compile("[\\\\\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters json.dumps(ensure_ascii=False) leaves raw but we escape.
_JSON_RAW = re.compile(
    "[\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069"
    "\ufeff]")
_UNICODE_ESCAPED = frozenset("\u061c\u200b\u200e\u200f\u2028\u2029\u202a"
                             "\u202b\u202c\u202d\u202e\u2060\u2066\u2067"
                             "\u2068\u2069\ufeff")
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _bytes_of(char: str) -> bytes:
    """The raw bytes a character stands for (a lone surrogate: its byte,
    or for one that is not a ``surrogateescape`` byte, its UTF-8-like
    encoding, itself invalid UTF-8)."""
    return char.encode("utf-8", "surrogateescape" if "\udc80" <= char
                       <= "\udcff" else "surrogatepass")


def _text_escape(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    if char in _UNICODE_ESCAPED:
        return f"\\u{ord(char):04x}"
    return "".join(f"\\x{b:02x}" for b in _bytes_of(char))


def _json_escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    return "".join(f"\\x{b:02x}" for b in _bytes_of(char))


def _cached(func: Callable[[str], str]) -> Callable[[re.Match[str]], str]:
    table: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        char = m.group()
        out = table.get(char)
        if out is None:
            out = func(char)
            if len(table) < 4096:
                table[char] = out
        return out
    return repl


_TEXT_REPL = _cached(_text_escape)
_JSON_REPL = _cached(_json_escape)


def escape_text(value: str) -> str:
    """The printable, reversible text form of ``value``."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(_TEXT_REPL, value)


def escape_bytes(raw: bytes) -> str:
    """:func:`escape_text` of raw bytes."""
    return escape_text(raw.decode("utf-8", "surrogateescape"))


def json_value(value: Any) -> Any:
    """``value`` ready for JSON: strings with ``\\`` doubled and invalid
    bytes as ``\\xNN`` (lists, tuples and dicts element by element)."""
    if isinstance(value, str):
        if _JSON_SPECIAL.search(value) is None:
            return value
        return _JSON_SPECIAL.sub(_JSON_REPL, value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {json_value(str(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return json_value(value.decode("utf-8", "surrogateescape"))
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return json_value(str(value))


def admin_text(value: str) -> str:
    """A string the administrator wrote (rule name, tag, host name), as
    written; only bytes that are not UTF-8 become U+FFFD."""
    if _SURROGATE.search(value) is None:
        return value
    return value.encode("utf-8", "surrogatepass").decode("utf-8",
                                                           "replace")


def _json_raw_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def json_dumps(obj: Any) -> str:
    """Compact JSON of ``obj`` (already passed through :func:`json_value`):
    valid UTF-8, no raw control, separator or bidirectional character."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if _JSON_RAW.search(text) is None:
        return text
    return _JSON_RAW.sub(_json_raw_escape, text)


# -- reading it back -------------------------------------------------------

_TEXT_TOKEN = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|(.))", re.S)
_BACK = {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}


def unescape_text(text: str) -> bytes:
    """The original bytes of an escaped value (inverse of escape_text)."""
    out = bytearray()
    pos = 0
    for m in _TEXT_TOKEN.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        byte, uni, other = m.groups()
        if byte is not None:
            out.append(int(byte, 16))
        elif uni is not None:
            out += chr(int(uni, 16)).encode("utf-8")
        elif other in _BACK:
            out += _BACK[other]
        else:
            raise ValueError(f"unknown escape \\{other} at {m.start()}")
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


_JSON_TOKEN = re.compile(r"\\(?:x([0-9a-f]{2})|(.))", re.S)


def unescape_json_value(value: str) -> bytes:
    """The original bytes of a JSON string value (after JSON decoding)."""
    out = bytearray()
    pos = 0
    for m in _JSON_TOKEN.finditer(value):
        out += value[pos:m.start()].encode("utf-8")
        byte, other = m.groups()
        if byte is not None:
            out.append(int(byte, 16))
        elif other == "\\":
            out += b"\\"
        else:
            raise ValueError(f"unknown escape \\{other} at {m.start()}")
        pos = m.end()
    out += value[pos:].encode("utf-8")
    return bytes(out)
