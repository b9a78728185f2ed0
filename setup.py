# SPDX-License-Identifier: Apache-2.0
"""Build and install the falco package and its cffi extensions: the
ring/decoder reader and the RE2 matcher."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "falco" / "__init__.py").read_text()).group(1)

setup(
    name="falco",
    version=VERSION,
    description="Runtime security: a kernel module event stream checked "
                "against Falco-compatible rules",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["falco", "falco.*"]),
    package_data={"falco": ["py.typed", "driver/csrc/*", "filter/csrc/*"]},
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15", "ply>=3.11,<4", "PyYAML>=6.0"],
    extras_require={"journald": ["systemd-python>=234"]},
    cffi_modules=["falco/driver/_ffi_build.py:ffibuilder",
                  "falco/filter/_re2_build.py:ffibuilder"],
    entry_points={"console_scripts": ["falco=falco.app.run.cli:main"]},
    zip_safe=False,
)
