# SPDX-License-Identifier: Apache-2.0
"""falco_probe devices, ioctls, mappings and module life cycle."""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ringreader as rr
from conftest import load_module, module_loaded, unload_module

pytestmark = pytest.mark.kernel

PARAM = Path("/sys/module/falco_probe/parameters/buffer_bytes")


def test_one_device_per_possible_cpu_mode_0600() -> None:
    cpus = rr.possible_cpus()
    assert cpus
    for cpu in cpus:
        st = os.stat(f"/dev/falco{cpu}")
        assert stat.S_ISCHR(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_uid == 0
    assert not os.path.exists(f"/dev/falco{max(cpus) + 1}")


def test_versions_match_header_and_modinfo() -> None:
    d = rr.abi().defines
    ring = rr.Ring(0)
    try:
        api, sch = ring.api_version(), ring.schema_version()
    finally:
        ring.close()
    assert api >> 44 == d["FPROBE_API_VERSION_MAJOR"]
    assert (api >> 24) & 0xFFFFF == d["FPROBE_API_VERSION_MINOR"]
    assert api & 0xFFFFFF == d["FPROBE_API_VERSION_PATCH"]
    assert sch >> 44 == d["FPROBE_SCHEMA_VERSION_MAJOR"]
    info = subprocess.run(["modinfo", "-F", "api_version", os.environ["FPROBE_KO"]],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert info == f"{api >> 44}.{(api >> 24) & 0xFFFFF}.{api & 0xFFFFFF}"


def test_second_open_of_a_ring_is_busy() -> None:
    ring = rr.Ring(0)
    try:
        with pytest.raises(OSError) as exc:
            rr.Ring(0)
        assert exc.value.errno == errno.EBUSY
    finally:
        ring.close()
    rr.Ring(0).close()  # free again once closed


def test_unknown_ioctl_is_enotty() -> None:
    ring = rr.Ring(0)
    try:
        magic = rr.abi().defines["FPROBE_IOC_MAGIC"]
        for cmd in (rr._ioc(0, magic, 63, 0), rr._ioc(1, ord("T"), 1, 4), 0x5401):
            with pytest.raises(OSError) as exc:
                fcntl.ioctl(ring.fd, cmd, bytes(8))
            assert exc.value.errno == errno.ENOTTY
    finally:
        ring.close()


def test_bad_ioctl_arguments_are_einval() -> None:
    ring = rr.Ring(0)
    try:
        for call in (lambda: ring.enable_syscall(512), lambda: ring.enable_tp(3),
                     lambda: ring.enable_tp(99), lambda: ring.set_snaplen(0),
                     lambda: ring.set_snaplen(65001)):
            with pytest.raises(OSError) as exc:
                call()
            assert exc.value.errno == errno.EINVAL
    finally:
        ring.close()


def test_data_area_cannot_be_mapped_writable_or_at_wrong_size() -> None:
    ring = rr.Ring(0)
    try:
        ring.map()
        off = rr.abi().defines["FPROBE_MMAP_OFF_DATA"]
        with pytest.raises(OSError):
            mmap.mmap(ring.fd, 2 * ring.size, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE, offset=off)
        with pytest.raises(OSError):
            mmap.mmap(ring.fd, ring.size, mmap.MAP_SHARED, mmap.PROT_READ, offset=off)
        with pytest.raises(OSError):
            mmap.mmap(ring.fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ,
                      offset=mmap.PAGESIZE * 7)
    finally:
        ring.close()


def test_data_area_is_mirrored() -> None:
    """Bytes at offset x and x + size are the same page."""
    with rr.Capture(["getppid"]) as cap:
        for _ in range(50):
            os.getppid()
        cap.stop()
        for ring in cap.rings:
            assert ring.data is not None
            head = ring.info_fields()["head"]
            if head:
                n = min(head, 4096)
                assert ring.data[:n] == ring.data[ring.size:ring.size + n]
                break
        else:
            pytest.fail("no ring received the getppid events")


def test_nothing_recorded_until_enabled(tid: int) -> None:
    cap = rr.Capture()  # no syscall in the mask, no tracepoint attached
    try:
        os.getppid()
        os.close(os.open("/dev/null", os.O_RDONLY))
        assert cap.drain() == []
        assert cap.stats()["n_evts"] == 0
        # tracepoints on but an empty syscall mask: still nothing
        cap.start()
        os.getppid()
        assert cap.stop() == []
    finally:
        cap.close()


def test_buffer_size_parameter_validated() -> None:
    old = PARAM.read_text().strip()
    for bad in ("12345", "4096", "0", str(3 * 1024 * 1024), "abc", str(1 << 31)):
        with pytest.raises(OSError) as exc:
            PARAM.write_text(bad)
        assert exc.value.errno == errno.EINVAL
    assert PARAM.read_text().strip() == old
    PARAM.write_text(str(64 * 1024))
    ring = rr.Ring(0)
    try:
        ring.map()
        assert ring.size == 64 * 1024
    finally:
        ring.close()
        PARAM.write_text(old)


def test_insmod_rejects_bad_buffer_size() -> None:
    assert unload_module().returncode == 0
    try:
        with pytest.raises(subprocess.CalledProcessError):
            load_module("buffer_bytes=1000")
        assert not module_loaded()
    finally:
        if not module_loaded():
            load_module()


def test_rmmod_refused_while_a_reader_is_open() -> None:
    cap = rr.Capture(["getppid"]).start()
    try:
        res = unload_module()
        assert res.returncode != 0
        assert module_loaded()
        os.getppid()
        assert any(e.name == "syscall" for e in cap.stop())
    finally:
        cap.close()
    res = unload_module()
    assert res.returncode == 0, res.stderr
    load_module()


READER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import ringreader as rr
cap = rr.Capture(["getppid", "openat", "close"], ("sys_enter", "sys_exit", "sched_proc_exit"))
cap.start()
print("ready", flush=True)
while True:
    os.getppid()
    cap.drain()
"""


def test_reader_killed_mid_capture_leaves_module_reusable() -> None:
    proc = subprocess.Popen([sys.executable, "-c", READER, str(Path(rr.__file__).parent)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with rr.Capture(["getppid"]) as cap:
        os.getppid()
        assert cap.stop()
    res = unload_module()
    assert res.returncode == 0, res.stderr
    load_module()


COMPAT = r"""
#include <stdio.h>
#include <unistd.h>
int main(void)
{
	long ret;
	int i;
	for (i = 0; i < 10; i++) {
		/* ia32 getpid (20) through the 32-bit entry */
		__asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	}
	printf("%ld %d\n", ret, getpid());
	return 0;
}
"""


def test_ia32_syscalls_are_counted_not_decoded(cc) -> None:
    exe = cc("compat", COMPAT)
    with rr.Capture(["getpid", "writev"]) as cap:
        out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
        events = cap.stop()
        stats = cap.stats()
    ret, pid = map(int, out.split())
    assert ret == pid  # the 32-bit calls really ran
    assert stats["n_compat"] >= 10
    # ia32 20 is getpid, native 20 is writev: the ten ia32 calls must not be
    # decoded as either; the one native getpid (39) must be there.
    native = [e.params["nativeID"] for e in events if e.tid == pid and e.name == "syscall"]
    assert native.count(rr.schema().syscalls["getpid"]) == 1
    assert rr.schema().syscalls["writev"] not in native


DUMP = r"""
#include <stdio.h>
#include "uapi/fprobe_events.h"
int main(void)
{
	for (int i = 0; i < PPM_EVENT_MAX; i++)
		printf("%d %s %u\n", i, fprobe_event_table[i].name[0] ?
		       fprobe_event_table[i].name : "-", fprobe_event_table[i].nparams);
	return 0;
}
"""


def test_reader_schema_matches_the_compiled_table(tmp_path: Path) -> None:
    """The test reader parses event_table.c with regexes: check it against
    the table as the compiler sees it."""
    src = tmp_path / "dump.c"
    src.write_text(DUMP)
    exe = tmp_path / "dump"
    subprocess.run(["gcc", "-I", str(rr.DRIVER), "-o", str(exe), str(src),
                    str(rr.DRIVER / "event_table.c")], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    sch = rr.schema()
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) == len(sch.events)
    for code, name, nparams in rows:
        info = sch.events[int(code)]
        assert (info.name if name != "-" else "-", len(info.params)) == (name, int(nparams))
