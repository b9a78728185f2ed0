# SPDX-License-Identifier: Apache-2.0
"""Soundness checks of the prefilter: random events of a code, built from
pools of values (the constants of the conditions under test among them),
run through the real inspector and a rule's real predicate, and through
the prefilter program compiled for the same condition. Whenever the
predicate holds, the program must let the event pass."""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from falco.driver import schema as S
from falco.driver.schema import EventInfo, get_schema
from falco.events.encode import encode_param
from falco.events.event import Event
from falco.events.sockets import AF_INET, AF_INET6, AF_UNIX, SockAddr, \
    SockTuple
from falco.filter import syntax
from falco.filter.compiler import fold
from falco.filter.evttypes import assume_evttype
from falco.prefilter.models import Code
from falco.prefilter.program import PASS, emit, evaluate
from falco.prefilter.translate import Translator
from falco.state import Inspector
from falco.state.entries import FdInfo, FdType, ThreadInfo

TS = 1_700_000_000_000_000_000
TID = 4242


@dataclass(slots=True)
class Pools:
    """Values random events are made of."""

    strings: list[str] = field(default_factory=lambda: [
        "/etc/shadow", "/etc/passwd", "/tmp/x", "/usr/bin/ls", "/", "a",
        "rel/path", "/etc//shadow", "/etc/./x", "/etc/../root/x", "",
        "/dev/null", "/dev/shm/x", "/root/.bashrc", "/bin/sh", "bash",
        "/proc/self/exe", "/var/log/syslog", "/etc/", "x" * 300])
    ints: list[int] = field(default_factory=lambda: [
        0, 1, 2, 3, -1, -2, -13, -115, 17, 22, 80, 443, 1 << 31, -(1 << 31),
        0o4755, 0o2755, 0o755, 0x7FFFFFFF, 65535])
    comms: list[str] = field(default_factory=lambda: [
        "bash", "sh", "cat", "mysqld", "nc", "python3", "sshd", "dpkg"])
    addrs: list[str] = field(default_factory=lambda: [
        "10.0.0.1", "127.0.0.1", "192.168.1.5", "0.0.0.0", "8.8.8.8"])

    def comm(self, rng: random.Random) -> str:
        """A name from the conditions' constants half of the time."""
        if rng.random() < 0.5:
            return rng.choice(("app", "worker", "x", "java"))
        return rng.choice(self.comms)

    def path(self, rng: random.Random) -> str:
        return rng.choice(self.strings)

    def add_constants(self, node: syntax.Expr) -> None:
        """Harvest the literals of a condition (so random events hit)."""
        stack = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, (syntax.And, syntax.Or)):
                stack.extend(cur.children)
            elif isinstance(cur, syntax.Not):
                stack.append(cur.child)
            elif isinstance(cur, syntax.BinaryCheck):
                rhs = cur.rhs
                items = rhs.items if isinstance(rhs, syntax.ListValue) \
                    else (rhs,) if isinstance(rhs, syntax.StrValue) else ()
                for item in items:
                    self._add(item.text)

    def _add(self, text: str) -> None:
        if len(self.strings) > 400:
            return
        self.strings += [text, text + "/x", text.rstrip("/") + "x"]
        if len(text) < 16:
            self.comms.append(text)
        try:
            self.ints.append(int(text, 0))
        except ValueError:
            pass
        if text.count(".") == 3 and "/" not in text:
            self.addrs.append(text.split("/")[0])


def _value(rng: random.Random, p: S.ParamInfo, pools: Pools) -> Any:
    t = p.type
    if t in (S.PT_CHARBUF, S.PT_FSPATH, S.PT_FSRELPATH):
        if p.name == "comm":
            return pools.comm(rng)
        return rng.choice(pools.strings)
    if t == S.PT_BYTEBUF:
        return rng.choice(pools.strings).encode()
    if t == S.PT_SOCKTUPLE:
        fam = rng.choice([AF_INET, AF_INET6, AF_UNIX])
        if fam == AF_INET:
            return SockTuple(fam, rng.choice(pools.addrs),
                             rng.choice(pools.ints) & 0xFFFF,
                             rng.choice(pools.addrs),
                             rng.choice(pools.ints) & 0xFFFF)
        if fam == AF_INET6:
            return SockTuple(fam, "::ffff:" + rng.choice(pools.addrs),
                             80, "::1", rng.choice(pools.ints) & 0xFFFF)
        return SockTuple(fam, "0x1", None, "0x2", None, None,
                         rng.choice(pools.strings))
    if t == S.PT_SOCKADDR:
        return SockAddr(AF_INET, rng.choice(pools.addrs),
                        rng.choice(pools.ints) & 0xFFFF)
    if t in S.FLAG_TYPES or t in S.ENUMFLAG_TYPES:
        if p.name == "flags" and p.flags and rng.random() < 0.3:
            return rng.choice((1, 2, 3, 2 | 4, 3 | 4 | (1 << 14), 1 << 10))
        if p.flags and rng.random() < 0.7:
            common = [f for f in p.flags if f[0] in pools.strings]
            picks = rng.sample(p.flags, min(len(p.flags), rng.randint(1, 3)))
            if common and rng.random() < 0.5:
                picks.append(rng.choice(common))
            value = 0
            for _, v in picks:
                value |= v
            return value if t in S.FLAG_TYPES else picks[0][1]
        return rng.choice(pools.ints) & 0xFFFF
    if t in (S.PT_UINT8, S.PT_UINT16, S.PT_UINT32, S.PT_UINT64, S.PT_UID,
             S.PT_GID, S.PT_PORT, S.PT_SYSCALLID, S.PT_SIGTYPE,
             S.PT_L4PROTO, S.PT_SOCKFAMILY, S.PT_RELTIME, S.PT_ABSTIME,
             S.PT_SIGSET):
        bits = {S.PT_UINT8: 8, S.PT_UINT16: 16, S.PT_PORT: 16,
                S.PT_SYSCALLID: 16, S.PT_SIGTYPE: 8, S.PT_L4PROTO: 8,
                S.PT_SOCKFAMILY: 8}.get(t, 32)
        return rng.choice(pools.ints) & ((1 << bits) - 1)
    if t in (S.PT_INT8, S.PT_INT16, S.PT_INT32, S.PT_INT64, S.PT_ERRNO,
             S.PT_FD, S.PT_PID, S.PT_FD32, S.PT_PID32):
        if p.name in ("res", "fd") and rng.random() < 0.5:
            return rng.choice([0, 3])        # successful calls, often
        return rng.choice(pools.ints)
    return None


def random_event(rng: random.Random, info: EventInfo, pools: Pools
                 ) -> Event:
    """An event of ``info``'s code; some parameters empty, some missing,
    some of an unexpected length."""
    blobs = []
    nparams = len(info.params)
    if rng.random() < 0.1:
        nparams = rng.randint(0, nparams)
    for p in info.params[:nparams]:
        roll = rng.random()
        if roll < 0.08:
            blobs.append(b"")
            continue
        if roll < 0.12:
            blobs.append(bytes(rng.randrange(256)
                               for _ in range(rng.choice([1, 2, 3, 4, 8]))))
            continue
        try:
            blobs.append(encode_param(p, _value(rng, p, pools)))
        except (ValueError, TypeError, OverflowError, struct.error):
            blobs.append(b"")
    lfmt = "<I" if info.large else "<H"
    body = b"".join(struct.pack(lfmt, len(b)) for b in blobs) + \
        b"".join(blobs)
    raw = struct.pack("<QQIHI", TS, TID, 26 + len(body), info.code,
                      len(blobs)) + body
    return Event.from_bytes(raw)


def random_inspector(rng: random.Random, pools: Pools) -> Inspector:
    """A state whose thread has a random name, cwd and fds: the models
    must not depend on any of it."""
    insp = Inspector(pair_enter_events=False)
    parent = ThreadInfo(tid=1, pid=1, comm=pools.comm(rng))
    insp.add_thread(parent)
    cid = rng.choice(["", "", "docker-" + "ab12" * 16 + ".scope"])
    t = ThreadInfo(tid=TID, pid=TID, ptid=1, comm=pools.comm(rng),
                   cwd=rng.choice(["/", "/tmp/", "/etc/", "/x" * 600 + "/"]))
    if cid:
        t.cgroups = [("cpuset", "/system.slice/" + cid)]
        t.container_id = insp.container_of(t.cgroups)
    insp.add_thread(t)
    for fd in (3, 4, 5, -100, 0, 1, 2):
        if rng.random() < 0.5:
            kind = rng.choice([FdType.FILE, FdType.DIRECTORY, FdType.IPV4,
                               FdType.UNIX])
            name = rng.choice(pools.strings)
            fdi = FdInfo(fd, kind, name, name, l4proto=rng.choice(
                [None, "tcp", "udp"]), sip=rng.choice(pools.addrs),
                sport=5, dip=rng.choice(pools.addrs), dport=80,
                is_server=rng.choice([None, True, False]))
            insp.add_fd(t, fdi)
    return insp


@dataclass(slots=True)
class Counterexample:
    condition: str
    event: str
    comm: str


@dataclass(slots=True)
class Tally:
    events: int = 0
    matches: int = 0


def check(ast: syntax.Expr, predicate: Any, registry: Any,
          codes: Iterable[int], rng: random.Random, pools: Pools,
          n: int, want: int = 0, tally: Tally | None = None
          ) -> Counterexample | None:
    """``n`` random events per code (up to 8 n while fewer than ``want``
    matched): predicate true => program passes."""
    schema = get_schema()
    tally = tally if tally is not None else Tally()
    for code in codes:
        info = schema.events[code]
        tree = fold(assume_evttype(ast, info.name, info.direction))
        mt, _ = Translator(registry, Code(info)).pair(tree)
        blob = emit({code: mt}).blob
        hits = 0
        for i in range(8 * n):
            if i >= n and hits >= want:
                break
            evt = random_event(rng, info, pools)
            insp = random_inspector(rng, pools)
            try:
                ctx = insp.process(evt)
                hit = bool(predicate(ctx))
            except Exception:      # the engine counts it as no match
                continue
            tally.events += 1
            if not hit:
                continue
            hits += 1
            tally.matches += 1
            comm = ctx.thread.comm if ctx.thread is not None else None
            if evaluate(blob, evt.raw, comm=comm) != PASS:
                return Counterexample(syntax.to_text(ast), str(evt),
                                      str(comm))
    return None


def leaves(node: syntax.Expr) -> list[syntax.Expr]:
    """The checks of a condition (each once)."""
    out: dict[str, syntax.Expr] = {}
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (syntax.And, syntax.Or)):
            stack.extend(cur.children)
        elif isinstance(cur, syntax.Not):
            stack.append(cur.child)
        elif isinstance(cur, (syntax.BinaryCheck, syntax.UnaryCheck)):
            out.setdefault(syntax.to_text(cur), cur)
    return list(out.values())


def check_leaf(leaf: syntax.Expr, predicate: Any, registry: Any, code: int,
               rng: random.Random, pools: Pools, n: int
               ) -> Counterexample | None:
    """One check alone, both ways: true => "may be true" passes, false =>
    "may be false" passes."""
    info = get_schema().events[code]
    tree = fold(assume_evttype(leaf, info.name, info.direction))
    mt, mf = Translator(registry, Code(info)).pair(tree)
    blobs = (emit({code: mf}).blob, emit({code: mt}).blob)
    for _ in range(n):
        evt = random_event(rng, info, pools)
        insp = random_inspector(rng, pools)
        try:
            ctx = insp.process(evt)
            hit = bool(predicate(ctx))
        except Exception:
            continue
        comm = ctx.thread.comm if ctx.thread is not None else None
        if evaluate(blobs[hit], evt.raw, comm=comm) != PASS:
            return Counterexample(("" if hit else "not ") +
                                  syntax.to_text(leaf), str(evt), str(comm))
    return None
