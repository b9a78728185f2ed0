# SPDX-License-Identifier: Apache-2.0
"""A CRI client for the VM tests: makes a pod sandbox and containers the
way kubelet would (RunPodSandbox, CreateContainer, StartContainer), with
the same protos falco reads them with (falco/containers/proto/cri.proto)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from falco.containers.grpcbase import Channel
from falco.containers.protos import load

SVC = "/runtime.v1.RuntimeService/"
# NamespaceMode: a pod's containers each have their own PID namespace
# (kubelet's default, without shareProcessNamespace); NODE: the host's.
CONTAINER = 1
NODE = 2


@dataclass(frozen=True)
class Pod:
    id: str
    uid: str
    config: Any


@dataclass(frozen=True)
class Ctr:
    id: str


class CriClient:
    def __init__(self, socket: str, timeout: float = 120.0) -> None:
        self.pb = load("cri")
        self.chan = Channel(socket, timeout)

    def _call(self, method: str, req: Any, resp: Any) -> Any:
        return self.chan.unary(SVC + method, req, resp)

    def run_pod(self, name: str, namespace: str, labels: dict[str, str],
                annotations: dict[str, str] | None = None,
                host_network: bool = False, privileged: bool = False) -> Pod:
        pb = self.pb
        uid = str(uuid.uuid4())
        sec = pb.LinuxSandboxSecurityContext(namespace_options=pb.NamespaceOption(
            network=NODE if host_network else 0, pid=CONTAINER),
            privileged=privileged)
        config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid,
                                           namespace=namespace),
            hostname=name, labels=labels, annotations=annotations or {},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=f"/kubepods/besteffort/pod{uid}",
                security_context=sec))
        resp = self._call("RunPodSandbox", pb.RunPodSandboxRequest(config=config),
                          pb.RunPodSandboxResponse)
        return Pod(resp.pod_sandbox_id, uid, config)

    def start_container(self, pod: Pod, name: str, image: str,
                        command: list[str], privileged: bool = False,
                        mounts: Sequence[tuple[str, str, bool]] = ()) -> Ctr:
        """``mounts``: (host path, container path, read-only)."""
        pb = self.pb
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name),
            image=pb.ImageSpec(image=image), command=command,
            mounts=[pb.Mount(host_path=h, container_path=c, readonly=ro)
                    for h, c, ro in mounts],
            labels={"io.kubernetes.container.name": name},
            linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
                privileged=privileged,
                namespace_options=pb.NamespaceOption(pid=CONTAINER))))
        resp = self._call("CreateContainer", pb.CreateContainerRequest(
            pod_sandbox_id=pod.id, config=config, sandbox_config=pod.config),
            pb.CreateContainerResponse)
        self._call("StartContainer", pb.StartContainerRequest(
            container_id=resp.container_id), pb.StartContainerResponse)
        return Ctr(resp.container_id)

    def remove_pod(self, pod: Pod) -> None:
        pb = self.pb
        # Under TCG containerd's shim can drop its connection while it
        # kills the pod ("ttrpc: closed"); asked again, the pod is stopped.
        for attempt in range(3):
            try:
                self._call("StopPodSandbox",
                           pb.StopPodSandboxRequest(pod_sandbox_id=pod.id),
                           pb.StopPodSandboxResponse)
                break
            except OSError:
                if attempt == 2:
                    raise
                time.sleep(2)
        self._call("RemovePodSandbox", pb.RemovePodSandboxRequest(
            pod_sandbox_id=pod.id), pb.RemovePodSandboxResponse)
