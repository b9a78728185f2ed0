# SPDX-License-Identifier: Apache-2.0
"""Fuzzing event data through every output (the bad-input suite, extended
from the decoder to what alerts carry): random bytes in every string
parameter of file, process and socket events, through the real state
engine and rules, to stdout, a file, a syslog socket, a program, an HTTP
listener and systemd-journald. Each alert must arrive exactly once at
every output, as one printable line (valid UTF-8 JSON for HTTP) that
decodes back to the output's text."""
from __future__ import annotations

import json
import os
import socket
import unicodedata
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falco.driver.schema import get_schema
from falco.engine.loop import Engine
from falco.events.build import make_event
from falco.events.capture_state import ProcEntry
from falco.fields import default_registry
from falco.outputs.encode import unescape_text
from falco.outputs.file import FileOutput
from falco.outputs.format import AlertFormatter
from falco.outputs.http import HttpOutput
from falco.outputs.journald import JournaldOutput
from falco.outputs.manager import OutputManager
from falco.outputs.program import ProgramOutput
from falco.outputs.syslog import SyslogOutput
from falco.rules import load_rules
from falco.state import Inspector
from support.cli import wait_for
from support.sinks import http_listener, journal_entries, \
    journald_available, journald_running

EVENTS = ("openat", "execve", "renameat2", "symlinkat", "mkdirat", "linkat",
          "unlinkat", "chdir", "connect")
# PT_CHARBUF, PT_BYTEBUF, PT_FSPATH, PT_FSRELPATH: what holds text
STRING_TYPES = {9, 10, 17, 43}
FIELDS = ("evt.args proc.cmdline proc.name proc.exe proc.cwd proc.env "
          "fd.name fs.path.name fs.path.source fs.path.target")
RULES = "".join(f"""
- rule: fuzz {name}
  desc: every {name}
  condition: evt.type = {name} and evt.dir = <
  output: "{name} {' '.join(f'{f}=%{f}' for f in FIELDS.split())}"
  priority: WARNING
""" for name in EVENTS)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))

pytestmark = pytest.mark.skipif(not journald_available(),
                                reason="needs systemd-journald")


def string_params(name: str) -> list[tuple[str, int]]:
    info = get_schema().current(name, "<")
    return [(p.name, p.type) for p in info.params if p.type in STRING_TYPES]


def printable(text: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp")
               for c in text)


class Pipeline:
    """One engine and one set of real outputs for the whole module."""

    def __init__(self, tmp: Path, http: Any, ident: str) -> None:
        self.tmp = tmp
        self.http = http
        self.ident = ident
        self.stdout = open(tmp / "stdout.bin", "wb", buffering=0)
        self.file = tmp / "file.txt"
        self.program = tmp / "program.txt"
        self.syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.syslog.bind(str(tmp / "log"))
        self.syslog.settimeout(10)
        from falco.outputs.stdout import StdoutOutput
        self.manager = OutputManager(AlertFormatter())
        self.manager.add(StdoutOutput(stream=self.stdout))
        self.manager.add(FileOutput(str(self.file)))
        self.manager.add(SyslogOutput(str(tmp / "log"), "local0", ident))
        self.manager.add(ProgramOutput(f"cat >> {self.program}",
                                       keep_alive=True))
        self.manager.add(HttpOutput(f"http://127.0.0.1:{http.server_port}/",
                                    keep_alive=True))
        self.manager.add(JournaldOutput(ident))
        rules = load_rules([("fuzz.yaml", RULES)], default_registry())
        insp = Inspector()
        insp.bootstrap_capture([ProcEntry(tid=7, pid=7, ptid=1, comm="app",
                                          exe="/bin/app",
                                          exepath="/bin/app", args=["x"],
                                          cwd="/")])
        self.engine = Engine(insp, rules, self.manager.send,
                             rule_matching="all")
        self.alerts = 0
        self.lines: list[str] = []

    def close(self) -> None:
        self.manager.stop()
        self.stdout.close()
        self.syslog.close()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    ident = f"falco-fuzz-{uuid.uuid4().hex[:12]}"
    with journald_running(), http_listener() as http:
        pipe = Pipeline(tmp_path_factory.mktemp("fuzz"), http, ident)
        try:
            yield pipe
        finally:
            pipe.close()
        entries = wait_for(lambda: (lambda e: e if len(e) >= pipe.alerts
                                    else [])(journal_entries(ident)), 60)
        assert len(entries) == pipe.alerts, (len(entries), pipe.alerts)
        messages = [e["MESSAGE"] for e in entries]
        assert all(isinstance(m, str) for m in messages)    # never a blob
        assert messages == pipe.lines


def hostile_bytes(nul: bool) -> st.SearchStrategy[bytes]:
    pieces = st.sampled_from([b"\n", b"\r", b"\x1b[2J", b"\xff", b"\xc0\x80",
                              b"\\x0a", b"\\", "\u2028".encode(),
                              "\u202e".encode(), b"\x85", "é".encode()])
    raw = st.lists(pieces | st.binary(max_size=6), max_size=8).map(b"".join)
    return raw if nul else raw.map(lambda b: b.replace(b"\0", b"?"))


@st.composite
def hostile_event(draw: st.DrawFn, name: str, num: int) -> Any:
    params: dict[str, object] = {"res": 0}
    for pname, ptype in string_params(name):
        if ptype == 10:                        # NUL-separated strings
            value = draw(st.lists(hostile_bytes(False), max_size=4))
            params[pname] = "".join(v.decode("utf-8", "surrogateescape")
                                    + "\0" for v in value)
        else:
            params[pname] = draw(hostile_bytes(False)).decode(
                "utf-8", "surrogateescape")
    if name == "openat":
        params.update(fd=3, dirfd=-100, flags="O_RDONLY", mode=0)
        params.pop("res")
    if name == "execve":
        params.update(tid=7, pid=7, ptid=1)
    return make_event(name, "<", params, ts=10**18 + num, tid=7, num=num)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_bytes_in_every_string_parameter(pipeline: Pipeline,
                                                data: st.DataObject) -> None:
    pipe = pipeline
    events = [data.draw(hostile_event(name, i))
              for i, name in enumerate(EVENTS)]
    before = pipe.engine.stats.detections
    pipe.engine.run([events])
    new = pipe.engine.stats.detections - before
    assert new == len(EVENTS)           # every rule raised its alert
    pipe.manager.flush(30)
    pipe.alerts += new
    raw = (pipe.tmp / "stdout.bin").read_bytes()
    assert raw.count(b"\n") == pipe.alerts            # one line each
    text = raw.decode("utf-8").splitlines()            # strict UTF-8
    assert len(text) == pipe.alerts
    fresh = text[-new:]
    for line in fresh:
        assert printable(line), line
        head, _, body = line.partition(": Warning ")
        assert body, line
        unescape_text(body)             # well formed, decodes back
    pipe.lines.extend(fresh)
    assert pipe.file.read_text(errors="strict").splitlines() == text
    assert wait_for(lambda: len(pipe.program.read_bytes().splitlines())
                    >= pipe.alerts, 30)
    assert pipe.program.read_text(errors="strict").splitlines() == text
    got = [pipe.syslog.recv(65536) for _ in range(new)]
    assert [g.decode("utf-8").split(": ", 1)[1] for g in got] == fresh
    assert wait_for(lambda: len(pipe.http.bodies) >= pipe.alerts, 30)
    assert len(pipe.http.bodies) == pipe.alerts
    for body, line in zip(pipe.http.bodies[-new:], fresh):
        assert json.loads(body.decode("utf-8"))["output"] == line
