# SPDX-License-Identifier: Apache-2.0
"""Record the real API answers of podman, containerd and containerd's CRI
plugin, for the unit tests that replay them (tests/data/containers/).

Runs where the runtimes run (the test VM):
    scripts/vm-run.sh --no-module \\
        'python3 tests/support/capture_runtimes.py tests/data/containers'

It starts the runtimes of tests/support/runtimes.py, makes one container
of each kind (podman: privileged, labelled, /etc mounted; containerd:
labelled; CRI: a pod sandbox with labels and a container with /etc
mounted) and stores, byte for byte, what the calls falco makes return:
HTTP bodies (podman's libpod and Docker-compatible APIs, its event
stream) and serialized protobuf messages (containerd, CRI). ``index.json``
says which call each file answers and what the containers were made with.
"""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from falco.containers.protos import load  # noqa: E402
from support.cri_client import CriClient  # noqa: E402
from support.runtimes import (IMAGE, Images, Runtimes,  # noqa: E402
                              cleanup_mounts)

LIBPOD = "/v4.0.0/libpod"
CT_SVC = "/containerd.services.containers.v1.Containers/"
IMG_SVC = "/containerd.services.images.v1.Images/"
NS_SVC = "/containerd.services.namespaces.v1.Namespaces/"
EV_SVC = "/containerd.services.events.v1.Events/"
CRI_SVC = "/runtime.v1.RuntimeService/"


class _Conn(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def http_get(sock: str, path: str, timeout: float = 60) -> bytes:
    conn = _Conn(sock, timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise OSError(f"GET {path}: {resp.status} {body[:200]!r}")
        return body
    finally:
        conn.close()


def http_stream(sock: str, path: str, lines: list[bytes],
                stop: threading.Event) -> None:
    conn = _Conn(sock, 120)
    conn.request("GET", path)
    resp = conn.getresponse()
    while not stop.is_set():
        line = resp.readline()
        if not line:
            break
        if line.strip():
            lines.append(line)
    conn.close()


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.index: dict[str, Any] = {}

    def save(self, runtime: str, name: str, data: bytes, **meta: Any) -> None:
        d = self.out / runtime
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        self.index.setdefault(runtime, {})[name] = meta

    def write_index(self) -> None:
        (self.out / "index.json").write_text(
            json.dumps(self.index, indent=2, sort_keys=True) + "\n")


def grpc_raw(chan: Any, path: str, request: Any,
             metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    call = chan.unary_unary(path, request_serializer=type(request).SerializeToString,
                            response_deserializer=None)
    return bytes(call(request, timeout=60, metadata=metadata))


def capture_podman(rt: Runtimes, rec: Recorder) -> None:
    sock = rt.podman_sock
    name = f"falco-cap-pm-{uuid.uuid4().hex[:4]}"
    rt.podman("run", "-d", "--name", name, "--label", "team=blue",
              "--privileged", "-v", "/etc:/host-etc:ro", IMAGE, "sleep", "120")
    cid = rt.podman("inspect", "--format", "{{.Id}}", name).stdout.strip()
    made = {"name": name, "id": cid, "image": IMAGE, "labels": {"team": "blue"},
            "privileged": True, "mounts": ["/etc:/host-etc:ro"]}
    rec.save("podman", "ping.txt", http_get(sock, f"{LIBPOD}/_ping"),
             call=f"GET {LIBPOD}/_ping")
    rec.save("podman", "libpod-inspect.json",
             http_get(sock, f"{LIBPOD}/containers/{cid}/json"),
             call=f"GET {LIBPOD}/containers/<id>/json", container=made)
    rec.save("podman", "libpod-list.json",
             http_get(sock, f"{LIBPOD}/containers/json?all=true"),
             call=f"GET {LIBPOD}/containers/json?all=true")
    rec.save("podman", "compat-inspect.json",
             http_get(sock, f"/containers/{cid}/json"),
             call="GET /containers/<id>/json", container=made)
    compat = json.loads(http_get(sock, f"/containers/{cid}/json"))
    image_ref = compat.get("Image", "")
    rec.save("podman", "compat-image.json",
             http_get(sock, f"/images/{quote(image_ref, safe='')}/json"),
             call="GET /images/<Image>/json")
    rt.podman("rm", "-f", "-t", "0", name)

    # The event stream while a short container runs (libpod's own).
    lines: list[bytes] = []
    stop = threading.Event()
    filters = quote(json.dumps({"type": ["container"],
                                "event": ["create", "init", "start", "remove"]}))
    t = threading.Thread(target=http_stream, daemon=True, args=(
        sock, f"{LIBPOD}/events?stream=true&filters={filters}", lines, stop))
    t.start()
    time.sleep(3)
    ev_name = f"falco-cap-ev-{uuid.uuid4().hex[:4]}"
    rt.podman("run", "--rm", "--name", ev_name, IMAGE, "true")
    end = time.time() + 60
    while time.time() < end and not any(b'"remove"' in ln for ln in lines):
        time.sleep(0.5)
    stop.set()
    rec.save("podman", "libpod-events.jsonl", b"".join(lines),
             call=f"GET {LIBPOD}/events?stream=true&filters=...",
             container={"name": ev_name, "image": IMAGE})


def capture_containerd(rt: Runtimes, rec: Recorder) -> None:
    import grpc
    pb = load("containerd")
    chan = grpc.insecure_channel(f"unix://{rt.containerd_sock}")
    cid = f"falco-cap-cd-{uuid.uuid4().hex[:4]}"
    rt.ctr("run", "-d", "--snapshotter=native", "--label", "team=red",
           IMAGE, cid, "sleep", "120")
    made = {"id": cid, "namespace": "default", "image": IMAGE,
            "labels": {"team": "red"}}
    meta = (("containerd-namespace", "default"),)
    rec.save("containerd", "namespaces-list.pb",
             grpc_raw(chan, NS_SVC + "List", pb.ListNamespacesRequest()),
             call=NS_SVC + "List", message="ListNamespacesResponse")
    rec.save("containerd", "container-get.pb",
             grpc_raw(chan, CT_SVC + "Get", pb.GetContainerRequest(id=cid), meta),
             call=CT_SVC + "Get", message="GetContainerResponse", container=made)
    rec.save("containerd", "containers-list.pb",
             grpc_raw(chan, CT_SVC + "List", pb.ListContainersRequest(), meta),
             call=CT_SVC + "List", message="ListContainersResponse")
    rec.save("containerd", "image-get.pb",
             grpc_raw(chan, IMG_SVC + "Get", pb.GetImageRequest(name=IMAGE), meta),
             call=IMG_SVC + "Get", message="GetImageResponse")
    rt.ctr("tasks", "kill", "-s", "KILL", cid, check=False)
    time.sleep(1)
    rt.ctr("tasks", "delete", "-f", cid, check=False)
    rt.ctr("containers", "delete", cid, check=False)

    # The event stream while a short container runs.
    envelopes: list[bytes] = []
    topics = ["/containers/create", "/tasks/start", "/containers/delete"]
    req = pb.SubscribeRequest(filters=[f'topic=="{t}"' for t in topics])
    call = chan.unary_stream(EV_SVC + "Subscribe",
                             request_serializer=pb.SubscribeRequest.SerializeToString,
                             response_deserializer=None)
    stream = call(req)

    def read() -> None:
        try:
            for msg in stream:
                envelopes.append(bytes(msg))
        except grpc.RpcError:
            pass

    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(2)
    ev_id = f"falco-cap-ev-{uuid.uuid4().hex[:4]}"
    rt.ctr("run", "--rm", "--snapshotter=native", IMAGE, ev_id, "true")
    end = time.time() + 60
    while time.time() < end and len(envelopes) < 3:
        time.sleep(0.5)
    stream.cancel()
    framed = b"".join(len(e).to_bytes(4, "big") + e for e in envelopes)
    rec.save("containerd", "events.pbstream", framed, call=EV_SVC + "Subscribe",
             message="Envelope (each: 4-byte big-endian length, then the message)",
             container={"id": ev_id, "namespace": "default"})
    chan.close()


def capture_cri(rt: Runtimes, rec: Recorder) -> None:
    import grpc
    pb = load("cri")
    chan = grpc.insecure_channel(f"unix://{rt.containerd_sock}")
    cri = CriClient(rt.containerd_sock)
    labels = {"app": "falco-cap", "tier": "test"}
    pod = cri.run_pod("falco-cap-pod", "falco-cap-ns", labels)
    ctr = cri.start_container(pod, "shell", IMAGE, ["/bin/sleep", "120"],
                              mounts=[("/etc", "/host-etc", True)])
    made = {"pod": {"name": "falco-cap-pod", "namespace": "falco-cap-ns",
                    "uid": pod.uid, "labels": labels, "id": pod.id},
            "container": {"name": "shell", "id": ctr.id, "image": IMAGE,
                          "mounts": ["/etc:/host-etc:ro"]}}
    rec.save("cri", "version.pb", grpc_raw(chan, CRI_SVC + "Version", pb.VersionRequest()),
             call=CRI_SVC + "Version", message="VersionResponse")
    rec.save("cri", "list-containers.pb",
             grpc_raw(chan, CRI_SVC + "ListContainers", pb.ListContainersRequest(
                 filter=pb.ContainerFilter(id=ctr.id))),
             call=CRI_SVC + "ListContainers", message="ListContainersResponse",
             request="filter.id=<container id>", made=made)
    rec.save("cri", "container-status.pb",
             grpc_raw(chan, CRI_SVC + "ContainerStatus", pb.ContainerStatusRequest(
                 container_id=ctr.id, verbose=True)),
             call=CRI_SVC + "ContainerStatus", message="ContainerStatusResponse",
             request="verbose=true")
    rec.save("cri", "pod-sandbox-status.pb",
             grpc_raw(chan, CRI_SVC + "PodSandboxStatus", pb.PodSandboxStatusRequest(
                 pod_sandbox_id=pod.id, verbose=False)),
             call=CRI_SVC + "PodSandboxStatus", message="PodSandboxStatusResponse")
    try:
        call = chan.unary_stream(CRI_SVC + "GetContainerEvents",
                                 request_serializer=pb.GetEventsRequest.SerializeToString,
                                 response_deserializer=None)
        next(iter(call(pb.GetEventsRequest(), timeout=10)))
        events = "answered"
    except grpc.RpcError as exc:
        events = exc.code().name
    rec.index.setdefault("cri", {})["GetContainerEvents"] = {"status": events}
    cri.remove_pod(pod)
    chan.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "tests/data/containers").resolve()
    base = Path("/tmp/falco-capture")
    base.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "falco-capture", str(base)], check=True)
    images = Images(ROOT / "build" / "container-images").build()
    rt = Runtimes(base / "rt", images)
    rec = Recorder(out)
    try:
        rt.start()
        versions = {tool: rt.run(tool, "--version", check=False).stdout.strip()
                    for tool in ("podman", "containerd", "crun", "runc")}
        rec.index["versions"] = versions
        capture_podman(rt, rec)
        capture_containerd(rt, rec)
        capture_cri(rt, rec)
        rec.write_index()
        print("podman service log:", rt.log_tail("podman", 12), sep="\n")
    except Exception:
        print(rt.log_tail("podman"), rt.log_tail("containerd"), sep="\n")
        raise
    finally:
        rt.stop()
        cleanup_mounts(base)
        subprocess.run(["umount", "-l", str(base)], check=False)
    print(f"captured into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
