"""The command line as a newcomer meets it: the traps of issue 11 (a `--svg` that swallowed the model file,
`time(s)`, one mistake with two error codes, no "did you mean"), and the habits other tools taught
(`--version`, `-q`, `python -m`, shell completion, checking a whole directory, exports for documents)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def model(name: str) -> str:
    return str(ROOT / name)


# ------------------------------------------------------------------------------------------ habits


def test_version(capsys):
    code, out, _err = run(capsys, "--version")
    assert code == 0 and re.fullmatch(r"wolf \d+\.\d+\.\d+\n", out)


def test_python_dash_m_checker_is_the_wolf_command():
    proc = subprocess.run([sys.executable, "-m", "checker", "check", model("tests/data/counter.wolf"), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "bounded" in proc.stdout and "holds" in proc.stdout


def test_q_is_quiet(capsys):
    code, _out, err = run(capsys, "check", model("tests/data/counter.wolf"), "-q")
    assert code == 0 and err == ""


def test_bash_completion_completes_commands_options_capabilities_and_models(tmp_path, capsys):
    code, out, _err = run(capsys, "completion", "bash")
    assert code == 0
    script = tmp_path / "wolf.bash"
    script.write_text(out)
    probe = tmp_path / "probe.sh"
    probe.write_text(f"""source {script}
cd {ROOT}
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=(); _wolf; echo "${{COMPREPLY[*]}}"; }}
t wolf ch
t wolf check --attacker eavesdrop,re
t wolf check --svg models/security/nsp
t wolf check --format j
""")
    proc = subprocess.run(["bash", str(probe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["check", "eavesdrop,replay", "models/security/nspk.wolf", "json"]
    code, zsh, _err = run(capsys, "completion", "zsh")
    assert code == 0 and "bashcompinit" in zsh and zsh.endswith(out)


# ---------------------------------------------------------------------------------------------- charts


@needs_dot
def test_svg_is_a_flag_that_never_swallows_the_model_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _err = run(capsys, "check", "--svg", model("models/security/nspk.wolf"), "-q")
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "reports" / "nspk").iterdir()) == [
        "B_agrees_A.svg", "secret_Na.svg", "secret_Nb.svg"]
    assert "wrote reports/nspk/secret_Na.svg" in out


@needs_dot
def test_every_export_format(tmp_path, capsys):
    out_dir = tmp_path / "charts"
    code, out, _err = run(capsys, "check", model("models/security/dh.wolf"), "-p", "secret_M", "--svg-dir",
                          str(out_dir), "--png", "--pdf", "--dot", "--mermaid", "--plantuml", "-q")
    assert code == 1
    files = {p.suffix: p for p in (out_dir / "dh").iterdir()}
    assert sorted(files) == [".dot", ".mmd", ".pdf", ".png", ".puml", ".svg"]
    assert files[".png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files[".pdf"].read_bytes()[:5] == b"%PDF-"
    assert files[".mmd"].read_text().startswith("sequenceDiagram\n")
    assert files[".puml"].read_text().startswith("@startuml\n")
    assert all(f"wrote {p}" in out for p in files.values())


def test_text_exports_need_no_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    code, _out, err = run(capsys, "check", model("models/security/dh.wolf"), "-p", "secret_M", "--svg-dir",
                          str(tmp_path / "c"), "--mermaid", "-q")
    assert code == 1, err
    assert [p.name for p in (tmp_path / "c" / "dh").iterdir()] == ["secret_M.mmd"]


def test_graph_says_what_to_do_when_given_the_model_as_its_output(capsys):
    code, _out, err = run(capsys, "graph", "x", "--svg", "models/y.wolf")
    assert code == 2 and "not the model" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------- directories


def test_check_a_directory_ends_with_a_summary_table(tmp_path, capsys):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    shutil.copy(ROOT / "tests/data/counter.wolf", lib / "counter.wolf")
    shutil.copy(ROOT / "models/security/dh.wolf", lib / "sub" / "dh.wolf")
    shutil.copy(ROOT / "tests/data/type_error.wolf", lib / "sub" / "broken.wolf")
    code, out, err = run(capsys, "check", str(lib), "-q")
    assert code == 2  # the most severe: a model could not be checked
    table = out[out.index("summary of 3 models:"):].splitlines()
    assert re.match(r"\s+file\s+verdicts\s+states\s+time$", table[1])
    rows = {line.split()[0]: line for line in table[3:6]}
    assert sorted(rows) == sorted(str(p) for p in (lib / "counter.wolf", lib / "sub/dh.wolf", lib / "sub/broken.wolf"))
    assert "3 hold" in rows[str(lib / "counter.wolf")]
    assert "2 FAIL: secret_M, B_agrees_A" in rows[str(lib / "sub/dh.wolf")]
    assert "could not be checked" in rows[str(lib / "sub/broken.wolf")]
    assert table[6].strip().startswith("1 with a failing property, 0 stopped by a bound, 1 could not be checked, "
                                       "1 all hold")
    assert "error[E301]" in err


def test_a_directory_without_models_says_so_and_how_to_name_a_chart_directory(tmp_path, capsys):
    code, _out, err = run(capsys, "check", "--svg", str(tmp_path))
    assert code == 2 and f"{tmp_path} is a directory without *.wolf models" in err
    assert f"--svg-dir {tmp_path}" in err


# ------------------------------------------------------------------------------------------ the output


def test_identical_counterexamples_are_printed_once(capsys):
    _code, out, _err = run(capsys, "check", model("models/security/nspk.wolf"), "-q")
    assert out.count("  1. alice as A#1  sends message 1") == 1
    assert "counterexample to `secret_Nb` in NSPK: the same run as for `secret_Na` above" in out
    assert "counterexample to `B_agrees_A` in NSPK: the same run as for `secret_Na` above" in out
    assert "  claim: B agrees with A on Na, Nb, made by alice as B#1" in out


def test_words_and_numbers(capsys):
    _code, out, _err = run(capsys, "check", model("models/time/timestamp_window_large.wolf"), "-q")
    assert "ran it only 1 time with these values" in out and "time(s)" not in out
    _code, out, _err = run(capsys, "check", model("models/mutex/central_attacked.wolf"), "-p", "cost", "-q")
    assert re.search(r"states \d{1,3}(,\d{3})+ ", out), "thousands separators"
    _code, out, _err = run(capsys, "check", model("models/security/otway_rees.wolf"), "--untyped", "-p",
                           "secret_Kab", "-q")
    assert "the attacker knows (M#1, alice, alice), the value of Kab" in out, "a tuple in prose keeps its parentheses"
    assert "Kab := (M#1, alice, alice)" in out


# ------------------------------------------------------------------------------------- did you mean


@pytest.mark.parametrize("argv, code, hint", [
    (["models/mutex/central.wolf", "-p", "mutx"], "E404", "did you mean mutex? known properties: cost, "),
    (["models/security/nspk.wolf", "-p", "secret_na"], "E404", "did you mean secret_Na?"),
    (["models/mutex/central.wolf", "-D", "n=2"], "E404", "did you mean N? known constants: CRASH, N, ROUNDS"),
    (["models/time/kerberos.wolf", "-D", "DELTAA=3"], "E404", "did you mean DELTA? known constants: DELTA, L"),
    (["models/security/nspk.wolf", "--attacker", "eavesdrop,replya"], "E404", "did you mean replay?"),
    (["models/mutex/central_attacked.wolf", "--attacker", "dorp"], "E404", "did you mean drop?"),
], ids=["property", "property-case", "constant-process", "constant-protocol", "capability-protocol",
        "capability-process"])
def test_did_you_mean_with_one_code_for_one_mistake(argv, code, hint, capsys):
    status, _out, err = run(capsys, "check", *(model(a) if a.endswith(".wolf") else a for a in argv), "-q")
    assert status == 2 and f"error[{code}]" in err and hint in err, err


@pytest.mark.parametrize("original, misspelt, keyword", [
    ("protocol {", "protcol {", "protocol"),
    ("  sessions 2", "  sesions 2", "sessions"),
    ("network fifo", "netwrk fifo", "network"),
])
def test_did_you_mean_for_misspelt_keywords(original, misspelt, keyword, tmp_path, capsys):
    source = ROOT / ("models/mutex/central.wolf" if "network" in original else "models/security/nspk.wolf")
    text = source.read_text()
    assert original in text
    bad = tmp_path / "bad.wolf"
    bad.write_text(text.replace(original, misspelt, 1))
    status, _out, err = run(capsys, "check", str(bad), "-q")
    assert status == 2 and f"hint: did you mean '{keyword}'?" in err, err
