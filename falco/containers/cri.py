# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes CRI (runtime.v1) on containerd's or CRI-O's socket.

A lookup lists the container (for its pod sandbox id), reads its verbose
status and its pod sandbox's status: ``k8s.*`` fields come from the
sandbox metadata (name, namespace, uid), labels and network. Events come
from ``GetContainerEvents``; a runtime without it (containerd 1.6) is
followed through containerd's own event stream, "k8s.io" namespace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from falco.containers.containerd import ContainerdEngine
from falco.containers.engine import CREATE, DESTROY, START, RuntimeEvent
from falco.containers.grpcbase import Channel, NotFound, Stream, Unimplemented
from falco.containers.info import (MAX_MOUNTS, ContainerInfo, Mount,
                                   clean_labels, short_id, split_image)
from falco.containers.protos import load

SVC = "/runtime.v1.RuntimeService/"
RUNTIME_TYPES = {"containerd": "containerd", "cri-o": "cri-o"}
PROPAGATION = {0: "private", 1: "rslave", 2: "rshared"}
NODE = 2
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# CRI-O and the CRI plugin's own image annotations.
IMAGE_ANNOTATIONS = ("io.kubernetes.cri.image-name", "io.kubernetes.cri-o.Image",
                     "io.kubernetes.cri-o.ImageName")
EVENT_ACTIONS = {0: CREATE, 1: START, 3: DESTROY}
K8S_NAMESPACE = "k8s.io"


def _json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def privileged_of(info: dict[str, Any]) -> bool:
    """The verbose ContainerStatus info: runtimeSpec or config security
    context, or the top-level flag (containerd)."""
    for doc in (_d(info.get("runtimeSpec")), _d(info.get("config"))):
        sc = _d(_d(doc.get("linux")).get("security_context"))
        if isinstance(sc.get("privileged"), bool):
            return bool(sc["privileged"])
    return bool(info.get("privileged"))


def probes_of(annotations: dict[str, str], container: str
              ) -> tuple[str | None, str | None]:
    """(liveness, readiness) exec probe commands of ``container`` from the
    pod's last-applied-configuration annotation (kubectl's pod spec)."""
    spec = _d(_json(annotations.get(LAST_APPLIED, "")).get("spec"))
    for c in spec.get("containers") or ():
        if not isinstance(c, dict) or c.get("name") != container:
            continue
        out = []
        for key in ("livenessProbe", "readinessProbe"):
            cmd = _d(_d(c.get(key)).get("exec")).get("command")
            ok = isinstance(cmd, list) and cmd and \
                all(isinstance(x, str) for x in cmd)
            out.append(" ".join(cmd) if ok else None)
        return out[0], out[1]
    return None, None


def image_of(status: Any, info: dict[str, Any]
             ) -> tuple[str | None, str | None, str | None, str | None]:
    """(image, repository, tag, digest) from image and image_ref (either
    ``repo@sha256:...`` or ``sha256:...``), as the container plugin does."""
    name = status.image.image
    ref = status.image_ref
    digest = None
    at = ref.find("@sha256:")
    if ref.startswith("sha256:"):
        digest = ref
    elif at > 0:
        digest = ref[at + 1:]
    if not name or name.startswith("sha256:"):
        ann = _d(_d(info.get("runtimeSpec")).get("annotations"))
        name = next((ann[k] for k in IMAGE_ANNOTATIONS
                     if isinstance(ann.get(k), str)), name)
    if (not name or name.startswith("sha256:")) and at > 0:
        name = ref[:at]
    repo, tag, own_digest = split_image(name)
    return name or None, repo, tag, digest or own_digest


def sandbox_fields(info: ContainerInfo, sb: Any) -> None:
    """k8s.* from a PodSandboxStatus."""
    info.pod_sandbox_id = sb.id or None
    info.pod_name = sb.metadata.name or None
    info.pod_namespace = sb.metadata.namespace or None
    info.pod_uid = sb.metadata.uid or None
    info.pod_labels = clean_labels(dict(sb.labels))
    info.pod_ip = sb.network.ip or None
    info.ip = info.ip or info.pod_ip
    opts = sb.linux.namespaces.options
    info.host_network = opts.network == NODE
    info.host_pid = opts.pid == NODE
    info.host_ipc = opts.ipc == NODE


def info_from_status(status: Any, info_json: dict[str, Any], sb: Any | None,
                     kind: str) -> ContainerInfo:
    image, repo, tag, digest = image_of(status, info_json)
    mounts = tuple(Mount(m.host_path, m.container_path, "", not m.readonly,
                         PROPAGATION.get(m.propagation, "unknown"))
                   for m in list(status.mounts)[:MAX_MOUNTS])
    out = ContainerInfo(
        id=short_id(status.id), full_id=status.id, type=kind,
        name=status.metadata.name or None, image=image,
        image_repository=repo, image_tag=tag, image_digest=digest,
        privileged=privileged_of(info_json), mounts=mounts,
        labels=clean_labels(dict(status.labels)),
        start_ts=status.started_at or status.created_at or None,
        source="cri")
    if sb is not None:
        sandbox_fields(out, sb)
        out.liveness_probe, out.readiness_probe = probes_of(
            dict(sb.annotations), status.metadata.name)
    return out


def info_from_sandbox(sb: Any, kind: str) -> ContainerInfo:
    """The pod sandbox's own ("pause") container."""
    out = ContainerInfo(id=short_id(sb.id), full_id=sb.id, type=kind,
                        name=sb.metadata.name or None, start_ts=sb.created_at
                        or None, is_pod_sandbox=True, source="cri",
                        labels=clean_labels(dict(sb.labels)))
    sandbox_fields(out, sb)
    return out


@dataclass(slots=True)
class _CriEvents:
    """GetContainerEvents; when the runtime is containerd without it
    (before 1.7: UNIMPLEMENTED on first read), containerd's own event
    stream on the same socket, "k8s.io" namespace only."""

    stream: Stream
    socket: str
    timeout: float
    containerd: bool
    _fallback: Any = None
    _closed: bool = False

    def __iter__(self) -> Iterator[RuntimeEvent]:
        try:
            for msg in self.stream.messages():
                action = EVENT_ACTIONS.get(msg.container_event_type)
                if action is not None and msg.container_id:
                    yield RuntimeEvent(action, msg.container_id)
            return
        except Unimplemented:
            if not self.containerd or self._closed:
                raise
        self._fallback = ContainerdEngine(self.socket, self.timeout).events()
        if self._closed:
            return
        for ev in self._fallback:
            if ev.namespace == K8S_NAMESPACE:
                yield ev

    def close(self) -> None:
        self._closed = True
        self.stream.close()
        if self._fallback is not None:
            self._fallback.close()


@dataclass(slots=True)
class CriEngine:
    socket: str
    timeout: float = 2.0
    name: str = "cri"
    types: frozenset[str] = frozenset({"cri", "containerd", "cri-o"})
    kind: str = "cri"                  # container.type: containerd, cri-o
    runtime_name: str = ""
    chan: Channel = field(init=False)

    def __post_init__(self) -> None:
        self.chan = Channel(self.socket, self.timeout)

    def _call(self, method: str, request: Any, response: Any) -> Any:
        return self.chan.unary(SVC + method, request, response)

    def probe(self) -> bool:
        pb = load("cri")
        resp = self._call("Version", pb.VersionRequest(), pb.VersionResponse)
        self.runtime_name = resp.runtime_name
        self.kind = RUNTIME_TYPES.get(resp.runtime_name, "cri")
        return True

    def _sandbox(self, sandbox_id: str) -> Any | None:
        pb = load("cri")
        try:
            resp = self._call("PodSandboxStatus", pb.PodSandboxStatusRequest(
                pod_sandbox_id=sandbox_id, verbose=False), pb.PodSandboxStatusResponse)
        except NotFound:
            return None
        return resp.status

    def inspect(self, full_id: str) -> ContainerInfo | None:
        pb = load("cri")
        listed = self._call("ListContainers", pb.ListContainersRequest(
            filter=pb.ContainerFilter(id=full_id)), pb.ListContainersResponse)
        if not listed.containers:
            sb = self._sandbox(full_id)
            return None if sb is None else info_from_sandbox(sb, self.kind)
        ctr = listed.containers[0]
        try:
            st = self._call("ContainerStatus", pb.ContainerStatusRequest(
                container_id=ctr.id, verbose=True), pb.ContainerStatusResponse)
        except NotFound:
            return None
        sb = self._sandbox(ctr.pod_sandbox_id) if ctr.pod_sandbox_id else None
        return info_from_status(st.status, _json(st.info.get("info", "")), sb,
                                self.kind)

    def list(self) -> list[ContainerInfo]:
        pb = load("cri")
        listed = self._call("ListContainers", pb.ListContainersRequest(),
                            pb.ListContainersResponse)
        out = []
        for ctr in listed.containers:
            info = self.inspect(ctr.id)
            if info is not None:
                out.append(info)
        return out

    def events(self) -> _CriEvents:
        pb = load("cri")
        stream = self.chan.stream(SVC + "GetContainerEvents", pb.GetEventsRequest(),
                                  pb.ContainerEventResponse)
        return _CriEvents(stream, self.socket, self.timeout,
                          self.runtime_name == "containerd")

    def close(self) -> None:
        self.chan.close()

