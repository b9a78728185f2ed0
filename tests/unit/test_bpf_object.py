# SPDX-License-Identifier: Apache-2.0
"""The shipped BPF object holds nothing Linux 6.1's verifier refuses that a
newer one accepts (tests/support/bpf_cfg.py), checked from the file without
a kernel: the cheap guard against the CI failure of fd33369 (a loop whose
back edge fell through a plain instruction).  The VM's
tests/kernel/test_bpf_accepted.py loads the object in 6.1 itself."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import bpf_cfg

ROOT = Path(__file__).resolve().parents[2]
OBJECT = ROOT / "falco" / "driver" / "falco_probe.bpf.o"

MOV_IMM, ADD_IMM, JGT_IMM, JA, EXIT = 0xb7, 0x07, 0x25, 0x05, 0x95


def fn(*insns: tuple[int, int, int, int]) -> bpf_cfg.Function:
    return bpf_cfg.Function(".text", "f", list(insns))


def test_shipped_object_has_nothing_6_1_refuses() -> None:
    assert OBJECT.is_file(), f"{OBJECT} missing: build it with 'make bpf'"
    fns = bpf_cfg.functions(OBJECT)
    names = {f.name for f in fns}
    assert "fbpf_sys_exit" in names and len(fns) > 10, sorted(names)
    found = [str(x) for f in fns for x in bpf_cfg.back_edges(f) + bpf_cfg.newer_than_6_1(f)]
    assert not found, "\n".join(found)


def test_back_edge_falling_through_is_found() -> None:
    # 0: goto 2; 1: r0 += 1; 2: if r0 > 8 goto 4; 3: goto 1; 4: exit
    # The walk 0, 2, 3, 1 reaches 2 again from 1 by falling through.
    bad = fn((JA, 0, 1, 0), (ADD_IMM, 0, 0, 1), (JGT_IMM, 0, 1, 8), (JA, 0, -3, 0),
             (EXIT, 0, 0, 0))
    found = bpf_cfg.back_edges(bad)
    assert [(x.insn, "back-edge from insn 1 to 2" in x.what) for x in found] == [(1, True)]


def test_loop_closed_by_a_jump_is_accepted() -> None:
    # 0: r0 = 0; 1: if r0 > 8 goto 4; 2: r0 += 1; 3: goto 1; 4: exit
    good = fn((MOV_IMM, 0, 0, 0), (JGT_IMM, 0, 2, 8), (ADD_IMM, 0, 0, 1), (JA, 0, -3, 0),
              (EXIT, 0, 0, 0))
    assert bpf_cfg.back_edges(good) == []


@pytest.mark.parametrize("insn, what", [
    ((0x81, 0, 0, 0), "sign-extending load"),   # ldxsw
    ((0x3f, 0, 1, 0), "signed division"),       # sdiv r, r
    ((0xd7, 0, 0, 32), "byte swap"),            # bswap32
    ((0x06, 0, 0, 5), "32-bit offset"),         # gotol
    ((0x85, 0, 0, 210), "past Linux 6.1"),      # bpf_cgrp_storage_get
])
def test_instructions_newer_than_6_1_are_found(insn: tuple[int, int, int, int],
                                               what: str) -> None:
    found = bpf_cfg.newer_than_6_1(fn(insn, (EXIT, 0, 0, 0)))
    assert len(found) == 1 and what in found[0].what, found
    assert bpf_cfg.newer_than_6_1(fn((0x85, 0, 0, 209), (EXIT, 0, 0, 0))) == []
