# SPDX-License-Identifier: Apache-2.0
"""Container ids from cgroup paths.

A thread belongs to a container when one of its cgroup paths matches a
runtime's layout (docker, containerd/CRI, cri-o, podman, LXC). 64-hex ids
are shown as their first 12 characters; everything else is ``host``.
The metadata table is in ``falco.state.container_table``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from falco.containers.info import ContainerInfo, short_id

HOST = "host"
_HEX = frozenset("0123456789abcdef")

# (prefix, suffix, runtime) matched against the last path component.
_LAYOUTS: tuple[tuple[str, str, str], ...] = (
    ("docker-", ".scope", "docker"),
    ("cri-containerd-", ".scope", "containerd"),
    ("crio-", ".scope", "cri-o"),
    ("crio-", "", "cri-o"),
    ("libpod-", ".scope", "podman"),
    ("libpod-", "", "podman"),
)


@dataclass(frozen=True, slots=True)
class ContainerMatch:
    full_id: str
    type: str
    name: str | None = None

    @property
    def id(self) -> str:
        return short_id(self.full_id)


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in _HEX for c in text)


def _match_component(comp: str, parent: str, path: str) -> ContainerMatch | None:
    if len(comp) == 64 and _is_hex(comp):
        if "kubepods" in path:
            return ContainerMatch(comp, "cri")
        if parent.startswith("libpod-"):
            return ContainerMatch(comp, "podman")
        return ContainerMatch(comp, "docker")
    for prefix, suffix, runtime in _LAYOUTS:
        if comp.startswith(prefix) and comp.endswith(suffix):
            cid = comp[len(prefix):len(comp) - len(suffix)]
            if len(cid) == 64 and _is_hex(cid):
                return ContainerMatch(cid, runtime)
    cut = comp.find(":cri-containerd:")
    if cut >= 0:
        cid = comp[cut + len(":cri-containerd:"):]
        if len(cid) == 64 and _is_hex(cid):
            return ContainerMatch(cid, "containerd")
    return None


# containerd namespaces whose ``/<namespace>/<id>`` cgroups (cgroupfs
# driver, no CRI) are containers: ctr's, the CRI plugin's and Docker's.
CONTAINERD_NAMESPACES = frozenset({"default", "k8s.io", "moby"})


def match_cgroup_path(path: str) -> ContainerMatch | None:
    """The container a single cgroup path belongs to, if any."""
    if not path or path == "/":
        return None
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    # podman: .../libpod-<id>.scope/container
    if parts[-1] == "container" and len(parts) >= 2:
        m = _match_component(parts[-2], "", path)
        if m is not None:
            return m
    m = _match_component(parts[-1], parts[-2] if len(parts) > 1 else "", path)
    if m is not None:
        return m
    # LXC: /lxc/<name>, /lxc.payload/<name>, /lxc.payload.<name>
    for i, comp in enumerate(parts):
        if comp in ("lxc", "lxc.payload") and i + 1 < len(parts):
            name = parts[i + 1]
            return ContainerMatch(name, "lxc", name)
        if comp.startswith("lxc.payload."):
            name = comp[len("lxc.payload."):]
            return ContainerMatch(name, "lxc", name)
        if comp.endswith(".libvirt-lxc") and comp.startswith("lxc-"):
            name = comp[4:-len(".libvirt-lxc")].split("-", 1)[-1]
            return ContainerMatch(name, "libvirt-lxc", name)
    # BOSH process manager: .../bpm-<id>.scope
    for comp in parts:
        cut = comp.find("bpm-")
        if cut >= 0:
            cid = comp[cut + 4:]
            if cid.endswith(".scope"):
                cid = cid[:-len(".scope")]
            if cid and all(c.isalnum() or c in "._-" for c in cid):
                return ContainerMatch(cid, "bpm", cid)
    # containerd without CRI: /<namespace>/<id>, short ids allowed.
    if len(parts) == 2 and parts[0] in CONTAINERD_NAMESPACES:
        cid = parts[1]
        if not cid.endswith((".service", ".slice", ".scope")):
            return ContainerMatch(cid, "containerd")
    return None


def match_cgroups(cgroups: list[tuple[str, str]]) -> ContainerMatch | None:
    for _subsys, path in cgroups:
        m = match_cgroup_path(path)
        if m is not None:
            return m
    return None


def parse_cgroups(raw: Any) -> list[tuple[str, str]]:
    """``"cpu=/docker/abc\\0memory=/..."`` -> [("cpu", "/docker/abc"), ...]."""
    if not raw:
        return []
    items = raw.split("\0") if isinstance(raw, str) else raw
    out: list[tuple[str, str]] = []
    for item in items:
        if not item:
            continue
        if isinstance(item, tuple):
            out.append((str(item[0]), str(item[1])))
            continue
        subsys, sep, path = item.partition("=")
        if sep:
            out.append((subsys, path))
    return out




__all__ = ["HOST", "ContainerInfo", "ContainerMatch", "match_cgroup_path",
           "match_cgroups", "parse_cgroups"]
