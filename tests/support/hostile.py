# SPDX-License-Identifier: Apache-2.0
"""Hostile inputs: crafted captures, rules files and configurations.

Shared by the tests (tests/integration/test_hostile_*.py) and the benchmark
that times them (bench/hostile.py). No tests here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

T0 = 1_700_000_000_000_000_000
APP_TID = 100

# File names and command-line arguments an attacker chooses, as raw bytes.
HOSTILE_NAMES: dict[str, bytes] = {
    "newline_fake_line": (b"/etc/evt\n00:00:00.000000000: Critical Fake "
                          b"alert (user=root)\n\x1b[2J\x1b[31m"),
    "ansi_osc": b"/etc/x\x1b]0;owned\x07\x1b[1;31mred\x1b[0m",
    "cr_crlf": b"/etc/a\rb\r\nc",
    "invalid_utf8": b"/etc/bad\xff\xfe\x80 \xc0\x80 \xed\xa0\x80 \xe2\x82",
    "u2028_nel": "/etc/l\u2028p\u2029n\u0085c\u009b".encode(),
    "literal_backslashes": b"/etc/lit\\x0a\\n\\\\\\u2028",
    "tab_del": b"/etc/t\tab\x7fdel",
    "bidi_zero_width": "/etc/\u202etxt.exe\u2066\u200b".encode(),
    "valid_multibyte": "/etc/caf\u00e9-\u6f22\u5b57-\U0001f600".encode(),
}

OPEN_RULES = """\
- rule: Hostile open
  desc: an open below /etc
  condition: evt.type = openat and evt.dir = < and fd.name startswith /etc/
  output: "open (file=%fd.name cmd=%proc.cmdline name=%proc.name)"
  priority: WARNING
"""
COMM = b"a\nb\x1b[2J\xff"      # 16 bytes at most, as the kernel keeps


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def expected_output(name: bytes, comm: bytes = COMM) -> bytes:
    """The raw bytes OPEN_RULES's output holds for an open of ``name`` by
    a process of ``write_open_capture``."""
    return (b"open (file=" + name + b" cmd=" + comm + b" " + name
            + b" name=" + comm + b")")


def write_open_capture(path: Path, names: list[bytes],
                       args: list[bytes] | None = None,
                       comm: bytes = COMM) -> None:
    """A capture where process i opens ``names[i]`` below /etc, with that
    name (or ``args``) as its command-line argument and ``comm`` as its
    name: the hostile bytes are in names and in command lines."""
    from falco.events import make_event
    from falco.events.capture_state import ProcEntry
    from falco.events.scap_writer import ScapWriter

    procs = [ProcEntry(tid=APP_TID + i, pid=APP_TID + i, ptid=1,
                       comm=_text(comm), exe="/usr/bin/app",
                       exepath="/usr/bin/app",
                       args=[_text(a) for a in (args or [name])])
             for i, name in enumerate(names)]
    with ScapWriter(path, procs=procs) as writer:
        for i, name in enumerate(names):
            writer.write_event(make_event("openat", "<", {
                "fd": 7, "dirfd": -100, "name": _text(name),
                "flags": "O_RDWR|O_CREAT", "mode": 0o644, "dev": 0x803,
                "ino": 1000 + i}, ts=T0 + i * 1000, tid=APP_TID + i))


# -- rules and configuration ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Case:
    """One hostile input: files to write and falco's arguments.

    ``term_after``: seconds after which to send SIGTERM to a run that is
    expected to be busy (how long it takes to stop is the figure)."""

    name: str
    files: dict[str, str]
    args: tuple[str, ...]       # {dir} is replaced by the directory
    capture: tuple[str, bytes] | None = None   # (file name, opened name)
    busy_events: int = 0        # a capture of that many matching opens
    term_after: float | None = None


def regex_rules() -> str:
    return """\
- rule: Backtracking regex
  desc: catastrophic backtracking in a backtracking engine
  condition: evt.type = openat and evt.dir = < and fd.name regex "/etc/(a+)+"
  output: "regex (file=%fd.name)"
  priority: WARNING
"""


def doubling_macros(n: int = 22, name: str = "/etc/passwd") -> str:
    """Macro i uses macro i-1 twice: 2^n leaves if copied into its users
    (and 2^n checks per event if evaluated as a tree)."""
    out = [f"- macro: m0\n  condition: fd.name = {name}\n"]
    for i in range(1, n):
        out.append(f"- macro: m{i}\n  condition: (m{i - 1} or m{i - 1})\n")
    out.append(f"""\
- rule: Doubling macros
  desc: a condition that doubles at every macro
  condition: evt.type = openat and evt.dir = < and m{n - 1}
  output: "macros (file=%fd.name)"
  priority: WARNING
""")
    return "".join(out)


def forward_lists(n: int, width: int) -> str:
    """List i names list i+1 ``width`` times (a list naming a later one is
    expanded where it is used, as Falco substitutes lists in order): a
    chain (width 1) n long, or a doubling (width 2) of 2^n items."""
    out = []
    for i in range(n):
        refs = ", ".join([f"l{i + 1}"] * width)
        out.append(f"- list: l{i}\n  items: [{refs}, /etc/x{i}]\n")
    out.append(f"- list: l{n}\n  items: [/etc/passwd]\n")
    out.append("""\
- rule: Forward lists
  desc: a list expanded through every later one
  condition: evt.type = openat and evt.dir = < and fd.name in (l0)
  output: "lists (file=%fd.name)"
  priority: WARNING
""")
    return "".join(out)


def deep_list(depth: int = 40000) -> str:
    """A list whose items are nested ``depth`` YAML sequences deep."""
    return ("- list: deep\n  items: " + "[" * depth + "x" + "]" * depth
            + "\n")


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """falco.yaml whose rules selectors expand to width^levels nodes."""
    lines = ["stdout_output: {enabled: true}",
             "syslog_output: {enabled: false}",
             "log_syslog: false",
             "webserver: {enabled: false}",
             "watch_config_files: false",
             'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", '
             '"lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"rules: [{{disable: {{tag: *a{levels - 1}}}}}]")
    return "\n".join(lines) + "\n"


QUIET_CONFIG = """\
stdout_output: {enabled: true}
syslog_output: {enabled: false}
log_syslog: false
webserver: {enabled: false}
watch_config_files: false
"""


def busy_rules() -> str:
    return """\
- macro: etc
  condition: fd.name startswith /etc/ or fd.name regex "/etc/(a+)+"
- rule: Busy
  desc: every open below /etc
  condition: evt.type = openat and evt.dir = < and etc
  output: "busy (file=%fd.name cmd=%proc.cmdline)"
  priority: WARNING
"""


def write_busy_capture(path: Path, events: int,
                       name: str = "/etc/" + "a" * 30 + "!") -> None:
    """``events`` opens of ``name`` by one process: the engine has work
    for a while (the same event bytes again and again)."""
    from falco.events import make_event
    from falco.events.capture_state import ProcEntry
    from falco.events.scap_writer import ScapWriter, event_v2_bytes

    app = ProcEntry(tid=APP_TID, pid=APP_TID, ptid=1, comm="app",
                    exe="/usr/bin/app", exepath="/usr/bin/app",
                    args=["x"])
    evt = make_event("openat", "<", {
        "fd": 7, "dirfd": -100, "name": name,
        "flags": "O_RDONLY", "mode": 0, "dev": 0x803, "ino": 1},
        ts=T0, tid=APP_TID)
    with ScapWriter(path, procs=[app]) as writer:
        writer.write_event(evt)
        raw = event_v2_bytes(evt)
        for _ in range(events - 1):
            writer.write_raw(0, raw)


def cases() -> list[Case]:
    redos_name = b"/etc/" + b"a" * 40 + b"!"
    return [
        Case("regex /etc/(a+)+ vs /etc/a{40}!",
             {"falco.yaml": QUIET_CONFIG, "rules.yaml": regex_rules()},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "-e", "{dir}/events.scap"),
             ("events.scap", redos_name)),
        Case("22 doubling macros",
             {"falco.yaml": QUIET_CONFIG, "rules.yaml": doubling_macros()},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "-e", "{dir}/events.scap"),
             ("events.scap", b"/etc/passwd")),
        Case("list chain 10000 long (forward references)",
             {"falco.yaml": QUIET_CONFIG,
              "rules.yaml": forward_lists(10000, 1)},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "-e", "{dir}/events.scap"),
             ("events.scap", b"/etc/passwd")),
        Case("22 doubling lists (forward references)",
             {"falco.yaml": QUIET_CONFIG,
              "rules.yaml": forward_lists(22, 2)},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "-e", "{dir}/events.scap"),
             ("events.scap", b"/etc/passwd")),
        Case("list nested 40000 deep",
             {"falco.yaml": QUIET_CONFIG, "rules.yaml": deep_list()},
             ("-c", "{dir}/falco.yaml", "-V", "{dir}/rules.yaml")),
        Case("YAML alias bomb in falco.yaml (9^9)",
             {"falco.yaml": alias_bomb(),
              "rules.yaml": OPEN_RULES},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "--dry-run")),
        Case("SIGTERM 3 s into 1M events, one alert each",
             {"falco.yaml": QUIET_CONFIG.replace(
                 "stdout_output: {enabled: true}",
                 "stdout_output: {enabled: true}\noutputs: {rate: 0}"),
              "rules.yaml": busy_rules()},
             ("-c", "{dir}/falco.yaml", "-r", "{dir}/rules.yaml",
              "-e", "{dir}/busy.scap"),
             busy_events=1_000_000, term_after=3.0),
    ]


def prepare(case: Case, directory: Path) -> list[str]:
    """Write the case's files into ``directory``; falco's arguments."""
    for name, text in case.files.items():
        (directory / name).write_text(text)
    if case.capture is not None:
        write_open_capture(directory / case.capture[0], [case.capture[1]],
                           args=[b"x"], comm=b"app")
    if case.busy_events:
        write_busy_capture(directory / "busy.scap", case.busy_events)
    return [a.replace("{dir}", str(directory)) for a in case.args]


# -- web server clients ----------------------------------------------------

def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (PEM with the key, CA)."""
    import subprocess
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   capture_output=True, timeout=120)
    pem = directory / "falco.pem"
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem, cert


def idle_connections(port: int, count: int, partial: bytes = b"",
                     wait: float = 5.0) -> list[object]:
    """Up to ``count`` TCP connections to 127.0.0.1:port that send
    ``partial`` (nothing: no TLS ClientHello, no request) and then stay
    silent: those the server took within ``wait`` seconds (connects are
    started together; a server with a short backlog takes fewer)."""
    import selectors
    import socket
    import time
    pending = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        pending.append(sock)
    sel = selectors.DefaultSelector()
    for sock in pending:
        sel.register(sock, selectors.EVENT_WRITE)
    done: list[object] = []
    end = time.monotonic() + wait
    while len(done) < count and time.monotonic() < end:
        for key, _ in sel.select(max(end - time.monotonic(), 0.0)):
            sock = key.fileobj
            sel.unregister(sock)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                sock.setblocking(True)
                if partial:
                    sock.sendall(partial)
                done.append(sock)
            else:
                sock.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return done


def time_healthz(port: int, cafile: Path | None,
                 path: str = "/healthz") -> tuple[float, object]:
    """Seconds until /healthz answered (plain HTTP, or TLS checked against
    ``cafile``), and the answer (the status, or the error)."""
    import ssl
    import time
    import urllib.error
    import urllib.request
    ctx = None
    scheme = "http"
    if cafile is not None:
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.check_hostname = False
        scheme = "https"
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}{path}",
                                    timeout=10, context=ctx) as resp:
            answer: object = resp.status
    except (urllib.error.URLError, OSError) as exc:
        answer = type(exc).__name__
    return time.monotonic() - start, answer
