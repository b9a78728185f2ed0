# SPDX-License-Identifier: Apache-2.0
"""k8s.* fields: the pod a container runs in, from its CRI pod sandbox
(metadata name/namespace/uid, labels, network) as the runtime reports it.

Fields that needed the Kubernetes API server (replication controllers,
services, deployments, ...) are kept for old rules and always print <NA>.
"""
from __future__ import annotations

from typing import Any, Callable

from falco.containers.info import ContainerInfo, short_id
from falco.fields._common import S, field, unavailable_field
from falco.fields.container import UNAVAILABLE, meta
from falco.fields.registry import ArgMode, FieldDef

API_FIELDS = ("k8s.rc.name", "k8s.rc.id", "k8s.rc.labels", "k8s.svc.name",
              "k8s.svc.id", "k8s.svc.labels", "k8s.ns.id", "k8s.ns.labels",
              "k8s.rs.name", "k8s.rs.id", "k8s.rs.labels",
              "k8s.deployment.name", "k8s.deployment.id",
              "k8s.deployment.labels")
API_LABEL_FIELDS = ("k8s.rc.label", "k8s.svc.label", "k8s.ns.label",
                    "k8s.rs.label", "k8s.deployment.label")


def _pod(get: Callable[[ContainerInfo], Any]
         ) -> Callable[[Any, str | None], Any]:
    def extract(ctx: Any, _arg: str | None) -> Any:
        info = meta(ctx)
        if info is None or info.pod_sandbox_id is None:
            return None
        return get(info)
    return extract


def _pod_label(ctx: Any, arg: str | None) -> Any:
    info = meta(ctx)
    if info is None or arg is None or info.pod_sandbox_id is None:
        return None
    return info.pod_labels.get(arg)


def _labels(info: ContainerInfo) -> str | None:
    return ",".join(f"{k}:{v}" for k, v in info.pod_labels.items()) or None


def fields() -> list[FieldDef]:
    REQ = ArgMode.REQUIRED
    defs = [
        field("k8s.pod.name", S, "Kubernetes pod name",
              _pod(lambda i: i.pod_name)),
        field("k8s.ns.name", S, "Kubernetes namespace name",
              _pod(lambda i: i.pod_namespace)),
        field("k8s.pod.uid", S, "Kubernetes pod UID",
              _pod(lambda i: i.pod_uid)),
        field("k8s.pod.id", S, "Kubernetes pod UID (legacy name of "
              "k8s.pod.uid)", _pod(lambda i: i.pod_uid)),
        field("k8s.pod.sandbox_id", S, "pod sandbox id (12 chars)",
              _pod(lambda i: short_id(i.pod_sandbox_id or ""))),
        field("k8s.pod.full_sandbox_id", S, "pod sandbox id",
              _pod(lambda i: i.pod_sandbox_id)),
        field("k8s.pod.label", S, "one pod label", _pod_label, REQ),
        field("k8s.pod.labels", S, "pod labels as key:value, comma "
              "separated", _pod(_labels)),
        field("k8s.pod.ip", S, "pod IP address", _pod(lambda i: i.pod_ip)),
        unavailable_field("k8s.pod.cni.json", S, "pod CNI result",
                          UNAVAILABLE),
    ]
    no_api = ("Falco no longer reads the Kubernetes API server; nothing "
              "fills it")
    defs += [unavailable_field(name, S, f"Kubernetes API field {name}",
                               no_api, deprecated=True)
             for name in API_FIELDS]
    defs += [unavailable_field(name, S, f"Kubernetes API label {name}",
                               no_api, REQ, deprecated=True)
             for name in API_LABEL_FIELDS]
    return defs
