# SPDX-License-Identifier: Apache-2.0
"""Event block variants of the capture format (EV, EVF, EV_V2, EVF_V2,
large-payload) and unknown blocks between them."""
from __future__ import annotations

import struct
from pathlib import Path

from falco.driver._falco_ffi import lib
from falco.events import encode_event
from falco.events.scap import read_capture
from falco.events.scap_blocks import pack_block

SHB = pack_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 2, -1))


def _v1(event_v2: bytes) -> bytes:
    """The same event with the old 22-byte header (no nparams field)."""
    length = int.from_bytes(event_v2[16:20], "little") - 4
    return event_v2[:16] + struct.pack("<I", length) + event_v2[20:22] + \
        event_v2[26:]


def test_all_event_block_kinds(tmp_path: Path) -> None:
    close = encode_event(lib.PPME_SYSCALL_CLOSE_X, 10, 7, [0, 5])
    openx = encode_event(lib.PPME_SYSCALL_OPEN_X, 11, 7,
                         [3, "/etc/x", 1, 0, 0, 0])
    blocks = [
        pack_block(0x204, struct.pack("<H", 1) + _v1(close)),        # EV
        pack_block(0x208, struct.pack("<HI", 0, 0x4) + _v1(openx)),  # EVF
        pack_block(0x216, struct.pack("<H", 1) + close),             # EV_V2
        pack_block(0x7777, b"unknown block body"),                   # skipped
        pack_block(0x217, struct.pack("<HI", 0, 1) + openx),         # EVF_V2
    ]
    path = tmp_path / "kinds.scap"
    path.write_bytes(SHB + b"".join(blocks))
    evs = read_capture(path)
    assert [(e.name, e.cpu, e.num) for e in evs] == [
        ("close", 1, 1), ("open", 0, 2), ("close", 1, 3), ("open", 0, 4)]
    assert [e.param("fd") for e in evs] == [5, 3, 5, 3]
    assert evs[1].param("name") == evs[3].param("name") == "/etc/x"
    assert evs[0].raw == _v1(close) and evs[2].raw == close


def test_large_payload_block(tmp_path: Path) -> None:
    code = lib.PPME_CONTAINER_JSON_2_E
    big = "{" + "x" * 70000 + "}"
    ev = encode_event(code, 1, 0, [big])
    # large-payload events carry u32 parameter lengths
    assert int.from_bytes(ev[26:30], "little") == len(big) + 1
    path = tmp_path / "large.scap"
    path.write_bytes(SHB + pack_block(0x221, struct.pack("<H", 0) + ev))
    (e,) = read_capture(path)
    assert e.name == "container" and e.param(0) == big


def test_unknown_event_code_is_skipped_by_length(tmp_path: Path) -> None:
    close = encode_event(lib.PPME_SYSCALL_CLOSE_X, 10, 7, [0, 5])
    unknown = bytearray(close)
    unknown[20:22] = (lib.PPM_EVENT_MAX + 5).to_bytes(2, "little")
    path = tmp_path / "unknown.scap"
    path.write_bytes(SHB + pack_block(0x216, b"\0\0" + bytes(unknown))
                     + pack_block(0x216, b"\0\0" + close))
    evs = read_capture(path)
    assert [(e.name, e.num) for e in evs] == [("close", 2)]
