# SPDX-License-Identifier: Apache-2.0
"""containerd's own gRPC API: containers live in namespaces ("default" for
``ctr``, "k8s.io" for the CRI plugin, "moby" for Docker).

A lookup tries each namespace (``Namespaces/List``), reads the container
(``Containers/Get``, its OCI spec as JSON) and its image's digest
(``Images/Get``); ``Events/Subscribe`` streams container create/delete
and task start.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from falco.containers.engine import CREATE, DESTROY, START, RuntimeEvent
from falco.containers.grpcbase import Channel, NotFound, Stream
from falco.containers.info import (ContainerInfo, clean_labels, short_id,
                                   split_image)
from falco.containers.oci import host_namespaces, spec_mounts, spec_privileged
from falco.containers.protos import load

NS_SVC = "/containerd.services.namespaces.v1.Namespaces/"
CT_SVC = "/containerd.services.containers.v1.Containers/"
IMG_SVC = "/containerd.services.images.v1.Images/"
EV_SVC = "/containerd.services.events.v1.Events/"
TOPICS = {"/containers/create": CREATE, "/tasks/start": START,
          "/containers/delete": DESTROY}
# Annotations the CRI plugin puts on its containers' specs.
CRI_ANN = "io.kubernetes.cri."


def _meta(ns: str) -> tuple[tuple[str, str], ...]:
    return (("containerd-namespace", ns),)


def ts_ns(ts: Any) -> int | None:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def info_from_container(c: Any, ns: str, digest: str | None) -> ContainerInfo:
    """A containers.v1 Container (spec decoded) -> ContainerInfo."""
    try:
        spec = json.loads(c.spec.value) if c.spec.value else {}
    except ValueError:
        spec = {}
    spec = spec if isinstance(spec, dict) else {}
    ann = spec.get("annotations") if isinstance(spec.get("annotations"), dict) else {}
    repo, tag, ref_digest = split_image(c.image)
    hpid, hnet, hipc = host_namespaces(spec)
    labels = clean_labels(dict(c.labels))
    sandbox = c.sandbox or str(ann.get(CRI_ANN + "sandbox-id") or "")
    kind = str(ann.get(CRI_ANN + "container-type") or "")
    info = ContainerInfo(
        id=short_id(c.id), full_id=c.id, type="containerd",
        name=str(ann.get(CRI_ANN + "container-name") or c.id),
        image=c.image or None, image_repository=repo, image_tag=tag,
        image_digest=ref_digest or digest, privileged=spec_privileged(spec),
        mounts=spec_mounts(spec), labels=labels, start_ts=ts_ns(c.created_at),
        host_pid=hpid, host_network=hnet, host_ipc=hipc,
        is_pod_sandbox=kind == "sandbox" or
        labels.get("io.cri-containerd.kind") == "sandbox",
        source="containerd")
    if sandbox:
        info.pod_sandbox_id = sandbox
        info.pod_name = ann.get(CRI_ANN + "sandbox-name") or None
        info.pod_namespace = ann.get(CRI_ANN + "sandbox-namespace") or None
        info.pod_uid = ann.get(CRI_ANN + "sandbox-uid") or None
    return info


@dataclass(slots=True)
class _Events:
    stream: Stream
    skip_namespaces: frozenset[str]

    def __iter__(self) -> Iterator[RuntimeEvent]:
        pb = load("containerd")
        for env in self.stream.messages():
            action = TOPICS.get(env.topic)
            if action is None or env.namespace in self.skip_namespaces:
                continue
            name = env.event.type_url.rsplit("/", 1)[-1]
            if name == "containerd.events.TaskStart":
                msg = pb.TaskStart.FromString(env.event.value)
                cid = msg.container_id
            elif name == "containerd.events.ContainerCreate":
                cid = pb.ContainerCreate.FromString(env.event.value).id
            elif name == "containerd.events.ContainerDelete":
                cid = pb.ContainerDelete.FromString(env.event.value).id
            else:
                continue
            if cid:
                yield RuntimeEvent(action, cid, env.namespace)

    def close(self) -> None:
        self.stream.close()


@dataclass(slots=True)
class ContainerdEngine:
    socket: str
    timeout: float = 2.0
    name: str = "containerd"
    types: frozenset[str] = frozenset({"containerd", "cri"})
    # Namespaces whose events another engine (CRI) handles.
    skip_namespaces: frozenset[str] = frozenset()
    chan: Channel = field(init=False)
    _namespaces: list[str] = field(default_factory=list)
    _ns_read: float = 0.0

    def __post_init__(self) -> None:
        self.chan = Channel(self.socket, self.timeout)

    def namespaces(self, refresh: bool = False) -> list[str]:
        now = time.monotonic()
        if refresh or not self._namespaces or now - self._ns_read > 30:
            pb = load("containerd")
            resp = self.chan.unary(NS_SVC + "List", pb.ListNamespacesRequest(),
                                   pb.ListNamespacesResponse)
            self._namespaces = [n.name for n in resp.namespaces]
            self._ns_read = now
        return self._namespaces

    def probe(self) -> bool:
        self.namespaces(refresh=True)
        return True

    def _digest(self, ns: str, image: str) -> str | None:
        if not image:
            return None
        pb = load("containerd")
        try:
            resp = self.chan.unary(IMG_SVC + "Get", pb.GetImageRequest(name=image),
                                   pb.GetImageResponse, _meta(ns))
        except NotFound:
            return None
        return resp.image.target.digest or None

    def get(self, ns: str, full_id: str) -> ContainerInfo | None:
        pb = load("containerd")
        try:
            resp = self.chan.unary(CT_SVC + "Get", pb.GetContainerRequest(id=full_id),
                                   pb.GetContainerResponse, _meta(ns))
        except NotFound:
            return None
        c = resp.container
        return info_from_container(c, ns, self._digest(ns, c.image))

    def inspect(self, full_id: str) -> ContainerInfo | None:
        for refresh in (False, True):
            for ns in self.namespaces(refresh):
                info = self.get(ns, full_id)
                if info is not None:
                    return info
        return None

    def list(self) -> list[ContainerInfo]:
        pb = load("containerd")
        out = []
        for ns in self.namespaces(refresh=True):
            resp = self.chan.unary(CT_SVC + "List", pb.ListContainersRequest(),
                                   pb.ListContainersResponse, _meta(ns))
            for c in resp.containers:
                out.append(info_from_container(c, ns, self._digest(ns, c.image)))
        return out

    def events(self) -> _Events:
        pb = load("containerd")
        req = pb.SubscribeRequest(filters=[f'topic=="{t}"' for t in TOPICS])
        return _Events(self.chan.stream(EV_SVC + "Subscribe", req, pb.Envelope),
                       self.skip_namespaces)

    def close(self) -> None:
        self.chan.close()
