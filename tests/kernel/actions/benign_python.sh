#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: python programs (json, sqlite, threads, subprocess, temp files,
# reading user and group names)
set -eu
. "$(dirname "$0")/_lib.sh"
python3 - "$E2E_TMP" <<'PY'
import json, os, pwd, grp, sqlite3, subprocess, sys, tempfile, threading
base = sys.argv[1]
with tempfile.TemporaryDirectory(dir=base) as d:
    db = sqlite3.connect(os.path.join(d, "data.db"))
    db.execute("create table t (k text, v integer)")
    db.executemany("insert into t values (?, ?)", [(str(i), i) for i in range(100)])
    db.commit()
    total = db.execute("select sum(v) from t").fetchone()[0]
    db.close()
    with open(os.path.join(d, "out.json"), "w") as f:
        json.dump({"total": total, "user": pwd.getpwuid(0).pw_name,
                   "group": grp.getgrgid(0).gr_name}, f)
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(n * n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = subprocess.run(["ls", "-l", d], capture_output=True, text=True, check=True)
    assert "out.json" in out.stdout and len(results) == 8
PY
