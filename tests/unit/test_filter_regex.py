# SPDX-License-Identifier: Apache-2.0
"""``regex`` on RE2 with libs' options: POSIX syntax, whole-value match,
linear time, invalid UTF-8 matched as U+FFFD."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from falco.filter.re2 import Regex, RegexError
from falco.filter import operators as ops
from falco.fields.registry import FieldType


@pytest.mark.parametrize("pattern,value,hit", [
    ("c.t .*", "cat /x", True),
    ("c.t", "cat /x", False),                  # anchored at both ends
    ("/etc/(a+)+", "/etc/aaa", True),
    ("[[:digit:]]+", "123", True),             # POSIX classes
    ("a|ab", "ab", True),
    ("/etc/.*", "/etc/bad\udcff\udcfe", True),  # invalid bytes as U+FFFD
    ("/etc/bad.", "/etc/bad\udcff", True),
    ("caf.", "café", True),                    # one character, two bytes
    ("x\\.y", "x.y", True),
    ("x\\.y", "xzy", False),
])
def test_full_match(pattern: str, value: str, hit: bool) -> None:
    assert Regex(pattern).fullmatch(value) is hit


@pytest.mark.parametrize("pattern", ["\\d+", "(?:ab)", "a**(", "(("])
def test_rejected_like_libs(pattern: str) -> None:
    with pytest.raises(RegexError):
        Regex(pattern)
    with pytest.raises(ops.OperandError, match="invalid regular expression"):
        ops.scalar_test(FieldType.STRING, "regex", pattern)


def test_backtracking_pattern_is_linear() -> None:
    """(a+)+ against a^n! is exponential in a backtracking engine (40 a's:
    hours); RE2 answers at once, even for a megabyte. Run in a child
    process so that a regression fails (after 60 s) instead of hanging."""
    code = ("from falco.filter import operators as ops\n"
            "from falco.fields.registry import FieldType\n"
            "t = ops.scalar_test(FieldType.STRING, 'regex', '/etc/(a+)+')\n"
            "for n in (40, 1000, 1000000):\n"
            "    assert not t('/etc/' + 'a' * n + '!')\n"
            "    assert t('/etc/' + 'a' * n)\n")
    res = subprocess.run([sys.executable, "-c", code], timeout=60,
                         cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
