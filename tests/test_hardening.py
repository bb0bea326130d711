"""Regression tests of the hardening issue: one per cause of crash, hang or silent misreading found by fuzzing.

The reproducers in tests/data/hardening/ once ended in a Python traceback (exit 1, read as "a property
fails"), hung past --timeout, or grew without bound. Each must now end with a clear error (exit 2) or a bound
(exit 3) within its time bound. Runs go through tests/fuzzing.py's `run_case` (a forked child, killed if it
overstays), so a regression shows as a failure here rather than as a hung test suite.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.cli import EXIT_BOUND, EXIT_FAIL, EXIT_INTERNAL, default_max_memory, internal_error_message, main
from dsl.diagnostics import ModelError
from dsl.frontend import load_model
from dsl.limits import MAX_ELEMENTS, SizeLimits
from checker.process.values import render_value
from fuzzing import Case, run_case

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "hardening"
needs_budget = pytest.mark.skipif(importlib.util.find_spec("checker.engine.budget") is None,
                                  reason="the clock-driven deadline (checker/engine/budget.py, issue 8) has not "
                                         "landed yet")


def run(name: str, *argv: str, timeout: float = 3.0, tmp: Path):
    """A reproducer through `wolf check` with small bounds, judged like a fuzz input."""
    path = DATA / name
    return run_case(Case(name, path.read_bytes(), tuple(argv), path.stem), tmp, timeout=timeout)


@pytest.mark.parametrize("name,words", [
    ("01_bigint_literal_visiterror.wolf", "error[E101]: this number has 5,001 digits, more than the 4,300"),
    ("02_family_others_quadratic_memory.wolf", "process family P has 1,000,000 members: a network of 1,000,000 "
                                               "processes needs 1,000,000,000,000 channel slots"),
    ("03_network_nsquared_memory.wolf", "needs 10,000,200,001 channel slots, more than the 10,000,000"),
    ("05_range_literal_memory.wolf", "the range 0..9,223,372,036,854,775,808 has 9,223,372,036,854,775,809 "
                                     "elements"),
    ("06_timed_bigint_overflow_tighten.wolf", "a number in this check is about 10^1000, beyond the "
                                              "1,000,000,000,000,000,000"),
    ("09_sessions_huge_hang.wolf", "sessions 1,000,000,000 need 2,000,000,000 role instances"),
    ("11_broadcast_overflow.wolf", "process family W has 100,000,000,000,000,000,000,000,000,000 members"),
])
def test_oversized_constructs_are_refused_before_they_are_built(name, words, tmp_path):
    outcome = run(name, tmp=tmp_path)
    assert outcome.failure is None, outcome.stderr
    assert outcome.code == 2 and words in outcome.stderr, outcome.stderr


def test_size_limits_follow_the_memory_bound(tmp_path):
    """A family of 1,000 needs a million channel slots: within the default limit, not within 64 MB."""
    path = tmp_path / "thousand.wolf"
    path.write_text("const N = 3\nprocess P[i in 0..N-1] { state s }\n")
    load_model(str(path), {"N": 1000})
    with pytest.raises(ModelError) as err:
        load_model(str(path), {"N": 1000}, limits=SizeLimits.for_memory(64 * 2**20))
    assert "more than the 671,088 that the memory bound of 67 MB (--max-memory) allows" in str(err.value)
    assert SizeLimits.for_memory(None).elements == SizeLimits.for_memory(10**15).elements == MAX_ELEMENTS


def test_a_range_computed_at_run_time_is_refused_when_it_is_built(tmp_path, capsys):
    path = tmp_path / "range.wolf"
    path.write_text("const N = 3\nprocess P { var n = 1\n var s: set[int] = {}\n state a\n"
                    "  a -> a when n < 10 { n = n * 100000000; s = 0..n } }\n")
    assert main(["check", str(path), "--quiet"]) == 2
    assert "the range 0..100,000,000 has 100,000,001 elements, more than the 10,000,000" in capsys.readouterr().err


def test_a_quantified_property_over_too_many_cases_is_refused(tmp_path):
    path = tmp_path / "cases.wolf"
    path.write_text("const N = 3000\nprocess P[i in 0..N-1] { var x = 0\n state s }\n"
                    "check distinct: always P[i].x <= P[j].x\n")
    with pytest.raises(ModelError) as err:
        load_model(str(path), {"N": 3000})
    assert "property distinct is checked for every value of i, j: 9,000,000 cases" in str(err.value)


def test_huge_integers_stop_the_run_as_a_bound_and_print_by_their_size(capsys):
    """x is squared 13 times, toward 10^8192: the runtime's value-size limit stops the run as a bound, and a
    value past Python's 4,300-digit printing limit (a constant, say) is shown by its size, not a crash."""
    assert main(["check", str(DATA / "15_render_int_over_4300_digits.wolf"), "--quiet"]) == EXIT_BOUND
    assert "grew past the size limit" in capsys.readouterr().out
    assert render_value(10 ** 8192) == "<integer of about 8,193 digits>"
    assert render_value(-(10 ** 5000)) == "<negative integer of about 5,001 digits>"
    assert render_value(10 ** 4000) == "1" + "0" * 4000


def test_causes_found_by_the_fuzz_campaign(tmp_path, capsys):
    """Each once ended in exit 4 (an internal error): a message term nested 200 levels deep (RecursionError in
    the attacker's analysis), a message bound computed past 4,300 digits (ValueError printing it), an initial
    value read after the one before it failed (TypeError on None), the same when the one before could not even be
    compiled (a range too large; found by the second campaign of 2026-11-30), `sessions 1000000` (compiles for
    minutes)."""
    nsl = (ROOT / "models/security/nsl.wolf").read_text()
    lamport = (ROOT / "models/mutex/lamport.wolf").read_text()
    cases = [
        (nsl.replace("{Na, A}pk(B)", "{" + "h(" * 200 + "Na" + ")" * 200 + ", A}pk(B)"),
         "this message term is nested more than 32 levels deep"),
        (lamport.replace("messages per P.critical == 3 * (N - 1)",
                         "messages per P.critical == 3 * (N - " + "9" * 4300 + ")"),
         "the message bound is too large: about 10^4300, more than 4,300 digits"),
        ("process P {\n  var a = 1 / 0\n  var b = -a\n  state s\n}\n", "initial value: division by zero"),
        ("process P {\n  var a = sum(x for x in (2..99999999999999999999))\n  var b = 2 / --a\n  state s\n}\n",
         "more than the 10,000,000 that wolf's compile-time limit allows"),
        (nsl.replace("sessions SESSIONS", "sessions 1000000"), "sessions 1,000,000 need 2,000,000 role instances"),
    ]
    assert "messages per P.critical == 3 * (N - 1)" in lamport and "sessions SESSIONS" in nsl
    for k, (text, words) in enumerate(cases):
        path = tmp_path / f"case{k}.wolf"
        path.write_text(text)
        assert main(["check", str(path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err


@needs_budget
@pytest.mark.parametrize("name", ["13_timeout_ignored_int_squaring.wolf", "14_timeout_ignored_seq_doubling.wolf"])
def test_steps_that_grow_without_bound_honour_the_timeout(name, tmp_path):
    outcome = run(name, timeout=2.0, tmp=tmp_path)
    assert outcome.failure is None and outcome.code == EXIT_BOUND, (outcome.failure, outcome.stderr)


# ---------------------------------------------------------------------------------------------- options

@pytest.mark.parametrize("argv,words", [
    (["--timeout", "nan"], "--timeout: expected a positive number of seconds"),
    (["--attacker", ""], "--attacker needs capabilities separated by commas"),
    (["--attacker", "eavesdrop,"], "--attacker needs capabilities separated by commas"),
    (["--attacker", "none,replay"], "'none' stands alone"),
    (["-D", "N=1_0"], "-D N: the value must be a decimal integer"),
])
def test_odd_option_values_are_refused(argv, words, capsys):
    assert main(["check", str(ROOT / "models/security/nspk.wolf"), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_devices_pipes_and_huge_files_are_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.wolf"
    os.mkfifo(fifo)  # no writer: a plain open would block forever
    big = tmp_path / "big.wolf"
    big.write_bytes(b"# " + b"x" * 1_000_000)
    for path, words in [(Path("/dev/zero"), "this is a device"), (fifo, "this is a named pipe"),
                        (big, "the file is larger than 1,000,000 bytes")]:
        assert main(["check", str(path), "--quiet"]) == 2
        assert f"{path}: error[E100]: {words}" in capsys.readouterr().err


def test_output_places_are_checked_before_the_search(tmp_path, capsys):
    """An --svg-dir or --out under a regular file cannot be made: refused at once, before any verdict."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    model = str(ROOT / "models/security/nspk.wolf")
    assert main(["check", model, "--quiet", "--svg-dir", str(blocker / "charts")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"--svg-dir {blocker / 'charts'}: cannot write there: Not a directory" in err
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "nspk").write_text("in the way")
    assert main(["check", model, "--quiet", "--svg-dir", str(tmp_path / "charts")]) == 2
    assert "is a file, but the charts of nspk go into a folder of that name" in capsys.readouterr().err
    assert main(["report", str(ROOT / "models/security/nspk.wolf"), "--quiet", "--out", str(blocker / "r")]) == 2
    assert "--out" in capsys.readouterr().err


def test_graph_has_a_time_bound(tmp_path, capsys):
    code = main(["graph", str(ROOT / "models/mutex/lamport.wolf"), "-D", "N=3", "--max-nodes", "10000000",
                 "--timeout", "0.5", "--svg", str(tmp_path / "g.svg")])
    assert code == 3 and "the state graph is unfinished: time bound 0.5 s reached" in capsys.readouterr().err
    assert not (tmp_path / "g.svg").exists()


def test_max_memory_defaults_to_most_of_what_is_available(capsys):
    memory = default_max_memory()
    assert memory is not None and 64 * 2**20 <= memory
    assert main(["check", str(ROOT / "tests/data/counter.wolf"), "--max-memory", "2G", "--quiet"]) == 0


def test_attacker_limit_from_the_command_line(tmp_path, capsys):
    """central.wolf under replay grows without end; --attacker-limit 1 makes it finite (and the replayed
    grant breaks mutual exclusion), and without a limit wolf warns before searching."""
    central = str(ROOT / "models/mutex/central.wolf")
    system, _props = load_model(central, {}, ("eavesdrop", "replay"), attacker_limit=1)
    assert system.network.limit == 1
    assert main(["check", central, "--attacker", "eavesdrop,replay", "--attacker-limit", "1", "--quiet",
                 "-p", "mutex"]) == 1
    captured = capsys.readouterr()
    assert "REPLAY: replays grant() as Manager" in captured.out and "warning" not in captured.err
    assert main(["check", central, "--attacker", "eavesdrop,replay", "--max-states", "2000", "--quiet",
                 "-p", "deadlock_free"]) in (1, 3)
    assert "wolf: warning: the attacker may replay messages without limit" in capsys.readouterr().err
    assert main(["check", str(ROOT / "models/security/nspk.wolf"), "--attacker-limit", "1", "--quiet"]) == 2
    assert "--attacker-limit applies to process models only" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- crashes

def test_an_internal_error_exits_4_with_a_bug_report_paragraph(monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the engine lost a state")
    monkeypatch.setattr("checker.cli.analyze", broken)
    assert main(["check", str(ROOT / "tests/data/counter.wolf"), "--quiet"]) == EXIT_INTERNAL == 4
    err = capsys.readouterr().err
    assert err.startswith("wolf: internal error: RuntimeError in test_hardening.py:")
    assert "This is a bug in wolf, not a verdict about your model" in err and "Traceback" not in err
    assert "tests/data/counter.wolf --quiet)" in err
    crash = re.search(r"The Python traceback is in (\S+?);", err)
    assert crash and "RuntimeError: the engine lost a state" in Path(crash.group(1)).read_text()
    os.unlink(crash.group(1))


def test_running_out_of_memory_is_a_bound_not_a_crash(monkeypatch, capsys):
    def hungry(*_args, **_kwargs):
        raise MemoryError
    monkeypatch.setattr("checker.cli.analyze", hungry)
    assert main(["check", str(ROOT / "tests/data/counter.wolf"), "--quiet"]) == EXIT_BOUND
    assert "memory ran out" in capsys.readouterr().err


def test_the_internal_error_message_survives_a_huge_exception_text():
    text = internal_error_message(ValueError("x" * 100_000), ["check", "m.wolf"])
    assert len(text) < 1000 and "wolf check m.wolf" in text
    for line in re.findall(r"The Python traceback is in (\S+?);", text):
        os.unlink(line)


# ---------------------------------------------------------------------------------------------- spoofing

def test_bidirectional_controls_are_refused_anywhere_with_their_position(tmp_path, capsys):
    path = tmp_path / "trojan.wolf"
    path.write_text("process P {\n  state a  # \u202e } x {\u2066\n}\n", encoding="utf-8")
    assert main(["check", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:14: error[E101]: invisible bidirectional control character U+202E (RIGHT-TO-LEFT " \
           f"OVERRIDE)" in err
    assert "\u202e" not in err and "\ufffd" in err  # the echoed source line is neutralised too


def test_invisible_characters_in_strings_are_refused(tmp_path, capsys):
    path = tmp_path / "zw.wolf"
    path.write_text('process P {\n  var s = "ad\u200bmin"\n  state a\n}\n', encoding="utf-8")
    assert main(["check", str(path), "--quiet"]) == 2
    assert "2:14: error[E101]: invisible character U+200B (ZERO WIDTH SPACE) in a string" in capsys.readouterr().err


def test_file_names_with_bidirectional_controls_are_neutralised_in_pages(tmp_path):
    from checker.output.textblock import visible
    from checker.output.report import _escape
    assert visible("abc\u202edef\u200b") == "abc\ufffddef\ufffd"
    assert _escape("<b>\u2067x") == "&lt;b&gt;\ufffdx"


def _spin_until_struck(limit: float) -> str | None:
    """Busy work until a BoundHit arrives (its reason), or None after `limit` seconds without one."""
    from checker.engine.budget import BoundHit
    end = time.perf_counter() + limit
    try:
        while time.perf_counter() < end:
            sum(range(1000))
    except BoundHit as hit:
        return hit.reason
    return None


def test_the_work_after_a_bound_is_bounded_too():
    """A bound strikes once in the search; what follows (judging, a second search such as `executable`'s) was
    unbounded before and hung a fuzzed three-session protocol. Now the bound strikes again after AFTERMATH."""
    from checker.engine.budget import Bounds, Budget
    with Budget(Bounds(timeout=0.05)):
        assert _spin_until_struck(30.0) == "time bound 0.05 s reached"
        assert _spin_until_struck(30.0) == "time bound 0.05 s reached"  # the second strike, after AFTERMATH
    assert _spin_until_struck(0.7) is None  # outside the budget nothing strikes


def test_a_second_search_after_the_bound_ends_too(tmp_path):
    """The fuzzed input that hung: the attacker's search takes most of --timeout, then `executable` searches the
    honest system; it must end at the bound, not run on (it ran for minutes). Whether the attacker's search
    finds its 3-step attack before the bound (exit 1) or not (exit 3) depends on the machine's speed; either
    way `executable` is cut off. In a process of its own: a child forked from a long pytest session runs
    measurably slower, and this is about hanging, not speed."""
    model = tmp_path / "three_sessions.wolf"
    model.write_text("""model GenProto
protocol {
  roles A, B, S
  A knows A, B, S, sk(A), pk(A), pk(B), pk(S), k(A, B), k(A, S), k(B, A), k(S, A)
  B knows B, A, S, sk(B), pk(B), pk(A), pk(S), k(A, B), k(B, A), k(B, S), k(S, B)
  S knows S, B, sk(S), pk(S), pk(A), pk(B), k(A, S), k(B, S), k(S, A), k(S, B)
  A -> S: {{Na}sk(A), h((Na, Na))}sk(A), ({Na, A, Na}pk(S), {Na, (Na, Na), (Na, B)}pk(S)), {{h(Na)}sk(A)}pk(S)
  S -> A: pk(A)
  A -> B: {A, Na, Na}Na, (Na, Na), S
  goal B weakly agrees with A
}
scenario {
  honest alice, bob, srv
  compromised eve
  sessions 3
  attacker replay, drop, masquerade, modify
}
""")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "checker", "check", str(model), "--timeout", "2", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    assert done.returncode in (EXIT_BOUND, EXIT_FAIL), done.stderr[-2000:]
    assert "time bound 2 s reached" in done.stdout
    assert re.search(r"executable +unknown", done.stdout), done.stdout[:2000]
    assert seconds < 20, f"{seconds:.1f} s for --timeout 2: the work after the bound was not cut off"


@pytest.mark.parametrize("where", ["Run", "_verdict"])
def test_a_strike_after_the_search_returned_is_a_bound_not_a_crash(where, monkeypatch):
    """The bound strikes again every AFTERMATH seconds, so it can land between the search's return and the
    judging (it did, on Needham-Schroeder-Mullender at `sessions 2` with --timeout 30: exit 4). Wherever it
    lands after the search, the analysis ends as a bound with every undecided property unknown."""
    import checker.analysis as analysis
    from checker.engine.budget import BoundHit
    from checker.engine.properties import UNKNOWN

    def strike(*_args, **_kwargs):
        raise BoundHit("time bound 1 s reached")

    monkeypatch.setattr(analysis, where, strike)
    result = analysis.analyze(str(ROOT / "models" / "security" / "nspk.wolf"))
    assert result.exit_code == EXIT_BOUND
    assert result.verdicts and all(v.status == UNKNOWN for v in result.verdicts)
    assert result.stop_reason == "time bound 1 s reached"
