# SPDX-License-Identifier: Apache-2.0
"""Decoded values of the structured parameter types."""
from __future__ import annotations

from dataclasses import dataclass

from falco.driver._falco_ffi import lib

# Socket families as the driver encodes them (PPM_AF_*).
AF_UNIX = lib.PPM_AF_UNIX
AF_INET = lib.PPM_AF_INET
AF_INET6 = lib.PPM_AF_INET6
AF_NETLINK = lib.PPM_AF_NETLINK

FAMILY_NAMES = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6",
                16: "AF_NETLINK", 17: "AF_PACKET"}
L4_NAMES = {0: "IP", 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPV6", 255: "RAW"}


def _host(addr: str | None, family: int) -> str:
    if addr is None:
        return ""
    return addr


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A PT_SOCKADDR: IP address (text) and port, or a unix path."""

    family: int
    addr: str | None = None
    port: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.family == AF_UNIX:
            return self.path or ""
        if self.family in (AF_INET, AF_INET6):
            return f"{_host(self.addr, self.family)}:{self.port}"
        return FAMILY_NAMES.get(self.family, str(self.family))


@dataclass(frozen=True, slots=True)
class SockTuple:
    """A PT_SOCKTUPLE: source (client) and destination of a socket.

    For unix sockets ``sip``/``dip`` hold the kernel socket addresses as
    hex text and ``dpath`` the socket path.
    """

    family: int
    sip: str | None = None
    sport: int | None = None
    dip: str | None = None
    dport: int | None = None
    spath: str | None = None
    dpath: str | None = None

    def __str__(self) -> str:
        if self.family == AF_UNIX:
            return f"{self.sip}->{self.dip} {self.dpath or ''}".rstrip()
        if self.family in (AF_INET, AF_INET6):
            return (f"{self.sip}:{self.sport}->"
                    f"{self.dip}:{self.dport}")
        return FAMILY_NAMES.get(self.family, str(self.family))
