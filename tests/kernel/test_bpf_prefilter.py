# SPDX-License-Identifier: Apache-2.0
"""The prefilter program evaluated by the BPF programs (driver/bpf/
fbpf_prefilter.h) against the evaluator the module and the capture scanner
share (driver/prefilter.c, through falco.prefilter.program.evaluate).

Two BPF captures run at once on one workload: one without a program, one
with a program using every test (strings, paths, integers, masks, socket
tuple parts, the thread name, lengths, presence with a width, the source
kind: BPF is a live source).  Every event of the workload the first one
saw must reach the second exactly when the reference evaluator passes it,
and the second counts the others as filtered, not dropped."""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

import ringreader as rr
from sctest import tmpfs  # noqa: F401  (fixture)

pytestmark = [pytest.mark.kernel, pytest.mark.bpf]

WORKLOAD = r"""
import ctypes, os, socket, sys
base = sys.argv[1]
for d in ("dir/sub", "keep2"):
    os.makedirs(os.path.join(base, d), exist_ok=True)
for f in ("keep1", "keep-drop", "dir/a", "dir/sub/b", "x.log", "ok.log", "x.cfg", "other"):
    open(os.path.join(base, f), "w").close()
ctypes.CDLL(None).prctl(15, b"pfwork", 0, 0, 0)     # PR_SET_NAME
open(os.path.join(base, "marker"), "w").close()
for name in ("keep1", "keep-drop", "dir/a", "dir/sub/b", "/x.log", "ok.log",
             "missing", "x.cfg", "other", "dir/", "keep2/../other"):
    try:
        os.close(os.open(base + "/" + name, os.O_RDONLY))
    except OSError:
        pass
os.close(os.open(os.path.join(base, "created"), os.O_WRONLY | os.O_CREAT, 0o600))
fd = os.open(os.path.join(base, "keep1"), os.O_RDONLY)
os.dup2(fd, 60)
os.close(60)
os.close(fd)
srv = socket.socket(); srv.bind(("127.0.0.1", int(sys.argv[2]))); srv.listen(4)
port = srv.getsockname()[1]
for target in (port, 9):
    c = socket.socket()
    try:
        c.connect(("127.0.0.1", target))
    except OSError:
        pass
    c.close()
us = socket.socket(socket.AF_UNIX); us.bind(os.path.join(base, "u.sock")); us.listen(1)
uc = socket.socket(socket.AF_UNIX); uc.connect(os.path.join(base, "u.sock"))
uc.close(); us.close(); srv.close()
print(port)
"""


def program(base: Path, port: int) -> bytes:
    from falco.prefilter.ir import (ARG_COMM, ARG_SOURCE, OP_EQ, OP_GT, OP_LEN,
                                    OP_MASK, OP_PATH_CLEAN, OP_PATH_DIR,
                                    OP_PRESENT, OP_STR_CONTAINS, OP_STR_EQ,
                                    OP_STR_PREFIX, OP_STR_SUFFIX, SIGNED,
                                    SOURCE_MODULE, Check, all_of, any_of, negate)
    from falco.prefilter.program import emit
    sch = rr.schema()
    code = sch.codes
    ppm = rr.ppm()
    b = str(base).encode()
    dirlen = len(b) + len(b"/dir/") + 1
    opens = any_of(
        all_of(Check(OP_STR_PREFIX, 2, text=b + b"/keep"),
               negate(Check(OP_STR_CONTAINS, 2, text=b"drop"))),
        Check(OP_PATH_DIR, 2, text=b + b"/dir/"),
        all_of(Check(OP_PATH_CLEAN, 2, imm=200), Check(OP_STR_SUFFIX, 2, text=b".log")),
        Check(OP_EQ, 0, 0, 8 | SIGNED, (-2) & (2**64 - 1)),          # -ENOENT
        all_of(Check(OP_STR_EQ, ARG_COMM, text=b"pfwork"),
               Check(OP_STR_SUFFIX, 2, text=b".cfg")),
        Check(OP_MASK, 3, 0, 4, (ppm["PPM_O_CREAT"] << 32) | ppm["PPM_O_CREAT"]),
        # live sources only: a capture scanner would drop these
        all_of(Check(OP_EQ, ARG_SOURCE, 0, 1, SOURCE_MODULE),
               Check(OP_STR_SUFFIX, 2, text=b"/other")),
        # the raw parameter's length (its NUL included)
        all_of(Check(OP_LEN, 2, imm=(dirlen << 32) | dirlen),
               Check(OP_STR_SUFFIX, 2, text=b"/dir/")))
    unix = ppm["PPM_AF_UNIX"]
    connects = any_of(Check(OP_EQ, 1, 8, 2, port),                     # TU_DPORT
                      all_of(Check(OP_EQ, 1, 1, 1, unix),              # FAMILY
                             Check(OP_STR_EQ, 1, 9, text=b + b"/u.sock")))  # TU_PATH
    # fd is 8 bytes: present with a width of 4 never holds
    closes = any_of(Check(OP_GT, 1, 0, 8 | SIGNED, 50),
                    Check(OP_PRESENT, 1, 0, 4))
    return emit({code["PPME_SYSCALL_OPENAT_2_X"]: opens,
                 code["PPME_SOCKET_CONNECT_X"]: connects,
                 code["PPME_SYSCALL_CLOSE_X"]: closes}).blob


def raw_event(e: rr.Event) -> bytes:
    lens = struct.pack(f"<{len(e.raw)}H", *(len(r) for r in e.raw))
    return rr.HDR.pack(e.ts, e.tid, e.len, e.type, e.nparams) + lens + b"".join(e.raw)


def judged(events: list[rr.Event], tid: int, base: Path) -> list[rr.Event]:
    """The workload thread's openat/connect/close exits after its marker."""
    out, started = [], False
    for e in events:
        if e.tid != tid or not e.is_exit:
            continue
        if e.name == "openat" and e.params.get("name") == str(base / "marker"):
            started = True
            continue
        if started and e.name in ("openat", "connect", "close"):
            out.append(e)
    return out


def test_bpf_prefilter_matches_the_reference_evaluator(tmpfs: Path) -> None:
    from falco.prefilter.program import PASS, evaluate
    names = ["openat", "connect", "close", "socket", "bind", "listen", "accept"]
    tps = ("sys_enter", "sys_exit")
    plain = rr.BpfCapture(names, tps)
    filtered = rr.BpfCapture(names, tps)
    port = free_port()
    blob = program(tmpfs, port)
    try:
        filtered.set_prefilter(blob)
        plain.start()
        filtered.start()
        proc = subprocess.run([sys.executable, "-c", WORKLOAD, str(tmpfs), str(port)],
                              capture_output=True, text=True, check=True)
        pevs, fevs = plain.stop(), filtered.stop()
        pst, fst = plain.stats(), filtered.stats()
    finally:
        filtered.close()
        plain.close()
    tid = next(e.tid for e in pevs if e.name == "openat" and
               e.params.get("name") == str(tmpfs / "marker"))
    assert int(proc.stdout) == port
    seen = judged(pevs, tid, tmpfs)
    verdicts = [evaluate(blob, raw_event(e), comm="pfwork", live=True)
                for e in seen]
    want = [e for e, v in zip(seen, verdicts) if v == PASS]
    got = judged(fevs, tid, tmpfs)
    assert [raw_event(e)[8:] for e in got] == [raw_event(e)[8:] for e in want], (
        [(e.name, e.params) for e in seen], verdicts)
    # the program really chose: some of each kind passed, some were dropped
    kinds = {(e.name, v == PASS) for e, v in zip(seen, verdicts)}
    assert kinds >= {("openat", True), ("openat", False), ("connect", True),
                     ("connect", False), ("close", True), ("close", False)}, kinds
    assert fst["n_filtered"] >= len(seen) - len(want) > 0
    assert pst["n_filtered"] == 0
    assert fst["n_drops_buffer"] == pst["n_drops_buffer"] == 0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (released for the workload to bind)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_malformed_program_is_refused() -> None:
    from falco.errors import BpfError
    cap = rr.BpfCapture(["openat"], ("sys_exit",))
    try:
        with pytest.raises(BpfError, match="prefilter program was refused"):
            cap.set_prefilter(b"\0" * 100)
    finally:
        cap.close()
