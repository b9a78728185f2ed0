# SPDX-License-Identifier: Apache-2.0
"""Falco's own log: stderr and a real syslog datagram socket; an
unreachable syslog is said, never silently dropped."""
from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Iterator

import pytest

from falco.app.logs import setup_logging

log = logging.getLogger("falco.test")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    logger = logging.getLogger("falco")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def test_unreachable_syslog_is_said(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-syslog-here"
    setup_logging(stderr=False, syslog=True, syslog_path=str(missing))
    err = capsys.readouterr().err
    assert f"log_syslog: cannot reach syslog at {missing}" in err
    assert "logging to stderr only" in err


def test_syslog_socket_gets_the_log(tmp_path: Path, capsys) -> None:
    path = tmp_path / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        setup_logging(stderr=True, syslog=True, syslog_path=str(path),
                      level="info")
        log.info("hello syslog")
        assert sock.recv(4096) == b"<14>falco: hello syslog\x00"
    assert "cannot reach" not in capsys.readouterr().err


@pytest.mark.parametrize("level,shown", [
    ("debug", {"debug", "info", "error"}), ("info", {"info", "error"}),
    ("notice", {"info", "error"}), ("error", {"error"}),
    ("emergency", set()), ("critical", set())])
def test_levels(level: str, shown: set[str], capsys) -> None:
    setup_logging(stderr=True, syslog=False, level=level)
    log.debug("m-debug")
    log.info("m-info")
    log.error("m-error")
    err = capsys.readouterr().err
    assert {w for w in ("debug", "info", "error") if f"m-{w}" in err} == \
        shown
