"""Bad input through the command line: exit code 2, one paragraph on stderr, never a traceback.

Every case goes through `checker.cli.main` (stderr captured with capsys); one goes through a real
`python -m checker.cli` subprocess so the module entry point is covered too.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli import main

DATA = Path(__file__).resolve().parent / "data"
ROOT = DATA.parent.parent
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>E\d{3})\]: \S")
UNLOCATED = re.compile(r"^(?P<file>.+?): error\[(?P<code>E\d{3})\]: \S")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", "--quiet", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_paragraph(err: str) -> None:
    assert err.strip(), "an error message is expected on stderr"
    assert "Traceback" not in err
    assert "\n\n" not in err.strip(), "one paragraph: no blank lines"


def located(err: str, path: str, code: str, line: int, col: int) -> None:
    assert_one_paragraph(err)
    m = LOCATED.match(err)
    assert m, err
    assert (m["file"], m["code"], int(m["line"]), int(m["col"])) == (path, code, line, col)


def unlocated(err: str, path: str, code: str) -> None:
    assert_one_paragraph(err)
    m = UNLOCATED.match(err)
    assert m, err
    assert (m["file"], m["code"]) == (path, code)


# ---------------------------------------------------------------------------------------------- a good file, for contrast
def test_good_file_exits_0(capsys):
    code, out, err = cli(capsys, str(DATA / "counter.wolf"))
    assert code == 0 and err == ""
    assert "holds in all 5 reachable states" in out


# ---------------------------------------------------------------------------------------------- model errors
@pytest.mark.parametrize("name,code,line,col,words", [
    ("malformed.wolf", "E101", 5, 17, "unexpected '='"),
    ("unknown_name.wolf", "E201", 5, 15, "unknown name coutn1"),
    ("type_error.wolf", "E301", 5, 12, "must be int, not bool"),
    ("wrong_arity.wolf", "E302", 6, 12, "message ping takes 1 argument(s), 2 given"),
    ("empty.wolf", "E102", 1, 1, "the model is empty"),
    ("comments_only.wolf", "E102", 1, 1, "the model is empty"),
])
def test_bad_model_files(capsys, name, code, line, col, words):
    path = str(DATA / name)
    rc, out, err = cli(capsys, path)
    assert rc == 2 and out == ""
    located(err, path, code, line, col)
    assert words in err.splitlines()[0]


def test_source_line_and_caret_are_shown(capsys):
    path = str(DATA / "unknown_name.wolf")
    _, _, err = cli(capsys, path)
    lines = err.splitlines()
    assert lines[1] == "     5 |   a -> a when coutn1 < 2 { count1 += 1 }"
    assert lines[2] == "       |               ^^^^^^"
    assert lines[3] == "  hint: did you mean count1?"


def test_runtime_error_is_bad_input_and_shows_the_run_to_it(capsys):
    path = str(DATA / "runtime_error.wolf")
    rc, out, err = cli(capsys, path)
    assert rc == 2
    diagnostic, _, run = err.partition("\n\n")
    located(diagnostic, path, "E405", 7, 16)
    assert "0 steps" in run and "initial state:" in run  # the model fails in its first step


def test_binary_file(capsys, tmp_path):
    path = tmp_path / "model.wolf"
    path.write_bytes(b"model X\x00\x01\x02process P { state a }\n")
    rc, out, err = cli(capsys, str(path))
    assert rc == 2 and out == ""
    unlocated(err, str(path), "E103")
    assert "binary" in err


def test_non_utf8_file(capsys, tmp_path):
    path = tmp_path / "latin1.wolf"
    path.write_bytes("model X\n# café\nprocess P { state a }\n".encode("latin-1"))
    rc, out, err = cli(capsys, str(path))
    assert rc == 2 and out == ""
    located(err, str(path), "E103", 2, 6)
    assert "UTF-8" in err


def test_byte_order_mark_is_accepted(capsys, tmp_path):
    path = tmp_path / "bom.wolf"
    path.write_text("model X\nprocess P { state a\n final a }\ncheck deadlock_free\n", encoding="utf-8-sig")
    rc, out, err = cli(capsys, str(path))
    assert rc == 0 and err == "" and "deadlock_free  holds" in out


def test_missing_file(capsys, tmp_path):
    path = str(tmp_path / "nope.wolf")
    rc, out, err = cli(capsys, path)
    assert rc == 2 and out == ""
    unlocated(err, path, "E100")
    assert "No such file" in err


def test_directory(capsys, tmp_path):
    """A directory is checked model by model (issue 11); one without models is a usage error."""
    rc, out, err = cli(capsys, str(tmp_path))
    assert rc == 2 and out == ""
    assert f"{tmp_path} is a directory without *.wolf models" in err and "Traceback" not in err


def test_deeply_nested_input(capsys, tmp_path):
    path = tmp_path / "deep.wolf"
    path.write_text("const X = " + "-" * 3000 + "1\nprocess P { state a }\n", encoding="utf-8")
    rc, out, err = cli(capsys, str(path))
    assert rc == 2
    unlocated(err, str(path), "E101")


def test_several_files_worst_wins(capsys):
    rc, out, err = cli(capsys, str(DATA / "counter.wolf"), str(DATA / "type_error.wolf"))
    assert rc == 2
    assert "holds in all 5 reachable states" in out
    located(err, str(DATA / "type_error.wolf"), "E301", 5, 12)


# ---------------------------------------------------------------------------------------------- options
@pytest.mark.parametrize("define,words", [
    ("N", "-D expects NAME=VALUE"),
    ("=3", "-D expects NAME=VALUE"),
    ("N=abc", "the value must be an integer, true or false"),
    ("N=1.5", "the value must be an integer, true or false"),
])
def test_malformed_define(capsys, define, words):
    rc, out, err = cli(capsys, str(DATA / "counter.wolf"), "-D", define)
    assert rc == 2 and out == ""
    assert_one_paragraph(err)
    assert err.startswith("wolf: error: ") and words in err


def test_define_of_unknown_constant(capsys):
    path = str(DATA / "counter.wolf")
    rc, out, err = cli(capsys, path, "-D", "N=3")
    assert rc == 2 and out == ""
    unlocated(err, path, "E404")
    assert "-D N: the model has no constant N" in err


def test_define_of_the_wrong_type(capsys, tmp_path):
    path = tmp_path / "c.wolf"
    path.write_text("const N = 2\nprocess P[i in 0..N-1] { state a }\n", encoding="utf-8")
    rc, out, err = cli(capsys, str(path), "-D", "N=true")
    assert rc == 2
    located(err, str(path), "E403", 1, 1)


@pytest.mark.parametrize("args,words", [
    (["--max-states", "0"], "bounds must be positive"),
    (["--max-depth", "-1"], "bounds must be positive"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--max-states", "many"], "invalid int value"),
    (["--timeout", "soon"], "invalid float value"),
])
def test_bad_bounds(capsys, args, words):
    rc, out, err = cli(capsys, str(DATA / "counter.wolf"), *args)
    assert rc == 2 and out == ""
    assert_one_paragraph(err)
    assert words in err


def test_unknown_option_and_missing_file_argument(capsys):
    assert main(["check", "--frobnicate", str(DATA / "counter.wolf")]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "FILE" in err


# ---------------------------------------------------------------------------------------------- a real process
def test_subprocess_malformed_file():
    path = str(DATA / "malformed.wolf")
    proc = subprocess.run([sys.executable, "-m", "checker.cli", "check", "--quiet", path],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    located(proc.stderr, path, "E101", 5, 17)
    assert "hint: to compare two values write '=='" in proc.stderr
