# SPDX-License-Identifier: Apache-2.0
"""Each output against a real local sink: file, syslog socket, program."""
from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest

from falco.engine.alert import Alert
from falco.outputs.file import FileOutput
from falco.outputs.format import AlertFormatter, EncodedAlert
from falco.outputs.journald import JournaldOutput, field_name
from falco.outputs.program import ProgramOutput
from falco.outputs.syslog import SyslogOutput
from falco.rules import Priority


def alert(n: int = 0, priority: Priority = Priority.WARNING,
          text: str = "hello") -> EncodedAlert:
    return AlertFormatter().encode(Alert(
        time=1_000_000_000 * (n + 1), rule=f"rule{n}", priority=priority,
        output=text, output_fields={"proc.name": "cat", "fd.name": None},
        tags=("b", "a"), hostname="h"))


def wait_for(pred, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_file_output_reopens_per_alert(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    out = FileOutput(str(path))
    one, two = alert(0, text="line one"), alert(1, text="line two")
    out.emit(one)
    path.rename(tmp_path / "rotated.txt")
    out.emit(two)
    assert path.read_bytes() == two.data
    assert (tmp_path / "rotated.txt").read_bytes() == one.data
    assert two.data.endswith(b": Warning line two\n")


def test_file_output_keep_alive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    out = FileOutput(str(path), keep_alive=True)
    first, second, third = (alert(i, text=t) for i, t in
                            enumerate(("first", "second", "third")))
    out.emit(first)
    path.rename(tmp_path / "rotated.txt")
    out.emit(second)                       # still the old, renamed file
    out.reopen()                           # what SIGUSR1 does
    out.emit(third)
    out.close()
    assert (tmp_path / "rotated.txt").read_bytes() == first.data + \
        second.data
    assert path.read_bytes() == third.data


def test_syslog_output_to_datagram_listener(tmp_path: Path) -> None:
    sock_path = str(tmp_path / "log")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(5)
    try:
        out = SyslogOutput(sock_path, facility="local3", identifier="falco")
        first = alert(0, Priority.WARNING)
        out.emit(first)
        out.emit(alert(1, Priority.EMERGENCY, "boom"))
        out.emit(alert(2, Priority.DEBUG, "quiet"))
        msgs = [listener.recv(4096).decode() for _ in range(3)]
        out.close()
    finally:
        listener.close()
    pri = [int(re.match(r"<(\d+)>", m).group(1)) for m in msgs]
    assert pri == [19 * 8 + 4, 19 * 8 + 0, 19 * 8 + 7]
    assert re.fullmatch(r"<156>\w{3} [ \d]\d \d\d:\d\d:\d\d falco\[\d+\]: "
                        + re.escape(first.line), msgs[0])
    assert f"falco[{os.getpid()}]" in msgs[0]


def test_syslog_output_without_listener_raises(tmp_path: Path) -> None:
    out = SyslogOutput(str(tmp_path / "missing"))
    with pytest.raises(OSError):
        out.emit(alert())


EVIL = 'a; touch {p}/pwned $(touch {p}/pwned2) `touch {p}/pwned3` "\' | & >'


def test_program_keep_alive_gets_lines_verbatim(tmp_path: Path) -> None:
    sink = tmp_path / "got.txt"
    out = ProgramOutput(f"cat >> {sink}", keep_alive=True)
    evil = EVIL.format(p=tmp_path)
    sent = [alert(i, text=f"{i}: {evil}") for i in range(3)]
    for one in sent:
        out.emit(one)
    pid = out._proc.pid
    out.close()
    assert sink.read_text().splitlines() == [a.line for a in sent]
    assert sent[0].line.endswith(f"0: {evil}")
    assert not list(tmp_path.glob("pwned*"))
    assert out.restarts == 0 and pid > 0


def test_program_keep_alive_restarts_dead_program(tmp_path: Path) -> None:
    sink = tmp_path / "got.txt"
    # Each instance reads exactly one line and exits.
    out = ProgramOutput(f"head -n 1 >> {sink}", keep_alive=True)
    one, two = alert(0, text="one"), alert(1, text="two")
    out.emit(one)
    assert wait_for(lambda: out._proc.poll() is not None)
    out.emit(two)
    out.close()
    assert sink.read_text().splitlines() == [one.line, two.line]
    assert out.restarts == 1


def test_program_without_keep_alive_one_process_per_alert(tmp_path: Path
                                                          ) -> None:
    sink = tmp_path / "got.txt"
    out = ProgramOutput(f"(cat; echo \" pid=$$\") >> {sink}")
    one, evil = alert(0, text="one"), alert(1, text=EVIL.format(p=tmp_path))
    out.emit(one)
    out.emit(evil)
    lines = sink.read_text().splitlines()
    assert lines[0] == one.line and lines[1].startswith(" pid=")
    assert lines[2] == evil.line
    pids = [ln.split("pid=")[1] for ln in (lines[1], lines[3])]
    assert len(set(pids)) == 2
    assert not list(tmp_path.glob("pwned*"))


def test_program_spawn_is_injectable() -> None:
    seen = []

    class FakeProc:
        def __init__(self, argv, **kw):
            seen.append(argv)
            self.stdin = open(os.devnull, "wb")

        def wait(self, timeout=None):
            return 0

    ProgramOutput("mail -s x root", spawn=FakeProc).emit(alert(text="$(id)"))
    assert seen == [["/bin/sh", "-c", "mail -s x root"]]


def test_journald_fields_with_fake_sender() -> None:
    sent = []
    out = JournaldOutput("falco-test", sender=lambda msg, **kw:
                         sent.append((msg, kw)))
    one = alert(0, Priority.ERROR)
    out.emit(one)
    msg, kw = sent[0]
    assert msg == one.line
    assert kw["PRIORITY"] == "3" and kw["FALCO_PRIORITY"] == "Error"
    assert kw["SYSLOG_IDENTIFIER"] == "falco-test"
    assert kw["FALCO_RULE"] == "rule0" and kw["FALCO_TAGS"] == "a,b"
    assert kw["FALCO_FIELD_PROC_NAME"] == "cat"
    assert kw["FALCO_FIELD_FD_NAME"] == "<NA>"
    assert '"proc.name":"cat"' in kw["FALCO_OUTPUT_FIELDS"]
    assert all(re.fullmatch(r"[A-Z0-9_]+", k) for k in kw)
    assert field_name("evt.arg[0]") == "FALCO_FIELD_EVT_ARG_0_"


def test_program_that_never_exits_is_killed(tmp_path: Path) -> None:
    out = ProgramOutput("cat > /dev/null; sleep 30", timeout=0.3)
    start = time.monotonic()
    with pytest.raises(OSError, match="still running"):
        out.emit(alert())
    assert time.monotonic() - start < 25        # did not wait for sleep


def test_file_creation_refuses_links_fifos_and_keeps_0600(tmp_path: Path
                                                          ) -> None:
    from falco.outputs.file import create_exclusive, open_append
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError, match="not a regular file"):
            open_append(str(fifo))
    finally:
        os.close(reader)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        open_append(str(link))
    with pytest.raises(FileExistsError):
        create_exclusive(str(link))
    assert not (tmp_path / "target").exists()
    old = os.umask(0)
    try:
        os.close(create_exclusive(str(tmp_path / "new")))
        os.close(open_append(str(tmp_path / "appended")))
    finally:
        os.umask(old)
    for name in ("new", "appended"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
