# SPDX-License-Identifier: Apache-2.0
"""Output formats: fields, widths, transformers, errors with offsets."""
from __future__ import annotations


import pytest

from falco.rules import compile_output
from falco.rules.output import OutputFormatError
from support.dict_registry import make_test_registry

REG = make_test_registry()


def fmt(text: str, ctx: dict) -> tuple[str, dict]:
    return compile_output(text, REG).format(ctx)


def test_fields_and_missing_values() -> None:
    text, fields = fmt("An open was seen (cport=%fd.cport command="
                       "%proc.cmdline)", {"proc.cmdline": "cat /dev/null"})
    assert text == "An open was seen (cport=<NA> command=cat /dev/null)"
    assert fields == {"fd.cport": None, "proc.cmdline": "cat /dev/null"}


def test_arguments_dotted_and_bracketed() -> None:
    ctx = {"proc.aname[2]": "bash", "evt.arg[name]": "/etc/x",
           "evt.arg[0]": "3"}
    text, fields = fmt("%proc.aname[2] %evt.arg.name %evt.arg[0].", ctx)
    assert text == "bash /etc/x 3."
    assert list(fields) == ["proc.aname[2]", "evt.arg.name", "evt.arg[0]"]


def test_star_prefix_width_and_types() -> None:
    ctx = {"proc.name": "cat", "proc.pid": 42, "evt.is_open_read": True,
           "proc.aname": ("sh", "init")}
    text, _ = fmt("*%5proc.name|%-4proc.pid|%evt.is_open_read|%proc.aname",
                  ctx)
    assert text == "  cat|42  |true|sh init"


def test_transformer_in_output() -> None:
    text, fields = fmt("%toupper(proc.name)!", {"proc.name": "cat"})
    assert text == "CAT!" and fields == {"toupper(proc.name)": "CAT"}


def test_literal_percent_text_is_kept() -> None:
    assert fmt("100% sure %proc.name", {"proc.name": "x"})[0] == \
        "100% sure x"


def test_unknown_field() -> None:
    with pytest.raises(OutputFormatError) as info:
        compile_output("An open was seen %not_a_real_field", REG)
    assert str(info.value) == "invalid formatting token not_a_real_field"
    assert info.value.offset == 17
