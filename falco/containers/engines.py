# SPDX-License-Identifier: Apache-2.0
"""The engines ``container_engines`` asks for, on their sockets.

Sockets are Falco's container plugin defaults unless configured; every
path is read below ``host_root`` (falco in a container sees the host's
/run under /host). An engine whose socket file does not exist is still
created: its listener probes it until the runtime starts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from falco.containers.containerd import ContainerdEngine
from falco.containers.cri import CriEngine
from falco.containers.docker import DockerEngine
from falco.containers.engine import Engine
from falco.containers.podman import PodmanEngine
from falco.containers.protos import ProtoUnavailable, load

DEFAULT_SOCKETS = {
    "docker": ("/var/run/docker.sock",),
    "podman": ("/run/podman/podman.sock",),
    "containerd": ("/run/containerd/containerd.sock",),
    "cri": ("/run/containerd/containerd.sock", "/run/crio/crio.sock",
            "/run/k3s/containerd/containerd.sock"),
}


class SocketConf(Protocol):
    enabled: bool
    sockets: list[str]


class EnginesConf(Protocol):
    docker: SocketConf
    podman: SocketConf
    containerd: SocketConf
    cri: SocketConf


@dataclass(frozen=True, slots=True)
class Built:
    engines: list[Engine]
    # Engines that could not be made (why), for the log.
    unavailable: list[str]


def _sockets(name: str, conf: SocketConf, host_root: str) -> list[str]:
    paths = list(conf.sockets) or list(DEFAULT_SOCKETS[name])
    return [host_root + p if host_root else p for p in paths]


def podman_user_sockets(host_root: str) -> list[str]:
    """Rootless podman: /run/user/<uid>/podman/podman.sock that exist."""
    base = f"{host_root}/run/user"
    try:
        uids = sorted(os.listdir(base))
    except OSError:
        return []
    return [p for p in (f"{base}/{u}/podman/podman.sock" for u in uids)
            if os.path.exists(p)]


def build_engines(conf: EnginesConf, host_root: str = "",
                  timeout: float = 2.0) -> Built:
    engines: list[Engine] = []
    missing: list[str] = []
    if conf.docker.enabled:
        engines += [DockerEngine(s, timeout)
                    for s in _sockets("docker", conf.docker, host_root)]
    if conf.podman.enabled:
        socks = _sockets("podman", conf.podman, host_root)
        if not conf.podman.sockets:
            socks += podman_user_sockets(host_root)
        engines += [PodmanEngine(s, timeout) for s in socks]
    cri_socks = _sockets("cri", conf.cri, host_root) if conf.cri.enabled else []
    try:
        if cri_socks or conf.containerd.enabled:
            # Imported here, before any listener thread runs.
            load("cri")
            load("containerd")
        engines += [CriEngine(s, timeout) for s in cri_socks]
        if conf.containerd.enabled:
            for s in _sockets("containerd", conf.containerd, host_root):
                # The CRI engine answers for the CRI plugin's namespace.
                skip = frozenset({"k8s.io"}) if s in cri_socks else frozenset()
                engines.append(ContainerdEngine(s, timeout,
                                                skip_namespaces=skip))
    except ProtoUnavailable as exc:
        missing.append(f"containerd and CRI engines: {exc}")
    return Built(engines, missing)
