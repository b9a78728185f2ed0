# SPDX-License-Identifier: Apache-2.0
"""Facts from an OCI runtime spec (containerd keeps one per container)."""
from __future__ import annotations

from typing import Any

from falco.containers.info import MAX_MOUNTS, Mount


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def spec_mounts(spec: dict[str, Any]) -> tuple[Mount, ...]:
    prop = str(_dict(spec.get("linux")).get("rootfsPropagation") or "")
    out = []
    for m in _list(spec.get("mounts"))[:MAX_MOUNTS]:
        m = _dict(m)
        opts = [o for o in _list(m.get("options")) if isinstance(o, str)]
        mode = next((o[5:] for o in opts if o.startswith("mode=")), "")
        out.append(Mount(str(m.get("source") or ""),
                         str(m.get("destination") or ""), mode,
                         "ro" not in opts, prop))
    return tuple(out)


def host_namespaces(spec: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(host pid, host network, host ipc): a namespace missing from
    linux.namespaces (or given by path) is shared with the host."""
    own = {str(_dict(ns).get("type")) for ns in
           _list(_dict(spec.get("linux")).get("namespaces"))
           if not _dict(ns).get("path")}
    return "pid" not in own, "network" not in own, "ipc" not in own


def spec_privileged(spec: dict[str, Any]) -> bool:
    """What a privileged container's spec looks like (containerd's
    WithPrivileged): no masked or read-only paths, no seccomp, no LSM
    label, and /sys and cgroup mounted read-write."""
    linux = _dict(spec.get("linux"))
    proc = _dict(spec.get("process"))
    if not linux or not proc:
        return False
    if linux.get("maskedPaths") or linux.get("readonlyPaths") \
            or linux.get("seccomp") or proc.get("selinuxLabel"):
        return False
    if proc.get("apparmorProfile") not in (None, "", "unconfined"):
        return False
    for m in _list(spec.get("mounts")):
        m = _dict(m)
        if m.get("type") in ("sysfs", "cgroup") and \
                "ro" in _list(m.get("options")):
            return False
    return True
