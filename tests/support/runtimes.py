# SPDX-License-Identifier: Apache-2.0
"""Real container runtimes for the tests in the VM: podman (crun) and
containerd (runc, with its CRI plugin), each with its own state on a tmpfs,
and a small image built here from busybox-static (nothing is pulled).

``Runtimes(base).start()`` writes the configuration files, starts
``podman system service`` and ``containerd`` and imports the test image
into both; ``stop()`` ends what it started. The daemons' sockets:
``podman_sock`` (Docker-compatible and libpod API) and ``containerd_sock``
(containerd API and CRI).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BUSYBOX = "/bin/busybox"
IMAGE_REPO = "localhost/falco-test"
IMAGE_TAG = "1.0"
IMAGE = f"{IMAGE_REPO}:{IMAGE_TAG}"
# The pod sandbox ("pause") image of the CRI plugin: the same rootfs.
PAUSE_IMAGE = "localhost/falco-pause:1.0"
APPLETS = ("sh", "ls", "cat", "sleep", "echo", "true", "false", "cp", "chmod",
           "mkdir", "rm", "id", "env", "ps", "wget", "nc", "touch", "hostname")


def _tar_info(name: str, **kw: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uname = info.gname = "root"
    for key, value in kw.items():
        setattr(info, key, value)
    return info


def rootfs_tar() -> bytes:
    """A busybox root filesystem: /bin/busybox, applet links, /etc, /tmp."""
    buf = io.BytesIO()
    data = Path(BUSYBOX).read_bytes()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var",
                  "run", "usr", "usr/bin"):
            tar.addfile(_tar_info(d, type=tarfile.DIRTYPE,
                                  mode=0o1777 if d == "tmp" else 0o755))
        tar.addfile(_tar_info("bin/busybox", size=len(data), mode=0o755),
                    io.BytesIO(data))
        for applet in APPLETS:
            tar.addfile(_tar_info(f"bin/{applet}", type=tarfile.SYMTYPE,
                                  linkname="busybox"))
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n")):
            raw = text.encode()
            tar.addfile(_tar_info(name, size=len(raw), mode=0o644),
                        io.BytesIO(raw))
    return buf.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    tar.addfile(_tar_info(f"blobs/sha256/{digest[7:]}", size=len(data),
                          mode=0o644), io.BytesIO(data))
    return digest, len(data)


def oci_archive(path: Path, name: str, layer: bytes,
                entrypoint: list[str], labels: dict[str, str]) -> str:
    """Write an OCI image layout archive of one layer; returns the manifest
    digest. ``ctr images import`` names it from io.containerd.image.name."""
    gz = gzip.compress(layer, mtime=0)
    with tarfile.open(path, "w") as tar:
        for d in ("blobs", "blobs/sha256"):
            tar.addfile(_tar_info(d, type=tarfile.DIRTYPE, mode=0o755))
        lay_digest, lay_size = _blob(tar, gz)
        config = {
            "architecture": "amd64", "os": "linux",
            "config": {"Entrypoint": entrypoint, "Labels": labels,
                       "Env": ["PATH=/bin:/usr/bin"]},
            "rootfs": {"type": "layers",
                       "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        }
        cfg_digest, cfg_size = _blob(tar, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cfg_digest, "size": cfg_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": lay_digest, "size": lay_size}],
        }
        man_digest, man_size = _blob(tar, json.dumps(manifest).encode())
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": man_digest, "size": man_size,
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name":
                                name.rsplit(":", 1)[1]}}]}
        for fname, doc in (("oci-layout", {"imageLayoutVersion": "1.0.0"}),
                           ("index.json", index)):
            raw = json.dumps(doc).encode()
            tar.addfile(_tar_info(fname, size=len(raw), mode=0o644),
                        io.BytesIO(raw))
    return man_digest


@dataclass
class Images:
    """The test images, built once into ``cache`` (host side or tmpfs)."""

    cache: Path
    rootfs: Path = field(init=False)
    app: Path = field(init=False)
    pause: Path = field(init=False)
    app_digest: str = ""

    def __post_init__(self) -> None:
        self.rootfs = self.cache / "rootfs.tar"
        self.app = self.cache / "falco-test.oci.tar"
        self.pause = self.cache / "falco-pause.oci.tar"

    def build(self) -> "Images":
        self.cache.mkdir(parents=True, exist_ok=True)
        stamp = self.cache / "digest"
        src = Path(BUSYBOX).stat()
        key = f"{src.st_size}-{int(src.st_mtime)}-2"
        if stamp.exists() and stamp.read_text().split()[0] == key:
            self.app_digest = stamp.read_text().split()[1]
            return self
        layer = rootfs_tar()
        self.rootfs.write_bytes(layer)
        self.app_digest = oci_archive(self.app, IMAGE, layer, ["/bin/sh"],
                                      {"org.falco.test": "app"})
        oci_archive(self.pause, PAUSE_IMAGE, layer,
                    ["/bin/sleep", "2147483647"], {})
        stamp.write_text(f"{key} {self.app_digest}\n")
        return self


CONTAINERS_CONF = """\
[containers]
netns = "host"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/podman-events.log"
runtime = "crun"
[network]
network_config_dir = "{base}/podman-networks"
"""

STORAGE_CONF = """\
[storage]
driver = "vfs"
runroot = "{base}/podman-run"
graphroot = "{base}/podman-root"
"""

CONTAINERD_CONF = """\
version = 2
root = "{base}/containerd-root"
state = "{base}/containerd-state"
[grpc]
  address = "{sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{base}/cni"
"""

# A bridge network without iptables: pods get an address from host-local.
CNI_CONF = {
    "cniVersion": "0.4.0", "name": "falco-test",
    "plugins": [
        {"type": "bridge", "bridge": "fcni0", "isGateway": True,
         "ipMasq": False,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.77.0/24"}]],
                  "dataDir": "{base}/cni-ipam"}},
        {"type": "loopback"},
    ],
}


def load_module(name: str) -> None:
    """modprobe NAME, or insmod it and its dependencies from
    /lib/modules (the test VM indexes only falco_probe: modprobe cannot
    find the kernel's own modules there)."""
    if Path(f"/sys/module/{name}").exists():
        return
    if subprocess.run(["modprobe", name], capture_output=True).returncode == 0:
        return
    tree = Path("/lib/modules") / os.uname().release / "kernel"
    found = sorted(tree.rglob(f"{name}.ko*"))
    if not found:
        raise RuntimeError(f"kernel module {name} not found below {tree}")
    deps = subprocess.run(["modinfo", "-F", "depends", str(found[0])],
                          capture_output=True, text=True).stdout.strip()
    for dep in filter(None, deps.split(",")):
        load_module(dep)
    subprocess.run(["insmod", str(found[0])], check=True, capture_output=True)


def _wait_socket(path: str, proc: subprocess.Popen[bytes], what: str,
                 timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{what}: no socket {path} after {timeout:.0f} s")


@dataclass
class Runtimes:
    base: Path
    images: Images
    podman_sock: str = ""
    containerd_sock: str = ""
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.podman_sock = str(self.base / "podman.sock")
        self.containerd_sock = str(self.base / "containerd.sock")
        self.env = dict(os.environ,
                        CONTAINERS_CONF=str(self.base / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(self.base / "storage.conf"),
                        CONTAINERS_REGISTRIES_CONF=str(self.base / "registries.conf"))

    # -- configuration ---------------------------------------------------
    def configure(self) -> None:
        b = self.base
        b.mkdir(parents=True, exist_ok=True)
        (b / "containers.conf").write_text(CONTAINERS_CONF.format(base=b))
        (b / "storage.conf").write_text(STORAGE_CONF.format(base=b))
        (b / "registries.conf").write_text("unqualified-search-registries = []\n")
        (b / "containerd.toml").write_text(CONTAINERD_CONF.format(
            base=b, sock=self.containerd_sock, pause=PAUSE_IMAGE))
        (b / "cni").mkdir(exist_ok=True)
        cni = json.loads(json.dumps(CNI_CONF).replace("{base}", str(b)))
        (b / "cni" / "10-falco-test.conflist").write_text(json.dumps(cni))

    def run(self, *cmd: str, timeout: float = 120, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(cmd), env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=check)

    def podman(self, *args: str, timeout: float = 120, check: bool = True
               ) -> subprocess.CompletedProcess[str]:
        return self.run("podman", *args, timeout=timeout, check=check)

    def ctr(self, *args: str, namespace: str = "default", timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("ctr", "--address", self.containerd_sock, "-n",
                        namespace, *args, timeout=timeout, check=check)

    # -- daemons ---------------------------------------------------------
    def _spawn(self, name: str, *cmd: str) -> subprocess.Popen[bytes]:
        log = self.base / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as fh:
            proc = subprocess.Popen(list(cmd), env=self.env, stdout=fh,
                                    stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_podman(self, timeout: float = 120) -> None:
        if os.path.exists(self.podman_sock):
            os.unlink(self.podman_sock)
        # --log-level=info: one access log line per API call.
        proc = self._spawn("podman", "podman", "--log-level=info", "system",
                           "service", "--time=0", f"unix://{self.podman_sock}")
        _wait_socket(self.podman_sock, proc, "podman system service", timeout)

    def start_containerd(self, timeout: float = 120) -> None:
        proc = self._spawn("containerd", "containerd", "--config",
                           str(self.base / "containerd.toml"))
        _wait_socket(self.containerd_sock, proc, "containerd", timeout)

    def stop_daemon(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start(self) -> "Runtimes":
        # The CRI plugin's pod network (CNI bridge plugin): a bridge and a
        # veth pair per pod sandbox.
        for module in ("bridge", "veth"):
            load_module(module)
        self.configure()
        self.start_podman()
        self.start_containerd()
        self.podman("import", "--change", 'CMD ["/bin/sh"]', "--change",
                    "LABEL org.falco.test=app", str(self.images.rootfs), IMAGE)
        for ns, archive in (("default", self.images.app),
                            ("k8s.io", self.images.app),
                            ("k8s.io", self.images.pause)):
            self.ctr("images", "import", "--snapshotter=native", str(archive),
                     namespace=ns)
        return self

    def stop(self) -> None:
        # Containers first (their shims/conmons outlive the daemons).
        self.podman("rm", "-a", "-f", "-t", "0", check=False, timeout=120)
        for ns in ("default", "k8s.io"):
            tasks = self.ctr("tasks", "ls", "-q", namespace=ns, check=False)
            for cid in tasks.stdout.split():
                self.ctr("tasks", "kill", "-s", "KILL", cid, namespace=ns,
                         check=False)
                self.ctr("tasks", "delete", "-f", cid, namespace=ns,
                         check=False)
        for name in list(self.procs):
            self.stop_daemon(name)

    def log_tail(self, name: str, n: int = 30) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def cleanup_mounts(base: Path) -> None:
    """Unmount whatever the runtimes left mounted below ``base``."""
    mounts = [line.split()[1] for line in
              Path("/proc/mounts").read_text().splitlines()
              if line.split()[1].startswith(str(base) + "/")]
    for mnt in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)
