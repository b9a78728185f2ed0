# SPDX-License-Identifier: Apache-2.0
"""falco's runtime clients on real answers: podman 4.3 (libpod and its
Docker-compatible API), containerd 1.6 and its CRI plugin, recorded in the
test VM by tests/support/capture_runtimes.py and replayed byte for byte on
a unix socket (tests/support/replay_api.py).

A complement to tests/kernel/test_containers_live.py, which runs the
runtimes themselves. The expected values are what the containers were
made with (index.json), not read back from the recorded answers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from falco.containers.containerd import CT_SVC, EV_SVC, IMG_SVC, NS_SVC, ContainerdEngine
from falco.containers.cri import SVC as CRI_SVC
from falco.containers.cri import CriEngine
from falco.containers.docker import DockerEngine
from falco.containers.engine import CREATE, DESTROY, START
from falco.containers.info import ContainerInfo, Mount
from falco.containers.podman import PREFIX, PodmanEngine

from support.replay_api import DATA, GrpcReplay, HttpReplay, read_framed

INDEX: dict[str, Any] = json.loads((DATA / "index.json").read_text())


def _data(runtime: str, name: str) -> bytes:
    return (DATA / runtime / name).read_bytes()


def _repo_tag(image: str) -> tuple[str, str]:
    repo, _, tag = image.rpartition(":")
    return repo, tag


def _mount(spec: str) -> tuple[str, str, bool]:
    source, dest, mode = spec.split(":")
    return source, dest, mode != "ro"


def _find(mounts: tuple[Mount, ...], dest: str) -> Mount:
    found = [m for m in mounts if m.dest == dest]
    assert len(found) == 1, mounts
    return found[0]


# --- podman -------------------------------------------------------------------

PODMAN = INDEX["podman"]["libpod-inspect.json"]["container"]
EVENTS = INDEX["podman"]["libpod-events.jsonl"]["container"]


@pytest.fixture
def podman_api(tmp_path: Path) -> Iterator[HttpReplay]:
    cid = PODMAN["id"]
    image_id = json.loads(_data("podman", "compat-inspect.json"))["Image"]
    api = HttpReplay(str(tmp_path / "podman.sock"), routes={
        f"{PREFIX}/_ping": _data("podman", "ping.txt"),
        "/_ping": _data("podman", "ping.txt"),
        f"{PREFIX}/containers/{cid}/json": _data("podman", "libpod-inspect.json"),
        f"{PREFIX}/containers/json": _data("podman", "libpod-list.json"),
        f"/containers/{cid}/json": _data("podman", "compat-inspect.json"),
        f"/images/{image_id}/json": _data("podman", "compat-image.json"),
    }, streams={
        f"{PREFIX}/events": _data("podman", "libpod-events.jsonl").splitlines(True),
    }).start()
    yield api
    api.close()


def _check_podman(info: ContainerInfo) -> None:
    repo, tag = _repo_tag(PODMAN["image"])
    assert (info.full_id, info.id, info.type) == (PODMAN["id"], PODMAN["id"][:12], "podman")
    assert (info.name, info.image, info.image_repository, info.image_tag) == (
        PODMAN["name"], PODMAN["image"], repo, tag)
    assert info.privileged is PODMAN["privileged"]
    for key, value in PODMAN["labels"].items():
        assert info.labels[key] == value
    for spec in PODMAN["mounts"]:
        source, dest, rdwr = _mount(spec)
        m = _find(info.mounts, dest)
        assert (m.source, m.rdwr) == (source, rdwr)
    assert info.start_ts and info.start_ts > 1_600_000_000 * 10**9


def test_podman_libpod_inspect(podman_api: HttpReplay) -> None:
    engine = PodmanEngine(podman_api.socket)
    assert engine.probe()
    info = engine.inspect(PODMAN["id"])
    assert info is not None
    _check_podman(info)
    assert info.image_digest and info.image_digest.startswith("sha256:")
    # The test runtimes run podman with the host's network (containers.conf).
    assert info.host_network is True
    assert engine.inspect("0" * 64) is None


def test_podman_docker_compatible_inspect(podman_api: HttpReplay) -> None:
    engine = DockerEngine(podman_api.socket, name="podman")
    assert engine.probe()
    info = engine.inspect(PODMAN["id"])
    assert info is not None
    # The compatible API names the image by its id; falco asks the image
    # API for its name (RepoTags).
    _check_podman(info)


def test_podman_list(podman_api: HttpReplay) -> None:
    infos = PodmanEngine(podman_api.socket).list()
    assert [i.full_id for i in infos] == [PODMAN["id"]]


def test_podman_event_stream(podman_api: HttpReplay) -> None:
    stream = PodmanEngine(podman_api.socket).events()
    seen = []
    for ev in stream:
        seen.append(ev.action)
        if ev.action == DESTROY:
            break
    stream.close()
    # create, init and start all say "look it up" (init: the OCI runtime
    # made the container; its first process is about to run).
    assert seen[0] == CREATE and seen[-1] == DESTROY and START in seen, seen
    ids = {json.loads(ln)["Actor"]["ID"] for ln in _data(
        "podman", "libpod-events.jsonl").splitlines()}
    names = {json.loads(ln)["Actor"]["Attributes"]["name"] for ln in _data(
        "podman", "libpod-events.jsonl").splitlines()}
    assert len(ids) == 1 and names == {EVENTS["name"]}


# --- containerd ---------------------------------------------------------------

CONTAINERD = INDEX["containerd"]["container-get.pb"]["container"]
CD_EVENTS = INDEX["containerd"]["events.pbstream"]["container"]


@pytest.fixture
def containerd_api(tmp_path: Path) -> Iterator[GrpcReplay]:
    api = GrpcReplay(str(tmp_path / "containerd.sock"), unary={
        NS_SVC + "List": _data("containerd", "namespaces-list.pb"),
        CT_SVC + "Get": _data("containerd", "container-get.pb"),
        CT_SVC + "List": _data("containerd", "containers-list.pb"),
        IMG_SVC + "Get": _data("containerd", "image-get.pb"),
    }, streams={
        EV_SVC + "Subscribe": read_framed(_data("containerd", "events.pbstream")),
    }).start()
    yield api
    api.close()


def test_containerd_get(containerd_api: GrpcReplay) -> None:
    engine = ContainerdEngine(containerd_api.socket)
    try:
        assert engine.probe()
        assert CONTAINERD["namespace"] in engine.namespaces()
        info = engine.inspect(CONTAINERD["id"])
    finally:
        engine.close()
    assert info is not None
    repo, tag = _repo_tag(CONTAINERD["image"])
    assert (info.full_id, info.name, info.type) == (
        CONTAINERD["id"], CONTAINERD["id"], "containerd")
    assert (info.image, info.image_repository, info.image_tag) == (
        CONTAINERD["image"], repo, tag)
    for key, value in CONTAINERD["labels"].items():
        assert info.labels[key] == value
    assert info.image_digest and info.image_digest.startswith("sha256:")
    assert info.privileged is False
    # ctr's defaults: /proc and /dev from the OCI spec, own namespaces.
    assert _find(info.mounts, "/proc").source == "proc"
    assert (info.host_pid, info.host_network) == (False, False)
    assert info.start_ts and info.start_ts > 1_600_000_000 * 10**9


def test_containerd_event_stream(containerd_api: GrpcReplay) -> None:
    stream = ContainerdEngine(containerd_api.socket).events()
    seen = []
    for ev in stream:
        seen.append((ev.action, ev.full_id, ev.namespace))
        if ev.action == DESTROY:
            break
    stream.close()
    ident = (CD_EVENTS["id"], CD_EVENTS["namespace"])
    assert seen == [(CREATE, *ident), (START, *ident), (DESTROY, *ident)]


# --- CRI (containerd's CRI plugin) ----------------------------------------------

CRI = INDEX["cri"]["list-containers.pb"]["made"]


@pytest.fixture
def cri_api(tmp_path: Path) -> Iterator[GrpcReplay]:
    sock = str(tmp_path / "cri.sock")
    api = GrpcReplay(sock, unary={
        CRI_SVC + "Version": _data("cri", "version.pb"),
        CRI_SVC + "ListContainers": _data("cri", "list-containers.pb"),
        CRI_SVC + "ContainerStatus": _data("cri", "container-status.pb"),
        CRI_SVC + "PodSandboxStatus": _data("cri", "pod-sandbox-status.pb"),
    }, streams={
        CRI_SVC + "GetContainerEvents": INDEX["cri"]["GetContainerEvents"]["status"],
        # The fallback: containerd's events on the same socket.
        EV_SVC + "Subscribe": read_framed(_data("containerd", "events.pbstream")),
    }).start()
    yield api
    api.close()


def test_cri_container_and_pod(cri_api: GrpcReplay) -> None:
    engine = CriEngine(cri_api.socket)
    try:
        assert engine.probe()
        info = engine.inspect(CRI["container"]["id"])
    finally:
        engine.close()
    assert (engine.runtime_name, engine.kind) == ("containerd", "containerd")
    assert info is not None
    ctr, pod = CRI["container"], CRI["pod"]
    repo, tag = _repo_tag(ctr["image"])
    assert (info.full_id, info.type, info.name) == (ctr["id"], "containerd", ctr["name"])
    assert (info.image, info.image_repository, info.image_tag) == (ctr["image"], repo, tag)
    assert info.image_digest and info.image_digest.startswith("sha256:")
    assert (info.pod_name, info.pod_namespace, info.pod_uid, info.pod_sandbox_id) == (
        pod["name"], pod["namespace"], pod["uid"], pod["id"])
    for key, value in pod["labels"].items():
        assert info.pod_labels[key] == value
    # The pod network of the test runtimes' CNI bridge (10.88.77.0/24).
    assert info.pod_ip and info.pod_ip.startswith("10.88.77.")
    assert info.ip == info.pod_ip
    for spec in ctr["mounts"]:
        source, dest, rdwr = _mount(spec)
        m = _find(info.mounts, dest)
        assert (m.source, m.rdwr) == (source, rdwr)
    assert info.privileged is False
    assert info.host_network is False


def test_cri_events_fall_back_to_containerd(cri_api: GrpcReplay) -> None:
    """containerd 1.6 answers GetContainerEvents with UNIMPLEMENTED: the
    engine follows containerd's own stream, CRI namespace (k8s.io) only;
    the recorded events are of the "default" namespace."""
    engine = CriEngine(cri_api.socket)
    try:
        engine.probe()
        stream = engine.events()
        events = list(stream)
        stream.close()
    finally:
        engine.close()
    assert events == []
    assert cri_api.calls[-2:] == [CRI_SVC + "GetContainerEvents", EV_SVC + "Subscribe"]
