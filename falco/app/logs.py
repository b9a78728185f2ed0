# SPDX-License-Identifier: Apache-2.0
"""Falco's own log (life cycle and errors, not alerts): stderr and syslog.

Lines look like Falco's: ``Fri Nov 27 11:49:54 2026: message`` or, with
``time_format_iso_8601``, ``2026-11-27T11:49:54+0000: message``.
"""
from __future__ import annotations

import logging
import logging.handlers
import socket
import sys
import time

from falco.rules.model import Priority

# Python's logging level of each Falco log level (a priority), by severity.
_PY_LEVELS = (logging.CRITICAL, logging.CRITICAL, logging.CRITICAL,
              logging.ERROR, logging.WARNING, logging.INFO, logging.INFO,
              logging.DEBUG)


class FalcoLogFormatter(logging.Formatter):
    def __init__(self, iso: bool) -> None:
        super().__init__()
        self.iso = iso

    def format(self, record: logging.LogRecord) -> str:
        if self.iso:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000",
                                  time.gmtime(record.created))
        else:
            stamp = time.strftime("%a %b %d %H:%M:%S %Y",
                                  time.localtime(record.created))
        return f"{stamp}: {record.getMessage()}"


class _SyslogLogHandler(logging.handlers.SysLogHandler):
    """Syslog handler that says once on stderr that syslog is unreachable
    (no /dev/log, syslogd stopped) instead of a traceback per record."""

    reported = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.reported:
            self.reported = True
            sys.stderr.write(f"falco: syslog logging disabled: cannot write "
                             f"to {self.address}\n")


def setup_logging(*, stderr: bool = True, syslog: bool = False,
                  level: str = "info", iso: bool = False,
                  syslog_path: str = "/dev/log") -> None:
    """(Re)configure the ``falco`` logger; errors always reach stderr."""
    logger = logging.getLogger("falco")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(_PY_LEVELS[Priority.parse(level)])
    logger.propagate = False
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(FalcoLogFormatter(iso))
    if not stderr:
        err.setLevel(logging.ERROR)
    logger.addHandler(err)
    if syslog:
        try:
            _probe(syslog_path)
            handler = _SyslogLogHandler(
                address=syslog_path,
                facility=logging.handlers.SysLogHandler.LOG_USER)
        except OSError as exc:
            logger.error("log_syslog: cannot reach syslog at %s (%s); "
                         "logging to stderr only", syslog_path,
                         exc.strerror or exc)
            return
        handler.ident = "falco: "
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def _probe(path: str) -> None:
    """Raise OSError unless a syslog daemon listens on ``path``, on a
    datagram or a stream socket (the handler itself would only find out
    at the first record)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
    except OSError:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
