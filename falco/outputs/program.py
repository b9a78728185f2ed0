# SPDX-License-Identifier: Apache-2.0
"""Program output: alert lines on a program's standard input.

The configured program string is a shell command line written by the
administrator (``mail -s "Falco Notification" root``), so it runs through
``/bin/sh -c`` as in Falco. The alert text only ever travels on the
program's stdin: it never becomes part of a command line.

With ``keep_alive`` one process receives every alert and is started again
if it dies; without it each alert gets its own process.
"""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from falco.outputs.format import EncodedAlert

log = logging.getLogger(__name__)

Spawn = Callable[..., Any]


@dataclass(slots=True)
class ProgramOutput:
    program: str
    keep_alive: bool = False
    buffered: bool = False
    spawn: Spawn = subprocess.Popen
    timeout: float = 30.0
    name: str = "program"
    restarts: int = field(default=0, init=False)
    _proc: Any = field(default=None, init=False)

    def _start(self) -> Any:
        return self.spawn(["/bin/sh", "-c", self.program],
                          stdin=subprocess.PIPE, stdout=None, stderr=None,
                          close_fds=True, start_new_session=True)

    def emit(self, alert: EncodedAlert) -> None:
        data = alert.data
        if not self.keep_alive:
            proc = self._start()
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise OSError(f"program '{self.program}' still running "
                              f"after {self.timeout:.0f} s, killed") from None
            return
        for attempt in (0, 1):
            if self._proc is None or self._proc.poll() is not None:
                if self._proc is not None:
                    self.restarts += 1
                    log.warning("program output: '%s' exited with %s, "
                                "restarting", self.program,
                                self._proc.returncode)
                    self._reap()
                self._proc = self._start()
            stdin: IO[bytes] = self._proc.stdin
            try:
                stdin.write(data)
                if not self.buffered:
                    stdin.flush()
                return
            except (BrokenPipeError, ValueError):
                self._proc.wait(timeout=self.timeout)
                if attempt:
                    raise BrokenPipeError(
                        f"program '{self.program}' does not read its input")

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        if self._proc is not None:
            self._reap()
