# SPDX-License-Identifier: Apache-2.0
"""Record falco-probe-vm.scap.gz: the events of corpus_workload.py from the
real module, inside the test VM, with the process, fd, user and group
tables at the start.  From the repository root on the host:

    scripts/vm-run.sh 'python3 tests/data/captures/record-falco-probe.py'
"""
import os
import pwd
import grp
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parents[1]))

from falco.app.recording import fd_entries, proc_entries  # noqa: E402
from falco.events.capture_state import GroupEntry, UserEntry  # noqa: E402
from falco.events.scap_writer import ScapWriter  # noqa: E402
from falco.state import Inspector  # noqa: E402
from support.live_trace import default_registry, in_tree, trace  # noqa: E402

OUT = HERE / "falco-probe-vm.scap.gz"
CID = "c0ffee00" * 8


def main() -> int:
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.procs").exists():
        os.system(f"mount -t cgroup2 none {root}")
    group = root / "docker" / CID
    group.mkdir(parents=True, exist_ok=True)
    for path in (root, root / "docker"):
        (path / "cgroup.subtree_control").write_text("+pids")
    work = Path(tempfile.mkdtemp(prefix="corpus-"))
    insp = Inspector(proc_lookups=True)
    insp.bootstrap_proc()
    users = [UserEntry(u.pw_uid, u.pw_gid, u.pw_name, u.pw_dir, u.pw_shell)
             for u in pwd.getpwall()]
    groups = [GroupEntry(g.gr_gid, g.gr_name) for g in grp.getgrall()]
    reg = default_registry()
    with ScapWriter(OUT, procs=proc_entries(insp), fds=fd_entries(insp),
                    users=users, groups=groups, enter_events=False) as w:
        def keep(evt, ctx, pid):  # type: ignore[no-untyped-def]
            if in_tree(reg, ctx, pid) or evt.name in ("procinfo", "switch"):
                w.write_event(evt)
        trace([sys.executable, str(HERE / "corpus_workload.py"), str(work),
               str(group), str(root)], interesting=None,
              on_event=keep, inspector=insp)
        print(f"{w.events} events -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
