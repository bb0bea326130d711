"""Diagnostics: the right error code at the exact line and column, with a message and hint a modeller can use.

Each test feeds a small model with one mistake to the front end (or to `analyze` for run-time errors) and
checks the code, the position (1-based line and column of the offending token), and the wording that
matters.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from checker.analysis import Options, analyze
from checker.cli import main
from dsl.diagnostics import CODES, Diagnostic, ModelError
from dsl.frontend import load_model


def diags(tmp_path: Path, src: str, **defines) -> list[Diagnostic]:
    path = tmp_path / "m.wolf"
    path.write_text(src, encoding="utf-8")
    with pytest.raises(ModelError) as err:
        load_model(str(path), defines)
    return list(err.value.diagnostics)


def one(tmp_path: Path, src: str, **defines) -> Diagnostic:
    found = diags(tmp_path, src, **defines)
    assert len(found) == 1, [d.message for d in found]
    return found[0]


def at(d: Diagnostic) -> tuple[int, int]:
    return d.span.line, d.span.column


# ---------------------------------------------------------------------------------------------- syntax
def test_unexpected_token_names_what_was_expected_in_words(tmp_path):
    d = one(tmp_path, "process P {\n  state a\n  a -> a when x = 1\n}\n")
    assert d.code == "E101" and at(d) == (3, 17)
    assert d.message.startswith("unexpected '=': expected ")
    assert "a comparison" in d.message and "a name" in d.message
    assert "CMP" not in d.message and "__ANON" not in d.message and "LPAR" not in d.message
    assert "==" in d.hint


def test_expected_list_is_what_the_parser_accepts_here(tmp_path):
    d = one(tmp_path, "process P { state a\n  a -> a { send m(1) P } }")
    assert d.code == "E101" and at(d) == (2, 22)
    assert d.message == "unexpected 'P': expected 'to'"
    d = one(tmp_path, "message m(x: int)\nprocess P { state a\n  on m(x y) { skip } }")
    assert at(d) == (3, 10) and d.message == "unexpected 'y': expected ')', ','"


def test_operators_without_names_are_listed(tmp_path):
    d = one(tmp_path, "process P { state a\n  a b }")
    assert at(d) == (2, 5) and "'->'" in d.message


def test_file_ends_too_early(tmp_path):
    d = one(tmp_path, "process P {\n  state a\n  a -> a {\n")
    assert d.code == "E101" and d.message.startswith("the file ends too early: expected ")
    assert "'}'" in d.message and "'send'" in d.message
    assert d.span.line == 3


def test_unexpected_character(tmp_path):
    d = one(tmp_path, "process P { state a ~ }")
    assert d.code == "E101" and at(d) == (1, 21) and d.message == "unexpected character '~'"


def test_keyword_as_name_hint(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a\n  a -> a { x = 1\n    state = 2 } }")
    assert d.code == "E101" and at(d) == (4, 5)
    assert "keyword" in d.hint and "'state'" in d.hint


def test_chained_comparison_is_a_syntax_error(tmp_path):
    d = one(tmp_path, "process P { state a\n  a -> a when 1 < 2 < 3 }")
    assert d.code == "E101" and at(d) == (2, 21)


def test_number_too_large(tmp_path):
    d = one(tmp_path, "const X = " + "9" * 5000 + "\nprocess P { state a }")
    assert d.code == "E101" and at(d) == (1, 11) and "has 5,000 digits, more than the 4,300" in d.message


def test_nesting_too_deep_is_a_diagnostic_not_a_crash(tmp_path):
    d = one(tmp_path, "const X = " + "(" * 2000 + "1" + ")" * 2000 + "\nprocess P { state a }")
    assert d.code == "E101" and "nested too deeply" in d.message


# ---------------------------------------------------------------------------------------------- names
def test_unknown_name_with_did_you_mean(tmp_path):
    d = one(tmp_path, "process P {\n  var count1 = 0\n  state a\n  a -> a when coutn1 < 2 { count1 += 1 }\n}")
    assert d.code == "E201" and at(d) == (4, 15) and d.message == "unknown name coutn1"
    assert d.hint == "did you mean count1?"


def test_unknown_variable_in_assignment(tmp_path):
    d = one(tmp_path, "process P {\n  var total = 0\n  state a\n  a -> a { totl = 1 }\n}")
    assert d.code == "E201" and at(d) == (4, 12) and "totl" in d.message and d.hint == "did you mean total?"


def test_unknown_name_in_property(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a }\ncheck c: always P.y == 0")
    assert d.code == "E201" and at(d) == (3, 17) and "no variable or control state y" in d.message


def test_unknown_message_in_send_and_handler(tmp_path):
    d = one(tmp_path, "message ping()\nprocess P { state a\n  a -> a { send pong() to P } }")
    assert d.code == "E203" and at(d) == (3, 12) and d.message == "unknown message pong"
    assert d.hint == "did you mean ping?"
    d = one(tmp_path, "process P { state a\n  on pong() { skip } }")
    assert d.code == "E203" and at(d) == (2, 3) and "message pong" in d.hint


def test_unknown_process(tmp_path):
    d = one(tmp_path, "message m()\nprocess Proc { state a\n  a -> a { send m() to Prc } }")
    assert d.code == "E205" and at(d) == (3, 24) and d.hint == "did you mean Proc?"


def test_unknown_type(tmp_path):
    d = one(tmp_path, "process P {\n  var x: integer = 1\n  state a }")
    assert d.code == "E201" and at(d) == (2, 10) and d.message == "unknown type integer"
    assert "int, bool, pid" in d.hint


def test_unknown_function(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a\n  a -> a { x = maximum(1, 2) } }")
    assert d.code == "E201" and at(d) == (3, 16) and d.message == "unknown function maximum"
    assert "max" in d.hint


# ---------------------------------------------------------------------------------------------- arity and types
def test_wrong_arity_in_send(tmp_path):
    d = one(tmp_path, "message m(x: int)\nprocess P { state a\n  a -> a { send m(1, 2) to P } }")
    assert d.code == "E302" and at(d) == (3, 12)
    assert d.message == "message m takes 1 argument(s), 2 given" and d.hint == "declared as message m(x: int)"


def test_wrong_arity_in_broadcast(tmp_path):
    d = one(tmp_path, "message m(x: int, y: int)\nprocess P[i in 0..1] { state a\n  a -> a { broadcast m(1) } }")
    assert d.code == "E302" and at(d) == (3, 12) and "takes 2 argument(s), 1 given" in d.message


def test_wrong_arity_in_handler(tmp_path):
    d = one(tmp_path, "message m(x: int)\nprocess P { state a\n  on m(x, y) { skip } }")
    assert d.code == "E302" and at(d) == (3, 3)
    assert d.message == "message m has 1 parameter(s), the handler names 2" and "line 1" in d.hint


def test_type_mismatch_in_assignment(tmp_path):
    d = one(tmp_path, "process P {\n  var x = 0\n  state a\n  a -> a { x = true }\n}")
    assert d.code == "E301" and at(d) == (4, 12) and d.message == "the assigned value must be int, not bool"


def test_type_mismatch_in_message_argument(tmp_path):
    d = one(tmp_path, "message m(x: int)\nprocess P { state a\n  a -> a { send m(false) to P } }")
    assert d.code == "E301" and at(d) == (3, 19) and d.message == "argument of m must be int, not bool"


def test_guard_must_be_bool(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a\n  a -> a when x + 1 }")
    assert d.code == "E301" and at(d) == (3, 15) and d.message == "a condition must be bool, not int"


def test_arithmetic_on_bool(tmp_path):
    d = one(tmp_path, "process P { var b = true\n  var x = 0\n  state a\n  a -> a { x = b + 1 } }")
    assert d.code == "E301" and at(d) == (4, 16) and "`+` does not apply to bool and int" == d.message


def test_ordering_needs_ordered_types(tmp_path):
    d = one(tmp_path, "process P { var s = {1}\n  state a\n  a -> a when s < {2} }")
    assert d.code == "E301" and at(d) == (3, 15) and "ordered" in d.message


def test_cannot_infer_the_type_of_empty_braces(tmp_path):
    d = one(tmp_path, "process P {\n  var queue = {}\n  state a }")
    assert d.code == "E303" and at(d) == (2, 3)
    assert d.message == "cannot infer the type of queue from set[any]"
    assert d.hint == "write the type: var queue: set[int] = {}"


def test_empty_sequence_needs_a_type(tmp_path):
    d = one(tmp_path, "process P {\n  var log = []\n  state a }")
    assert d.code == "E303" and at(d) == (2, 3)


# ---------------------------------------------------------------------------------------------- control states
def test_unknown_control_state_in_transition(tmp_path):
    d = one(tmp_path, "process P {\n  state idle, busy\n  idle -> bussy\n}")
    assert d.code == "E204" and at(d) == (3, 3) and d.message == "unknown control state bussy in P"
    assert d.hint == "declared states: idle, busy"


def test_unknown_control_state_in_goto(tmp_path):
    d = one(tmp_path, "process P { state a\n  a -> a { goto b } }")
    assert d.code == "E204" and at(d) == (2, 12) and d.message == "unknown control state b"


def test_unknown_control_state_in_handler_states(tmp_path):
    d = one(tmp_path, "message m()\nprocess P { state a\n  on m() in a, zz { skip } }")
    assert d.code == "E204" and at(d) == (3, 3) and "zz" in d.message


def test_unknown_control_state_in_messages_per(tmp_path):
    d = one(tmp_path, "process P { state a }\ncheck m: messages per P.critical == 1")
    assert d.code == "E204" and at(d) == (2, 1) and "critical" in d.message


# ---------------------------------------------------------------------------------------------- duplicates
@pytest.mark.parametrize("src,pos,what", [
    ("const N = 1\nconst N = 2\nprocess P { state a }", (2, 1), "constant N is declared twice"),
    ("message m()\nmessage m()\nprocess P { state a }", (2, 1), "message m is declared twice"),
    ("process P { state a }\nprocess P { state b }", (2, 1), "process P is declared twice"),
    ("process P { var x = 0\n  var x = 1\n  state a }", (2, 3), "variable x is declared twice in P"),
    ("process P { state a, b,\n  a }", (2, 3), "control state a is declared twice"),
    ("process P { state a }\ncheck p: always true\ncheck p: always true", (3, 1), "property p is declared twice"),
])
def test_duplicate_declarations(tmp_path, src, pos, what):
    d = one(tmp_path, src)
    assert d.code == "E202" and at(d) == pos and d.message == what


# ---------------------------------------------------------------------------------------------- structure and properties
def test_eventually_outside_a_property(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a\n  a -> a when eventually x == 1 }")
    assert d.code == "E402" and at(d) == (3, 15) and "only appear in a property" in d.message


def test_eventually_nested_in_a_property(tmp_path):
    d = one(tmp_path, "process P { var x = 0\n  state a }\ncheck c: always (P.x == 0 and eventually P.x == 1)")
    assert d.code == "E402" and at(d) == (3, 31)


def test_property_without_formula(tmp_path):
    d = one(tmp_path, "process P { state a }\ncheck safe")
    assert d.code == "E402" and at(d) == (2, 1) and "no formula" in d.message


def test_reading_another_process_is_refused(tmp_path):
    d = one(tmp_path, "process A { var x = 0\n  state a }\nprocess B { var y = 0\n  state b\n  b -> b { y = A.x } }")
    assert d.code == "E401" and at(d) == (5, 16) and "send it a message" in d.message


def test_parameters_cannot_be_assigned(tmp_path):
    d = one(tmp_path, "message m(v: int)\nprocess P { var v2 = 0\n  state a\n  on m(v) { v = 1 } }")
    assert d.code == "E401" and at(d) == (4, 13) and "cannot be assigned" in d.message


def test_two_levels_of_indexing_cannot_be_assigned(tmp_path):
    d = one(tmp_path, "process P { var m: map[int, map[int, int]] = {}\n  state a\n  a -> a { m[1][2] = 3 } }")
    assert d.code == "E401" and at(d) == (3, 12) and "one level" in d.message


def test_family_must_start_at_zero(tmp_path):
    d = one(tmp_path, "process P[i in 1..3] { state a }")
    assert d.code == "E401" and at(d) == (1, 16)


def test_no_process_at_all(tmp_path):
    d = one(tmp_path, "model Nothing\nconst N = 1")
    assert d.code == "E401" and at(d) == (1, 1) and "no process" in d.message


def test_unknown_network_kind(tmp_path):
    d = one(tmp_path, "network reliable\nprocess P { state a }")
    assert d.code == "E404" and at(d) == (1, 1) and "reliable" in d.message


# ---------------------------------------------------------------------------------------------- -D
def test_define_of_unknown_constant(tmp_path):
    d = one(tmp_path, "const N = 2\nprocess P { state a }", M=3)
    assert d.code == "E404" and at(d) == (0, 0) and d.message == "-D M: the model has no constant M"


def test_define_of_the_wrong_type(tmp_path):
    d = one(tmp_path, "const N = 2\nprocess P[i in 0..N-1] { state a }", N=True)
    assert d.code == "E403" and at(d) == (1, 1) and d.message == "-D N: N is int, the value given is bool"


def test_define_that_empties_a_family(tmp_path):
    d = one(tmp_path, "const N = 2\nprocess P[i in 0..N-1] { state a }", N=0)
    assert d.code == "E403" and at(d) == (2, 16) and "empty" in d.message


# ---------------------------------------------------------------------------------------------- several errors, rendering
def test_all_errors_are_reported_in_source_order(tmp_path):
    found = diags(tmp_path, "process P { var x = 0\n  var x = 1\n  state a, a\n  a -> a { y = 1 } }")
    assert [(d.code, d.span.line) for d in found] == [("E202", 2), ("E202", 3), ("E201", 4)]


def test_render_has_location_source_line_caret_and_hint(tmp_path):
    d = one(tmp_path, "process P {\n  var count1 = 0\n  state a\n  a -> a when coutn1 < 2 { count1 += 1 }\n}")
    text = d.render("m.wolf", "process P {\n  var count1 = 0\n  state a\n  a -> a when coutn1 < 2 { count1 += 1 }\n}")
    assert text.splitlines() == [
        "m.wolf:4:15: error[E201]: unknown name coutn1",
        "     4 |   a -> a when coutn1 < 2 { count1 += 1 }",
        "       |               ^^^^^^",
        "  hint: did you mean count1?",
    ]


def test_caret_is_aligned_under_tabs():
    from dsl.ast import Span
    d = Diagnostic("E201", "unknown name y", Span(2, 6, 2, 7))
    lines = d.render("t.wolf", "x\n\ta = y\n").splitlines()
    assert lines[1] == "     2 |     a = y"
    assert lines[2].index("^") == lines[1].index("y")


def test_every_code_used_is_documented():
    import re
    root = Path(__file__).resolve().parent.parent
    used = set()
    for f in list((root / "dsl").glob("*.py")) + [root / "checker" / "analysis.py"]:
        used |= set(re.findall(r'"(E\d{3})"', f.read_text(encoding="utf-8")))
    assert used <= set(CODES), sorted(used - set(CODES))
    doc = (root / "docs" / "language.md").read_text(encoding="utf-8")
    assert all(f"| {code} |" in doc for code in CODES if code.startswith(("E1", "E2", "E3", "E40")))


# ---------------------------------------------------------------------------------------------- run-time errors
def test_runtime_error_names_the_line(tmp_path):
    src = "process P {\n  var s: set[int] = {}\n  var x = 0\n  state a, b\n  final b\n  a -> b { x = min(s) }\n}\n"
    path = tmp_path / "rt.wolf"
    path.write_text(src, encoding="utf-8")
    with pytest.raises(ModelError) as err:
        analyze(str(path), Options())
    d = err.value.diagnostics[0]
    assert d.code == "E405" and at(d) == (6, 16) and "min of an empty collection" in d.message


@pytest.mark.parametrize("body,pos,what", [
    ("x = 1 / (x - x)", (4, 16), "division by zero"),
    ("x = m[5]", (4, 16), "key 5 is not in the map"),
    ("x = head(q)", (4, 16), "head of an empty sequence"),
    ("send go() to P[x + 3]", (4, 25), "P[3] does not exist"),
])
def test_runtime_errors(tmp_path, body, pos, what):
    src = ("message go()\n"
           "process P[i in 0..1] { var x = 0 var m: map[int, int] = {} var q: seq[int] = []\n"
           "  state a, b\n"
           "  a -> b { " + body + " }\n"
           "}\n")
    path = tmp_path / "rt.wolf"
    path.write_text(src, encoding="utf-8")
    with pytest.raises(ModelError) as err:
        analyze(str(path), Options())
    d = err.value.diagnostics[0]
    assert d.code == "E405" and at(d) == pos and what in d.message


def test_runtime_error_exit_code_through_the_cli(tmp_path, capsys):
    path = tmp_path / "rt.wolf"
    path.write_text("process P {\n  var s: set[int] = {}\n  var x = 0\n  state a, b\n  final b\n"
                    "  a -> b { x = min(s) }\n}\n", encoding="utf-8")
    assert main(["check", "--quiet", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:6:16: error[E405]: the model failed while running: min of an empty collection")
    assert "Traceback" not in err
