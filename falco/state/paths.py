# SPDX-License-Identifier: Apache-2.0
"""Path joining and normalisation with Falco's rules.

A relative name is joined to a base directory (the cwd or a dirfd's path,
always ending in ``/``); ``.`` segments and repeated ``/`` are dropped,
``..`` climbs one level but never above ``/``, and a trailing ``/`` is
removed. Paths longer than the driver's 1024-byte limit become
``/DIR_TOO_LONG/FILENAME_TOO_LONG`` as in libsinsp; an absolute name is
measured alone (libsinsp adds the unused base's length, so a deep cwd
would hide every absolute path a process opens).
"""
from __future__ import annotations

MAX_PATH = 1024
TOO_LONG = "/DIR_TOO_LONG/FILENAME_TOO_LONG"


def _is_clean(path: str) -> bool:
    return ("//" not in path and "/." not in path
            and (len(path) == 1 or not path.endswith("/")))


def _normalize_into(parts: list[str], path: str) -> None:
    for seg in path.split("/"):
        if not seg or seg == ".":
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)


def concatenate_paths(base: str, path: str) -> str:
    """Resolve ``path`` against the directory ``base``."""
    if len(path) + 1 + (0 if path.startswith("/") else len(base)) > \
            MAX_PATH:
        return TOO_LONG
    if path.startswith("/"):
        if _is_clean(path):
            return path
        parts: list[str] = []
        _normalize_into(parts, path)
        return "/" + "/".join(parts)
    if not path:
        return base if base == "/" or not base.endswith("/") else base[:-1]
    if not base.startswith("/"):
        # Unknown base such as "<UNKNOWN>": keep it as a visible prefix.
        parts = []
        _normalize_into(parts, path)
        return base + "/".join(parts)
    if ("//" not in base and "/." not in base and not path.startswith(".")
            and _is_clean("/" + path)):
        return (base if base.endswith("/") else base + "/") + path
    parts = []
    _normalize_into(parts, base)
    _normalize_into(parts, path)
    return "/" + "/".join(parts)


def dir_with_slash(path: str) -> str:
    """A directory name as a base for joining (always ends in ``/``)."""
    return path if path.endswith("/") else path + "/"


def dirname(path: str) -> str:
    """``fd.directory``: the part before the last ``/`` (``/`` for root)."""
    cut = path.rfind("/")
    if cut <= 0:
        return "/" if cut == 0 else path
    return path[:cut]


def basename(path: str) -> str:
    return path[path.rfind("/") + 1:]
