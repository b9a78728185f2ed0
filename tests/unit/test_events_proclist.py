# SPDX-License-Identifier: Apache-2.0
"""Process-list blocks PL_V1..PL_V9: each version's field layout."""
from __future__ import annotations

import struct

import pytest

from falco.errors import DecodeError
from falco.events import scap_blocks as B
from falco.events.capture_state import ProcEntry
from falco.events.scap_writer import proc_entry_bytes

BLOCK = {1: B.PL_V1, 2: B.PL_V2, 3: B.PL_V3, 4: B.PL_V4, 5: B.PL_V5,
         6: B.PL_V6, 7: B.PL_V7, 8: B.PL_V8}


def s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<H", len(b)) + b


def entry(ver: int) -> bytes:
    """One entry laid out the way a writer of format ``ver`` did."""
    out = struct.pack("<QQQ", 42, 40, 1)
    if ver >= 6:
        out += struct.pack("<q", 40)            # sid
    if ver >= 8:
        out += struct.pack("<q", 39)            # vpgid
    out += s("nginx") + s("/usr/sbin/nginx")
    if ver >= 7:
        out += s("/usr/sbin/nginx.bin")         # exepath
    out += s("-g\0daemon off;\0") + s("/srv/")
    out += struct.pack("<QIII", 1024, 0, 33, 34)
    if ver >= 2:
        out += struct.pack("<IIIQQ", 100, 50, 0, 7, 8)
    if ver >= 3:
        out += s("PATH=/bin\0HOME=/\0")
    if ver >= 4:
        out += struct.pack("<qq", 5, 4) + s("cpu=/docker/abc\0memory=/m\0")
    if ver >= 5:
        out += s("/")
    return out


@pytest.mark.parametrize("ver", range(1, 9))
def test_old_process_list_versions(ver: int) -> None:
    body = entry(ver) + entry(ver) + b"\0\0"     # two entries + padding
    procs = B.parse_proclist(body, 100, BLOCK[ver])
    assert len(procs) == 2
    p = procs[0]
    assert (p.tid, p.pid, p.ptid, p.comm, p.exe) == (42, 40, 1, "nginx",
                                                     "/usr/sbin/nginx")
    assert p.args == ["-g", "daemon off;"]
    assert (p.cwd, p.fdlimit, p.uid, p.gid) == ("/srv/", 1024, 33, 34)
    assert p.sid == (40 if ver >= 6 else -1)
    assert p.vpgid == (39 if ver >= 8 else -1)
    assert p.exepath == ("/usr/sbin/nginx.bin" if ver >= 7 else "")
    assert p.vmsize_kb == (100 if ver >= 2 else 0)
    assert p.env == (["PATH=/bin", "HOME=/"] if ver >= 3 else [])
    assert (p.vtid, p.vpid) == ((5, 4) if ver >= 4 else (-1, -1))
    assert p.cgroups == ([("cpu", "/docker/abc"), ("memory", "/m")]
                         if ver >= 4 else [])
    assert p.root == ("/" if ver >= 5 else "")


def test_v9_entries_with_newer_tail_fields() -> None:
    base = ProcEntry(tid=7, pid=7, ptid=1, comm="sh", exe="sh", loginuid=5,
                     exe_writable=True)
    old = proc_entry_bytes(base)                 # 2022 layout (sysdig 0.29)
    body = old[4:]
    # a newer writer appends pidns_init_start_ts, tty, loginuid, ... pgid
    newer_tail = struct.pack("<QIIBQQQBQQQBBq", 9, 3, 6, 1, 1, 2, 3, 1,
                             77, 88, 99, 1, 0, 12)
    fixed = body[:-5]                            # drop loginuid+exe_writable
    newer = struct.pack("<I", 4 + len(fixed) + len(newer_tail)) + fixed + \
        newer_tail
    a, b = B.parse_proclist(old + newer, 0, B.PL_V9)
    assert (a.loginuid, a.exe_writable, a.tty) == (5, True, 0)
    assert (b.pidns_init_start_ts, b.tty, b.loginuid) == (9, 3, 6)
    assert (b.cap_inheritable, b.cap_permitted, b.cap_effective) == (1, 2, 3)
    assert (b.exe_ino, b.exe_ino_ctime, b.exe_ino_mtime) == (77, 88, 99)
    assert (b.exe_upper_layer, b.exe_from_memfd, b.exe_lower_layer) == \
        (True, True, False)
    assert b.pgid == 12


def test_truncated_entry_reports_offset() -> None:
    body = entry(5)[:30]
    with pytest.raises(DecodeError) as exc:
        B.parse_proclist(body, 1000, B.PL_V5)
    assert exc.value.offset is not None and exc.value.offset >= 1000
