# SPDX-License-Identifier: Apache-2.0
"""cffi builder (out-of-line API mode) for ``falco.driver._falco_ffi``.

The extension compiles the driver's own schema sources (``driver/event_table.c``,
``driver/flags_table.c``) against the uapi headers, plus the ring reader and the
capture block walker in ``csrc/``.  Constants are declared with ``...`` so
their values always come from the real headers.
"""
from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DRIVER = ROOT / "driver"
UAPI = DRIVER / "uapi"
CSRC = HERE / "csrc"

_SKIP_MACROS = {"PPME_IS_ENTER", "PPME_IS_EXIT", "PPME_MAKE_EXIT"}
_ENUMS = ("ppm_event_code", "ppm_sc_code", "ppm_event_category",
          "ppm_event_flags", "ppm_param_type", "ppm_print_format",
          "fprobe_flag_table_id", "fprobe_dyn_table_id", "fprobe_pf_op")


def header_constants(text: str) -> list[str]:
    """Names of the integer object-like macros and enumerators of a header."""
    names: list[str] = []
    for m in re.finditer(r"^#define\s+([A-Z][A-Z0-9_]*)[ \t]+(\S.*)$", text,
                         re.M):
        name, value = m.group(1), m.group(2)
        if name in _SKIP_MACROS or name.startswith("_") or '"' in value:
            continue
        if name.startswith("FPROBE_VERSION_"):
            continue
        names.append(name)
    for enum in _ENUMS:
        m = re.search(r"enum %s \{(.*?)\};" % enum, text, re.S)
        if m:
            names.extend(re.findall(r"^\s*([A-Za-z_]\w*)\s*=", m.group(1),
                                    re.M))
    seen: set[str] = set()
    return [n for n in names if not (n in seen or seen.add(n))]


def has_syscall_table() -> bool:
    """The driver's syscall table (native nr -> events) is present."""
    return (UAPI / "fprobe_syscalls.h").exists() and \
        (DRIVER / "syscall_table.c").exists()


_SYSCALLS = """
struct fprobe_syscall_entry { __u16 enter_event; __u16 exit_event;
    __u32 flags; __u32 ppm_sc; char name[]; ...; };
extern const struct fprobe_syscall_entry fprobe_syscall_table[];
static const int FSRC_HAVE_SYSCALLS;
"""


def _cdef() -> str:
    consts = []
    hdrs = ["fprobe_events.h", "fprobe_abi.h", "fprobe_prefilter.h",
            "fprobe_bpf.h"]
    if has_syscall_table():
        hdrs.append("fprobe_syscalls.h")
    for hdr in hdrs:
        path = UAPI / hdr
        if path.exists():
            consts += header_constants(path.read_text())
    lines = ["typedef uint8_t __u8; typedef uint16_t __u16;",
             "typedef uint32_t __u32; typedef uint64_t __u64;"]
    lines += ["#define %s ..." % n for n in consts]
    lines.append(_STRUCTS)
    lines.append((CSRC / "fsrc.cdef").read_text())
    lines.append((CSRC / "fsrc_bpf.cdef").read_text())
    if has_syscall_table():
        lines.append(_SYSCALLS)
    else:
        lines.append("static const int FSRC_HAVE_SYSCALLS;")
    return "\n".join(lines)


_STRUCTS = """
struct fprobe_name_value { char name[]; __u32 value; ...; };
struct fprobe_table_ref { char name[]; __u32 first; __u32 count; ...; };
struct fprobe_param_info {
    char name[]; __u32 type; __u32 fmt; __u32 info; __u32 ninfo; ...;
};
struct fprobe_event_info {
    char name[]; __u32 category; __u32 flags; __u32 nparams;
    struct fprobe_param_info params[]; ...;
};
struct fprobe_evt_hdr { __u64 ts; __u64 tid; __u32 len; __u16 type;
    __u32 nparams; ...; };
struct fprobe_ring_info { __u64 head; __u64 tail; __u64 n_evts;
    __u64 n_drops_buffer; __u64 n_drops_pf; __u64 n_preemptions;
    __u64 n_compat; __u64 buffer_size; __u64 n_tracepoint_hit;
    __u64 n_filtered; ...; };
struct fprobe_stats { __u64 n_evts; __u64 n_drops_buffer; __u64 n_drops_pf;
    __u64 n_preemptions; __u64 n_compat; __u64 n_tracepoint_hit;
    __u64 head; __u64 tail; ...; };
struct fprobe_stats2 { __u64 n_evts; __u64 n_drops_buffer;
    __u64 n_drops_pf; __u64 n_preemptions; __u64 n_compat;
    __u64 n_tracepoint_hit; __u64 head; __u64 tail; __u64 n_filtered; ...; };
extern const struct fprobe_event_info fprobe_event_table[];
extern const struct fprobe_name_value fprobe_flag_values[];
extern const __u32 fprobe_flag_values_count;
extern const struct fprobe_table_ref fprobe_flag_tables[];
extern const struct fprobe_param_info fprobe_dyn_params[];
extern const struct fprobe_table_ref fprobe_dyn_tables[];
extern const char fprobe_sc_names[][32];
struct fprobe_pf_header { __u32 magic; __u16 version; __u16 flags;
    __u32 n_insns; __u32 strtab_len; __u32 reserved[4];
    __u16 entry[512]; };
struct fprobe_pf_insn { __u8 op; __u8 arg; __u8 sub; __u8 width;
    __u16 jt; __u16 jf; __u64 imm; };
struct fprobe_pf_load { __u64 prog; __u32 size; __u32 reserved; };
struct fprobe_pf_event { const __u8 *lens; const __u8 *data; __u32 nparams;
    __u32 lensize; __u32 datalen; __u16 type; const char *comm;
    int (*fdtype)(const void *fdtype_ctx, long long fd);
    const void *fdtype_ctx; __u8 source; };
int fprobe_pf_validate(const void *prog, __u32 size);
int fprobe_pf_eval(const void *prog, const struct fprobe_pf_event *ev);
int fprobe_pf_entry_is(const void *prog, __u16 type, __u16 target);
"""


def _sources() -> list[str]:
    srcs = [DRIVER / "event_table.c", DRIVER / "flags_table.c",
            DRIVER / "prefilter.c", CSRC / "ring.c", CSRC / "scan.c",
            CSRC / "comms.c", CSRC / "bpfring.c", CSRC / "bpfload.c"]
    if has_syscall_table():
        srcs.append(DRIVER / "syscall_table.c")
    return [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
            for p in srcs]


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "falco.driver._falco_ffi",
    '#include "fprobe_abi.h"\n#include "fprobe_events.h"\n'
    '#include "fsrc.h"\n#include "fsrc_bpf.h"\n'
    + ('#include "fprobe_syscalls.h"\n'
       "static const int FSRC_HAVE_SYSCALLS = 1;\n" if has_syscall_table()
       else "static const int FSRC_HAVE_SYSCALLS = 0;\n")
    +
    "static const char *fsrc_device_prefix(void)"
    " { return FPROBE_DEVICE_PREFIX; }\n",
    sources=_sources(),
    include_dirs=[str(UAPI), str(CSRC), str(DRIVER)],
    # the modern_ebpf loader (csrc/bpfload.c) links libbpf
    libraries=["bpf"],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall",
                        "-Wno-missing-field-initializers"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
