# SPDX-License-Identifier: Apache-2.0
"""Kernel test suite: runs inside the VM (scripts/vm-test.sh) with falco_probe
loaded.  Every test here is marked `kernel`; outside the VM
(FALCO_KERNEL_VM unset) they are skipped, except the tests of the
modern_ebpf source (the `source` fixture's "bpf" parameter, or the `bpf`
marker), which also run natively wherever the kernel has BTF and we are
root (scripts/bpf-test.sh)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ringreader  # noqa: E402

IN_VM = os.environ.get("FALCO_KERNEL_VM") == "1"
MODULE = "falco_probe"


SOURCES = ("kmod", "bpf")
# FALCO_KERNEL_SOURCES=bpf: run only the tests of these sources.
WANTED_SOURCES = tuple(os.environ.get("FALCO_KERNEL_SOURCES", ",".join(SOURCES)).split(","))


# The e2e rules suite with falco --modern-bpf (scripts/bpf-test.sh)
E2E_MODERN = "--modern-bpf" in os.environ.get("FALCO_E2E_FALCO_ARGS", "").split()


def is_bpf_item(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("source") == "bpf":
        return True
    if E2E_MODERN and Path(str(item.fspath)).name == "test_e2e_rules.py":
        return True
    return item.get_closest_marker("bpf") is not None


# Started last: real container runtimes leave the VM changed (daemons' shims,
# a bridge network, loaded modules), every other test expects a quiet one.
LAST = ("test_containers_live.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    items.sort(key=lambda item: Path(str(item.fspath)).name in LAST)
    skip = pytest.mark.skip(reason="kernel tests run in the VM: make test-kernel")
    unwanted = pytest.mark.skip(reason=f"FALCO_KERNEL_SOURCES={','.join(WANTED_SOURCES)}")
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.kernel)
            bpf = is_bpf_item(item)
            if not IN_VM and not (bpf and ringreader.bpf_available()):
                item.add_marker(skip)
            elif ("bpf" if bpf else "kmod") not in WANTED_SOURCES:
                item.add_marker(unwanted)


@pytest.fixture(scope="module", params=SOURCES)
def source(request: pytest.FixtureRequest) -> str:
    """The capture source a test runs against: the module's rings ("kmod",
    in the VM) or the BPF programs ("bpf", in the VM and natively)."""
    return str(request.param)


def module_loaded() -> bool:
    return Path(f"/sys/module/{MODULE}").exists()


def load_module(*params: str) -> None:
    """insmod the built module (FPROBE_KO) with @params."""
    ko = os.environ.get("FPROBE_KO", str(ringreader.DRIVER / "falco_probe.ko"))
    subprocess.run(["insmod", ko, *params], check=True)


def unload_module() -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rmmod", MODULE], capture_output=True, text=True)


def _reset_module() -> None:
    if not module_loaded():
        load_module()
    param = Path(f"/sys/module/{MODULE}/parameters/buffer_bytes")
    default = str(ringreader.abi().defines["FPROBE_DEFAULT_BUFFER_BYTES"])
    if param.read_text().strip() != default:
        param.write_text(default)


@pytest.fixture(scope="session", autouse=True)
def _device_in_vm() -> None:
    """In the VM the module's device is there before any fixture of any
    scope uses it (the e2e suite's class fixtures run before
    _module_ready): a missing device fails the run, never skips it."""
    if not IN_VM or "kmod" not in WANTED_SOURCES:
        return
    if not module_loaded():
        try:
            load_module()
        except (OSError, subprocess.CalledProcessError) as exc:
            pytest.fail(f"falco_probe cannot be loaded in the VM: {exc}",
                        pytrace=False)
    if not Path("/dev/falco0").exists():
        pytest.fail("falco_probe is loaded but /dev/falco0 is missing",
                    pytrace=False)


@pytest.fixture(autouse=True)
def _module_ready() -> Iterator[None]:
    """Every test starts, and leaves, the module loaded with defaults; in
    the VM a missing device is a failure, never a skip."""
    if IN_VM:
        _reset_module()
        if not Path("/dev/falco0").exists():
            pytest.fail("falco_probe is loaded but /dev/falco0 is missing",
                        pytrace=False)
    yield
    if IN_VM:
        _reset_module()


@pytest.fixture
def capture() -> Iterator[Callable[..., ringreader.Capture]]:
    """Factory: capture(syscalls=[...], tps=[...], snaplen=None) -> started Capture."""
    opened: list[ringreader.Capture] = []

    def make(syscalls: list[str] | tuple[str, ...] = (),
             tps: tuple[str, ...] = ("sys_enter", "sys_exit"),
             snaplen: int | None = None) -> ringreader.Capture:
        cap = ringreader.Capture(syscalls, tps, snaplen)
        opened.append(cap)
        return cap.start()

    yield make
    for cap in opened:
        cap.close()


@pytest.fixture
def tid() -> int:
    return threading.get_native_id()


@pytest.fixture(scope="session")
def cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """Compile a C program once per session: cc(name, source) -> executable."""
    built: dict[tuple[str, str], Path] = {}
    workdir = tmp_path_factory.mktemp("cc")

    def build(name: str, source: str) -> Path:
        key = (name, source)
        if key not in built:
            src = workdir / f"{name}-{len(built)}.c"
            exe = workdir / f"{name}-{len(built)}"
            src.write_text(source)
            subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
            built[key] = exe
        return built[key]
    return build
