# SPDX-License-Identifier: Apache-2.0
"""Build and install the falco package and its cffi extensions: the
ring/decoder reader and the RE2 matcher."""
import re
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext


HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "falco" / "__init__.py").read_text()).group(1)


class BuildExt(build_ext):
    """Also compile the container runtimes' protos (falco/containers/proto)
    with grpcio-tools; without it the containerd and CRI engines are off."""

    def run(self):
        super().run()
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "falco_protos", HERE / "falco" / "containers" / "protos.py")
        protos = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(protos)
        dest = Path("falco/containers/_gen") if self.inplace else \
            Path(self.build_lib) / "falco" / "containers" / "_gen"
        try:
            protos.compile_protos(HERE / dest if self.inplace else dest)
        except ImportError as exc:
            print(f"warning: container runtime protos not compiled: {exc}")


setup(
    name="falco",
    version=VERSION,
    description="Runtime security: a kernel module event stream checked "
                "against Falco-compatible rules",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["falco", "falco.*"]),
    # driver/falco_probe.bpf.o: the modern_ebpf programs (make -C driver/bpf)
    package_data={"falco": ["py.typed", "driver/csrc/*", "filter/csrc/*",
                            "driver/*.bpf.o"],
                  "falco.containers": ["proto/*.proto"]},
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15", "ply>=3.11,<4", "PyYAML>=6.0"],
    extras_require={"journald": ["systemd-python>=234"],
                    "containers": ["grpcio>=1.51", "protobuf>=4.21"]},
    cmdclass={"build_ext": BuildExt},
    cffi_modules=["falco/driver/_ffi_build.py:ffibuilder",
                  "falco/filter/_re2_build.py:ffibuilder"],
    entry_points={"console_scripts": ["falco=falco.app.cli:main"]},
    zip_safe=False,
)
