# SPDX-License-Identifier: Apache-2.0
"""falco.yaml loading, legacy keys, -o overrides and their type checks."""
from __future__ import annotations

from pathlib import Path

import pytest

from falco.config import DEFAULT_RULES_FILES, Config, load_config
from falco.config.loader import parse_override
from falco.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

ARTICLE = """\
rules_file: /etc/falco_rules.yaml
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
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "falco.yaml"
    path.write_text(text)
    return str(path)


def test_shipped_config_matches_builtin_defaults() -> None:
    loaded = load_config(str(ROOT / "conf" / "falco.yaml"))
    assert loaded.warnings == []
    assert loaded.config == Config(source_path=str(ROOT / "conf/falco.yaml"))


def test_defaults_are_falcos() -> None:
    cfg = load_config(None).config
    assert cfg.rules_files == list(DEFAULT_RULES_FILES)
    assert cfg.rules_files[0] == "/etc/falco/falco_rules.yaml"
    assert cfg.rules_files.index("/etc/falco/falco_rules.local.yaml") > \
        cfg.rules_files.index("/etc/falco/application_rules.yaml")
    assert (cfg.stdout_output.enabled, cfg.syslog_output.enabled,
            cfg.file_output.enabled, cfg.program_output.enabled) == \
        (True, True, False, False)
    assert cfg.file_output.filename == "./events.txt"
    assert cfg.syscall_event_drops.actions == ["log", "alert"]
    assert cfg.syscall_event_drops.threshold == pytest.approx(0.1)
    assert cfg.webserver.listen_port == 8765
    assert cfg.outputs.max_burst == 1000
    assert cfg.json_include_tags_property is True


def test_article_config_works_as_written(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, ARTICLE))
    cfg = loaded.config
    assert loaded.warnings == []
    assert cfg.rules_files == ["/etc/falco_rules.yaml"]
    assert cfg.log_syslog and cfg.log_stderr and cfg.syslog_output.enabled
    assert cfg.program_output.program == \
        'mail -s "Falco Notification" someone@example.com'
    assert cfg.file_output.enabled is False


def test_rules_files_takes_precedence_over_rules_file(tmp_path: Path) -> None:
    path = write(tmp_path, "rules_file: /a.yaml\nrules_files: [/b.yaml]\n")
    assert load_config(path).config.rules_files == ["/b.yaml"]


@pytest.mark.parametrize("override,attr,expected", [
    ("json_output=true", ("json_output",), True),
    ("file_output.filename=/tmp/x.txt", ("file_output", "filename"),
     "/tmp/x.txt"),
    ("webserver.listen_port=9000", ("webserver", "listen_port"), 9000),
    ("syscall_event_drops.threshold=0.5",
     ("syscall_event_drops", "threshold"), 0.5),
    ("syscall_event_drops.actions=[log, exit]",
     ("syscall_event_drops", "actions"), ["log", "exit"]),
    ("priority=WARNING", ("priority",), "warning"),
    ("rules_file=/r.yaml", ("rules_files",), ["/r.yaml"]),
    ("rules_files[1]=/two.yaml", ("rules_files",), ["/one.yaml",
                                                    "/two.yaml"]),
])
def test_overrides(tmp_path: Path, override: str, attr: tuple[str, ...],
                   expected: object) -> None:
    path = write(tmp_path, "rules_files: [/one.yaml]\n")
    value: object = load_config(path, [override]).config
    for name in attr:
        value = getattr(value, name)
    assert value == expected


@pytest.mark.parametrize("override,needle", [
    ("json_output=maybe", "json_output: expected a boolean"),
    ("webserver.listen_port=http", "webserver.listen_port: expected an "
     "integer"),
    ("webserver.listen_port=99999", "out of range"),
    ("no_such_key=1", "unknown configuration key 'no_such_key'"),
    ("file_output.nope=1", "unknown configuration key 'file_output.nope'"),
    ("priority=loud", "'loud' is not one of"),
    ("novalue", "expected key=value"),
    ("syscall_event_drops.actions=[ignore, alert]",
     'action "alert" does not make sense with the "ignore" action'),
])
def test_bad_overrides_name_the_option(override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    text = str(info.value)
    assert needle in text
    assert f"-o {override}" in text


def test_overrides_reach_into_lists_of_mappings() -> None:
    config = load_config(None, [
        "append_output[0].match.source=syscall",
        "append_output[0].extra_output=on %hostname",
        "append_output[0].extra_fields[0]=proc.pid",
        "rules[0].disable.tag=network",
    ]).config
    assert config.append_output == [{
        "match": {"source": "syscall"}, "extra_output": "on %hostname",
        "extra_fields": ["proc.pid"]}]
    assert config.rules == [{"disable": {"tag": "network"}}]


@pytest.mark.parametrize("override,needle", [
    ("append_output[0].match.colour=red", "match takes source, tag and rule"),
    ("append_output[0].nope=1", "unknown key(s) nope"),
    ("rules[0].disable.colour=red", "invalid rules selector"),
])
def test_bad_list_of_mapping_overrides(override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert needle in str(info.value)


def test_bad_value_in_file_names_file_line_column(tmp_path: Path) -> None:
    path = write(tmp_path, "json_output: false\nfile_output:\n"
                           "  enabled: true\n  keep_alive: often\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:4:3: invalid value for "
                                      "file_output.keep_alive")


def test_yaml_syntax_error_has_location(tmp_path: Path) -> None:
    path = write(tmp_path, "json_output: false\nfile_output: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:3:")


def test_missing_file_and_duplicate_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.yaml"))
    path = write(tmp_path, "json_output: true\njson_output: false\n")
    with pytest.raises(ConfigError, match=r":2:1: duplicate key"):
        load_config(path)


def test_threshold_out_of_range_message(tmp_path: Path) -> None:
    for bad in ("1.1", "-0.2", "high"):
        path = write(tmp_path, f"syscall_event_drops:\n  threshold: {bad}\n")
        with pytest.raises(ConfigError, match="syscall event drops threshold "
                           "must be a double in the range"):
            load_config(path)


def test_unknown_file_keys_are_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, "plugins: []\nstdout_output:\n  enabled: true\n"
                           "  colour: red\n")
    loaded = load_config(path)
    assert any("'plugins'" in w and w.startswith(f"{path}:1:1")
               for w in loaded.warnings)
    assert any("stdout_output.colour" in w for w in loaded.warnings)


def test_parse_override_paths() -> None:
    assert parse_override("a.b[2].c=x y") == (["a", "b", 2, "c"], "a.b[2].c",
                                              "x y")
    assert parse_override("k=") == (["k"], "k", "")
    assert parse_override("k=[1, 2]")[2] == [1, 2]


def test_rules_selectors(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - disable: {rule: '*'}\n"
                           "  - enable: {tag: network}\n")
    assert load_config(path).config.rules == [
        {"disable": {"rule": "*"}}, {"enable": {"tag": "network"}}]
    bad = write(tmp_path, "json_output: false\nrules:\n"
                          "  - switch_off: {rule: x}\n")
    with pytest.raises(ConfigError, match=r":2:1: invalid rules selector"):
        load_config(bad)
    bad = write(tmp_path, "rules: {disable: x}\n")
    with pytest.raises(ConfigError, match="expected a list of mappings"):
        load_config(bad)


def test_buf_size_preset_writes_module_parameter(tmp_path: Path) -> None:
    from falco.app.backend import apply_buffer_preset, preset_bytes
    assert [preset_bytes(p) >> 20 for p in (1, 4, 10)] == [1, 8, 512]
    param = tmp_path / "buffer_bytes"
    param.write_text("8388608\n")
    assert apply_buffer_preset(6, str(param))
    assert param.read_text() == f"{32 << 20}\n"
    assert not apply_buffer_preset(4, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="out of range"):
        load_config(None, ["engine.kmod.buf_size_preset=0"])


def test_explicit_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "webserver:\n  enabled: true\n")
    loaded = load_config(path, ["json_output=true"])
    assert {"webserver", "webserver.enabled", "json_output"} <= \
        loaded.explicit
    assert "stdout_output.enabled" not in loaded.explicit
    assert "webserver.enabled" not in load_config(None).explicit
