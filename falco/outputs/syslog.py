# SPDX-License-Identifier: Apache-2.0
"""Syslog output: datagrams to the local syslog socket (/dev/log).

Each alert is one RFC 3164 message as glibc's syslog(3) writes it:
``<PRI>Mmm dd hh:mm:ss ident[pid]: text``, PRI = facility * 8 + the rule
priority (Falco's priorities are the syslog levels, emergency = 0).
"""
from __future__ import annotations

from types import MappingProxyType
import os
import socket
import time
from dataclasses import dataclass, field

from falco.outputs.format import EncodedAlert

FACILITIES = MappingProxyType({
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
    "lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)}})


def syslog_message(facility: int, severity: int, ident: str, text: str,
                   now: float | None = None, pid: int | None = None) -> bytes:
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(now))
    pid = os.getpid() if pid is None else pid
    pri = facility * 8 + severity
    return f"<{pri}>{stamp} {ident}[{pid}]: {text}".encode(
        "utf-8", "backslashreplace")


@dataclass(slots=True)
class SyslogOutput:
    path: str = "/dev/log"
    facility: str = "user"
    identifier: str = "falco"
    name: str = "syslog"
    _sock: socket.socket | None = field(default=None, init=False)

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        return sock

    def emit(self, alert: EncodedAlert) -> None:
        msg = syslog_message(FACILITIES[self.facility], alert.severity,
                             self.identifier, alert.line)
        for attempt in (0, 1):
            if self._sock is None:
                self._sock = self._connect()
            try:
                self._sock.send(msg)
                return
            except OSError:
                # syslogd restarted: reconnect once, then give up.
                self.close()
                if attempt:
                    raise

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
