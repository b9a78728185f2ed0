# SPDX-License-Identifier: Apache-2.0
"""Container ids from cgroup paths for each runtime layout; the metadata
table with a runtime API on a unix socket (the stand-in of
tests/support/docker_api.py: the real runtimes run in the VM)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from falco.containers.docker import DockerEngine, info_from_inspect
from falco.containers.manager import MetadataManager
from falco.state.container_table import ContainerTable
from falco.state.containers import (ContainerMatch, match_cgroup_path,
                                    match_cgroups, parse_cgroups)

from support.docker_api import DockerApi, inspect_doc
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
    info = info_from_inspect(data, "docker")
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


def _until(cond, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_lookup_never_blocks_and_fills_the_entry(tmp_path: Path) -> None:
    """A slow runtime: note() returns at once with a pending entry; the
    answer fills it in on a lookup thread."""
    api = DockerApi(str(tmp_path / "docker.sock"), delay=0.3).start()
    table = ContainerTable(lookup_wait_s=5)
    mgr = MetadataManager([DockerEngine(api.path)], table)
    table.lookups = mgr
    try:
        mgr.start()
        assert _until(lambda: mgr.available("docker"))
        api.containers[H] = inspect_doc(H, "slow", "busybox")
        t0 = time.monotonic()
        cid = table.note(ContainerMatch(H, "docker"))
        assert time.monotonic() - t0 < 0.1
        info = table.get(cid)
        assert info is not None and info.pending and info.name is None
        assert _until(lambda: not table.get(cid).pending)  # type: ignore[union-attr]
        info = table.get(cid)
        assert info is not None and info.name == "slow" and info.image == "busybox"
        assert table.stats.resolved == 1
    finally:
        mgr.close()
        api.stop()


def test_event_stream_fills_metadata_before_first_thread(tmp_path: Path) -> None:
    api = DockerApi(str(tmp_path / "docker.sock")).start()
    table = ContainerTable()
    mgr = MetadataManager([DockerEngine(api.path)], table)
    table.lookups = mgr
    try:
        mgr.start()
        assert api.wait_subscribed()
        api.create(H, "early", "example/app:1.2", privileged=True)
        assert _until(lambda: table.get(H[:12]) is not None)
        cid = table.note(ContainerMatch(H, "docker"))
        info = table.get(cid)
        assert info is not None and not info.pending
        assert (info.name, info.image_repository, info.image_tag,
                info.image_digest, info.privileged) == (
            "early", "example/app", "1.2", "sha256:" + "cd" * 32, True)
        assert table.stats.seen == 0 and table.stats.ready_at_first_sight == 1
        api.destroy(H)
        assert _until(lambda: table.get(H[:12]) is None)
        assert table.stats.removed_destroy == 1
    finally:
        mgr.close()
        api.stop()


def test_runtime_down_then_back(tmp_path: Path) -> None:
    """Down: lookups fail fast (counted, fields <NA>); back: the listener
    reconnects and lists the runtime's containers again."""
    path = str(tmp_path / "docker.sock")
    api = DockerApi(path).start()
    table = ContainerTable()
    mgr = MetadataManager([DockerEngine(path, timeout=0.5)], table,
                          probe_interval=0.1)
    table.lookups = mgr
    try:
        mgr.start()
        assert _until(lambda: mgr.available("docker"))
        api.stop()
        assert _until(lambda: not mgr.available("docker"))
        cid = table.note(ContainerMatch(H, "docker"))
        info = table.get(cid)
        assert info is not None and not info.pending   # nobody to ask
        assert table.stats.no_engine == 1
        api = DockerApi(path)
        api.containers[H] = inspect_doc(H, "back", "busybox")
        api.start()
        assert _until(lambda: mgr.available("docker"))
        assert _until(lambda: (table.get(cid) or info).name == "back")
        assert mgr.stats.engine_errors >= 1
    finally:
        mgr.close()
        api.stop()


def test_exit_grace_and_bound() -> None:
    table = ContainerTable(max_entries=3, exit_grace_s=10)
    ids = [f"{i:02d}" + H[2:] for i in range(5)]
    for full in ids[:3]:
        table.note(ContainerMatch(full, "docker"))
    sec = 1_000_000_000
    table.retain({ids[0][:12]}, now=100 * sec)
    table.retain({ids[0][:12]}, now=105 * sec)
    assert len(table) == 3
    table.retain({ids[0][:12]}, now=111 * sec)
    assert len(table) == 1 and table.stats.removed_exit == 2
    for full in ids:
        table.note(ContainerMatch(full, "docker"))
    assert len(table) == 3 and table.stats.evicted == 2
