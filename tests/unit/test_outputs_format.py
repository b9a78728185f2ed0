# SPDX-License-Identifier: Apache-2.0
"""Alert text and JSON shapes against Falco's own expected output files."""
from __future__ import annotations

import json
import time

import pytest

from falco.engine.alert import Alert
from falco.outputs.format import AlertFormatter, format_time
from falco.rules import Priority
from support.external import REGRESSION

EXPECTED = REGRESSION / "output_files"
# 2016-08-04T16:17:57.881781397Z, the first alert of cat_write.scap.
TS = 1470327477881781397


def cat_alert(ts: int = TS) -> Alert:
    return Alert(time=ts, rule="open_from_cat", priority=Priority.WARNING,
                 output="An open was seen (command=cat /dev/null)",
                 source="syscall",
                 output_fields={"proc.cmdline": "cat /dev/null"},
                 tags=("testing", "filesystem", "process"),
                 hostname="test-falco-hostname")


@pytest.mark.parametrize("tz,clock", [("UTC", "16:17:57"),
                                      ("Europe/Paris", "18:17:57")])
def test_text_line_local_time(monkeypatch, tz: str, clock: str) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        line = AlertFormatter().text(cat_alert())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == (f"{clock}.881781397: Warning An open was seen "
                    "(command=cat /dev/null)")


@pytest.mark.usefixtures("shared")
def test_iso_text_matches_falco_file() -> None:
    first = (EXPECTED / "single_rule_with_cat_write.txt").read_text(
    ).splitlines()[0]
    assert AlertFormatter(iso_time=True).text(cat_alert()) == first


@pytest.mark.usefixtures("shared")
def test_json_matches_falco_file_byte_for_byte() -> None:
    first = (EXPECTED / "single_rule_with_cat_write.json").read_text(
    ).splitlines()[0]
    fmt = AlertFormatter(json_output=True, iso_time=True)
    assert fmt.line(cat_alert()) == first
    assert json.loads(fmt.line(cat_alert())) == json.loads(first)


def test_json_gating_and_shape() -> None:
    alert = cat_alert(1_700_000_000_000_000_005)
    full = json.loads(AlertFormatter(json_output=True).line(alert))
    assert set(full) == {"hostname", "output", "priority", "rule", "source",
                         "tags", "time", "output_fields"}
    assert full["time"] == "2023-11-14T22:13:20.000000005Z"
    assert full["output_fields"]["evt.time"] == alert.time
    assert full["output"].endswith(": Warning An open was seen "
                                   "(command=cat /dev/null)")
    bare = json.loads(AlertFormatter(json_output=True, include_output=False,
                                     include_tags=False).line(alert))
    assert "output" not in bare and "tags" not in bare
    assert bare["rule"] == "open_from_cat"
    msg = json.loads(AlertFormatter(json_output=True, include_message=True)
                     .line(alert))
    assert msg["message"] == "An open was seen (command=cat /dev/null)"
    assert "message" not in full
    empty = json.loads(AlertFormatter(json_output=True).line(
        Alert(time=1, rule="r", priority=Priority.ERROR, output="x")))
    assert empty["tags"] == []


@pytest.mark.parametrize("given,label,level", [
    ("WARNING", "Warning", 4), ("info", "Informational", 6),
    ("Informational", "Informational", 6), ("Emergency", "Emergency", 0),
    (" debug ", "Debug", 7), ("notice", "Notice", 5),
])
def test_priorities(given: str, label: str, level: int) -> None:
    prio = Priority.parse(given)
    assert prio.label == label and int(prio) == level
    alert = Alert(time=1, rule="r", priority=prio, output="x")
    assert alert.severity == level
    assert json.loads(AlertFormatter(json_output=True).line(alert))[
        "priority"] == label


def test_unknown_priority() -> None:
    with pytest.raises(ValueError, match="Invalid priority 'loud'"):
        Priority.parse("loud")


def test_time_local_and_iso(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert format_time(TS) == "16:17:57.881781397"
        assert format_time(TS, iso=True) == \
            "2016-08-04T16:17:57.881781397+0000"
        monkeypatch.setenv("TZ", "Europe/Berlin")
        time.tzset()
        assert format_time(TS) == "18:17:57.881781397"
        assert format_time(TS, iso=True) == \
            "2016-08-04T16:17:57.881781397+0000"
    finally:
        monkeypatch.undo()
        time.tzset()
