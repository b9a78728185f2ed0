# SPDX-License-Identifier: Apache-2.0
"""container.* fields, and proc.is_container_healthcheck/probe fields.

``container.id`` and ``container.type`` come from the thread's cgroups
(``host`` outside containers); everything else from the runtime's API
(falco.containers). While a container's lookup runs, a metadata field
raises ``MetadataPending``: the engine holds that event's rules until the
answer or the wait's end, then the field reads the answer or prints <NA>.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Callable

from falco.containers.info import ContainerInfo, Mount
from falco.fields._common import B, S, field, unavailable_field
from falco.fields.registry import ArgMode, FieldDef, FieldType
from falco.state.container_table import MetadataPending
from falco.state.containers import HOST

# How far up a process's ancestry a healthcheck/probe command is looked for
# (its children are probes too).
PROBE_DEPTH = 16
UNAVAILABLE = ("the CNI result is only in CRI runtimes' verbose pod "
               "status, which falco does not read")


def entry(ctx: Any) -> ContainerInfo | None:
    """The thread's container entry (None on the host), pending or not."""
    t = ctx.thread
    if t is None or t.container_id == HOST:
        return None
    info: ContainerInfo | None = ctx.inspector.containers.get(t.container_id)
    return info


def meta(ctx: Any) -> ContainerInfo | None:
    """The entry, once its metadata is known (raises while pending)."""
    info = entry(ctx)
    if info is not None and info.pending:
        raise MetadataPending(info.id)
    return info


def _c(get: Callable[[ContainerInfo], Any], host: Any = None,
       needs_meta: bool = True) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, _arg: str | None) -> Any:
        t = ctx.thread
        if t is None:
            return None
        if t.container_id == HOST:
            return host
        info = meta(ctx) if needs_meta else entry(ctx)
        return None if info is None else get(info)
    return extract


def _by_index_or(mounts: tuple[Mount, ...], arg: str | None,
                 key: Callable[[Mount], str]) -> Mount | None:
    if arg is None:
        return None
    if arg.isdigit():
        idx = int(arg)
        return mounts[idx] if idx < len(mounts) else None
    for m in mounts:
        if fnmatchcase(key(m), arg):
            return m
    return None


def _mount(attr: str | None, by: Callable[[Mount], str]
           ) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, arg: str | None) -> Any:
        info = meta(ctx)
        if info is None:
            return None
        m = _by_index_or(info.mounts, arg, by)
        if attr is None:
            return "none" if m is None else m.render()
        if m is None:
            return None
        if attr == "rdwr":
            return "true" if m.rdwr else "false"
        value: str = getattr(m, attr)
        return value
    return extract


def _label(ctx: Any, arg: str | None) -> Any:
    info = meta(ctx)
    if info is None or arg is None:
        return None
    return info.labels.get(arg)


def _labels(labels: dict[str, str]) -> str | None:
    return ",".join(f"{k}:{v}" for k, v in labels.items()) or None


def _duration(ctx: Any, _arg: str | None) -> Any:
    info = meta(ctx)
    if info is None or not info.start_ts:
        return None
    return ctx.evt.ts - info.start_ts


def command_of(t: Any) -> str:
    """A thread's command as a runtime writes a probe: argv0 then args."""
    return " ".join([t.exe, *t.args]) if t.exe else " ".join(t.args)


def _probe(get: Callable[[ContainerInfo], str | None]
           ) -> Callable[[Any, str | None], Any]:
    """True when the process, or an ancestor of it in the same container,
    runs the container's healthcheck (probe) command."""
    def extract(ctx: Any, _arg: str | None) -> Any:
        t = ctx.thread
        if t is None:
            return None
        if t.container_id == HOST:
            return False
        info = meta(ctx)
        want = None if info is None else get(info)
        if not want:
            return False
        cur, insp = t, ctx.inspector
        for _ in range(PROBE_DEPTH):
            if cur is None or cur.container_id != t.container_id:
                return False
            if command_of(cur) == want:
                return True
            cur = insp.parent(cur)
        return False
    return extract


def fields() -> list[FieldDef]:
    REQ = ArgMode.REQUIRED
    src: Callable[[Mount], str] = lambda m: m.source  # noqa: E731
    dst: Callable[[Mount], str] = lambda m: m.dest  # noqa: E731
    return [
        field("container.id", S, "container id (12 chars) or 'host'",
              lambda c, a: None if c.thread is None
              else c.thread.container_id),
        field("container.full_id", S, "full container id",
              _c(lambda i: i.full_id, HOST, needs_meta=False)),
        field("container.name", S, "container name ('host' outside "
              "containers)", _c(lambda i: i.name, HOST)),
        field("container.type", S, "container runtime (docker, podman, "
              "containerd, cri-o, cri, lxc, ...)",
              _c(lambda i: i.type, HOST, needs_meta=False)),
        field("container.image", S, "container image as the runtime names it",
              _c(lambda i: i.image)),
        field("container.image.id", S, "container image id (12 chars)",
              _c(lambda i: i.image_id)),
        field("container.image.repository", S, "image repository",
              _c(lambda i: i.image_repository)),
        field("container.image.tag", S, "image tag",
              _c(lambda i: i.image_tag)),
        field("container.image.digest", S, "image digest (sha256:...)",
              _c(lambda i: i.image_digest)),
        field("container.privileged", B, "true for privileged containers",
              _c(lambda i: i.privileged)),
        field("container.mounts", S, "mounts as source:dest:mode:rdwr:"
              "propagation, space separated",
              _c(lambda i: " ".join(m.render() for m in i.mounts) or None)),
        field("container.mount", S, "one mount, by index or source (glob); "
              "'none' when there is no such mount", _mount(None, src), REQ),
        field("container.mount.source", S, "mount source, by index or "
              "destination (glob)", _mount("source", dst), REQ),
        field("container.mount.dest", S, "mount destination, by index or "
              "source (glob)", _mount("dest", src), REQ),
        field("container.mount.mode", S, "mount mode, by index or source",
              _mount("mode", src), REQ),
        field("container.mount.rdwr", S, "mount read/write flag, by index "
              "or source", _mount("rdwr", src), REQ),
        field("container.mount.propagation", S, "mount propagation, by "
              "index or source", _mount("propagation", src), REQ),
        field("container.label", S, "one container label", _label, REQ),
        field("container.labels", S, "container labels as key:value, comma "
              "separated", _c(lambda i: _labels(i.labels))),
        field("container.ip", S, "container (or pod) IP address",
              _c(lambda i: i.ip)),
        field("container.start_ts", FieldType.ABSTIME, "container start "
              "time (ns since the epoch)", _c(lambda i: i.start_ts)),
        field("container.duration", FieldType.RELTIME, "ns since the "
              "container started", _duration),
        field("container.healthcheck", S, "container healthcheck command",
              _c(lambda i: i.healthcheck)),
        field("container.liveness_probe", S, "Kubernetes liveness probe "
              "command (from the pod's last-applied configuration)",
              _c(lambda i: i.liveness_probe)),
        field("container.readiness_probe", S, "Kubernetes readiness probe "
              "command (from the pod's last-applied configuration)",
              _c(lambda i: i.readiness_probe)),
        field("container.host_pid", B, "container shares the host's pid "
              "namespace", _c(lambda i: i.host_pid)),
        field("container.host_network", B, "container shares the host's "
              "network namespace", _c(lambda i: i.host_network)),
        field("container.host_ipc", B, "container shares the host's IPC "
              "namespace", _c(lambda i: i.host_ipc)),
        unavailable_field("container.cni.json", S, "CNI result",
                          UNAVAILABLE),
        field("proc.is_container_healthcheck", B, "process (or an ancestor "
              "in its container) runs the container's healthcheck",
              _probe(lambda i: i.healthcheck)),
        field("proc.is_container_liveness_probe", B, "process runs the "
              "container's Kubernetes liveness probe",
              _probe(lambda i: i.liveness_probe)),
        field("proc.is_container_readiness_probe", B, "process runs the "
              "container's Kubernetes readiness probe",
              _probe(lambda i: i.readiness_probe)),
    ]
