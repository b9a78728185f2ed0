# SPDX-License-Identifier: Apache-2.0
"""Podman's own (libpod) API: ``/v4.0.0/libpod/...`` on podman.sock.

Its inspect document names the image as the user gave it (``ImageName``)
and carries the manifest digest (``ImageDigest``); events come from
``/libpod/events?stream=true``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from falco.containers.docker import (_ACTIONS, _dict, _quote, _str,
                                     healthcheck_of, ip_of, mounts_of)
from falco.containers.engine import RuntimeEvent, parse_time_ns
from falco.containers.http import ApiError, JsonStream, UnixHttp, query
from falco.containers.info import (ContainerInfo, clean_labels, short_id,
                                   split_image)

PREFIX = "/v4.0.0/libpod"


def info_from_libpod(data: dict[str, Any]) -> ContainerInfo:
    config = _dict(data.get("Config"))
    host = _dict(data.get("HostConfig"))
    full = _str(data.get("Id"))
    name = _str(data.get("Name")).lstrip("/")
    ref = _str(data.get("ImageName"))
    repo, tag, digest = split_image(ref)
    digest = digest or _str(data.get("ImageDigest")) or None
    image_id = _str(data.get("Image"))
    state = _dict(data.get("State"))
    return ContainerInfo(
        id=short_id(full), full_id=full, type="podman", name=name or None,
        image=ref or None, image_id=image_id[:12] or None,
        image_repository=repo, image_tag=tag, image_digest=digest,
        privileged=bool(host.get("Privileged")),
        mounts=mounts_of(data.get("Mounts")),
        labels=clean_labels(config.get("Labels")),
        ip=ip_of(_dict(data.get("NetworkSettings"))),
        start_ts=parse_time_ns(state.get("StartedAt"))
        or parse_time_ns(data.get("Created")),
        host_pid=host.get("PidMode") == "host",
        host_network=host.get("NetworkMode") == "host",
        host_ipc=host.get("IpcMode") == "host",
        healthcheck=healthcheck_of(config),
        is_pod_sandbox="k8s_POD" in name, source="podman")


@dataclass(slots=True)
class _Events:
    stream: JsonStream

    def __iter__(self) -> Iterator[RuntimeEvent]:
        for doc in self.stream:
            if not isinstance(doc, dict) or doc.get("Type") != "container":
                continue
            action = _ACTIONS.get(_str(doc.get("Action") or doc.get("Status")))
            cid = _str(_dict(doc.get("Actor")).get("ID") or doc.get("ID"))
            if action is not None and cid:
                yield RuntimeEvent(action, cid)

    def close(self) -> None:
        self.stream.close()


@dataclass(slots=True)
class PodmanEngine:
    socket: str
    timeout: float = 2.0
    name: str = "podman"
    types: frozenset[str] = frozenset({"podman", "docker"})
    api: UnixHttp = field(init=False)

    def __post_init__(self) -> None:
        self.api = UnixHttp(self.socket, self.timeout)

    def probe(self) -> bool:
        return self.api.ping(f"{PREFIX}/_ping")

    def inspect(self, full_id: str) -> ContainerInfo | None:
        try:
            data = self.api.get_json(
                f"{PREFIX}/containers/{_quote(full_id)}/json")
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        if not isinstance(data, dict):
            raise OSError("container inspect: not a JSON object")
        return info_from_libpod(data)

    def list(self) -> list[ContainerInfo]:
        docs = self.api.get_json(f"{PREFIX}/containers/json"
                                 + query({"all": "true"}))
        out = []
        for doc in docs if isinstance(docs, list) else []:
            cid = _str(_dict(doc).get("Id"))
            info = self.inspect(cid) if cid else None
            if info is not None:
                out.append(info)
        return out

    def events(self) -> _Events:
        filters = {"type": ["container"],
                   "event": ["create", "init", "start", "remove"]}
        return _Events(self.api.open_stream(
            f"{PREFIX}/events" + query({"stream": "true",
                                        "filters": filters})))

    def close(self) -> None:
        pass
