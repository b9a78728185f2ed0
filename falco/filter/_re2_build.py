# SPDX-License-Identifier: Apache-2.0
"""cffi builder (out-of-line API mode) for ``falco.filter._falco_re2``:
the ``regex`` operator on RE2 (Debian's libre2), through the small C++
shim in ``csrc/fre2.cc``."""
from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"

ffibuilder = FFI()
ffibuilder.cdef("""
struct fre2;
struct fre2 *fre2_compile(const char *pattern, size_t len, char *err,
                          size_t errlen);
int fre2_full_match(const struct fre2 *re, const char *text, size_t len);
void fre2_free(struct fre2 *re);
""")
ffibuilder.set_source(
    "falco.filter._falco_re2", '#include "fre2.h"',
    sources=[str((CSRC / "fre2.cc").relative_to(HERE.parent.parent))],
    include_dirs=[str(CSRC)], libraries=["re2"],
    source_extension=".cpp",
    extra_compile_args=["-std=c++17", "-O2"])

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
