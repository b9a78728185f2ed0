# SPDX-License-Identifier: Apache-2.0
"""Rules loading: YAML and schema errors with positions, lists, macros,
exceptions, append/override, visibility, raising vs collecting."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falco.errors import RuleLoadError
from falco.rules import Priority, RuleSet, RulesError, load_rules
from support.contexts import EVENT_NAMES as TEST_EVTTYPES
from support.contexts import REGISTRY as REG
from support.contexts import ctx

DATA = Path(__file__).resolve().parents[1] / "data" / "rules"


def load(*texts: str, collect: bool = True) -> RuleSet:
    inputs = [(f"t{i}.yaml", t) for i, t in enumerate(texts)]
    return load_rules(inputs, REG, all_evttypes=TEST_EVTTYPES,
                      collect_errors=collect)


def only_error(rs: RuleSet) -> Any:
    assert len(rs.errors) == 1, [str(e) for e in rs.errors]
    return rs.errors[0]


RULE = """
- rule: r
  desc: d
  condition: {cond}
  output: "o %proc.name"
  priority: WARNING
"""


def test_valid_files_and_override() -> None:
    rs = load_rules([DATA / "valid" / "base.yaml",
                     DATA / "valid" / "override.yaml"], REG,
                    all_evttypes=TEST_EVTTYPES)
    assert [r.name for r in rs.rules] == ["Shell spawned", "Open etc"]
    shell, opened = rs.rules
    assert shell.evttypes == frozenset({"execve", "execveat"})
    assert shell.tags == frozenset({"process", "shell"})
    def execve(comm: str, args: list[str], parent: str) -> Any:
        return ctx("execve", comm=comm, args=args, parents=[parent])

    # ash appended to shell_binaries
    assert shell.matches(execve("ash", ["-i"], "nginx"))
    assert not shell.matches(execve("ash", ["-i"], "sshd"))
    assert not shell.matches(execve("sh", ["-c", "/usr/local/bin/healthcheck",
                                           "--x"], "nginx"))
    assert not shell.matches(execve("sh", ["-c", "true"], "httpd"))
    assert shell.matches(execve("sh", ["-c", "true"], "nginx"))
    assert shell.matches(execve("ash", ["-i"], "httpd"))
    assert opened.priority is Priority.ERROR and not opened.enabled
    assert "and not proc.name = vim" in opened.condition
    assert not opened.matches(ctx("open", comm="vim", name="/etc/x"))
    assert opened.matches(ctx("open", comm="cat", name="/etc/x"))
    assert rs.rules_for("open") == ()      # disabled by override
    assert rs.rules_for("execve") == (shell,)


def test_info_alias_and_priority_labels() -> None:
    rs = load(RULE.format(cond="evt.type=open").replace("WARNING", "info"))
    assert rs.rules[0].priority is Priority.INFORMATIONAL
    assert rs.rules[0].priority.label == "Informational"
    assert [p.label for p in Priority] == [
        "Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
        "Informational", "Debug"]
    err = only_error(load(RULE.format(cond="evt.type=open").replace(
        "WARNING", "loud")))
    assert err.message == "Invalid priority"


def test_condition_error_position_in_folded_scalar() -> None:
    path = DATA / "invalid" / "bad_condition.yaml"
    rs = load_rules([path], REG, all_evttypes=TEST_EVTTYPES,
                    collect_errors=True)
    err = only_error(rs)
    assert err.code == "LOAD_ERR_COMPILE_CONDITION"
    assert (err.item_type, err.item_name) == ("rule", "Broken")
    assert err.message.startswith("unexpected token after 'cat'")
    assert (err.location.line, err.location.column) == (9, 23)
    assert err.snippet.splitlines()[1].index("^") == 22
    with pytest.raises(RulesError) as info:
        load_rules([path], REG, all_evttypes=TEST_EVTTYPES)
    assert str(info.value).startswith(f"{path}:9:23: error: unexpected")
    assert isinstance(info.value, RuleLoadError)


def test_unknown_field_inside_macro_points_into_the_macro() -> None:
    rs = load_rules([DATA / "invalid" / "unknown_field.yaml"], REG,
                    all_evttypes=TEST_EVTTYPES, collect_errors=True)
    err = only_error(rs)
    assert err.item_name == "Bad field via macro"
    assert "nonexistent field proc.nmae" in err.message
    assert "did you mean 'proc.name'" in err.message
    assert (err.location.line, err.location.column) == (3, 14)


def test_duplicate_keys_are_rejected() -> None:
    rs = load_rules([DATA / "invalid" / "duplicate_key.yaml"], REG,
                    collect_errors=True)
    err = only_error(rs)
    assert err.code == "LOAD_ERR_YAML_PARSE"
    assert "duplicate key 'condition'" in err.message
    assert (err.location.line, err.location.column) == (5, 3)


def test_yaml_syntax_error_position() -> None:
    err = only_error(load("- rule: x\n  desc: [a, b\n"))
    assert err.code == "LOAD_ERR_YAML_PARSE"
    assert err.location is not None and err.location.line == 3


def test_bare_equals_in_comps_loads() -> None:
    text = RULE.format(cond="evt.type=open") + """
  exceptions:
    - name: e
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values: [[cat, /tmp]]
"""
    rs = load(text)
    assert not rs.errors
    rule = rs.rules[0]
    assert not rule.matches(ctx("open", comm="cat", name="/tmp/x"))
    assert rule.matches(ctx("open", comm="cat", name="/var/x"))


@pytest.mark.parametrize("text,item_type,name,message", [
    ("foo: bar", "rules content", "",
     "Rules content is not yaml array of objects"),
    ("just text", "rules content", "", "Rules content is not yaml"),
    ("- foo", "rules content item", "",
     "Unexpected element type. Each element should be a yaml associative "
     "array."),
    ("- list: l\n", "list", "l", "Item has no mapping for key 'items'"),
    ("- macro:\n  condition: a", "macro", "",
     "Mapping for key 'macro' is empty"),
    ("- macro: m\n", "macro", "m",
     "Item has no mapping for key 'condition'"),
    ("- rule: r\n  desc: d\n  condition: evt.type=open\n  priority: INFO",
     "rule", "r", "Item has no mapping for key 'output'"),
    ("- rule: r\n  desc: d\n  condition: [a]\n  output: o\n  priority: INFO",
     "rule", "r", "Value is not a scalar value"),
    (RULE.format(cond="evt.type=open") + "  enabled: perhaps", "rule", "r",
     "Can't decode YAML scalar value"),
    ("- macro: m\n  condition: a\n  append: true", "macro", "m",
     "Macro has 'append' key but no macro by that name already exists"),
    ("- list: l\n  items: [a]\n  append: true", "list", "l",
     "List has 'append' key but no list by that name already exists"),
    ("- rule: r\n  condition: and x\n  append: true", "rule", "r",
     "Rule has 'append' key but no rule by that name already exists"),
    ("- rule: r\n  enabled: false", "rule", "r",
     "Rule has 'enabled' key but no rule by that name already exists"),
    ("- required_engine_version: 99.0.0", "required_engine_version", "",
     "Rules require engine version 99.0.0, but engine version is 0.57.0"),
    ("- required_engine_version: banana", "required_engine_version", "",
     "Can't decode YAML scalar value"),
    ("- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0",
     "required_plugin_versions", "k8saudit",
     "Plugin requirement not satisfied"),
    (RULE.format(cond="evt.type=open") + "  source: k8s_audit", "rule", "r",
     "unsupported source 'k8s_audit'"),
])
def test_schema_errors(text: str, item_type: str, name: str,
                       message: str) -> None:
    err = only_error(load(text))
    assert (err.item_type, err.item_name) == (item_type, name)
    assert err.message.startswith(message), err.message
    assert err.location is not None and err.location.path == "t0.yaml"


def test_override_errors() -> None:
    base = RULE.format(cond="evt.type=open")
    err = only_error(load(base, "- rule: r\n  priority: ERROR\n  override:"
                          "\n    priority: append\n"))
    assert err.message.startswith("Key 'priority' cannot be appended to")
    err = only_error(load(base, "- rule: r\n  desc: x\n  output: y\n"
                          "  override:\n    desc: replace\n"))
    assert err.message.startswith("Unexpected key 'output'")
    err = only_error(load(base, "- rule: r\n  desc: x\n  append: true\n"
                          "  override:\n    desc: append\n"))
    assert "cannot be used together" in err.message


def test_plugin_requirement_satisfied_by_builtin_container() -> None:
    rs = load("- required_plugin_versions:\n  - name: container\n"
              "    version: 0.4.0\n" + RULE.format(cond="evt.type=open"))
    assert not rs.errors and len(rs.rules) == 1


def test_list_and_macro_visibility() -> None:
    rs = load("""
- list: a
  items: [x]
- list: b
  items: [a, y]
- list: a
  items: [b]
- macro: m1
  condition: proc.name in (a)
- macro: m2
  condition: m1
""" + RULE.format(cond="evt.type=open and m2"))
    assert not rs.errors
    rule = rs.rules[0]
    # a was redefined after b, so it sees b and expands b's raw items
    # [a, y]; the inner "a" is not expanded again (Falco's order)
    assert rule.matches(ctx("open", comm="y"))
    assert rule.matches(ctx("open", comm="a"))
    assert not rule.matches(ctx("open", comm="x"))


def test_macro_cannot_use_a_later_macro() -> None:
    rs = load("""
- macro: first
  condition: second
- macro: second
  condition: evt.type = open
""" + RULE.format(cond="first"))
    err = rs.errors[0]
    assert (err.item_type, err.item_name) == ("macro", "first")
    assert err.message == "Undefined macro 'second' used in filter."
    assert err.code == "LOAD_ERR_VALIDATE"


def test_macro_loop() -> None:
    rs = load("""
- macro: a
  condition: evt.type = open
- macro: b
  condition: a
- macro: a
  condition: b
""" + RULE.format(cond="a"))
    assert any("reference loop in macro" in e.message and
               e.item_name == "a" for e in rs.errors)


def test_list_substitution_forms() -> None:
    rs = load("""
- list: one
  items: [cat]
- list: two
  items: [ls, "cat /dev/null", '"cat quoted item"']
- list: empty
  items: []
""" + RULE.format(cond="evt.type=open and proc.name = one and "
                  "proc.cmdline in (two, empty, x)"))
    rule = rs.rules[0]
    assert rule.matches(ctx("open", comm="cat", args=["/dev/null"]))
    assert rule.matches(ctx("open", comm="cat", args=["quoted", "item"]))
    assert not rule.matches(ctx("open", comm="cat", args=["one"]))
    assert not rule.matches(ctx("open", comm="ls"))
    err = only_error(load("- list: two\n  items: [a, b]\n" +
                          RULE.format(cond="proc.name = two")))
    assert "has 2 items" in err.message


def test_exceptions_forms() -> None:
    rs = load("""
- list: cmds
  items: [cat /dev/zero, "cat /dev/null"]
""" + RULE.format(cond="evt.type=open and proc.name=cat") + """
  exceptions:
    - name: single
      fields: fd.name
      comps: pmatch
      values: [/tmp, /var/tmp]
    - name: listref
      fields: [proc.name, proc.cmdline]
      comps: [=, in]
      values:
        - [cat, cmds]
        - [cat, [cat a b, c]]
""")
    assert not rs.errors, [str(e) for e in rs.errors]
    rule = rs.rules[0]
    assert rule.matches(ctx("open", comm="cat", args=["/x"], name="/x"))
    assert not rule.matches(ctx("open", comm="cat", args=["/x"],
                                name="/var/tmp/x"))
    assert not rule.matches(ctx("open", comm="cat", args=["/dev/zero"],
                                name="/x"))
    assert not rule.matches(ctx("open", comm="cat", args=["a", "b"],
                                name="/x"))
    assert rule.exception_fields == frozenset({"fd.name", "proc.name",
                                               "proc.cmdline"})


@pytest.mark.parametrize("exc,message", [
    ("fields: [proc.name]\n      comps: [=, =]",
     "Fields and comps lists must have equal length"),
    ("fields: [proc.name]\n      comps: [no-comp]",
     "'no-comp' is not a supported comparison operator"),
    ("fields: [not.exist]", "'not.exist' is not a supported filter field"),
    ("fields: proc.name\n      comps: =",
     "When fields is a single value, comps must be one of"),
    ("fields: [proc.name, fd.name]\n      values: [[a]]",
     "Fields and values lists must have equal length"),
])
def test_exception_errors(exc: str, message: str) -> None:
    text = RULE.format(cond="evt.type=open") + \
        f"  exceptions:\n    - name: ex1\n      {exc}\n"
    err = only_error(load(text))
    assert (err.item_type, err.item_name) == ("exception", "ex1")
    assert err.message.startswith(message)


def test_skip_if_unknown_filter() -> None:
    text = RULE.format(cond="evt.type=open and proc.nobody=cat")
    rs = load(text + "  skip-if-unknown-filter: true\n")
    assert not rs.errors and rs.rules == []
    assert any(w.code == "LOAD_UNKNOWN_FIELD" for w in rs.warnings)
    err = only_error(load(text))
    assert err.message.startswith(
        "filter_check called with nonexistent field proc.nobody")


def test_warnings() -> None:
    rs = load("- list: unused\n  items: [a]\n- macro: lonely\n  condition: "
              "evt.type=open\n" + RULE.format(cond="proc.name=x") +
              "  foo: bar\n")
    codes = {(w.code, w.item_name) for w in rs.warnings}
    assert ("LOAD_UNUSED_LIST", "unused") in codes
    assert ("LOAD_UNUSED_MACRO", "lonely") in codes
    assert ("LOAD_NO_EVTTYPE", "r") in codes
    assert ("LOAD_UNKNOWN_KEY", "r") in codes
    rs = load(RULE.format(cond="proc.name=x") + "  warn_evttypes: false\n")
    assert not [w for w in rs.warnings if w.code == "LOAD_NO_EVTTYPE"]


def test_raise_mode_refuses_everything() -> None:
    good = RULE.format(cond="evt.type=open")
    bad = RULE.replace("- rule: r", "- rule: r2").format(cond="proc.pid=a")
    with pytest.raises(RulesError) as info:
        load(good, bad, collect=False)
    assert len(info.value.errors) == 1
    rs = load(good, bad)
    assert rs.rules == [] and len(rs.errors) == 1


def test_later_files_override_earlier_ones() -> None:
    first = RULE.format(cond="evt.type=open")
    second = RULE.format(cond="evt.type=close").replace("WARNING", "ERROR")
    rs = load(first, second)
    assert len(rs.rules) == 1
    assert rs.rules[0].evttypes == frozenset({"close"})
    assert rs.rules[0].priority is Priority.ERROR


def test_missing_file_is_an_error() -> None:
    rs = load_rules(["/nonexistent/rules.yaml"], REG, collect_errors=True)
    assert only_error(rs).code == "LOAD_ERR_FILE_READ"


def test_directory_loads_sorted_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(RULE.format(cond="evt.type=close"))
    (tmp_path / "a.yaml").write_text(RULE.format(cond="evt.type=open"))
    (tmp_path / "c.txt").write_text("not rules")
    rs = load_rules([tmp_path], REG, all_evttypes=TEST_EVTTYPES)
    assert rs.rules[0].evttypes == frozenset({"close"})


@pytest.mark.parametrize("style", ["plain", "plain_multiline", "folded",
                                   "literal", "double", "single",
                                   "flow_map"])
def test_condition_error_maps_to_the_file_character(style: str) -> None:
    bad = "evt.type = open and\n proc.name = cat and proc.pid = oops"
    if style == "plain":
        cond = "  condition: evt.type = open and proc.pid = oops\n"
    elif style == "plain_multiline":
        cond = "  condition: evt.type = open and\n    proc.name = cat " \
               "and\n    proc.pid = oops\n"
    elif style == "folded":
        cond = "  condition: >\n    evt.type = open and\n" \
               "      proc.name = cat and proc.pid = oops\n"
    elif style == "literal":
        cond = "  condition: |\n    " + bad.replace("\n", "\n    ") + "\n"
    elif style == "double":
        cond = '  condition: "evt.type = open and\n    proc.pid = oops"\n'
    elif style == "single":
        cond = "  condition: 'evt.type = open and proc.pid = oops'\n"
    else:
        cond = "  {condition: evt.type = open and proc.pid = oops}\n"
    text = ("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n" + cond)
    if style == "flow_map":
        text = ("- {rule: r, desc: d, output: o, priority: INFO,\n"
                "   condition: evt.type = open and proc.pid = oops}\n")
    err = only_error(load(text))
    assert "'oops' is not a valid number" in err.message
    line = text.splitlines()[err.location.line - 1]
    assert line[err.location.column - 1:].startswith("oops"), (line, err)


_VALID = (DATA / "valid" / "base.yaml").read_text()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID)),
                          st.integers(0, 5),
                          st.text("-:[]{}()\"' \n\t=,!&*#%|>a0.", max_size=4)),
                min_size=1, max_size=4))
def test_mangled_rules_never_crash(edits: list[tuple[int, int, str]]) -> None:
    text = _VALID
    for pos, drop, insert in edits:
        pos = min(pos, len(text))
        text = text[:pos] + insert + text[pos + drop:]
    rs = load(text)
    for msg in rs.errors:
        assert msg.code.startswith("LOAD_")
        assert msg.location is None or msg.location.line >= 1
    try:
        load(text, collect=False)
    except RulesError as err:
        assert err.errors


def test_deeply_nested_yaml_is_an_error() -> None:
    err = only_error(load("- rule: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert err.code == "LOAD_ERR_YAML_PARSE"


def test_macro_chains_are_bounded() -> None:
    macros = "- macro: m0\n  condition: evt.type = open\n" + "".join(
        f"- macro: m{i}\n  condition: not m{i - 1}\n" for i in range(1, 400))
    rs = load(macros + RULE.format(cond="m399"))
    assert rs.errors and rs.rules == []
    assert "depth" in rs.errors[0].message or "deep" in rs.errors[0].message
    rs = load(macros.split("- macro: m60\n")[0] + RULE.format(cond="m59"))
    assert not rs.errors


def test_override_append_and_replace_every_key() -> None:
    base = RULE.format(cond="evt.type=open") + \
        "  tags: [a]\n  exceptions:\n    - name: e\n      fields: proc.name" \
        "\n      values: [cat]\n"
    update = """
- rule: r
  desc: more
  output: "(%fd.name)"
  tags: [b]
  condition: and fd.name = /x
  override:
    desc: append
    output: append
    tags: append
    condition: append
- rule: r
  priority: DEBUG
  warn_evttypes: false
  skip-if-unknown-filter: true
  exceptions:
    - name: f
      fields: [proc.name]
      values: [[dog]]
  override:
    priority: replace
    warn_evttypes: replace
    skip-if-unknown-filter: replace
    exceptions: replace
"""
    rs = load(base, update)
    assert not rs.errors, [str(e) for e in rs.errors]
    rule = rs.rules[0]
    assert rule.desc == "d more"
    assert rule.output == 'o %proc.name (%fd.name)'
    assert rule.tags == frozenset({"a", "b"})
    assert rule.priority is Priority.DEBUG
    assert rule.matches(ctx("open", comm="cat", name="/x"))  # old one gone
    assert not rule.matches(ctx("open", comm="dog", name="/x"))
    assert not rule.matches(ctx("open", comm="x", name="/y"))
    assert rule.format_output(ctx("open", comm="x", name="/x"))[0] == \
        "o x (/x)"


def test_enabled_only_item_toggles_with_a_deprecation_warning() -> None:
    rs = load(RULE.format(cond="evt.type=open"), "- rule: r\n  enabled: false")
    assert not rs.rules[0].enabled
    assert any(w.code == "LOAD_DEPRECATED_ITEM" for w in rs.warnings)


def test_deprecated_fields_warn() -> None:
    reg = REG
    assert reg.resolve("k8s.rc.name")[0].deprecated
    text = RULE.format(cond="evt.type=open and k8s.rc.name = x").replace(
        '"o %proc.name"', '"o %k8s.rc.name"')
    rs = load_rules([("t.yaml", text)], reg, all_evttypes=TEST_EVTTYPES)
    warned = [w for w in rs.warnings if w.code == "LOAD_DEPRECATED_ITEM"]
    assert len(warned) == 1 and "'k8s.rc.name'" in warned[0].message
    rs = load(RULE.format(cond="evt.type=open"))
    assert not [w for w in rs.warnings if w.code == "LOAD_DEPRECATED_ITEM"]


def test_exception_warnings() -> None:
    text = RULE.format(cond="evt.type=open") + """  exceptions:
    - name: e
      fields: [proc.name]
      values: [[a]]
    - name: e
      fields: [proc.name]
      values: [[b]]
- rule: r
  exceptions:
    - name: e
  append: true
"""
    rs = load(text)
    codes = {w.code for w in rs.warnings}
    assert {"LOAD_EXCEPTION_NAME_NOT_UNIQUE", "LOAD_APPEND_NO_VALUES"} <= codes
