# SPDX-License-Identifier: Apache-2.0
"""Container ids from cgroup paths for each runtime layout."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from falco.state.containers import (
    ContainerTable, docker_info_from_json, match_cgroup_path, match_cgroups,
    parse_cgroups)

from support.state_sim import Sim

H = "4a5b6c7d8e9f" + "0123456789abcdef" * 3 + "0123"
assert len(H) == 64


@pytest.mark.parametrize("path,cid,runtime", [
    (f"/docker/{H}", H[:12], "docker"),
    (f"/system.slice/docker-{H}.scope", H[:12], "docker"),
    (f"/kubepods/besteffort/pod1234/{H}", H[:12], "cri"),
    (f"/kubepods.slice/kubepods-pod1.slice/crio-{H}.scope", H[:12], "cri-o"),
    (f"/kubepods/burstable/pod1/crio-{H}", H[:12], "cri-o"),
    (f"/kubepods.slice/kubepods-burstable.slice/cri-containerd-{H}.scope",
     H[:12], "containerd"),
    (f"/system.slice/containerd.service/kubepods-pod1.slice:cri-containerd:"
     f"{H}", H[:12], "containerd"),
    (f"/machine.slice/libpod-{H}.scope", H[:12], "podman"),
    (f"/machine.slice/libpod-{H}.scope/container", H[:12], "podman"),
    (f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{H}"
     ".scope", H[:12], "podman"),
    ("/lxc/web01", "web01", "lxc"),
    ("/lxc.payload.db02", "db02", "lxc"),
    ("/lxc.payload/db03/init.scope", "db03", "lxc"),
    ("/default/redis1", "redis1", "containerd"),
])
def test_layouts(path: str, cid: str, runtime: str) -> None:
    m = match_cgroup_path(path)
    assert m is not None
    assert (m.id, m.type) == (cid, runtime)


@pytest.mark.parametrize("path", [
    "/", "/user.slice/user-1000.slice/session-2.scope",
    "/system.slice/sshd.service", "/docker/abc", f"/docker/{H[:63]}g",
    "/default/foo.service", "/init.scope",
])
def test_not_containers(path: str) -> None:
    assert match_cgroup_path(path) is None


def test_parse_and_match_cgroup_lists() -> None:
    cg = parse_cgroups(f"cpuset=/\0cpu=/docker/{H}\0memory=/docker/{H}\0")
    assert cg[0] == ("cpuset", "/")
    m = match_cgroups(cg)
    assert m is not None and m.full_id == H


def test_lxc_name_is_reported() -> None:
    sim = Sim()
    sim.init()
    ctx = sim.fork(1, 100, cgroups="cpu=/lxc/web01\0")
    assert sim.field(ctx, "container.id") == "web01"
    assert sim.field(ctx, "container.name") == "web01"
    assert sim.field(ctx, "container.type") == "lxc"


def test_docker_json_metadata() -> None:
    data = {"Id": H, "Name": "/web", "Image": "sha256:" + "ab" * 32,
            "Config": {"Image": "nginx:1.25", "Labels": {"a": "b"}},
            "HostConfig": {"Privileged": True},
            "NetworkSettings": {"IPAddress": "172.17.0.2"},
            "Mounts": [{"Source": "/var/run/docker.sock",
                        "Destination": "/var/run/docker.sock", "Mode": "",
                        "RW": True, "Propagation": "rprivate"}]}
    info = docker_info_from_json(H, data)
    assert (info.id, info.name, info.image_repository, info.image_tag) == \
        (H[:12], "web", "nginx", "1.25")
    assert info.privileged is True and info.ip == "172.17.0.2"
    sim = Sim()
    sim.init()
    sim.insp.containers.put(info)
    ctx = sim.fork(1, 100, cgroups=f"cpu=/docker/{H}\0")
    assert sim.field(ctx, "container.name") == "web"
    assert sim.field(ctx, "container.image") == "nginx:1.25"
    assert sim.field(ctx, "container.privileged") is True
    assert sim.field(ctx, "container.mount.dest[/var/run/docker.sock]") == \
        "/var/run/docker.sock"
    assert sim.field(ctx, "container.mount[0]") == \
        "/var/run/docker.sock:/var/run/docker.sock::true:rprivate"
    assert sim.field(ctx, "k8s.pod.name") is None


def test_metadata_fetched_in_background_from_socket(tmp_path: Path) -> None:
    """A fake docker API on a unix socket: the event path never waits."""
    sock_path = tmp_path / "var" / "run" / "docker.sock"
    sock_path.parent.mkdir(parents=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(1)
    gate = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)
            gate.wait(5)
            body = json.dumps({"Id": H, "Name": "/slow",
                               "Config": {"Image": "busybox"}}).encode()
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json"
                         b"\r\n\r\n" + body)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    table = ContainerTable(host_root=str(tmp_path))
    try:
        from falco.state.containers import ContainerMatch
        cid = table.note(ContainerMatch(H, "docker"))
        assert table.get(cid) is not None
        assert table.get(cid).name is None  # type: ignore[union-attr]
        gate.set()
        for _ in range(200):
            info = table.get(cid)
            if info is not None and info.name == "slow":
                break
            time.sleep(0.01)
        assert table.get(cid).name == "slow"  # type: ignore[union-attr]
        assert table.get(cid).image == "busybox"  # type: ignore[union-attr]
    finally:
        table.close()
        server.join(5)
        srv.close()
        os.unlink(sock_path)
