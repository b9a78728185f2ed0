# SPDX-License-Identifier: Apache-2.0
"""Files falco writes as root: a symbolic link (or a FIFO) planted at the
name of a recording, the file output or the pidfile is never written
through; new files are 0600 whatever the umask; a refused file is logged
and the alert still delivered."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from support.cli import falco_argv, env, write_config
from support.hostile import OPEN_RULES, T0, write_open_capture

NAME = b"/etc/passwd"


def run(tmp_path: Path, *args: str, umask: int = 0o022,
        **cfg: object) -> subprocess.CompletedProcess[str]:
    scap, rules = tmp_path / "in.scap", tmp_path / "rules.yaml"
    write_open_capture(scap, [NAME], args=[b"x"], comm=b"app")
    rules.write_text(OPEN_RULES)
    conf = write_config(tmp_path, **cfg)
    return subprocess.run(
        falco_argv("-c", str(conf), "-r", str(rules), "-e", str(scap),
                   *args), capture_output=True, text=True, timeout=120,
        env=env(), preexec_fn=lambda: os.umask(umask))


def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text("precious\n")
    os.chmod(path, 0o644)
    return path


def capture_cfg(prefix: Path) -> dict[str, object]:
    return {"capture": {"enabled": True, "mode": "all_rules",
                        "path_prefix": str(prefix)}}


def test_recording_refuses_a_planted_link(tmp_path: Path) -> None:
    target = victim(tmp_path)
    link = tmp_path / f"rec_{T0}.scap"
    link.symlink_to(target)
    res = run(tmp_path, **capture_cfg(tmp_path / "rec"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": Warning open") == 1      # alert delivered
    assert target.read_text() == "precious\n"
    assert link.is_symlink()
    assert f"capture: cannot record to {link}" in res.stderr


def test_recording_is_private_whatever_the_umask(tmp_path: Path) -> None:
    res = run(tmp_path, umask=0, **capture_cfg(tmp_path / "rec"))
    assert res.returncode == 0, res.stderr
    (rec,) = tmp_path.glob("rec_*.scap")
    assert stat.S_IMODE(rec.stat().st_mode) == 0o600


def test_file_output_refuses_a_link_and_a_fifo(tmp_path: Path) -> None:
    target = victim(tmp_path)
    link = tmp_path / "events.txt"
    link.symlink_to(target)
    res = run(tmp_path, file_output={"enabled": True,
                                     "filename": str(link)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": Warning open") == 1      # stdout still
    assert target.read_text() == "precious\n"
    assert "output file: cannot deliver alert" in res.stderr
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    res = run(tmp_path, file_output={"enabled": True,
                                     "filename": str(fifo)})
    assert res.returncode == 0, res.stderr              # did not block
    assert "output file: cannot deliver alert" in res.stderr


def test_file_output_created_private(tmp_path: Path) -> None:
    out = tmp_path / "events.txt"
    res = run(tmp_path, umask=0, file_output={"enabled": True,
                                              "filename": str(out)})
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().count(": Warning open") == 1


def test_pidfile_link_is_replaced_not_followed(tmp_path: Path) -> None:
    target = victim(tmp_path)
    pidfile = tmp_path / "falco.pid"
    pidfile.symlink_to(target)
    res = run(tmp_path, "-P", str(pidfile))
    assert res.returncode == 0, res.stderr
    assert target.read_text() == "precious\n"
    assert not pidfile.exists() or not pidfile.is_symlink()
