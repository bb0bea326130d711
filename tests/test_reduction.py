"""Partial-order reduction: fewer states, the same verdicts, shortest counterexamples all the same.

Steps of different process instances are independent; an instance's steps form an ample set only while no
other instance can give it a new step (checker/process/procsys.py, `ample`), none of them changes what a
property reads, and the cycle proviso of the explorer holds.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from checker.analysis import FAILS, HOLDS, Options, analyze
from dsl.diagnostics import ModelError
from test_soundness import random_model


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.wolf"
    path.write_text(textwrap.dedent(text))
    return str(path)


def run(path: str, reduce: bool):
    return analyze(path, Options(reduce=reduce))


def test_independent_steps_are_taken_in_one_order(tmp_path):
    # (the members start differently, so they are not interchangeable and symmetry reduction stays out)
    path = write(tmp_path, """
        const N = 4
        process P[i in 0..N-1] { var x = i % 1
          state s
          final s
          s -> s when x < 2 { x += 1 } }
        check deadlock_free
    """)
    full, reduced = run(path, False), run(path, True)
    assert full.stats.states == 3 ** 4
    assert reduced.stats.states == 4 * 2 + 1  # one instance after the other
    assert reduced.stats.reduced > 0
    assert [v.status for v in full.verdicts] == [v.status for v in reduced.verdicts] == [HOLDS]


def test_cycle_proviso_keeps_a_step_that_a_loop_would_ignore(tmp_path):
    # A cycles through three states for ever, invisibly; B's single step is the violation. Always choosing A's
    # steps (a valid ample set in every state) would never take B's step: the proviso expands fully on the cycle.
    path = write(tmp_path, """
        process A { var x = 0
          state a
          a -> a { x = (x + 1) % 3 } }
        process B { state b0, b1
          b0 -> b1 }
        check never: always not B.b1
    """)
    reduced = run(path, True)
    assert reduced.verdicts[0].status == FAILS
    assert reduced.stats.fully_expanded_by_proviso > 0
    assert len(reduced.verdicts[0].trace.steps) == 1  # and the counterexample is still a shortest one


def test_a_process_that_may_still_receive_is_not_reduced_early(tmp_path):
    # A's internal step is invisible, but B may still send m, which A takes: committing to A's step first would
    # lose the run where m arrives before it (got == 1).
    path = write(tmp_path, """
        message m()
        process A { var got = 0
          var t = 0
          state s
          final s
          s -> s when t < 1 { t += 1 }
          on m() { got = t + 1 } }
        process B { state b0, b1
          final b1
          b0 -> b1 { send m() to A } }
        check early: always A.got != 1
    """)
    assert run(path, True).verdicts[0].status == FAILS
    assert run(path, False).verdicts[0].status == FAILS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_model())
def test_reduction_keeps_every_verdict_and_counterexample_length(tmp_path, text):
    path = write(tmp_path, text)
    try:
        full = run(path, False)
    except ModelError:  # a run-time error (E405) must then be found with reduction too
        with pytest.raises(ModelError):
            run(path, True)
        return
    reduced = run(path, True)
    if not (reduced.settled or full.settled):  # an early stop's count depends on where the last failure fell
        assert reduced.stats.states <= full.stats.states
    assert [(v.name, v.status) for v in reduced.verdicts] == [(v.name, v.status) for v in full.verdicts], text
    assert [len(v.trace.steps) for v in reduced.verdicts if v.trace] == \
        [len(v.trace.steps) for v in full.verdicts if v.trace], text
