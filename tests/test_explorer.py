"""The explorer on small systems whose state spaces are known, bounds, liveness lassos and message counts."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from checker.analysis import FAILS, HOLDS, UNKNOWN, Options, analyze
from checker.cli import main
from checker.engine.budget import Bounds
from checker.engine.explorer import Explorer
from checker.engine.run import replay
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent


def model(tmp_path: Path, text: str, name: str = "m.wolf") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


COUNTERS = """
    const N = 2
    const MAX = 3
    process C[i in 0..N-1] {
      var x = 0
      state run
      final run
      run -> run when x < MAX { x += 1 }
    }
    check small: always count(c in C where c.x == MAX) <= N
    check deadlock_free
"""


def test_independent_counters_have_the_product_state_space(tmp_path):
    # two counters 0..3 each: 4 * 4 states; every state but the last has one or two successors
    a = analyze(model(tmp_path, COUNTERS), Options(reduce=False))
    assert a.stats.states == 16
    assert a.stats.transitions == 2 * 4 * 3  # each counter steps 3 times in each of the 4 values of the other
    assert a.stats.depth == 6
    assert [v.status for v in a.verdicts] == [HOLDS, HOLDS]
    assert a.exit_code == 0


def test_state_count_scales_with_a_constant(tmp_path):
    a = analyze(model(tmp_path, COUNTERS), Options(defines={"N": 3, "MAX": 2}, reduce=False))
    assert a.stats.states == 27
    # the counters are interchangeable: up to symmetry, a state is how many counters hold each value
    up_to_symmetry = analyze(model(tmp_path, COUNTERS), Options(defines={"N": 3, "MAX": 2}))
    assert up_to_symmetry.stats.states == 10 and "symmetry" in up_to_symmetry.reduction


def test_invariant_counterexample_is_shortest_and_replays(tmp_path):
    path = model(tmp_path, COUNTERS.replace("<= N", "< N"))
    a = analyze(path)
    v = a.verdicts[0]
    assert v.status == FAILS
    assert len(v.trace.steps) == 6  # both counters must reach 3: no shorter run
    assert all(step.text == "run -> run" for step in v.trace.steps)
    # the reported path replays to a state that violates the property
    system, props = load_model(path)
    found = Explorer(system, props[:1]).run().found["small"]
    last_state = replay(system, found.path)[-1][0]
    assert props[0].violated(last_state) is not None


def test_deadlock_is_found_and_final_states_are_not_deadlocks(tmp_path):
    text = """
        message ping()
        process A { state s, t
          final t
          s -> t { send ping() to B } }
        process B { state wait, done
          on ping() in done { skip } }
        check deadlock_free
    """
    a = analyze(model(tmp_path, text))
    assert a.verdicts[0].status == FAILS
    assert [s.text for s in a.verdicts[0].trace.steps] == ["s -> t"]
    a2 = analyze(model(tmp_path, text.replace("state wait, done", "state wait, done\n final wait")))
    assert a2.verdicts[0].status == HOLDS


RING = """
    const N = 3
    message token()
    process P[i in 0..N-1] {
      var has = i == 0
      state idle, critical
      final idle
      idle -> critical when has
      critical -> idle { has = false; send token() to P[(i + 1) % N] }
      on token() { has = true }
    }
    check mutex: always count(p in P where p.critical) <= 1
    check served: always (P[i].idle -> eventually P[i].critical)
"""


def test_token_ring_is_live_under_weak_fairness(tmp_path):
    a = analyze(model(tmp_path, RING))
    assert {v.name: v.status for v in a.verdicts} == {"mutex": HOLDS, "served": HOLDS}
    assert a.stats.states == 9  # per process k: holds the token idle, is critical with it, or it is in transit to k


def test_starvation_is_a_lasso_with_a_fair_cycle(tmp_path):
    # P[1] never gets the token: P[0] keeps it and loops; the cycle is fair because P[1] is never enabled
    text = RING.replace("send token() to P[(i + 1) % N]", "send token() to P[i]").replace("const N = 3",
                                                                                          "const N = 2")
    a = analyze(model(tmp_path, text))
    served = next(v for v in a.verdicts if v.name == "served")
    assert served.status == FAILS
    trace = served.trace
    assert trace.loop_start is not None
    cycle = trace.steps[trace.loop_start - 1:]
    assert cycle and all(step.actor == "P[0]" for step in cycle)
    assert "i=1" in served.reason


def test_unfair_cycles_do_not_count(tmp_path):
    # B is always enabled but never forced: weak fairness makes it step, so A's loop alone is no counterexample
    text = """
        process A { state s
          final s
          s -> s }
        process B { state wait, done
          final done
          wait -> done }
        check finishes: eventually B.done
    """
    a = analyze(model(tmp_path, text))
    assert a.verdicts[0].status == HOLDS


def test_crash_is_not_fair_and_breaks_liveness(tmp_path):
    text = """
        process A { state s, t
          final t
          s -> t }
        crash A
        check finishes: eventually A.t
    """
    a = analyze(model(tmp_path, text))
    assert a.verdicts[0].status == FAILS
    assert a.verdicts[0].trace.steps[-1].kind == "crash"


def test_messages_per_entry_is_measured_over_complete_runs(tmp_path):
    text = """
        const N = 3
        message hello(j: pid)
        process P[i in 0..N-1] {
          var got = 0
          state start, done
          final done
          start -> done { broadcast hello(i) }
          on hello(j) { got += 1 }
        }
        check cost: messages per P.done == N - 1
        check cheap: messages per P.done < N - 1
    """
    a = analyze(model(tmp_path, text))
    by = {v.name: v for v in a.verdicts}
    assert by["cost"].status == HOLDS and by["cost"].value == "2"
    assert by["cheap"].status == FAILS and by["cheap"].trace is not None


def test_cyclic_runs_are_not_measurable(tmp_path):
    text = RING + "check cost: messages per P.critical == 1\n"
    a = analyze(model(tmp_path, text))
    cost = next(v for v in a.verdicts if v.name == "cost")
    assert cost.status == UNKNOWN and "cycles" in cost.reason


def test_state_bound_gives_unknown_and_exit_3(tmp_path, capsys):
    path = model(tmp_path, COUNTERS)
    a = analyze(path, Options(bounds=Bounds(max_states=5)))
    assert not a.complete and a.exit_code == 3
    assert all(v.status == UNKNOWN for v in a.verdicts)
    assert main(["check", path, "--max-states", "5", "--quiet"]) == 3
    out = capsys.readouterr().out
    assert "state bound 5 reached" in out and "unknown" in out


def test_depth_bound_still_reports_violations_within_it(tmp_path):
    path = model(tmp_path, COUNTERS.replace("<= N", "< N"))
    assert analyze(path, Options(bounds=Bounds(max_depth=3))).verdicts[0].status == UNKNOWN
    a = analyze(path, Options(bounds=Bounds(max_depth=6)))
    assert a.verdicts[0].status == FAILS


def test_json_output_follows_the_schema(tmp_path, capsys):
    path = model(tmp_path, COUNTERS.replace("<= N", "< N"))
    assert main(["check", path, "--format", "json", "--no-reduction"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 2 and data["exit_code"] == 1 and data["stats"]["states"] == 16
    small = data["properties"][0]
    assert small["verdict"] == "fails" and len(small["trace"]["steps"]) == 6


def test_fifo_and_unordered_networks_differ(tmp_path):
    text = """
        network NET
        message m(k: int)
        process S { state a, b
          final b
          a -> b { send m(1) to R; send m(2) to R } }
        process R { var first = 0
          state w, x, y
          final y
          on m(k) in w { first = k; goto x }
          on m(k) in x { goto y } }
        check order: always R.first != 2
    """
    fifo = analyze(model(tmp_path, text.replace("NET", "fifo")))
    unordered = analyze(model(tmp_path, text.replace("NET", "unordered"), "u.wolf"))
    assert fifo.verdicts[0].status == HOLDS
    assert unordered.verdicts[0].status == FAILS


def test_lossy_network_loses_messages(tmp_path):
    text = """
        network NET
        message m()
        process S { state a, b
          final b
          a -> b { send m() to R } }
        process R { state w, got
          final got
          on m() { goto got } }
        check deadlock_free
    """
    assert analyze(model(tmp_path, text.replace("NET", "fifo"))).verdicts[0].status == HOLDS
    lossy = analyze(model(tmp_path, text.replace("NET", "lossy"), "l.wolf"))
    assert lossy.verdicts[0].status == FAILS
    assert lossy.verdicts[0].trace.steps[-1].kind == "lose"


ATTACKED = """
    message go()
    attacker CAPS
    attacker limit 1
    process S { state a, b
      final b
      a -> b { send go() to R } }
    process R { var got = 0
      state w
      final w
      on go() { got += 1 } }
    check once: always R.got <= 1
    check deadlock_free
"""


def test_replay_needs_eavesdropping_and_is_limited(tmp_path):
    replay = analyze(model(tmp_path, ATTACKED.replace("CAPS", "eavesdrop, replay")))
    once = replay.verdicts[0]
    assert once.status == FAILS
    assert [s.kind for s in once.trace.steps] == ["internal", "receive", "replay", "receive"]
    assert once.trace.messages[-1].capability == "replay"
    # the limit of one injection bounds the run: R.got never exceeds 2
    assert analyze(model(tmp_path, ATTACKED.replace("CAPS", "eavesdrop, replay").replace("<= 1", "<= 2"),
                         "l.wolf")).verdicts[0].status == HOLDS
    # without eavesdropping the attacker has nothing to replay
    assert analyze(model(tmp_path, ATTACKED.replace("CAPS", "replay"), "n.wolf")).verdicts[0].status == HOLDS


def test_drop_is_an_attacker_step_and_environment_steps_do_not_hide_deadlocks(tmp_path):
    text = """
        message go()
        attacker drop, eavesdrop, replay
        process S { state a, b
          final b
          a -> b { send go() to R } }
        process R { state w, done
          final done
          on go() { goto done } }
        check deadlock_free
    """
    a = analyze(model(tmp_path, text))
    deadlock = a.verdicts[0]
    assert deadlock.status == FAILS
    # after the drop only the attacker could act (replay the seen message): that is no progress
    assert [s.kind for s in deadlock.trace.steps] == ["internal", "drop"]
    assert deadlock.trace.messages[0].fate == "dropped"


def test_cli_overrides_the_declared_attacker(tmp_path, capsys):
    path = model(tmp_path, ATTACKED.replace("CAPS", "eavesdrop, replay"))
    assert main(["check", path, "--attacker", "none", "--quiet"]) == 0
    assert main(["check", path, "--attacker", "teleport", "--quiet"]) == 2
    assert "unknown attacker capability teleport" in capsys.readouterr().err


class _Line:
    """States 0..length in a line; every state from 2 on breaks a property, which `confirm` accepts only from
    `good`."""

    def __init__(self, length: int = 5):
        self.length = length

    def initial_states(self):
        return [0]

    def successors(self, s):
        return [("step", s + 1)] if s < self.length else []

    def fingerprint(self, s):
        return s

    def exact_key(self, s):
        return s

    def is_valid_end(self, s):
        return True


class _Broken:
    """Broken in every `period`-th state from 2 on; `confirm` accepts only from state `good`."""
    name = "broken"

    def __init__(self, good: int, period: int = 1):
        self.good = good
        self.period = period

    def hooks(self, system):
        from checker.engine.properties import Hooks
        return Hooks(on_state=lambda s: "" if s >= 2 and s % self.period == 0 else None,
                     confirm=lambda path: len(path.actions) >= self.good)


def test_rejected_violations_let_the_search_go_on_and_the_first_is_kept_when_none_is_confirmed():
    found = Explorer(_Line(), [_Broken(good=4)]).run().found["broken"]
    assert len(found.path.actions) == 4  # states 2 and 3 were rejected: the first confirmed one is the case
    result = Explorer(_Line(), [_Broken(good=99)]).run()
    assert result.complete and len(result.found["broken"].path.actions) == 2  # none confirmed: the first rejected


def test_rejections_may_outnumber_max_rejected_while_the_search_is_much_larger():
    from checker.engine.explorer import MAX_REJECTED, REJECTION_COST
    period = 2 * REJECTION_COST  # a violation every `period` states: rejections stay under states / cost
    good = 3 * MAX_REJECTED * period  # 3 * MAX_REJECTED - 1 rejections before the confirmed one
    found = Explorer(_Line(length=good + 10), [_Broken(good=good, period=period)]).run().found["broken"]
    assert len(found.path.actions) == good
    # a violation in every state: the rejections soon outnumber states / cost, and the first one is taken
    found = Explorer(_Line(length=good + 10), [_Broken(good=good)]).run().found["broken"]
    assert len(found.path.actions) == 2


def test_replay_with_a_cache_gives_the_same_states_and_computes_only_new_prefixes():
    from checker.engine.run import Path, replay

    class Counting(_Line):
        calls = 0

        def successors(self, s):
            Counting.calls += 1
            return super().successors(s)

    system, cache = Counting(length=8), {}
    assert replay(system, Path(0, (0,) * 6), cache) == replay(system, Path(0, (0,) * 6))
    before = Counting.calls
    states = replay(system, Path(0, (0,) * 7), cache)
    assert Counting.calls == before + 1  # the six steps before were cached
    assert [s for s, _a, _i in states] == list(range(8))


class _Tree:
    """A binary tree of depth `depth` (states are paths as tuples); `fault` raises a ModelFault on expansion."""

    def __init__(self, depth: int, fault: tuple | None = None):
        self.depth, self.fault = depth, fault
        self.expanded = 0

    def initial_states(self):
        return [()]

    def successors(self, s):
        from checker.engine.system import ModelFault
        self.expanded += 1
        if s == self.fault:
            raise ModelFault("division by zero")
        return [(b, s + (b,)) for b in (0, 1)] if len(s) < self.depth else []

    def fingerprint(self, s):
        return s


def test_a_depth_first_probe_meets_a_deep_state_after_few_expansions_and_honours_the_bounds():
    from checker.engine.probe import reaches
    from checker.engine.probe import Probe
    tree = _Tree(12)
    assert reaches(tree, lambda s: len(s) == 12, Bounds()).depth == 12
    assert tree.expanded == 12  # straight down the first branch: breadth-first would expand 4,095 states
    assert reaches(_Tree(12), lambda s: s == (1,) * 12, Bounds(max_states=100)) == Probe(None, 100, False)
    assert reaches(_Tree(12), lambda s: len(s) == 12, Bounds(max_depth=11)) == Probe(None, 4095, False)  # cut
    assert reaches(_Tree(12), lambda s: len(s) == 11, Bounds(max_depth=11)).depth == 11
    assert reaches(_Tree(3), lambda s: len(s) == 4, Bounds()) == Probe(None, 15, True)  # every state: a no
    assert reaches(_Tree(3, fault=(0, 0)), lambda s: len(s) == 3, Bounds()) == Probe(None, 5, False)  # a fault


def test_a_probe_begun_after_the_bound_struck_finds_nothing(monkeypatch):
    from checker.engine import probe
    from checker.engine.budget import BoundHit

    class Struck:
        def check(self):
            raise BoundHit("time bound 1 s reached")

    monkeypatch.setattr(probe, "active_budget", lambda: Struck())
    assert probe.reaches(_Tree(3), lambda s: True, Bounds()) == probe.Probe(None, 0, False)  # not even the first
