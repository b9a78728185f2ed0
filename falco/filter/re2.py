# SPDX-License-Identifier: Apache-2.0
"""The ``regex`` operator's engine: RE2 (Debian's libre2), as libs uses it.

Options as libs: POSIX syntax (no Perl classes such as ``\\d``, no
``(?:``), leftmost-longest, the whole value must match (anchored at both
ends). Values are matched as UTF-8 bytes; the bytes of an invalid UTF-8
sequence are replaced by U+FFFD first, as libs does since 0.44, so ``.``
matches them and an invalid byte cannot slip a name past ``/etc/.*``.

RE2 runs in time linear in the value and never backtracks: no pattern can
pin the CPU, and the call releases the interpreter lock.
"""
from __future__ import annotations

import re
from typing import Any

from falco.filter._falco_re2 import ffi, lib

_SURROGATES = re.compile("[\ud800-\udfff]")
_ERRLEN = 256


class RegexError(ValueError):
    """RE2 refused the pattern; the message is RE2's."""


def _utf8(value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", value).encode("utf-8")


class Regex:
    """A compiled pattern; ``fullmatch(value)`` is the ``regex`` test."""

    __slots__ = ("pattern", "_re")

    def __init__(self, pattern: str) -> None:
        data = _utf8(pattern)
        err = ffi.new("char[]", _ERRLEN)
        ptr = lib.fre2_compile(data, len(data), err, _ERRLEN)
        if ptr == ffi.NULL:
            raise RegexError(ffi.string(err).decode("utf-8", "replace"))
        self.pattern = pattern
        self._re: Any = ffi.gc(ptr, lib.fre2_free)

    def fullmatch(self, value: str) -> bool:
        data = _utf8(value)
        return bool(lib.fre2_full_match(self._re, data, len(data)))
