# SPDX-License-Identifier: Apache-2.0
"""Per-syscall tests, files and file descriptors: each test makes the call
from this thread with known arguments and checks every parameter."""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
import subprocess
from pathlib import Path

import pytest

import ringreader as rr
from sctest import P, Tracer, live, sc, tmpfs, trace  # noqa: F401  (fixtures)

pytestmark = pytest.mark.kernel

AT_FDCWD = -100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400


@pytest.fixture
def tmp_path(tmpfs: Path) -> Path:
    """Every test here works on a fresh tmpfs (sctest.tmpfs)."""
    return tmpfs


def created(flags: int) -> int:
    return flags | P("PPM_O_F_CREATED")


def test_openat_creates_file(trace: Tracer, tmp_path: Path) -> None:
    path = str(tmp_path / "new-file")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
    st = os.fstat(fd)
    os.close(fd)
    flags = P("PPM_O_WRONLY") | P("PPM_O_CREAT") | P("PPM_O_EXCL") | P("PPM_O_CLOEXEC")
    enter = trace.one("openat", exit=False, name=path)
    assert enter.params == {"dirfd": AT_FDCWD, "name": path, "flags": flags, "mode": 0o640}
    ev = trace.one("openat", name=path)
    assert ev.params == {"fd": fd, "dirfd": AT_FDCWD, "name": path, "flags": created(flags),
                         "mode": 0o640, "dev": st.st_dev, "ino": st.st_ino}


def test_openat_relative_to_dirfd_and_failure(trace: Tracer, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        trace.reset()
        fd = os.open("f", os.O_RDONLY | os.O_NONBLOCK, dir_fd=dfd)
        st = os.fstat(fd)
        os.close(fd)
        with pytest.raises(FileNotFoundError):
            os.open("missing", os.O_RDWR | os.O_TRUNC, dir_fd=dfd)
    finally:
        os.close(dfd)
    ok = trace.one("openat", name="f")
    assert ok.params == {"fd": fd, "dirfd": dfd, "name": "f",
                         "flags": P("PPM_O_RDONLY") | P("PPM_O_NONBLOCK") | P("PPM_O_CLOEXEC"),
                         "mode": 0, "dev": st.st_dev, "ino": st.st_ino}
    bad = trace.one("openat", name="missing")
    assert bad.params == {"fd": -errno.ENOENT, "dirfd": dfd, "name": "missing",
                          "flags": P("PPM_O_RDWR") | P("PPM_O_TRUNC") | P("PPM_O_CLOEXEC"),
                          "mode": 0, "dev": 0, "ino": 0}


def test_open_and_creat(trace: Tracer, tmp_path: Path) -> None:
    p1, p2 = str(tmp_path / "o"), str(tmp_path / "c")
    fd1 = sc("open", p1, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    fd2 = sc("creat", p2, 0o644)
    assert fd1 >= 0 and fd2 >= 0
    st1, st2 = os.fstat(fd1), os.fstat(fd2)
    os.close(fd1)
    os.close(fd2)
    flags = P("PPM_O_RDWR") | P("PPM_O_CREAT") | P("PPM_O_APPEND")
    assert trace.one("open", exit=False, name=p1).params == {
        "name": p1, "flags": flags, "mode": 0o600}
    assert trace.one("open", name=p1).params == {
        "fd": fd1, "name": p1, "flags": created(flags), "mode": 0o600,
        "dev": st1.st_dev, "ino": st1.st_ino}
    assert trace.one("creat", exit=False, name=p2).params == {"name": p2, "mode": 0o644}
    assert trace.one("creat", name=p2).params == {
        "fd": fd2, "name": p2, "mode": 0o644, "dev": st2.st_dev, "ino": st2.st_ino,
        "creat_flags": 0}


def test_open_on_overlayfs_reports_the_layer(trace: Tracer, tmp_path: Path) -> None:
    for d in ("lower", "upper", "work", "merged"):
        (tmp_path / d).mkdir()
    (tmp_path / "lower" / "low").write_text("x")
    (tmp_path / "lower" / "copied").write_text("x")
    m = tmp_path / "merged"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={tmp_path}/lower,upperdir={tmp_path}/upper,"
                    f"workdir={tmp_path}/work", str(m)], check=True)
    try:
        trace.reset()
        for name, flags in (("low", os.O_RDONLY), ("copied", os.O_WRONLY),
                            ("new", os.O_WRONLY | os.O_CREAT)):
            os.close(os.open(m / name, flags | os.O_CLOEXEC, 0o600))
        fd = sc("creat", str(m / "made"), 0o600)
        assert fd >= 0
        os.close(fd)
    finally:
        subprocess.run(["umount", str(m)], check=True)
    upper, lower = P("PPM_FD_UPPER_LAYER"), P("PPM_FD_LOWER_LAYER")
    cloexec = P("PPM_O_CLOEXEC")
    got = {n: trace.one("openat", name=str(m / n)).params["flags"]
           for n in ("low", "copied", "new")}
    assert got == {
        "low": P("PPM_O_RDONLY") | cloexec | lower,
        # opening a lower file for writing copies it up first
        "copied": P("PPM_O_WRONLY") | cloexec | upper,
        "new": created(P("PPM_O_WRONLY") | P("PPM_O_CREAT") | cloexec) | upper}
    assert trace.one("creat", name=str(m / "made")).params["creat_flags"] == \
        P("PPM_FD_UPPER_LAYER_CREAT")


def test_openat2_with_resolve(trace: Tracer, tmp_path: Path) -> None:
    path = str(tmp_path / "o2")
    RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH = 0x04, 0x08
    how = ctypes.create_string_buffer(struct.pack(
        "<QQQ", os.O_CREAT | os.O_WRONLY, 0o600, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), 24)
    fd = sc("openat2", AT_FDCWD, path, how, 24)
    if fd == -errno.EXDEV:  # RESOLVE_BENEATH refuses an absolute path
        how = ctypes.create_string_buffer(struct.pack(
            "<QQQ", os.O_CREAT | os.O_WRONLY, 0o600, RESOLVE_NO_SYMLINKS), 24)
        trace.reset()
        fd = sc("openat2", AT_FDCWD, path, how, 24)
        resolve = P("PPM_RESOLVE_NO_SYMLINKS")
    else:
        resolve = P("PPM_RESOLVE_NO_SYMLINKS") | P("PPM_RESOLVE_BENEATH")
    assert fd >= 0
    st = os.fstat(fd)
    os.close(fd)
    flags = P("PPM_O_WRONLY") | P("PPM_O_CREAT")
    assert trace.one("openat2", exit=False, name=path).params == {
        "dirfd": AT_FDCWD, "name": path, "flags": flags, "mode": 0o600, "resolve": resolve}
    assert trace.one("openat2", name=path).params == {
        "fd": fd, "dirfd": AT_FDCWD, "name": path, "flags": created(flags), "mode": 0o600,
        "resolve": resolve, "dev": st.st_dev, "ino": st.st_ino}


def test_close_ok_and_ebadf(trace: Tracer) -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError):
        os.close(fd)
    evs = rr.select(trace.events(), "close", tid=trace_tid(), fd=fd)
    assert [e.params for e in evs] == [{"res": 0, "fd": fd}, {"res": -errno.EBADF, "fd": fd}]


def trace_tid() -> int:
    import threading
    return threading.get_native_id()


def test_read_write_data_and_snaplen(trace: Tracer) -> None:
    r, w = os.pipe()
    try:
        short = b"hello\x00world"
        long = bytes(range(256)) * 2
        trace.reset()
        assert os.write(w, short) == len(short)
        assert os.read(r, 100) == short
        assert os.write(w, long) == len(long)
        assert os.read(r, 1000) == long
    finally:
        os.close(r)
        os.close(w)
    writes = rr.select(trace.events(), "write", tid=trace_tid(), fd=w)
    reads = rr.select(trace.events(), "read", tid=trace_tid(), fd=r)
    snap = rr.abi().defines["FPROBE_SNAPLEN_DEFAULT"]
    assert [e.params for e in writes] == [
        {"res": len(short), "data": short, "fd": w, "size": len(short)},
        {"res": len(long), "data": long[:snap], "fd": w, "size": len(long)}]
    assert [e.params for e in reads] == [
        {"res": len(short), "data": short, "fd": r, "size": 100},
        {"res": len(long), "data": long[:snap], "fd": r, "size": 1000}]


def test_pread_pwrite(trace: Tracer, tmp_path: Path) -> None:
    fd = os.open(tmp_path / "p", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        trace.reset()
        os.pwrite(fd, b"abcdef", 7)
        assert os.pread(fd, 3, 8) == b"bcd"
    finally:
        os.close(fd)
    assert trace.one("pwrite", fd=fd).params == {
        "res": 6, "data": b"abcdef", "fd": fd, "size": 6, "pos": 7}
    assert trace.one("pread", fd=fd).params == {
        "res": 3, "data": b"bcd", "fd": fd, "size": 3, "pos": 8}


def test_dup_family_and_fcntl(trace: Tracer) -> None:
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        trace.reset()
        d1 = sc("dup", fd)
        d2 = os.dup2(fd, 200, inheritable=True)   # dup2
        d3 = os.dup2(fd, 201, inheritable=False)  # dup3(O_CLOEXEC)
        d4 = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 300)
        for d in (d1, d2, d3, d4):
            os.close(d)
    finally:
        os.close(fd)
    assert trace.one("dup", oldfd=fd).params == {"res": d1, "oldfd": fd}
    assert trace.one("dup2", oldfd=fd).params == {"res": 200, "oldfd": fd, "newfd": 200}
    assert trace.one("dup3", oldfd=fd).params == {
        "res": 201, "oldfd": fd, "newfd": 201, "flags": P("PPM_O_CLOEXEC")}
    assert trace.one("fcntl", fd=fd).params == {
        "res": d4, "fd": fd, "cmd": P("PPM_FCNTL_F_DUPFD_CLOEXEC"), "arg": 300}


def test_pipe_and_pipe2(trace: Tracer) -> None:
    r, w = os.pipe()  # pipe2(O_CLOEXEC)
    ino = os.fstat(r).st_ino
    fds = (ctypes.c_int * 2)()
    assert sc("pipe", fds) == 0
    ino2 = os.fstat(fds[0]).st_ino
    for fd in (r, w, fds[0], fds[1]):
        os.close(fd)
    assert trace.one("pipe2").params == {
        "res": 0, "fd1": r, "fd2": w, "ino": ino, "flags": P("PPM_O_CLOEXEC")}
    assert trace.one("pipe").params == {"res": 0, "fd1": fds[0], "fd2": fds[1], "ino": ino2}


def test_directories_and_links(trace: Tracer, tmp_path: Path) -> None:
    d = str(tmp_path / "d")
    d2 = str(tmp_path / "d2")
    f = str(tmp_path / "f")
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        Path(f).write_text("x")
        trace.reset()
        assert sc("mkdir", d, 0o750) == 0
        assert sc("mkdirat", dfd, "d2", 0o700) == 0
        assert sc("rmdir", d) == 0
        assert sc("unlinkat", dfd, "d2", AT_REMOVEDIR) == 0
        assert sc("link", f, f + ".l") == 0
        assert sc("linkat", dfd, "f", dfd, "f.l2", AT_SYMLINK_FOLLOW) == 0
        assert sc("symlink", "target", f + ".s") == 0
        assert sc("symlinkat", "t2", dfd, "f.s2") == 0
        assert sc("rename", f + ".l", f + ".r") == 0
        assert sc("renameat", dfd, "f.r", dfd, "f.r2") == 0
        RENAME_NOREPLACE = 1
        assert sc("renameat2", dfd, "f.r2", dfd, "f.s", RENAME_NOREPLACE) == -errno.EEXIST
        assert sc("unlink", f + ".r2") == 0
        assert sc("unlinkat", dfd, "f.l2", 0) == 0
    finally:
        os.close(dfd)
    t = trace
    assert t.one("mkdir", path=d).params == {"res": 0, "path": d, "mode": 0o750}
    assert t.one("mkdirat").params == {"res": 0, "dirfd": dfd, "path": "d2", "mode": 0o700}
    assert t.one("rmdir").params == {"res": 0, "path": d}
    assert t.one("unlinkat", name="d2").params == {
        "res": 0, "dirfd": dfd, "name": "d2", "flags": P("PPM_AT_REMOVEDIR")}
    assert t.one("unlinkat", name="f.l2").params == {
        "res": 0, "dirfd": dfd, "name": "f.l2", "flags": 0}
    assert t.one("link").params == {"res": 0, "oldpath": f, "newpath": f + ".l"}
    assert t.one("linkat").params == {"res": 0, "olddir": dfd, "oldpath": "f", "newdir": dfd,
                                      "newpath": "f.l2", "flags": P("PPM_AT_SYMLINK_FOLLOW")}
    assert t.one("symlink").params == {"res": 0, "target": "target", "linkpath": f + ".s"}
    assert t.one("symlinkat").params == {"res": 0, "target": "t2", "linkdirfd": dfd,
                                         "linkpath": "f.s2"}
    assert t.one("rename").params == {"res": 0, "oldpath": f + ".l", "newpath": f + ".r"}
    assert t.one("renameat").params == {"res": 0, "olddirfd": dfd, "oldpath": "f.r",
                                        "newdirfd": dfd, "newpath": "f.r2"}
    assert t.one("renameat2").params == {
        "res": -errno.EEXIST, "olddirfd": dfd, "oldpath": "f.r2", "newdirfd": dfd,
        "newpath": "f.s", "flags": P("PPM_RENAME_NOREPLACE")}
    assert t.one("unlink").params == {"res": 0, "path": f + ".r2"}


def test_chmod_family_and_chdir(trace: Tracer, tmp_path: Path) -> None:
    f = str(tmp_path / "m")
    Path(f).write_text("")
    fd = os.open(f, os.O_RDONLY)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    cwd = os.getcwd()
    try:
        trace.reset()
        assert sc("chmod", f, 0o4755) == 0
        assert sc("fchmod", fd, 0o600) == 0
        assert sc("fchmodat", dfd, "m", 0o2711) == 0
        assert sc("chdir", str(tmp_path)) == 0
        assert sc("fchdir", dfd) == 0
        assert sc("chdir", "/nonexistent-dir") == -errno.ENOENT
    finally:
        os.chdir(cwd)
        os.close(fd)
        os.close(dfd)
    assert trace.one("chmod").params == {"res": 0, "filename": f, "mode": 0o4755}
    assert trace.one("fchmod").params == {"res": 0, "fd": fd, "mode": 0o600}
    assert trace.one("fchmodat").params == {"res": 0, "dirfd": dfd, "filename": "m",
                                            "mode": 0o2711}
    assert trace.one("chdir", path=str(tmp_path)).params == {"res": 0, "path": str(tmp_path)}
    assert trace.one("chdir", path="/nonexistent-dir").params["res"] == -errno.ENOENT
    assert trace.one("fchdir").params == {"res": 0, "fd": dfd}


def test_memfd_userfaultfd_and_modules(trace: Tracer) -> None:
    mfd = os.memfd_create("fp-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    ufd = sc("userfaultfd", os.O_CLOEXEC | os.O_NONBLOCK)
    img = b"\x7fELF-not-a-module"
    res_init = sc("init_module", ctypes.c_char_p(img), len(img), "opt=1")
    nfd = os.open("/dev/null", os.O_RDONLY)
    res_finit = sc("finit_module", nfd, "x=2", 0)
    for fd in (mfd, ufd, nfd):
        if fd >= 0:
            os.close(fd)
    assert res_init < 0 and res_finit < 0
    assert trace.one("memfd_create").params == {"fd": mfd, "name": "fp-test", "flags": 3}
    assert trace.one("userfaultfd").params == {
        "res": ufd, "flags": P("PPM_O_CLOEXEC") | P("PPM_O_NONBLOCK")}
    assert trace.one("init_module").params == {
        "res": res_init, "img": img, "length": len(img), "uargs": "opt=1"}
    assert trace.one("finit_module").params == {
        "res": res_finit, "fd": nfd, "uargs": "x=2", "flags": 0}


def test_mount_umount_chroot(trace: Tracer, tmp_path: Path) -> None:
    d = str(tmp_path / "mnt")
    os.mkdir(d)
    MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
    trace.reset()
    assert sc("mount", "none", d, "tmpfs", MS_NOSUID | MS_NODEV, 0) == 0
    assert sc("umount2", d, MNT_DETACH) == 0
    assert sc("chroot", "/") == 0
    assert trace.one("mount").params == {
        "res": 0, "dev": "none", "dir": d, "type": "tmpfs",
        "flags": P("PPM_MS_NOSUID") | P("PPM_MS_NODEV")}
    assert trace.one("umount2").params == {"res": 0, "name": d, "flags": P("PPM_MNT_DETACH")}
    assert trace.one("chroot").params == {"res": 0, "path": "/"}
