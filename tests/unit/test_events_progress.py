# SPDX-License-Identifier: Apache-2.0
"""Replay progress: a bar on a terminal, nothing otherwise."""
from __future__ import annotations

import io
from pathlib import Path

from falco.events import make_event
from falco.events.progress import ProgressBar, tty_progress
from falco.events.scap import CaptureReader
from falco.events.scap_writer import ScapWriter


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal() -> None:
    assert tty_progress(io.StringIO()) is None
    # alerts on the same terminal: no bar
    assert tty_progress(FakeTty(), unless_tty=FakeTty()) is None
    assert tty_progress(FakeTty(), unless_tty=io.StringIO()) is not None


def test_bar_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "p.scap"
    with ScapWriter(path) as w:
        for i in range(2000):
            w.write_event(make_event("close", "<", {"res": 0, "fd": i},
                                     ts=i))
    out = FakeTty()
    bar = tty_progress(out, label="replay")
    assert isinstance(bar, ProgressBar)
    with CaptureReader(path, progress=bar) as rd:
        n = sum(1 for _ in rd)
    bar.finish()
    assert n == 4000  # exits plus synthesized enters
    text = out.getvalue()
    assert text.startswith("\rreplay [") and text.endswith("100.0%\n")
