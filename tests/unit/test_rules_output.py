# SPDX-License-Identifier: Apache-2.0
"""Output formats: fields, widths, transformers, errors with offsets."""
from typing import Any

import pytest

from falco.rules import compile_output
from falco.rules.output import OutputFormatError
from falco.state import EventContext
from support.contexts import REGISTRY as REG
from support.contexts import ctx


def fmt(text: str, where: EventContext) -> tuple[str, dict[str, Any]]:
    return compile_output(text, REG).format(where)


def test_fields_and_missing_values() -> None:
    text, fields = fmt("An open was seen (cport=%fd.cport command="
                       "%proc.cmdline)", ctx(comm="cat", args=["/dev/null"]))
    assert text == "An open was seen (cport=<NA> command=cat /dev/null)"
    assert fields == {"fd.cport": None, "proc.cmdline": "cat /dev/null"}


def test_arguments_dotted_and_bracketed() -> None:
    where = ctx(parents=["sh", "bash"], name="/etc/x")
    text, fields = fmt("%proc.aname[2] %evt.arg.name %evt.arg[name].",
                       where)
    assert text == "bash /etc/x /etc/x."
    assert list(fields) == ["proc.aname[2]", "evt.arg.name",
                            "evt.arg[name]"]


def test_star_prefix_width_and_types() -> None:
    where = ctx(comm="cat", pid=42, parents=["sh"], flags="O_RDONLY")
    text, _ = fmt("*%5proc.name|%-4proc.pid|%evt.is_open_read|%proc.aname",
                  where)
    assert text == "  cat|42  |true|sh init"


def test_transformer_in_output() -> None:
    text, fields = fmt("%toupper(proc.name)!", ctx(comm="cat"))
    assert text == "CAT!" and fields == {"toupper(proc.name)": "CAT"}


def test_literal_percent_text_is_kept() -> None:
    assert fmt("100% sure %proc.name", ctx(comm="x"))[0] == "100% sure x"


def test_unknown_field() -> None:
    with pytest.raises(OutputFormatError) as info:
        compile_output("An open was seen %not_a_real_field", REG)
    assert str(info.value) == "invalid formatting token not_a_real_field"
    assert info.value.offset == 17
