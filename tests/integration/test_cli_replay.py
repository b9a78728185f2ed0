# SPDX-License-Identifier: Apache-2.0
"""``falco`` end to end: replay a capture, check stdout, summary, flags and
exit codes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.cli import (CAT_WRITE, OPEN_SEEN, REGRESSION, ROOT,
                              SINGLE_RULE, alert_lines, run_falco,
                              write_config)

pytestmark = pytest.mark.usefixtures("shared")
RULES = REGRESSION / "rules"
EXPECTED = REGRESSION / "output_files"

SUMMARY_8 = ("Events detected: 8\n"
             "Rule counts by severity:\n"
             "   Warning: 8\n"
             "Triggered rules by rule name:\n"
             "   open_from_cat: 8\n")


def test_replay_text_alerts_and_summary(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), extra_env={"TZ": "UTC"})
    assert res.returncode == 0, res.stderr
    lines = alert_lines(res.stdout)
    assert len(lines) == 8
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{9}: " + re.escape(OPEN_SEEN),
                            ln) for ln in lines)
    assert lines[0].startswith("16:17:57.881781397: ")
    assert res.stdout.endswith(SUMMARY_8)
    assert "Syscall event drop monitoring:" in res.stderr


def test_iso_time_matches_falco_expected_output(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, time_format_iso_8601=True)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    expected = (EXPECTED / "single_rule_with_cat_write.txt").read_text()
    assert alert_lines(res.stdout) == expected.splitlines()
    # Falco's own log lines use the ISO format too.
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000: ",
                     res.stderr, re.M)


def test_json_output_byte_for_byte(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(RULES / "single_rule_with_tags"
                                                       ".yaml"),
                    "-e", str(CAT_WRITE), "-o", "json_output=true",
                    "-o", "time_format_iso_8601=true",
                    extra_env={"FALCO_HOSTNAME": "test-falco-hostname"})
    expected = (EXPECTED / "single_rule_with_cat_write.json").read_text()
    assert alert_lines(res.stdout) == expected.splitlines()


@pytest.mark.parametrize("key,absent", [
    ("json_include_output_property", "output"),
    ("json_include_tags_property", "tags"),
    ("json_include_output_fields_property", "output_fields"),
])
def test_json_include_switches(tmp_path: Path, key: str, absent: str
                               ) -> None:
    cfg = write_config(tmp_path, json_output=True, **{key: False})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    objs = [json.loads(ln) for ln in alert_lines(res.stdout)]
    assert len(objs) == 8
    assert all(absent not in o and o["rule"] == "open_from_cat"
               for o in objs)


def test_article_config_as_written(tmp_path: Path) -> None:
    rules = tmp_path / "falco_rules.yaml"
    rules.write_text(SINGLE_RULE.read_text())
    cfg = tmp_path / "falco.yaml"
    cfg.write_text(f"""\
rules_file: {rules}
json_output: false
log_stderr: true
log_syslog: true
syslog_output:
  enabled: true
file_output:
  enabled: false
  filename: ./events.txt
stdout_output:
  enabled: true
program_output:
  enabled: false
  program: mail -s "Falco Notification" someone@example.com
""")
    res = run_falco("-c", str(cfg), "-e", str(CAT_WRITE), "-o",
                    f"syslog_output.path={tmp_path}/no-syslogd")
    assert res.returncode == 0, res.stderr
    assert len(alert_lines(res.stdout)) == 8
    assert res.stdout.endswith(SUMMARY_8)
    # No syslog daemon: one clear error, not one per alert.
    assert res.stderr.count("output syslog: cannot deliver alert") == 1


def test_priority_minimum_and_all_events(tmp_path: Path) -> None:
    """Falco's multiple_rules_suppress_info regression case."""
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-r",
                    str(RULES / "double_rule.yaml"), "-e", str(CAT_WRITE),
                    "-o", "priority=WARNING", "-A")
    assert res.returncode == 0, res.stderr
    assert "   open_from_cat: 8\n" in res.stdout
    assert "   exec_from_cat: 1\n" in res.stdout
    assert "access_from_cat" not in res.stdout
    assert "Events detected: 9\n" in res.stdout
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-r",
                    str(RULES / "double_rule.yaml"), "-e", str(CAT_WRITE),
                    "-o", "priority=error")
    assert "open_from_cat" not in res.stdout
    assert "Events detected: 1\n" in res.stdout


def test_rule_matching_all(tmp_path: Path) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text(SINGLE_RULE.read_text() + """
- rule: open_from_cat_again
  desc: same condition
  condition: evt.type=open and is_cat
  output: "again (command=%proc.cmdline)"
  priority: ERROR
""")
    cfg = write_config(tmp_path)
    first = run_falco("-c", str(cfg), "-r", str(dup), "-e", str(CAT_WRITE))
    assert "Events detected: 8\n" in first.stdout
    both = run_falco("-c", str(cfg), "-r", str(dup), "-e", str(CAT_WRITE),
                     "-o", "rule_matching=all")
    assert "Events detected: 16\n" in both.stdout
    assert "   Error: 8\n   Warning: 8\n" in both.stdout


def test_disable_and_tag_selection(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    tagged = str(RULES / "single_rule_with_tags.yaml")
    common = ("-c", str(cfg), "-e", str(CAT_WRITE))
    res = run_falco(*common, "-r", str(SINGLE_RULE), "-D", "open_from")
    assert "Events detected: 0\n" in res.stdout
    res = run_falco(*common, "-r", tagged, "-T", "process")
    assert "Events detected: 0\n" in res.stdout
    res = run_falco(*common, "-r", tagged, "-t", "filesystem")
    assert "Events detected: 8\n" in res.stdout
    res = run_falco(*common, "-r", tagged, "-t", "network")
    assert "Events detected: 0\n" in res.stdout
    res = run_falco(*common, "-r", tagged, "-T", "a", "-t", "a")
    assert res.returncode == 1
    assert "Error: You can not specify both disabled (-D/-T) and enabled " \
           "(-t) rules" in res.stderr


def test_print_format_appends_fields(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), "-p", "pid=%proc.pid tid=%thread.tid")
    lines = alert_lines(res.stdout)
    assert len(lines) == 8
    assert all(re.search(r"\(command=cat /dev/null\) pid=\d+ tid=\d+$", ln)
               for ln in lines), lines[:2]
    bad = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), "-p", "%no.such_field")
    assert bad.returncode == 1 and "no.such_field" in bad.stderr


def test_list_rules_and_describe(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-r",
                    str(RULES / "double_rule.yaml"), "-L")
    assert res.returncode == 0
    for name in ("exec_from_cat", "access_from_cat"):
        assert re.search(rf"^{name}\s+\S", res.stdout, re.M)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-l",
                    "open_from_cat")
    assert res.returncode == 0
    assert "A process named cat does an open" in res.stdout
    assert "Priority: Warning" in res.stdout
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-l", "nope")
    assert res.returncode == 1 and "nope" in res.stderr


def test_list_fields() -> None:
    res = run_falco("--list", "-o", "log_syslog=false")
    assert res.returncode == 0
    assert re.search(r"^proc\.cmdline\s+\S", res.stdout, re.M)
    assert "Field Class: fd" in res.stdout
    res2 = run_falco("--list", "syscall", "-o", "log_syslog=false")
    assert res2.stdout == res.stdout
    bad = run_falco("--list", "k8s_audit", "-o", "log_syslog=false")
    assert bad.returncode == 1 and "k8s_audit" in bad.stderr


def test_validate(tmp_path: Path) -> None:
    res = run_falco("-V", str(SINGLE_RULE), "-o", "log_syslog=false")
    assert res.returncode == 0
    assert f"{SINGLE_RULE}: Ok" in res.stdout
    bad = RULES / "invalid_rule_output.yaml"
    res = run_falco("-V", str(SINGLE_RULE), "-V", str(bad), "-o",
                    "log_syslog=false")
    assert res.returncode == 1
    assert f"{bad}: Invalid" in res.stdout
    assert str(bad) in res.stderr


def test_dry_run_reads_no_events(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(tmp_path / "missing.scap"), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "Events detected" not in res.stdout


def test_version_and_help() -> None:
    res = run_falco("--version")
    assert res.returncode == 0
    assert re.search(r"^Falco version: 0\.1\.0$", res.stdout, re.M)
    assert re.search(r"^Engine: \d+\.\d+\.\d+$", res.stdout, re.M)
    assert re.search(r"API version: \d+\.\d+\.\d+", res.stdout)
    assert re.search(r"Schema version: \d+\.\d+\.\d+", res.stdout)
    res = run_falco("--help")
    assert res.returncode == 0
    assert "exit status:" in res.stdout
    for flag in ("-r FILE", "-c FILE", "-o KEY=VALUE", "-e CAPTURE",
                 "-M SECONDS", "-L", "-l RULE", "--list", "-V", "-U", "-p",
                 "--daemon", "--pidfile", "-A", "-T TAG", "-t TAG",
                 "-D SUBSTRING", "--dry-run", "--version"):
        assert flag in res.stdout, flag
    assert "whose name contains SUBSTRING" in " ".join(res.stdout.split())


@pytest.mark.parametrize("args,code,needle", [
    (["-o", "json_output=perhaps"], 1,
     "Error: invalid value for json_output: expected a boolean"),
    (["-o", "nosuch.key=1"], 1, "unknown configuration key 'nosuch.key'"),
    (["-o", "webserver.listen_port=-1"], 1, "out of range"),
    (["-r", "/nonexistent/rules.yaml"], 1,
     "rules file not found: /nonexistent/rules.yaml"),
    (["-e", "/nonexistent.scap"], 2, "/nonexistent.scap"),
    (["--no-such-flag"], 1, "unrecognized arguments"),
])
def test_errors_before_start(tmp_path: Path, args: list[str], code: int,
                             needle: str) -> None:
    cfg = write_config(tmp_path)
    base = ["-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(CAT_WRITE)]
    res = run_falco(*base, *args)
    assert res.returncode == code, res.stderr
    assert needle in res.stderr
    assert "Events detected" not in res.stdout


def test_invalid_rules_and_config_name_location(tmp_path: Path) -> None:
    bad_rules = RULES / "invalid_yaml_parse_error.yaml"
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(bad_rules), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 1
    assert re.search(re.escape(str(bad_rules)) + r":\d+:\d+", res.stderr)
    broken = tmp_path / "broken.yaml"
    broken.write_text("stdout_output:\n  enabled: true\nwebserver:\n"
                      "  listen_port: eighty\n")
    res = run_falco("-c", str(broken), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 1
    assert f"{broken}:4:3: invalid value for webserver.listen_port" in \
        res.stderr
    res = run_falco("-c", str(tmp_path / "nope.yaml"))
    assert res.returncode == 1 and "nope.yaml" in res.stderr


def test_corrupt_capture_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.scap"
    junk.write_bytes(b"not a capture at all" * 10)
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(junk))
    assert res.returncode == 2
    assert "junk.scap" in res.stderr


def test_shipped_rules_load_with_shipped_config(tmp_path: Path) -> None:
    """conf/falco.yaml's rules_files order with rules/ as installed."""
    from falco.config import load_config
    shipped = load_config(str(ROOT / "conf" / "falco.yaml")).config
    files = [p.replace("/etc/falco", str(ROOT / "rules"))
             for p in shipped.rules_files]
    cfg = write_config(tmp_path, rules_files=files)
    res = run_falco("-c", str(cfg), "-e", str(CAT_WRITE))
    assert res.returncode == 0, res.stderr
    assert "Events detected:" in res.stdout


def test_rules_selectors_in_config(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, rules=[{"disable": {"rule": "*"}},
                                        {"enable": {"rule": "exec_from_cat"}}])
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-r",
                    str(RULES / "double_rule.yaml"), "-e", str(CAT_WRITE),
                    "-A")
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith("Events detected: 1\nRule counts by severity:"
                               "\n   Error: 1\nTriggered rules by rule name:"
                               "\n   exec_from_cat: 1\n")


@pytest.mark.parametrize("conf,needle", [
    ("drops_threshold_oor.yaml",
     "syscall event drops threshold must be a double in the range"),
    ("drops_threshold_neg.yaml",
     "syscall event drops threshold must be a double in the range"),
    ("drops_ignore_log.yaml",
     'syscall event drop action "log" does not make sense with the '
     '"ignore" action'),
])
def test_drop_config_errors_from_falco_regression(conf: str, needle: str
                                                  ) -> None:
    res = run_falco("-c", str(REGRESSION / "confs" / conf), "-r",
                    str(SINGLE_RULE), "-e", str(CAT_WRITE), "-o",
                    "log_syslog=false")
    assert res.returncode == 1
    assert needle in res.stderr and "Events detected" not in res.stdout


@pytest.mark.parametrize("conf", ["drops_none.yaml", "drops_log.yaml",
                                  "drops_alert.yaml", "drops_ignore.yaml"])
def test_drop_configs_run(conf: str) -> None:
    res = run_falco("-c", str(REGRESSION / "confs" / conf), "-r",
                    str(SINGLE_RULE), "-e", str(CAT_WRITE), "-o",
                    "log_syslog=false", "-o", "webserver.enabled=false")
    assert res.returncode == 0, res.stderr
    assert "Events detected: 8" in res.stdout
    assert "Syscall event drop monitoring:\n   - event drop detected: " \
        in res.stderr


def test_log_syslog_sends_falcos_own_log(tmp_path: Path) -> None:
    import socket
    path = tmp_path / "log"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    try:
        cfg = write_config(tmp_path, log_syslog=True, log_stderr=False,
                           syslog_output={"enabled": False,
                                          "path": str(path)})
        res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                        str(CAT_WRITE), "-U")
        msgs = []
        sock.settimeout(1)
        try:
            while True:
                msgs.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
    finally:
        sock.close()
    assert res.returncode == 0
    assert "Loading rules from file" not in res.stderr   # log_stderr: false
    assert any(re.match(r"<14>falco: Loading rules from file "
                        + re.escape(str(SINGLE_RULE)), m) for m in msgs), msgs
    assert len(alert_lines(res.stdout)) == 8


def test_outputs_throttling_reports_suppressed(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, outputs={"rate": 0.0001, "max_burst": 3})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0
    assert len(alert_lines(res.stdout)) == 3
    assert "Outputs throttling: 5 alerts suppressed" in res.stderr
    assert "Events detected: 8\n" in res.stdout      # the engine saw all 8


def test_engine_kind_replay_from_config(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, engine={"kind": "replay", "replay": {
        "capture_file": str(CAT_WRITE)}})
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE))
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith(SUMMARY_8)


def test_verbose_stats_and_broken_stdout_pipe(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), "-v")
    assert re.search(r"^Elapsed time: [\d.]+, Captured Events: (\d+), "
                     r"[\d.]+ eps$", res.stderr, re.M)
    import subprocess
    from support.cli import env, falco_argv
    # The reader is gone before falco writes anything (falco | true).
    cmd = " ".join(falco_argv("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                              str(CAT_WRITE)))
    pipe = subprocess.run(["bash", "-c", f'{cmd} | true; echo "rc='
                           '${PIPESTATUS[0]}"'], capture_output=True,
                          text=True, env=env(), timeout=120)
    assert pipe.stdout == "rc=0\n", pipe.stderr
    assert "Traceback" not in pipe.stderr
    assert pipe.stderr.count("output stdout: cannot deliver alert") == 1


def test_replay_starts_no_webserver_by_default(tmp_path: Path) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "falco.yaml"
    cfg.write_text(f"log_syslog: false\nsyslog_output: {{enabled: false}}\n"
                   f"webserver: {{listen_address: 127.0.0.1, listen_port: "
                   f"{port}}}\n")
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 0
    assert "Webserver listening" not in res.stderr
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), "-o", "webserver.enabled=true")
    assert f"Webserver listening on 127.0.0.1:{port}" in res.stderr


def test_validate_files_together_in_order() -> None:
    double = RULES / "double_rule.yaml"          # uses single_rule's macro
    res = run_falco("-V", str(SINGLE_RULE), "-V", str(double), "-o",
                    "log_syslog=false")
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{SINGLE_RULE}: Ok\n{double}: Ok\n"
    base, append = (RULES / "invalid_base_macro.yaml",
                    RULES / "invalid_append_macro.yaml")
    res = run_falco("-V", str(base), "-V", str(append), "-o",
                    "log_syslog=false")
    assert res.returncode == 1
    assert res.stdout == f"{base}: Ok\n{append}: Invalid\n"
    assert f"{append}:2:" in res.stderr


def test_rules_directory_loads_yaml_files_in_name_order(tmp_path: Path
                                                        ) -> None:
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    # 20-... appends to the list defined by 10-...; the order matters.
    (rules_dir / "10-base.yaml").write_text(SINGLE_RULE.read_text().replace(
        "items: [cat]", "items: [nothing]"))
    (rules_dir / "20-extend.yaml").write_text(
        "- list: cat_binaries\n  items: [cat]\n  append: true\n")
    (rules_dir / "notes.txt").write_text("not rules")
    cfg = write_config(tmp_path, rules_files=[str(rules_dir)])
    res = run_falco("-c", str(cfg), "-e", str(CAT_WRITE))
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith(SUMMARY_8)
    assert res.stderr.index("10-base.yaml") < res.stderr.index(
        "20-extend.yaml")
    assert "notes.txt" not in res.stderr


def test_print_container_shorthand(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), "-pc")
    lines = alert_lines(res.stdout)
    assert len(lines) == 8
    assert all(ln.endswith(OPEN_SEEN + " container_id=host "
                           "container_name=host") for ln in lines)


def test_append_output(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, json_output=True, append_output=[
        {"match": {"rule": "open_from_cat"}, "extra_output": "pid=%proc.pid",
         "extra_fields": ["proc.name", {"home": "${FALCO_TEST_HOME}"},
                          {"who": "%user.uid"}]},
        {"match": {"tag": "nope"}, "extra_output": "NEVER"},
        {"match": {"source": "syscall"}, "extra_output": "(syscall)"}])
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE), extra_env={"FALCO_TEST_HOME": "/home/x"})
    assert res.returncode == 0, res.stderr
    objs = [json.loads(ln) for ln in alert_lines(res.stdout)]
    assert len(objs) == 8
    for o in objs:
        assert re.search(r"\(command=cat /dev/null\) pid=\d+ \(syscall\)$",
                         o["output"]), o["output"]
        f = o["output_fields"]
        assert f["proc.name"] == "cat" and f["home"] == "/home/x"
        assert re.fullmatch(r"\d+", f["who"]) and "proc.pid" in f
    bad = write_config(tmp_path, name="bad.yaml", append_output=[
        {"match": {"priority": "x"}}])
    res = run_falco("-c", str(bad), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 1
    assert "invalid append_output entry: match takes" in res.stderr
    bad = write_config(tmp_path, name="bad2.yaml", append_output=[
        {"extra_output": "%no.such_field"}])
    res = run_falco("-c", str(bad), "-r", str(SINGLE_RULE), "-e",
                    str(CAT_WRITE))
    assert res.returncode == 1 and "no.such_field" in res.stderr
