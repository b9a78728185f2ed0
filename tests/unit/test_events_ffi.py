# SPDX-License-Identifier: Apache-2.0
"""The Python view of the schema (cffi) matches the C headers and tables.

A separately compiled C program (plain gcc, no cffi) prints every constant,
struct layout and table entry; the test compares that with what Python sees.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from falco.driver import _ffi_build
from falco.driver._falco_ffi import ffi, lib
from falco.driver.schema import get_schema
from support.external import UPSTREAM_RULES, require_tool

ROOT = Path(__file__).resolve().parents[2]
UAPI = ROOT / "driver" / "uapi"

STRUCT_FIELDS = {
    "struct fprobe_name_value": ["name", "value"],
    "struct fprobe_table_ref": ["name", "first", "count"],
    "struct fprobe_param_info": ["name", "type", "fmt", "info", "ninfo"],
    "struct fprobe_event_info": ["name", "category", "flags", "nparams",
                                 "params"],
    "struct fprobe_evt_hdr": ["ts", "tid", "len", "type", "nparams"],
    "struct fprobe_ring_info": ["head", "tail", "n_evts", "n_drops_buffer",
                                "n_drops_pf", "n_preemptions", "buffer_size"],
    "struct fsrc_rec": ["ts", "tid", "off", "len", "nparams", "type", "cpu",
                        "hdrlen", "flags", "block_off", "seq"],
}

DUMP_MAIN = r"""
#include <stdio.h>
#include <stddef.h>
#include "fprobe_abi.h"
#include "fprobe_events.h"
#include "fsrc.h"
static void js(const char *s) {
    putchar('"');
    for (; *s; s++) { if (*s == '"' || *s == '\\') putchar('\\'); putchar(*s); }
    putchar('"');
}
int main(void) {
    printf("{\"consts\": {");
    CONSTS
    printf("\"_end\": 0}, \"layout\": {");
    LAYOUT
    printf("\"_end\": 0}, \"events\": [");
    for (int e = 0; e < PPM_EVENT_MAX; e++) {
        const struct fprobe_event_info *ev = &fprobe_event_table[e];
        printf("%s[", e ? "," : "");
        js(ev->name);
        printf(",%u,%u,[", ev->category, ev->flags);
        for (unsigned i = 0; i < ev->nparams; i++) {
            const struct fprobe_param_info *p = &ev->params[i];
            printf("%s[", i ? "," : "");
            js(p->name);
            printf(",%u,%u,%u,%u]", p->type, p->fmt, p->info, p->ninfo);
        }
        printf("]]");
    }
    printf("], \"flags\": [");
    for (int t = 0; t < FPROBE_FT_MAX; t++) {
        const struct fprobe_table_ref *r = &fprobe_flag_tables[t];
        printf("%s[", t ? "," : "");
        for (unsigned j = 0; j < r->count; j++) {
            printf("%s[", j ? "," : "");
            js(fprobe_flag_values[r->first + j].name);
            printf(",%u]", fprobe_flag_values[r->first + j].value);
        }
        printf("]");
    }
    printf("]}\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def c_view(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_tool("gcc")
    names = []
    for hdr in ("fprobe_events.h", "fprobe_abi.h"):
        names += _ffi_build.header_constants((UAPI / hdr).read_text())
    consts = "\n".join(
        'printf("\\"%s\\": %%lld, ", (long long)(%s));' % (n, n)
        for n in names)
    layout = []
    for struct, fields in STRUCT_FIELDS.items():
        key = struct.split()[1]
        layout.append('printf("\\"%s\\": %%zu, ", sizeof(%s));'
                      % (key, struct))
        for f in fields:
            layout.append('printf("\\"%s.%s\\": %%zu, ", offsetof(%s, %s));'
                          % (key, f, struct, f))
    src = DUMP_MAIN.replace("CONSTS", consts).replace("LAYOUT",
                                                      "\n".join(layout))
    d = tmp_path_factory.mktemp("cview")
    (d / "dump.c").write_text(src)
    exe = d / "dump"
    subprocess.run(["gcc", "-std=gnu11", "-o", str(exe), str(d / "dump.c"),
                    str(ROOT / "driver" / "event_table.c"),
                    str(ROOT / "driver" / "flags_table.c"),
                    "-I", str(UAPI), "-I", str(_ffi_build.CSRC),
                    "-I", str(_ffi_build.DRIVER)],
                   check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out)
    data["names"] = names
    return data


def test_every_constant_matches(c_view: dict) -> None:
    assert len(c_view["names"]) > 900
    mismatches = {n: (getattr(lib, n), c_view["consts"][n])
                  for n in c_view["names"]
                  if getattr(lib, n) != c_view["consts"][n]}
    assert mismatches == {}


def test_struct_layouts_match(c_view: dict) -> None:
    for struct, fields in STRUCT_FIELDS.items():
        key = struct.split()[1]
        assert ffi.sizeof(struct) == c_view["layout"][key], struct
        for f in fields:
            assert ffi.offsetof(struct, f) == \
                c_view["layout"][f"{key}.{f}"], (struct, f)


def test_every_event_entry_matches(c_view: dict) -> None:
    schema = get_schema()
    assert len(schema.events) == lib.PPM_EVENT_MAX == len(c_view["events"])
    for code, (name, cat, flags, params) in enumerate(c_view["events"]):
        ev = schema.events[code]
        assert (ev.name, ev.category, ev.flags) == (name, cat, flags), code
        assert [(p.name, p.type, p.fmt, p.info, p.ninfo) for p in ev.params] \
            == [tuple(p) for p in params], code


def test_flag_tables_match(c_view: dict) -> None:
    schema = get_schema()
    for code_ev in schema.events:
        for p in code_ev.params:
            if p.flags:
                assert list(p.flags) == \
                    [tuple(x) for x in c_view["flags"][p.info]]


def test_event_codes_pair_up() -> None:
    schema = get_schema()
    for ev in schema.events:
        assert ev.direction == ("<" if ev.code % 2 else ">")
        assert len(ev.params) <= lib.PPM_MAX_EVENT_PARAMS
        for p in ev.params:
            if p.type == lib.PT_FSRELPATH:
                assert p.info < len(ev.params)
                assert ev.params[p.info].type in (lib.PT_FD, lib.PT_FD32)
            if p.type in (lib.PT_FLAGS8, lib.PT_FLAGS16, lib.PT_FLAGS32,
                          lib.PT_ENUMFLAGS8, lib.PT_ENUMFLAGS16,
                          lib.PT_ENUMFLAGS32) and p.info:
                assert p.flags, (ev.name, p.name)


def test_rule_syscalls_are_in_the_table(shared: Path) -> None:
    rules = UPSTREAM_RULES
    schema = get_schema()
    used: set[str] = set()
    for f in ("falco_rules.yaml", "falco-incubating_rules.yaml",
              "falco-sandbox_rules.yaml"):
        text = (rules / f).read_text()
        for m in re.finditer(r"evt\.type\s*(?:in|=)?\s*\(([^)]*)\)", text):
            used |= {x.strip() for x in m.group(1).split(",") if x.strip()}
        used |= set(re.findall(r"evt\.type\s*!?=\s*([a-z_0-9]+)", text))
    assert len(used) > 30
    assert sorted(u for u in used if not schema.codes(u)) == []
