"""Symmetry reduction: found only where members are interchangeable; fewer states, the same verdicts, and
counterexamples shown as the members really moved."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from checker.analysis import FAILS, HOLDS, Options, analyze
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
CENTRAL = str(ROOT / "models/mutex/central.wolf")


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.wolf"
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_interchangeable_clients_are_explored_once_per_orbit(n):
    reduced = analyze(CENTRAL, Options(defines={"N": n}, only=("mutex", "deadlock_free")))
    full = analyze(CENTRAL, Options(defines={"N": n}, only=("mutex", "deadlock_free"), reduce=False))
    assert "symmetry" in reduced.reduction and not full.reduction
    assert [v.status for v in reduced.verdicts] == [v.status for v in full.verdicts] == [HOLDS, HOLDS]
    factorial = 1
    for k in range(2, n + 1):
        factorial *= k
    # never fewer than one state per orbit of at most n! states, and really fewer than without
    assert full.stats.states / factorial <= reduced.stats.states < full.stats.states


BROKEN = """
    const N = 3
    message request(c: pid)
    message grant()
    message release(c: pid)
    process Manager {
      var queue: seq[pid] = []
      state serving
      final serving
      on request(c) { queue += [c] }
      on release(c) { skip }
      serving -> serving as grant when len(queue) > 0 {
        send grant() to Client[head(queue)]
        queue = tail(queue)
      }
    }
    process Client[i in 0..N-1] {
      state idle, waiting, critical
      final idle
      idle -> waiting { send request(i) to Manager }
      on grant() in waiting { goto critical }
      critical -> idle { send release(i) to Manager }
    }
    check mutex: always count(c in Client where c.critical) <= 1
"""


def test_a_violation_found_up_to_symmetry_replays_as_the_clients_really_moved(tmp_path):
    path = write(tmp_path, BROKEN)
    reduced, full = analyze(path), analyze(path, Options(reduce=False))
    assert reduced.reduction and reduced.stats.states < full.stats.states
    (r,), (f,) = reduced.verdicts, full.verdicts
    assert r.status == f.status == FAILS
    assert len(r.trace.steps) == len(f.trace.steps)  # still a shortest counterexample
    # the trace is a real run: two different clients request, are granted and enter
    entered = [s.actor for s in r.trace.steps if s.text.startswith("on grant()")]
    assert len(set(entered)) == 2 and all(a.startswith("Client[") for a in entered)


@pytest.mark.parametrize("change, reason", [
    ("check two: always count(c in Client where c.waiting) <= 3",
     None),
    ("check first: always not Client[0].critical", "used as a number"),
    ("process Extra[k in 0..1] { state s }", "more than one process family"),
])
def test_symmetry_is_detected_only_where_members_are_interchangeable(tmp_path, change, reason):
    system, _props = load_model(write(tmp_path, BROKEN + "\n" + change + "\n"))
    if reason is None:
        assert system.symmetry is not None and system.symmetry.family == "Client"
    else:
        assert system.symmetry is None and reason in system.asymmetry


@pytest.mark.parametrize("model, reason", [("mutex/lamport.wolf", "min of process numbers"),
                                           ("mutex/ricart_agrawala.wolf", "loop over process numbers")])
def test_ordered_process_numbers_rule_symmetry_out(model, reason):
    # Lamport's queue is ordered by (timestamp, process number); Ricart-Agrawala answers in number order
    system, _props = load_model(str(ROOT / "models" / model))
    assert system.symmetry is None and reason in system.asymmetry


def test_loops_over_process_numbers_and_outside_senders_rule_symmetry_out(tmp_path):
    loop = BROKEN.replace("var queue: seq[pid] = []", "var queue: seq[pid] = []\n      var asked: set[pid] = {}")
    loop = loop.replace("serving -> serving as grant", "serving -> serving as poll when false { "
                        "for c in asked { skip } }\n      serving -> serving as grant")
    system, _ = load_model(write(tmp_path, loop))
    assert system.symmetry is None and "loop" in system.asymmetry
    assert load_model(write(tmp_path, loop.replace("for c in asked", "for c in queue")))[0].symmetry is not None
    sender = BROKEN.replace("on grant() in waiting", "on grant() from j in waiting")
    system, _ = load_model(write(tmp_path, sender))
    assert system.symmetry is None and "from" in system.asymmetry


def test_the_failing_member_named_is_the_one_in_the_trace(tmp_path):
    # `always Client[i].idle or ...` fails for some i: the reason names a member, and it must be the member that
    # the trace (a real run, not a canonical one) shows failing
    path = write(tmp_path, BROKEN.replace("check mutex: always count(c in Client where c.critical) <= 1",
                                          "check calm: always not Client[i].critical"))
    reduced = analyze(path)
    assert "symmetry" in reduced.reduction
    (v,) = reduced.verdicts
    member = v.reason.split("(for i=")[1].rstrip(")")
    last_critical = [s.actor for s in v.trace.steps if s.text.startswith("on grant()")][-1]
    assert last_critical == f"Client[{member}]"
