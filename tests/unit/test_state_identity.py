# SPDX-License-Identifier: Apache-2.0
"""chdir/fchdir, set*uid/set*gid, prctl(PR_SET_NAME), setsid/setpgid:
and users/groups from the password and group files."""
from __future__ import annotations

import os
from pathlib import Path

from falco.state.users import UserDb

from support.state_sim import Sim


def _sim(**kw: object) -> Sim:
    sim = Sim(**kw)  # type: ignore[arg-type]
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/bash", [])
    return sim


def test_chdir_relative_and_fchdir() -> None:
    sim = _sim()
    sim.x("chdir", 100, res=0, path="/usr/share")
    ctx = sim.x("chdir", 100, res=0, path="../lib//x/..")
    assert sim.field(ctx, "proc.cwd") == "/usr/lib/"
    sim.x("chdir", 100, res=-2, path="/nonexistent")
    assert sim.insp.threads[100].cwd == "/usr/lib/"
    sim.x("openat", 100, fd=3, dirfd=-100, name="/srv/data", flags=1 << 10,
          mode=0)
    c = sim.x("fchdir", 100, res=0, fd=3)
    assert sim.field(c, "proc.cwd") == "/srv/data/"


def test_setuid_family() -> None:
    sim = _sim()
    c = sim.x("setuid", 100, res=0, uid=33)
    assert sim.field(c, "user.uid") == 33
    sim.x("setresuid", 100, res=0, ruid=-1, euid=1000, suid=-1)
    assert sim.insp.threads[100].uid == 1000
    sim.x("setuid", 100, res=-1, uid=0)
    assert sim.insp.threads[100].uid == 1000
    g = sim.x("setgid", 100, res=0, gid=44)
    assert sim.field(g, "group.gid") == 44
    sim.x("setresgid", 100, res=0, rgid=-1, egid=45, sgid=-1)
    assert sim.insp.threads[100].gid == 45


def test_prctl_set_name_and_sessions() -> None:
    sim = _sim()
    c = sim.x("prctl", 100, res=0, option=15, arg2_str="worker-1",
              arg2_int=0)
    assert sim.field(c, "proc.name") == "worker-1"
    s = sim.x("setsid", 100, res=100)
    assert sim.field(s, "proc.sid") == 100
    assert sim.field(s, "proc.is_sid_leader") is True
    sim.fork(100, 200)
    c2 = sim.execve(200, "/bin/ls", [])
    assert sim.field(c2, "proc.sname") == "worker-1"
    assert sim.field(c2, "proc.loginshellid") is None


def _write(root: Path, passwd: str, group: str) -> None:
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text(passwd)
    (root / "etc" / "group").write_text(group)


def test_users_from_host_root_files_and_refresh(tmp_path: Path) -> None:
    _write(tmp_path, "root:x:0:0:root:/root:/bin/bash\n"
           "alice:x:1000:1000::/home/alice:/bin/zsh\nbroken:x:zz:1::/:\n",
           "root:x:0:\nstaff:x:50:\n")
    now = [0.0]
    db = UserDb(str(tmp_path), clock=lambda: now[0])
    assert db.user_name(1000) == "alice"
    assert db.user(1000).shell == "/bin/zsh"  # type: ignore[union-attr]
    assert db.user_name(4242) == "4242"
    assert db.group_name(50) == "staff"
    assert db.group_name(77) == "77"
    _write(tmp_path, "root:x:0:0:root:/root:/bin/bash\n"
           "bob:x:4242:4242::/home/bob:/bin/sh\n", "root:x:0:\n")
    st = os.stat(tmp_path / "etc" / "passwd")
    os.utime(tmp_path / "etc" / "passwd",
             ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    assert db.user_name(4242) == "4242"  # not re-checked yet
    now[0] = 5.0
    assert db.user_name(4242) == "bob"
    assert db.user(1000) is None


def test_user_fields_via_inspector(tmp_path: Path) -> None:
    _write(tmp_path, "root:x:0:0:root:/root:/bin/bash\n"
           "www-data:x:33:33::/var/www:/usr/sbin/nologin\n",
           "root:x:0:\nwww-data:x:33:\n")
    sim = _sim(host_root=str(tmp_path))
    c = sim.x("setuid", 100, res=0, uid=33)
    assert sim.field(c, "user.name") == "www-data"
    assert sim.field(c, "user.homedir") == "/var/www"
    assert sim.field(c, "user.shell") == "/usr/sbin/nologin"
    assert sim.field(c, "evt.arg.uid") == "www-data"
    assert sim.field(c, "user.loginuid") == -1
    assert sim.field(c, "user.loginname") is None
    sim.x("setuid", 100, res=0, uid=31337)
    c2 = sim.x("setgid", 100, res=0, gid=31337)
    assert sim.field(c2, "user.name") == "31337"
    assert sim.field(c2, "group.name") == "31337"


def test_capture_user_list_replaces_files() -> None:
    from falco.events.capture_state import GroupEntry, UserEntry
    db = UserDb("/nonexistent-root")
    db.load_entries([UserEntry(7, 7, "seven", "/h", "/bin/sh")],
                    [GroupEntry(8, "eight")])
    assert db.user_name(7) == "seven" and db.group_name(8) == "eight"
    assert db.user_name(0) == "0"


def test_container_processes_use_the_container_passwd(tmp_path: Path) -> None:
    """Live: ids of a containerised process are names in *its* /etc."""
    _write(tmp_path, "root:x:0:0:root:/root:/bin/bash\n", "root:x:0:\n")
    croot = tmp_path / "proc" / "4000" / "root"
    croot.mkdir(parents=True)
    _write(croot, "root:x:0:0:root:/root:/bin/sh\n"
           "nginx:x:101:101::/var/cache/nginx:/sbin/nologin\n",
           "nginx:x:101:\n")
    sim = Sim(host_root=str(tmp_path), proc_lookups=True)
    sim.init()
    cid = "c0ffee" * 10 + "abcd"
    sim.x("clone", 4000, res=0, exe="/usr/sbin/nginx", args="", tid=4000,
          pid=4000, ptid=1, comm="nginx", flags=0, uid=101, gid=101,
          cgroups=f"cpu=/docker/{cid}\0", vtid=1, vpid=1)
    ctx = sim.x("setuid", 4000, res=0, uid=101)
    assert sim.field(ctx, "container.id") == cid[:12]
    assert sim.field(ctx, "user.name") == "nginx"
    assert sim.field(ctx, "user.homedir") == "/var/cache/nginx"
    assert sim.field(ctx, "group.name") == "nginx"
    host = sim.x("setuid", 1, res=0, uid=101)
    assert sim.field(host, "user.name") == "101"
    # the container's root going away keeps what was read
    import shutil
    shutil.rmtree(croot)
    sim.insp.users_of(ctx.thread)._next_check = 0.0  # type: ignore[arg-type]
    assert sim.field(ctx, "user.name") == "nginx"
