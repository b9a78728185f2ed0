# SPDX-License-Identifier: Apache-2.0
"""The alert encoder: any bytes in, printable valid UTF-8 out, and back."""
from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falco.engine.alert import Alert
from falco.outputs.encode import escape_bytes, escape_text, json_dumps, \
    json_value, unescape_json_value, unescape_text
from falco.outputs.format import AlertFormatter
from falco.rules import Priority

# Bytes that stress UTF-8 decoding: ASCII controls, the backslash, lead and
# continuation bytes, and whole sequences of the characters we escape.
_PIECES = st.sampled_from([
    b"\\", b"\n", b"\r", b"\t", b"\x00", b"\x1b", b"\x7f", b"\x80", b"\xbf",
    b"\xc0", b"\xc2", b"\xe2", b"\xed", b"\xf0", b"\xff", b"x0a", b"u2028",
    "\u2028".encode(), "\u0085".encode(), "\u202e".encode(), "é".encode(),
    "\u200b".encode(), "\ufeff".encode(),
    "漢".encode(), "\U0001f600".encode(), b"\xed\xa0\x80", b"\xe2\x82"])
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=64),
    st.lists(_PIECES | st.binary(max_size=3), max_size=24).map(b"".join))


def printable(text: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp")
               for c in text)


@settings(max_examples=500, deadline=None)
@given(HOSTILE_BYTES)
def test_text_is_printable_utf8_and_reversible(raw: bytes) -> None:
    text = escape_bytes(raw)
    text.encode("utf-8")                    # strict: valid UTF-8
    assert printable(text)
    assert not any(c in text for c in "\u202e\u2066\u200b\ufeff")
    assert unescape_text(text) == raw


@settings(max_examples=500, deadline=None)
@given(HOSTILE_BYTES)
def test_json_is_valid_utf8_and_reversible(raw: bytes) -> None:
    value = raw.decode("utf-8", "surrogateescape")
    line = json_dumps({"fd.name": json_value(value), "list": json_value(
        (value, value))})
    data = line.encode("utf-8")
    assert printable(line)
    obj = json.loads(data)
    assert unescape_json_value(obj["fd.name"]) == raw
    assert [unescape_json_value(v) for v in obj["list"]] == [raw, raw]


@pytest.mark.parametrize("raw,shown", [
    (b"/etc/a\nb", "/etc/a\\nb"),
    (b"/etc/a\\x0ab", "/etc/a\\\\x0ab"),         # literal \x0a != newline
    (b"\r\t", "\\r\\t"),
    (b"\x1b[2J\x1b]0;t\x07", "\\x1b[2J\\x1b]0;t\\x07"),
    (b"\x7f", "\\x7f"),
    ("\u0085\u009b".encode(), "\\xc2\\x85\\xc2\\x9b"),
    ("\u2028\u2029".encode(), "\\u2028\\u2029"),
    ("\u202eabc\u2066".encode(), "\\u202eabc\\u2066"),
    (b"bad\xff\xfe", "bad\\xff\\xfe"),
    (b"\xc0\x80", "\\xc0\\x80"),                 # overlong NUL
    (b"\xed\xa0\x80", "\\xed\\xa0\\x80"),         # surrogate
    (b"a\xe2\x82", "a\\xe2\\x82"),                # truncated at the end
    (b"a\xe2\x82z", "a\\xe2\\x82z"),              # and in the middle
    (b"a\x80z", "a\\x80z"),                       # lone continuation
    ("café 漢字 😀".encode(), "café 漢字 😀"),     # valid text unchanged
])
def test_vectors(raw: bytes, shown: str) -> None:
    assert escape_bytes(raw) == shown
    assert unescape_text(shown) == raw


def test_plain_text_is_returned_as_is() -> None:
    text = "/usr/bin/cat /etc/passwd"
    assert escape_text(text) is text


def test_newline_and_literal_escape_print_differently() -> None:
    real = escape_bytes(b"/etc/x\ny")
    literal = escape_bytes(b"/etc/x\\ny")
    assert real != literal
    assert "\n" not in real


def hostile_alert(name: bytes) -> Alert:
    value = name.decode("utf-8", "surrogateescape")
    return Alert(time=1_700_000_000_000_000_000, rule="Write below etc",
                 priority=Priority.WARNING, output=f"file below /etc (file={value})",
                 output_fields={"fd.name": value, "proc.args": (value, "x")},
                 tags=("filesystem",), hostname="h")


def test_one_alert_is_one_line_in_text_and_json() -> None:
    name = (b"/etc/evt\n00:00:00.000000000: Critical Fake alert "
            b"(user=root)\x1b[2J\xff")
    fmt = AlertFormatter(json_output=True)
    encoded = fmt.encode(hostile_alert(name))
    assert encoded.data.count(b"\n") == 1 and encoded.data.endswith(b"\n")
    assert encoded.text.count("\n") == 0
    obj = json.loads(encoded.data)
    assert obj["output"] == encoded.text
    assert unescape_json_value(obj["output_fields"]["fd.name"]) == name
    assert unescape_text(encoded.text.split("(file=", 1)[1][:-1]) == name
    body = json.loads(encoded.http_body())
    assert body["output"] == encoded.text
    journal = encoded.journal_fields()
    assert all(printable(v) for v in journal.values())
    assert unescape_text(journal["FALCO_FIELD_FD_NAME"]) == name
