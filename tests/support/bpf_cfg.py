# SPDX-License-Identifier: Apache-2.0
"""What Linux 6.1's verifier refuses in a BPF object that newer verifiers
accept, found from the object file alone (no kernel needed):

- a loop whose back edge is not a jump: 6.1's control-flow check accepts a
  back edge only on a jump instruction, so a loop clang lays out with the
  edge falling through a plain instruction or a call is refused ("back-edge
  from insn X to Y"; newer kernels accept it).  The check walks each
  function's instructions depth first in the kernel's order (fall-through
  edge first, then the jump target), as 6.1's check_cfg() does;
- instructions of BPF ISA v4 (sign-extending loads and moves, signed
  division, byte swaps, 32-bit-offset jumps: Linux 6.6);
- helper calls past bpf_user_ringbuf_drain (209, the last helper of 6.1).

Reads ELF64 little-endian relocatable objects as clang writes them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

SHF_EXECINSTR = 0x4
SHT_SYMTAB = 2
STT_FUNC = 2
LAST_HELPER_6_1 = 209

# instruction classes and opcodes (linux/bpf_common.h, linux/bpf.h)
LD, LDX, ALU, JMP, JMP32, ALU64 = 0x00, 0x01, 0x04, 0x05, 0x06, 0x07
JA, CALL, EXIT, END, DIV, MOD, MOV = 0x00, 0x80, 0x90, 0xd0, 0x30, 0x90, 0xb0
MEMSX = 0x80
LD_IMM64 = 0x18
PSEUDO_CALL, PSEUDO_KFUNC_CALL = 1, 2


@dataclass(frozen=True)
class Finding:
    section: str
    function: str
    insn: int           # index in the function
    what: str

    def __str__(self) -> str:
        return f"{self.section}:{self.function}+{self.insn}: {self.what}"


@dataclass(frozen=True)
class Function:
    section: str
    name: str
    insns: list[tuple[int, int, int, int]]   # code, src_reg, off, imm


def functions(path: Path) -> list[Function]:
    """Every function symbol of every executable section of @path."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not an ELF64 little-endian object")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    shdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
             for i in range(shnum)]

    def name_at(table: int, off: int) -> str:
        start = shdrs[table][4] + off
        return data[start:data.index(b"\0", start)].decode()

    out = []
    for sh in shdrs:
        if sh[1] != SHT_SYMTAB:
            continue
        strtab = sh[6]
        for i in range(sh[5] // 24):
            st_name, info, _, shndx, value, size = struct.unpack_from(
                "<IBBHQQ", data, sh[4] + i * 24)
            if info & 0xf != STT_FUNC or not 0 < shndx < shnum:
                continue
            sec = shdrs[shndx]
            if not sec[2] & SHF_EXECINSTR:
                continue
            raw = data[sec[4] + value:sec[4] + value + size]
            insns = []
            for j in range(0, len(raw) - 7, 8):
                code, regs, off, imm = struct.unpack_from("<BBhi", raw, j)
                insns.append((code, regs >> 4, off, imm))
            out.append(Function(name_at(shstrndx, sec[0]),
                                name_at(strtab, st_name), insns))
    return out


def _edges(insns: list[tuple[int, int, int, int]],
           t: int) -> list[tuple[int, bool]]:
    """Successors of instruction @t in 6.1's order, each with whether a back
    edge along it is allowed (only a jump's edges are loop edges)."""
    code, _, off, imm = insns[t]
    cls, op = code & 0x07, code & 0xf0
    if cls not in (JMP, JMP32):
        return [(t + 1, False)]
    if op == EXIT:
        return []
    if op == CALL:
        return [(t + 1, False)]
    if op == JA:
        return [(t + (imm if cls == JMP32 else off) + 1, True)]
    return [(t + 1, True), (t + off + 1, True)]


def back_edges(fn: Function) -> list[Finding]:
    """Depth-first walk of @fn from its entry as 6.1's check_cfg() does it:
    an edge to an instruction still on the walk's stack is a back edge,
    refused unless it is a jump's."""
    insns, n = fn.insns, len(fn.insns)
    found = []
    state = [0] * n          # 0 new, 1 on the stack, 2 done
    stack = [(0, iter(_edges(insns, 0)))] if n else []
    if n:
        state[0] = 1
    while stack:
        t, succ = stack[-1]
        for w, loop_ok in succ:
            if not 0 <= w < n:
                found.append(Finding(fn.section, fn.name, t,
                                     f"jump out of the function to {w}"))
            elif state[w] == 0:
                state[w] = 1
                stack.append((w, iter(_edges(insns, w))))
                break
            elif state[w] == 1 and not loop_ok:
                found.append(Finding(
                    fn.section, fn.name, t,
                    f"back-edge from insn {t} to {w} falls through "
                    f"(code {insns[t][0]:#04x}): Linux 6.1 refuses it"))
        else:
            state[t] = 2
            stack.pop()
    return found


def newer_than_6_1(fn: Function) -> list[Finding]:
    """Instructions and helpers Linux 6.1 does not know."""
    found = []
    for t, (code, src, off, imm) in enumerate(fn.insns):
        cls, op = code & 0x07, code & 0xf0
        what = ""
        if cls == LDX and code & 0xe0 == MEMSX:
            what = "sign-extending load (ISA v4, Linux 6.6)"
        elif cls in (ALU, ALU64) and op in (DIV, MOD, MOV) and off:
            what = "signed division or sign-extending move (ISA v4, Linux 6.6)"
        elif cls == ALU64 and op == END:
            what = "unconditional byte swap (ISA v4, Linux 6.6)"
        elif cls == JMP32 and op == JA:
            what = "jump with a 32-bit offset (ISA v4, Linux 6.6)"
        elif cls == JMP and op == CALL and src == 0 and imm > LAST_HELPER_6_1:
            what = f"helper {imm}, past Linux 6.1's last ({LAST_HELPER_6_1})"
        if what:
            found.append(Finding(fn.section, fn.name, t, what))
    return found
