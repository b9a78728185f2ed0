# SPDX-License-Identifier: Apache-2.0
"""Reading the shared captures, checked against sysdig 0.29.3 as oracle."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
from pathlib import Path

import pytest

import support.cli as s
from falco.errors import CaptureError, DecodeError
from falco.events.scap import CaptureReader, read_capture
from support.external import CAPTURES, require_tool

NAMES = ["cat_write", "open-multiple-files", "connect_localhost"]
# captures recorded by sysdig 0.29.3 in the VM (tests/data/captures/README)
OURS = sorted((Path(__file__).resolve().parents[1] / "data" /
               "captures").glob("sysdig-*.scap*"))

needs_shared = pytest.mark.usefixtures("shared")


def sysdig(path: Path, fmt: str, filt: str = "") -> list[str]:
    cmd = [require_tool("sysdig"), "-r", str(path), "-p", fmt]
    if filt:
        cmd.append(filt)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@needs_shared
@pytest.mark.parametrize("name", NAMES)
def test_event_headers_match_sysdig(name: str) -> None:
    path = CAPTURES / f"{name}.scap"
    ours = {e.num: (e.name, e.direction, e.cpu, e.tid)
            for e in read_capture(path)}
    lines = sysdig(path, "%evt.num %evt.type %evt.dir %evt.cpu %thread.tid")
    assert lines
    for line in lines:
        num, typ, d, cpu, tid = line.split()
        assert ours[int(num)] == (typ, d, int(cpu), int(tid)), line


@pytest.mark.parametrize("path", OURS, ids=[p.name for p in OURS])
def test_sysdig_recorded_captures_match_sysdig(path: Path) -> None:
    ours = {e.num: e for e in read_capture(path)}
    lines = sysdig(path, "%evt.num %evt.type %evt.dir %evt.cpu %thread.tid")
    assert len(lines) > 100
    for line in lines:
        num, typ, d, cpu, tid = line.split()
        e = ours[int(num)]
        assert (e.name, e.direction, e.cpu, e.tid) == \
            (typ, d, int(cpu), int(tid)), line
    for field in ("flags", "tuple"):
        for line in sysdig(path, f"%evt.num %evt.arg.{field}",
                           f"evt.arg.{field} exists"):
            num, _, text = line.partition(" ")
            assert ours[int(num)].param_str(field) == text, (field, line)
    # sysdig renders fds and relative paths from its state: compare the
    # raw numbers in evt.args and the raw name
    checked = 0
    for line in sysdig(path, "*%evt.num %evt.rawarg.name %evt.args"):
        num, rawname, args = (line.split(" ", 2) + [""])[:3]
        e = ours[int(num)]
        if rawname != "<NA>":
            assert e.param("name") == rawname, line
            checked += 1
        for field, value in re.findall(r"\b(fd|res)=(-?\d+)", args):
            if e.info.params[e.info.index[field]].fmt == 2:  # hex printed
                continue
            assert e.param(field) == int(value), (field, line)
            checked += 1
    assert checked > 100


@needs_shared
@pytest.mark.parametrize("name,field", [
    ("cat_write", "name"), ("open-multiple-files", "name"),
    ("connect_localhost", "tuple"), ("cat_write", "flags"),
    ("cat_write", "res"), ("cat_write", "exe")])
def test_param_values_match_sysdig(name: str, field: str) -> None:
    path = CAPTURES / f"{name}.scap"
    ours = {e.num: e for e in read_capture(path)}
    lines = sysdig(path, f"%evt.num %evt.arg.{field}",
                   f"evt.arg.{field} exists")
    assert lines
    for line in lines:
        num, _, text = line.partition(" ")
        assert ours[int(num)].param_str(field) == text, line


@needs_shared
def test_capture_state_blocks() -> None:
    with CaptureReader(CAPTURES / "cat_write.scap") as rd:
        assert rd.version[0] == 1
        assert rd.machine is not None and rd.machine.num_cpus >= 1
        assert rd.procs and rd.fds and rd.users and rd.groups
        tids = {p.tid for p in rd.procs}
        assert all(f.tid in tids for f in rd.fds)
        assert any(u.name == "root" and u.uid == 0 for u in rd.users)
        init = [p for p in rd.procs if p.tid == 1]
        assert init and init[0].comm
        assert any(f.name.startswith("/") for f in rd.fds)


@needs_shared
def test_interesting_events_are_filtered_in_c() -> None:
    path = CAPTURES / "open-multiple-files.scap"
    every = read_capture(path)
    with CaptureReader(path, {"open", "close"}) as rd:
        some = list(rd)
        assert rd.skipped == rd.seen - len(some) > 0
    assert [e.num for e in some] == \
        [e.num for e in every if e.name in ("open", "close")]
    assert {e.param("name") for e in some if e.name == "open"
            and e.direction == "<"} == {f"/tmp/file-{i}" for i in
                                        range(1, 14)}


@needs_shared
def test_plain_and_gzip_give_the_same_events(tmp_path: Path) -> None:
    plain = tmp_path / "plain.scap"
    plain.write_bytes(gzip.decompress((CAPTURES /
                                       "connect_localhost.scap").read_bytes()))
    a = [(e.num, e.raw) for e in read_capture(plain)]
    b = [(e.num, e.raw) for e in
         read_capture(CAPTURES / "connect_localhost.scap")]
    assert a == b


def test_missing_capture(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as exc:
        CaptureReader(tmp_path / "nope.scap")
    assert "nope.scap" in str(exc.value)
    assert "No such file" in str(exc.value)


def test_not_a_capture(tmp_path: Path) -> None:
    bad = tmp_path / "bad.scap"
    bad.write_bytes(b"hello world, definitely not a capture" * 3)
    with pytest.raises(CaptureError) as exc:
        CaptureReader(bad)
    assert "not a readable capture" in str(exc.value)


@needs_shared
def test_truncated_capture_reports_offset(tmp_path: Path) -> None:
    data = gzip.decompress((CAPTURES / "cat_write.scap").read_bytes())
    cut = tmp_path / "cut.scap"
    cut.write_bytes(data[:len(data) - 50])
    got = []
    with pytest.raises(DecodeError) as exc:
        with CaptureReader(cut) as rd:
            for ev in rd:
                got.append(ev.num)
    assert exc.value.offset is not None
    assert len(data) - 50 - 4096 < exc.value.offset < len(data) - 50
    assert len(got) > 300


@needs_shared
def test_corrupt_block_reports_offset(tmp_path: Path) -> None:
    data = bytearray(gzip.decompress((CAPTURES /
                                      "cat_write.scap").read_bytes()))
    # find the 100th event block and break its trailer
    pos, seen = 0, 0
    while True:
        btype = int.from_bytes(data[pos:pos + 4], "little")
        blen = int.from_bytes(data[pos + 4:pos + 8], "little")
        if btype == 0x204:
            seen += 1
            if seen == 100:
                break
        pos += blen
    data[pos + blen - 4] ^= 0xFF
    bad = tmp_path / "bad.scap"
    bad.write_bytes(bytes(data))
    with pytest.raises(DecodeError) as exc:
        read_capture(bad)
    assert exc.value.offset == pos


@needs_shared
def test_cli_missing_capture_message_and_status(tmp_path: Path) -> None:
    cfg = s.write_config(tmp_path)
    res = s.run_falco("-c", str(cfg), "-r", str(s.SINGLE_RULE), "-e",
                      str(tmp_path / "absent.scap"))
    assert res.returncode != 0
    assert "absent.scap" in res.stderr
    assert "No such file" in res.stderr


@needs_shared
def test_cli_unreadable_capture_message_and_status(tmp_path: Path) -> None:
    cap = tmp_path / "locked.scap"
    cap.write_bytes((CAPTURES / "cat_write.scap").read_bytes())
    cap.chmod(0)
    argv = s.falco_argv("-c", str(s.write_config(tmp_path)), "-r",
                        str(s.SINGLE_RULE), "-e", str(cap))
    if os.geteuid() == 0:
        # Root reads mode-000 files; in a new user namespace it has no
        # capability over files owned by the real root.
        argv = ["unshare", "-U", *argv]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                         env=s.env(), cwd=s.ROOT)
    assert res.returncode == 2, res.stderr
    assert "Permission denied" in res.stderr and "locked.scap" in res.stderr


@needs_shared
def test_cli_truncated_capture_reports_offset(tmp_path: Path) -> None:
    data = gzip.decompress((CAPTURES / "cat_write.scap").read_bytes())
    cut = tmp_path / "cut.scap"
    cut.write_bytes(data[:len(data) - 50])
    res = s.run_falco("-c", str(s.write_config(tmp_path)), "-r",
                      str(s.SINGLE_RULE), "-e", str(cut))
    assert res.returncode != 0
    assert "cut.scap@" in res.stderr and "truncated" in res.stderr


def test_unreadable_capture_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as exc:
        CaptureReader(tmp_path)
    assert "Is a directory" in str(exc.value)
