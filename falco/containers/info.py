# SPDX-License-Identifier: Apache-2.0
"""What a runtime tells about one container.

Every string in here comes from the runtime and, through it, from whoever
created the container or built its image: it is printed only through the
output escaping step, and logged only with ``repr``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Labels longer than this are left out (the container plugin's
# label_max_len default).
LABEL_MAX_LEN = 100
# At most this many labels and mounts are kept per container.
MAX_LABELS = 256
MAX_MOUNTS = 256


@dataclass(frozen=True, slots=True)
class Mount:
    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = ""

    def render(self) -> str:
        return (f"{self.source}:{self.dest}:{self.mode}:"
                f"{'true' if self.rdwr else 'false'}:{self.propagation}")


@dataclass(slots=True)
class ContainerInfo:
    """One container. ``pending`` while a lookup runs: its fields are not
    known yet (alerts of the container wait, see falco.engine.holds)."""

    id: str
    full_id: str
    type: str
    name: str | None = None
    image: str | None = None
    image_id: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    image_digest: str | None = None
    privileged: bool | None = None
    mounts: tuple[Mount, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    start_ts: int | None = None          # ns since the epoch
    host_pid: bool | None = None
    host_network: bool | None = None
    host_ipc: bool | None = None
    healthcheck: str | None = None       # the command, args joined
    liveness_probe: str | None = None
    readiness_probe: str | None = None
    is_pod_sandbox: bool = False
    pod_name: str | None = None
    pod_namespace: str | None = None
    pod_uid: str | None = None
    pod_sandbox_id: str | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)
    pod_ip: str | None = None
    # Which engine answered (docker, podman, containerd, cri), for logs.
    source: str = ""
    pending: bool = False
    # A thread of the container has been seen (not only runtime events).
    threads_seen: bool = False
    # Monotonic time the lookup started (pending entries), for metrics.
    requested: float = 0.0


def short_id(full_id: str) -> str:
    """64-hex ids are shown as their first 12 characters."""
    if len(full_id) == 64 and all(c in "0123456789abcdef" for c in full_id):
        return full_id[:12]
    return full_id


def clean_labels(raw: object) -> dict[str, str]:
    """Labels as str -> str, long values and extra labels dropped."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if len(out) >= MAX_LABELS:
            break
        if isinstance(key, str) and isinstance(value, str) \
                and len(value) <= LABEL_MAX_LEN:
            out[key] = value
    return out


def split_image(ref: str) -> tuple[str | None, str | None, str | None]:
    """``registry:5000/repo/name:tag@sha256:...`` -> (repository, tag,
    digest). A tag is the part after the last ':' of the last path
    component; a reference with neither tag nor digest has tag None."""
    if not ref:
        return None, None, None
    repo, digest = ref, None
    if "@" in repo:
        repo, digest = repo.split("@", 1)
    tag = None
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = repo.rsplit(":", 1)
    return repo or None, tag or None, digest or None
