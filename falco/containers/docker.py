# SPDX-License-Identifier: Apache-2.0
"""The Docker Engine API (and Podman's Docker-compatible API).

Inspect: ``GET /containers/<id>/json`` then ``GET /images/<image>/json``
for the repository digest; events: ``GET /events`` filtered on container
create, start and destroy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from falco.containers.engine import (CREATE, DESTROY, START, RuntimeEvent,
                                     parse_time_ns)
from falco.containers.http import ApiError, JsonStream, UnixHttp, query
from falco.containers.info import (MAX_MOUNTS, ContainerInfo, Mount,
                                   clean_labels, short_id, split_image)

_ACTIONS = {"create": CREATE, "init": START, "start": START, "destroy": DESTROY,
            "remove": DESTROY}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def healthcheck_of(config: dict[str, Any]) -> str | None:
    """Config.Healthcheck.Test -> the command a healthcheck process runs
    (exe and args joined by spaces): CMD-SHELL runs through /bin/sh -c."""
    test = _dict(config.get("Healthcheck")).get("Test")
    if not isinstance(test, list) or len(test) < 2 \
            or not all(isinstance(t, str) for t in test):
        return None
    if test[0] == "CMD-SHELL":
        return "/bin/sh -c " + " ".join(test[1:])
    if test[0] == "CMD":
        return " ".join(test[1:])
    return None


def mounts_of(raw: Any) -> tuple[Mount, ...]:
    out = []
    for m in raw if isinstance(raw, list) else []:
        m = _dict(m)
        out.append(Mount(_str(m.get("Source")), _str(m.get("Destination")),
                         _str(m.get("Mode")), bool(m.get("RW")),
                         _str(m.get("Propagation"))))
        if len(out) >= MAX_MOUNTS:
            break
    return tuple(out)


def ip_of(net: dict[str, Any]) -> str | None:
    ip = _str(net.get("IPAddress"))
    if not ip:
        for n in _dict(net.get("Networks")).values():
            ip = _str(_dict(n).get("IPAddress"))
            if ip:
                break
    return ip or None


def info_from_inspect(data: dict[str, Any], kind: str,
                      image: dict[str, Any] | None = None) -> ContainerInfo:
    """A ``docker inspect`` document (and its image's) -> ContainerInfo."""
    config = _dict(data.get("Config"))
    host = _dict(data.get("HostConfig"))
    full = _str(data.get("Id"))
    name = _str(data.get("Name")).lstrip("/")
    ref = _str(config.get("Image"))
    repo, tag, digest = split_image(ref)
    if image:
        for rd in image.get("RepoDigests") or ():
            if isinstance(rd, str) and "@" in rd:
                r, d = rd.split("@", 1)
                if digest is None and (repo is None or r == repo):
                    digest = d
        if tag is None and repo is not None and digest is None:
            for rt in image.get("RepoTags") or ():
                r, t, _ = split_image(rt if isinstance(rt, str) else "")
                if r == repo:
                    tag = t
    if ref and tag is None and digest is None and not ref.startswith("sha256:"):
        tag = "latest"
    image_id = _str(data.get("Image"))
    if image_id.startswith("sha256:"):
        image_id = image_id[7:]
    state = _dict(data.get("State"))
    return ContainerInfo(
        id=short_id(full), full_id=full, type=kind, name=name or None,
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
        is_pod_sandbox="k8s_POD" in name, source=kind)


@dataclass(slots=True)
class _Events:
    stream: JsonStream

    def __iter__(self) -> Iterator[RuntimeEvent]:
        for doc in self.stream:
            if not isinstance(doc, dict) or doc.get("Type") != "container":
                continue
            action = _ACTIONS.get(_str(doc.get("Action") or doc.get("status")))
            cid = _str(_dict(doc.get("Actor")).get("ID") or doc.get("id"))
            if action is not None and cid:
                yield RuntimeEvent(action, cid)

    def close(self) -> None:
        self.stream.close()


@dataclass(slots=True)
class DockerEngine:
    """Docker's API; ``name="podman"`` for Podman's compatible API on the
    same paths (its containers are typed ``podman``)."""

    socket: str
    timeout: float = 2.0
    name: str = "docker"
    types: frozenset[str] = frozenset({"docker"})
    api: UnixHttp = field(init=False)

    def __post_init__(self) -> None:
        self.api = UnixHttp(self.socket, self.timeout)

    def probe(self) -> bool:
        return self.api.ping()

    def _image(self, ref: str) -> dict[str, Any] | None:
        if not ref:
            return None
        try:
            doc = self.api.get_json(f"/images/{_quote(ref)}/json")
        except ApiError:
            return None
        return doc if isinstance(doc, dict) else None

    def inspect(self, full_id: str) -> ContainerInfo | None:
        try:
            data = self.api.get_json(f"/containers/{_quote(full_id)}/json")
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        if not isinstance(data, dict):
            raise OSError("container inspect: not a JSON object")
        image = self._image(_str(data.get("Image")))
        return info_from_inspect(data, self.name, image)

    def list(self) -> list[ContainerInfo]:
        docs = self.api.get_json("/containers/json" + query({"all": "1"}))
        out = []
        for doc in docs if isinstance(docs, list) else []:
            cid = _str(_dict(doc).get("Id"))
            if cid:
                info = self.inspect(cid)
                if info is not None:
                    out.append(info)
        return out

    def events(self) -> _Events:
        filters = {"type": ["container"],
                   "event": ["create", "start", "destroy", "remove"]}
        return _Events(self.api.open_stream(
            "/events" + query({"filters": filters})))

    def close(self) -> None:
        pass


def _quote(text: str) -> str:
    from urllib.parse import quote
    return quote(text, safe="")
