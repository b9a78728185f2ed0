# SPDX-License-Identifier: Apache-2.0
"""Users and groups: ``<host_root>/etc/passwd`` and ``/etc/group``.

The files are parsed by hand (as libsinsp does with a host root) and
re-read when their size, inode or mtime change; the check runs at most
once per ``check_interval`` seconds and only when a lookup happens.
Without a host root, ids missing from the files are asked to the system
databases (NSS) once. A capture's user and group lists replace the files.
"""
from __future__ import annotations

import grp
import logging
import os
import pwd
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from falco.events.capture_state import GroupEntry, UserEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserInfo:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(frozen=True, slots=True)
class GroupInfo:
    gid: int
    name: str


def parse_passwd(text: str) -> dict[int, UserInfo]:
    users: dict[int, UserInfo] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 7 or not parts[2].isdigit() or not parts[3].isdigit():
            continue
        uid = int(parts[2])
        users.setdefault(uid, UserInfo(uid, int(parts[3]), parts[0],
                                       parts[5], parts[6]))
    return users


def parse_group(text: str) -> dict[int, GroupInfo]:
    groups: dict[int, GroupInfo] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 3 or not parts[2].isdigit():
            continue
        gid = int(parts[2])
        groups.setdefault(gid, GroupInfo(gid, parts[0]))
    return groups


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(slots=True)
class UserDb:
    host_root: str = ""
    check_interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    use_nss: bool | None = None
    _users: dict[int, UserInfo] = field(default_factory=dict)
    _groups: dict[int, GroupInfo] = field(default_factory=dict)
    _missing_users: set[int] = field(default_factory=set)
    _missing_groups: set[int] = field(default_factory=set)
    _stamps: tuple[Any, Any] = (None, None)
    _next_check: float = 0.0
    _static: bool = False

    def __post_init__(self) -> None:
        if self.use_nss is None:
            self.use_nss = not self.host_root

    @property
    def passwd_path(self) -> str:
        return self.host_root + "/etc/passwd"

    @property
    def group_path(self) -> str:
        return self.host_root + "/etc/group"

    def load_entries(self, users: Iterable[UserEntry],
                     groups: Iterable[GroupEntry]) -> None:
        """Use a capture's user/group lists; the files are not read again."""
        self._static = True
        self._users = {u.uid: UserInfo(u.uid, u.gid, u.name, u.homedir,
                                       u.shell) for u in users}
        self._groups = {g.gid: GroupInfo(g.gid, g.name) for g in groups}
        self._missing_users.clear()
        self._missing_groups.clear()

    def _refresh(self) -> None:
        if self._static:
            return
        now = self.clock()
        if now < self._next_check:
            return
        self._next_check = now + self.check_interval
        stamps = (_stamp(self.passwd_path), _stamp(self.group_path))
        if stamps == self._stamps:
            return
        # A file that became unreadable (e.g. a container's root went away
        # with its last process) keeps what was read before.
        if stamps[0] is None and self._users:
            stamps = (self._stamps[0], stamps[1])
        if stamps[1] is None and self._groups:
            stamps = (stamps[0], self._stamps[1])
        if stamps[0] != self._stamps[0]:
            self._users = parse_passwd(_read(self.passwd_path))
            self._missing_users.clear()
        if stamps[1] != self._stamps[1]:
            self._groups = parse_group(_read(self.group_path))
            self._missing_groups.clear()
        self._stamps = stamps

    def user(self, uid: int) -> UserInfo | None:
        self._refresh()
        info = self._users.get(uid)
        if info is not None or uid in self._missing_users or uid < 0:
            return info
        if self.use_nss and not self._static:
            try:
                pw = pwd.getpwuid(uid)
            except (KeyError, OverflowError):
                pass
            else:
                info = UserInfo(uid, pw.pw_gid, pw.pw_name, pw.pw_dir,
                                pw.pw_shell)
                self._users[uid] = info
                return info
        self._missing_users.add(uid)
        return None

    def group(self, gid: int) -> GroupInfo | None:
        self._refresh()
        info = self._groups.get(gid)
        if info is not None or gid in self._missing_groups or gid < 0:
            return info
        if self.use_nss and not self._static:
            try:
                gr = grp.getgrgid(gid)
            except (KeyError, OverflowError):
                pass
            else:
                info = GroupInfo(gid, gr.gr_name)
                self._groups[gid] = info
                return info
        self._missing_groups.add(gid)
        return None

    def user_name(self, uid: int) -> str:
        """The user's name, or the id as text when unknown."""
        info = self.user(uid)
        return info.name if info is not None else str(uid)

    def group_name(self, gid: int) -> str:
        info = self.group(gid)
        return info.name if info is not None else str(gid)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as err:
        log.debug("cannot read %s: %s", path, err)
        return ""
