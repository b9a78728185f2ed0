# SPDX-License-Identifier: Apache-2.0
"""container.* and k8s.* fields.

The container id comes from the thread's cgroups (``host`` outside
containers); the rest from runtime metadata when it has been fetched.
k8s fields come from CRI labels and are <NA> otherwise.
"""
from __future__ import annotations

from typing import Any, Callable

from falco.fields._common import B, S, field, unavailable_field
from falco.fields.registry import ArgMode, FieldDef, FieldType
from falco.state.containers import HOST


def _info(ctx: Any) -> Any:
    t = ctx.thread
    if t is None or t.container_id == HOST:
        return None
    return ctx.inspector.containers.get(t.container_id)


def _c(get: Callable[[Any], Any], host: Any = None
       ) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, _arg: str | None) -> Any:
        t = ctx.thread
        if t is None:
            return None
        if t.container_id == HOST:
            return host
        info = ctx.inspector.containers.get(t.container_id)
        return None if info is None else get(info)
    return extract


def _mount_str(m: dict[str, Any]) -> str:
    return (f"{m.get('source', '')}:{m.get('dest', '')}:{m.get('mode', '')}:"
            f"{'true' if m.get('rdwr') else 'false'}:"
            f"{m.get('propagation', '')}")


def _find_mount(info: Any, arg: str | None) -> Any:
    if info is None or arg is None:
        return None
    if arg.isdigit():
        idx = int(arg)
        return info.mounts[idx] if idx < len(info.mounts) else None
    for m in info.mounts:
        if m.get("dest") == arg:
            return m
    return None


def _mount(key: str | None) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, arg: str | None) -> Any:
        m = _find_mount(_info(ctx), arg)
        if m is None:
            return None
        if key is None:
            return _mount_str(m)
        value = m.get(key)
        if key == "rdwr":
            return "true" if value else "false"
        return value
    return extract


def _label(ctx: Any, arg: str | None) -> Any:
    info = _info(ctx)
    if info is None or arg is None:
        return None
    return info.labels.get(arg)


def _k8s_label(key: str) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, _arg: str | None) -> Any:
        info = _info(ctx)
        return None if info is None else info.labels.get(key)
    return extract


def _pod_label(ctx: Any, arg: str | None) -> Any:
    info = _info(ctx)
    if info is None or arg is None or \
            "io.kubernetes.pod.name" not in info.labels:
        return None
    return info.labels.get(arg)


def _duration(ctx: Any, _arg: str | None) -> Any:
    info = _info(ctx)
    if info is None or not info.start_ts:
        return None
    return ctx.evt.ts - info.start_ts


def fields() -> list[FieldDef]:
    REQ = ArgMode.REQUIRED
    defs = [
        field("container.id", S, "container id (12 chars) or 'host'",
              lambda c, a: None if c.thread is None
              else c.thread.container_id),
        field("container.full_id", S, "full container id",
              _c(lambda i: i.full_id, HOST)),
        field("container.name", S, "container name ('host' outside "
              "containers)", _c(lambda i: i.name, HOST)),
        field("container.type", S, "container runtime (docker, cri-o, "
              "containerd, podman, lxc, ...)", _c(lambda i: i.type, HOST)),
        field("container.image", S, "container image name",
              _c(lambda i: i.image)),
        field("container.image.id", S, "container image id",
              _c(lambda i: i.image_id)),
        field("container.image.repository", S, "image repository",
              _c(lambda i: i.image_repository)),
        field("container.image.tag", S, "image tag",
              _c(lambda i: i.image_tag)),
        field("container.image.digest", S, "image digest",
              _c(lambda i: i.image_digest)),
        field("container.privileged", B, "true for privileged containers",
              _c(lambda i: i.privileged)),
        field("container.mounts", S, "mounts as source:dest:mode:rdwr:"
              "propagation, comma separated",
              _c(lambda i: ",".join(_mount_str(m) for m in i.mounts))),
        field("container.mount", S, "one mount, by index or destination",
              _mount(None), REQ),
        field("container.mount.source", S, "mount source, by index or "
              "destination", _mount("source"), REQ),
        field("container.mount.dest", S, "mount destination",
              _mount("dest"), REQ),
        field("container.mount.mode", S, "mount mode", _mount("mode"), REQ),
        field("container.mount.rdwr", S, "mount read/write flag",
              _mount("rdwr"), REQ),
        field("container.mount.propagation", S, "mount propagation",
              _mount("propagation"), REQ),
        field("container.label", S, "one container label", _label, REQ),
        field("container.labels", S, "all container labels",
              _c(lambda i: ", ".join(f"{k}:{v}" for k, v in
                                     i.labels.items()) or None)),
        field("container.ip", S, "container IP address",
              _c(lambda i: i.ip)),
        field("container.start_ts", FieldType.ABSTIME, "container start "
              "time", _c(lambda i: i.start_ts)),
        field("container.duration", FieldType.RELTIME, "ns since the "
              "container started", _duration),
        field("container.healthcheck", S, "container healthcheck command",
              _c(lambda i: i.healthcheck)),
        unavailable_field(
            "container.cni.json", S, "CNI result of the container's pod",
            "CNI results come from the CRI runtime's pod status; no CRI "
            "client reads it yet"),
        unavailable_field(
            "container.liveness_probe", S, "liveness probe command",
            "probe commands come from the pod spec (CRI labels and "
            "annotations); not read yet"),
        unavailable_field(
            "container.readiness_probe", S, "readiness probe command",
            "probe commands come from the pod spec (CRI labels and "
            "annotations); not read yet"),
        unavailable_field(
            "container.host_pid", B, "container shares the host pid "
            "namespace", "namespace sharing comes from the runtime's "
            "container config; not read yet"),
        unavailable_field(
            "container.host_network", B, "container shares the host "
            "network", "namespace sharing comes from the runtime's "
            "container config; not read yet"),
        unavailable_field(
            "container.host_ipc", B, "container shares the host IPC "
            "namespace", "namespace sharing comes from the runtime's "
            "container config; not read yet"),
    ]
    k8s = [
        ("k8s.pod.name", "io.kubernetes.pod.name"),
        ("k8s.ns.name", "io.kubernetes.pod.namespace"),
        ("k8s.pod.uid", "io.kubernetes.pod.uid"),
        ("k8s.pod.id", "io.kubernetes.pod.uid"),
        ("k8s.pod.sandbox_id", "io.kubernetes.sandbox.id"),
        ("k8s.pod.full_sandbox_id", "io.kubernetes.sandbox.id"),
    ]
    defs += [field(name, S, f"Kubernetes {name[4:]} (from CRI labels)",
                   _k8s_label(key)) for name, key in k8s]
    defs.append(field("k8s.pod.label", S, "one pod label", _pod_label, REQ))
    pod_status = ("comes from the CRI runtime's pod sandbox status; no CRI "
                  "client reads it yet")
    defs.append(unavailable_field("k8s.pod.labels", S, "pod labels",
                                  "the pod's labels " + pod_status))
    defs.append(unavailable_field("k8s.pod.ip", S, "pod IP address",
                                  "the pod IP " + pod_status))
    defs.append(unavailable_field("k8s.pod.cni.json", S, "pod CNI result",
                                  "the CNI result " + pod_status))
    no_api = ("Falco no longer reads the Kubernetes API server; nothing "
              "fills it")
    for name in ("k8s.rc.name", "k8s.rc.id", "k8s.rc.labels", "k8s.svc.name",
                 "k8s.svc.id", "k8s.svc.labels", "k8s.ns.id", "k8s.ns.labels",
                 "k8s.rs.name", "k8s.rs.id", "k8s.rs.labels",
                 "k8s.deployment.name", "k8s.deployment.id",
                 "k8s.deployment.labels"):
        defs.append(unavailable_field(name, S, f"Kubernetes API field "
                                      f"{name}", no_api, deprecated=True))
    for name in ("k8s.rc.label", "k8s.svc.label", "k8s.ns.label",
                 "k8s.rs.label", "k8s.deployment.label"):
        defs.append(unavailable_field(name, S, f"Kubernetes API label "
                                      f"{name}", no_api, REQ,
                                      deprecated=True))

    return defs
