"""The engine's 'holds' is only as good as its store: fingerprints, exact mode, replay checks, determinism.

* fingerprints come from canonical encodings, never from Python's hash() (`hash(-1) == hash(-2)`);
* `--exact` (whole states) and fingerprints agree on random process models with negative integers, sets, maps
  and messages (hypothesis);
* a violation whose replay does not show it is a bug report, never a verdict;
* the same input gives the same output bytes under different hash seeds.
"""
from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.analysis import FAILS, HOLDS, CounterexampleMismatch, Options, analyze
from checker.engine.fingerprint import encode, fingerprint
from checker.engine.invariant import Invariant
from checker.process.values import FrozenMap, canonical
from checker.timed.constraints import ConstraintSet, le, var
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent

NEG = """
model Neg
network fifo
process C[i in 0..0] {
  var x = 0
  state s
  s -> s when x > -5 { x -= 1 }
}
check floor: always C[0].x > -3
"""


def write(tmp_path: Path, text: str, name: str = "m.wolf") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_negative_counter_reaches_minus_three(tmp_path):
    # Python's hash(-1) == hash(-2) once merged two of these states and the property "held"
    a = analyze(write(tmp_path, NEG))
    v = a.verdicts[0]
    assert v.status == FAILS
    assert [c.new for s in v.trace.steps for c in s.changes] == ["-1", "-2", "-3"]
    full = analyze(write(tmp_path, NEG.replace("> -3", "> -9")))
    assert full.verdicts[0].status == HOLDS and full.stats.states == 6


@pytest.mark.parametrize("a, b", [(-1, -2), (1, True), (0, False), ("1", 1), ((1,), 1), ((), frozenset()),
                                  (frozenset({1}), frozenset({True})), ((1, (2, 3)), ((1, 2), 3)),
                                  (2 ** 64, 0), (-(2 ** 64), 2 ** 64), ("", None), (b"a", "a")])
def test_canonical_encoding_separates_values_python_confuses(a, b):
    assert encode(a) != encode(b)
    assert fingerprint(a) != fingerprint(b)


def _values(leaf):
    """Nested runtime values of process models: ints, bools, strings, tuples, sets and maps."""
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, inner), st.frozensets(inner, max_size=3),
        st.dictionaries(st.integers(-3, 3), inner, max_size=3).map(lambda d: FrozenMap(d.items()))),
        max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_values(st.integers(-3, 3)), _values(st.integers(-3, 3)))
def test_encoding_is_injective_on_nested_values(a, b):
    assert (encode(a) == encode(b)) == (a == b), (a, b)


@settings(max_examples=300, deadline=None)
@given(_values(st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["", "a", "b"]))),
       _values(st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["", "a", "b"]))))
def test_process_values_marshal_injectively(a, b):
    # the process runtime digests values as marshal(canonical(value)): equal exactly for equal values
    # (1 == True in Python, but not as runtime values: their types differ)
    same = marshal.dumps(canonical(a), 2) == marshal.dumps(canonical(b), 2)
    assert same == (encode(a) == encode(b)), (a, b)


def test_maps_with_equal_keys_and_different_values_differ():
    # a FrozenMap iterates over its keys, like a dict: the encoding must see the values too
    assert encode(FrozenMap([(1, 2), (2, 2)])) != encode(FrozenMap([(1, 2), (2, 3)]))


def test_unequal_zones_have_unequal_fingerprints():
    z1 = ConstraintSet([le(var("x") - var("y"), 1)])
    z2 = ConstraintSet([le(var("x") - var("y"), 2)])
    assert z1 != z2 and fingerprint(z1) != fingerprint(z2)
    assert fingerprint(z1) == fingerprint(ConstraintSet([le(var("x") - var("y"), 1)]))


def test_fingerprints_do_not_depend_on_the_hash_seed():
    code = ("from checker.engine.fingerprint import fingerprint as f; from checker.security.terms import Atom, App;"
            "print(f((frozenset({'a', 'b', 'c'}), App('senc', (Atom('Na', 'nonce'), Atom('k', 'key'))), -1)))")
    outs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def _stable_json(path: str, seed: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "checker.cli", "check", "--format", "json", path], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
    data = json.loads(proc.stdout)
    data["stats"].pop("seconds")
    data["stats"].pop("states_per_second", None)
    data.pop("solver", None)  # Z3 timings
    return data


@pytest.mark.parametrize("model", ["models/mutex/ricart_agrawala_no_priority.wolf", "models/security/nspk.wolf"])
def test_same_output_under_two_hash_seeds(model):
    assert _stable_json(model, "0") == _stable_json(model, "12345")


def test_a_violation_that_does_not_replay_is_a_bug_not_a_verdict(tmp_path, monkeypatch):
    path = write(tmp_path, NEG)
    # An engine bug simulated: the confirmation on the replayed run disagrees with what the search saw.
    monkeypatch.setattr(Invariant, "confirm", lambda self, system, states, judged: "it holds after all")
    with pytest.raises(CounterexampleMismatch):
        analyze(path)


def test_runtime_error_comes_with_the_shortest_run_to_it(tmp_path):
    path = write(tmp_path, """
        process C[i in 0..1] {
          var m: map[int, int] = {0: 1}
          var k = 0
          state s
          s -> s when k < 3 { k += 1 }
          s -> s when k == 2 { m[k] = m[k + 5] }
        }
        check ok: always C[0].k < 10
    """)
    from dsl.diagnostics import ModelError
    with pytest.raises(ModelError) as err:
        analyze(path)
    assert err.value.diagnostics[0].code == "E405"
    trace = err.value.trace
    assert [s.text for s in trace.steps] == ["s -> s", "s -> s"]  # k = 2 in C[0] takes two steps
    assert all(s.actor == "C[0]" for s in trace.steps)


@pytest.mark.parametrize("model, defines", [("mutex/lamport.wolf", {"N": 2}), ("mutex/central.wolf", {}),
                                            ("mutex/ricart_agrawala.wolf", {"N": 2}),
                                            ("mutex/lamport_unordered.wolf", {"N": 2}),
                                            ("mutex/central_attacked.wolf", {})])
def test_library_models_have_the_same_state_space_in_both_modes(model, defines):
    counts = [(a.stats.states, a.stats.transitions) for a in
              (analyze(str(ROOT / "models" / model), Options(defines=defines, exact=exact)) for exact in (False, True))]
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------------------------------------------
# Random process models: fingerprints and exact states must agree on every count and verdict.

STATEMENTS = [
    "x -= 1", "x += {k}", "x = -x", "x = x * 2 % 7 - 3", "s += {{x}}", "s -= {{x}}", "s = {{}}",
    "m[x % 3] = x", "m[{k}] = -{k}", "if x in s {{ x += 1 }} else {{ x -= 2 }}",
    "if (x % 3) in m {{ x = m[x % 3] }}", "send v(x) to P[(i + 1) % N]", "send w(s) to P[(i + {k}) % N]",
    "broadcast v(-x)", "for e in s {{ x += e }}", "x = m[{k} % 3]",
]
HANDLERS = [
    "on v(a) {{ x = a }}", "on v(a) when a < 0 {{ s += {{a}} }}", "on w(t) {{ s = t }}",
    "on w(t) in b {{ x = len(t) - {k} }}", "on v(a) from j {{ m[j] = a }}",
]


@st.composite
def random_model(draw) -> str:
    n = draw(st.integers(1, 2))
    network = draw(st.sampled_from(["fifo", "unordered", "fifo lossy"]))
    lines = [f"const N = {n}", f"network {network}", "message v(a: int)", "message w(t: set[int])",
             "process P[i in 0..N-1] {", f"  var x = {draw(st.integers(-3, 3))}", "  var s: set[int] = {}",
             "  var m: map[int, int] = {}", "  var steps = 0", "  state a, b", "  final a"]
    for _ in range(draw(st.integers(1, 3))):
        src, dst = draw(st.sampled_from(["a", "b"])), draw(st.sampled_from(["a", "b"]))
        body = "; ".join(s.format(k=draw(st.integers(-2, 2))) for s in
                         draw(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=3)))
        lines.append(f"  {src} -> {dst} when steps < 3 and x > -6 and x < 6 {{ steps += 1; {body} }}")
    for h in draw(st.lists(st.sampled_from(HANDLERS), max_size=2, unique=True)):
        lines.append("  " + h.format(k=draw(st.integers(0, 2))))
    lines.append("}")
    if draw(st.booleans()):
        lines.append("crash P")
    bound = draw(st.integers(-4, 2))
    prop = draw(st.sampled_from([f"P[0].x > {bound} or len(P[0].s) > 1", "not (P[0].b and P[N-1].b)",
                                 f"P[N-1].steps < 3 or P[N-1].x != {bound}", "count(p in P where p.b) < N"]))
    lines += [f"check floor: always {prop}", "check deadlock_free"]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_model())
def test_fingerprints_and_exact_states_agree_on_random_models(tmp_path, text):
    path = write(tmp_path, text)
    load_model(path)  # the generator writes only well-typed models
    runs = []
    for exact in (False, True):
        try:
            a = analyze(path, Options(exact=exact))
        except Exception as err:
            from dsl.diagnostics import ModelError
            assert isinstance(err, ModelError), err  # a run-time error (E405) must happen in both modes
            runs.append(("E405", str(err)))
            continue
        # --exact searches state by state, fingerprints a batch at a time: a search that stopped early because
        # every property had failed stops after a different number of stored states (tests/test_batch.py)
        counts = ("settled",) if a.settled else (a.stats.states, a.stats.transitions)
        runs.append((*counts, [(v.name, v.status, v.reason) for v in a.verdicts],
                     [len(v.trace.steps) for v in a.verdicts if v.trace is not None]))
    assert runs[0] == runs[1], text
