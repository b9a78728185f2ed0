# SPDX-License-Identifier: Apache-2.0
"""Container ids from cgroup paths, and container metadata.

A thread belongs to a container when one of its cgroup paths matches a
runtime's layout (docker, containerd/CRI, cri-o, podman, LXC). 64-hex ids
are shown as their first 12 characters; everything else is ``host``.
Metadata (name, image, ...) comes from the runtime socket when there is
one, fetched by a background worker so that events never wait.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

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
        if len(self.full_id) == 64 and _is_hex(self.full_id):
            return self.full_id[:12]
        return self.full_id


@dataclass(slots=True)
class ContainerInfo:
    id: str
    full_id: str
    type: str
    name: str | None = None
    image: str | None = None
    image_id: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    image_digest: str | None = None
    privileged: bool | None = None
    mounts: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    start_ts: int | None = None
    healthcheck: str | None = None


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
    # containerd without CRI: /default/<id>, short ids allowed.
    if len(parts) == 2 and parts[0] == "default":
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


def docker_info_from_json(cid: str, data: dict[str, Any]) -> ContainerInfo:
    """Build metadata from docker's ``GET /containers/<id>/json`` answer."""
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    net = data.get("NetworkSettings") or {}
    image = str(config.get("Image") or "")
    repo, tag, digest = image, None, None
    if "@" in repo:
        repo, digest = repo.split("@", 1)
    if ":" in repo.rsplit("/", 1)[-1]:
        repo, tag = repo.rsplit(":", 1)
    elif image and digest is None:
        tag = "latest"
    image_id = str(data.get("Image") or "")
    if image_id.startswith("sha256:"):
        image_id = image_id[7:19]
    mounts = [{"source": m.get("Source", ""), "dest": m.get("Destination", ""),
               "mode": m.get("Mode", ""), "rdwr": bool(m.get("RW")),
               "propagation": m.get("Propagation", "")}
              for m in data.get("Mounts") or []]
    full = str(data.get("Id") or cid)
    return ContainerInfo(
        id=full[:12], full_id=full, type="docker",
        name=str(data.get("Name") or "").lstrip("/") or None,
        image=image or None, image_id=image_id or None,
        image_repository=repo or None, image_tag=tag, image_digest=digest,
        privileged=bool(host.get("Privileged")), mounts=mounts,
        labels=dict(config.get("Labels") or {}),
        ip=net.get("IPAddress") or None)


def docker_get(sock_path: str, path: str, timeout: float = 2.0) -> Any:
    """A tiny HTTP/1.0 GET over a unix socket, returning decoded JSON."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise OSError(f"docker answered {head[:40]!r}")
    return json.loads(body)


@dataclass(slots=True)
class ContainerTable:
    """Known containers; metadata lookups run on a worker thread."""

    host_root: str = ""
    docker_socket: str = "/var/run/docker.sock"
    fetch_metadata: bool = True
    _containers: dict[str, ContainerInfo] = field(default_factory=dict)
    _queue: "queue.SimpleQueue[str | None]" = field(default_factory=queue.SimpleQueue)
    _worker: threading.Thread | None = None

    def get(self, cid: str) -> ContainerInfo | None:
        return self._containers.get(cid)

    def __len__(self) -> int:
        return len(self._containers)

    def put(self, info: ContainerInfo) -> None:
        self._containers[info.id] = info

    def note(self, match: ContainerMatch) -> str:
        """Record a container seen in a cgroup path; returns its short id."""
        cid = match.id
        if cid not in self._containers:
            self._containers[cid] = ContainerInfo(cid, match.full_id,
                                                  match.type, match.name)
            if match.type == "docker" and self.fetch_metadata:
                self._request(match.full_id)
        return cid

    def retain(self, ids: set[str]) -> None:
        """Forget every container whose id is not in ``ids``."""
        for cid in [c for c in self._containers if c not in ids]:
            del self._containers[cid]

    def _sock(self) -> str:
        return self.host_root + self.docker_socket

    def _request(self, full_id: str) -> None:
        if not os.path.exists(self._sock()):
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, daemon=True,
                                            name="falco-container-meta")
            self._worker.start()
        self._queue.put(full_id)

    def _run(self) -> None:
        while True:
            full_id = self._queue.get()
            if full_id is None:
                return
            try:
                data = docker_get(self._sock(), f"/containers/{full_id}/json")
                info = docker_info_from_json(full_id, data)
            except (OSError, ValueError) as err:
                log.debug("container %s metadata: %s", full_id[:12], err)
                continue
            # A single dict store: readers see the old or the new object.
            self._containers[info.id] = info

    def close(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=5)
            self._worker = None
