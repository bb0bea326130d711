"""Tests of checker.timed.constraints: DBM fast path and Z3 path against brute force on bounded boxes.

Every generated set includes a box (each variable in [LO, HI]) so that brute-force enumeration over the box is
an exact decision procedure, not a semi-decision.
"""
from __future__ import annotations

import math
import pickle
from itertools import product

import pytest
from hypothesis import given, settings, strategies as st

from checker.timed.constraints import (
    Constraint, ConstraintSet, Lin, Solver, SolverError, Verdict, const, eq, explain, ge, gt, le, lt, ne, var,
)

VARS = ["a", "b", "c", "d"]
LO, HI = 0, 6
SETTINGS = settings(max_examples=150, deadline=None)


def box(vs: list[str], lo: int = LO, hi: int = HI) -> list[Constraint]:
    return [ge(v, lo) for v in vs] + [le(v, hi) for v in vs]


def solutions(vs: list[str], cons, lo: int = LO, hi: int = HI) -> set[tuple[int, ...]]:
    """All integer points of [lo, hi]^len(vs) satisfying every constraint (exact when cons contains the box)."""
    out = set()
    for p in product(range(lo, hi + 1), repeat=len(vs)):
        a = dict(zip(vs, p))
        if all(c.holds(a) for c in cons):
            out.add(p)
    return out


RELS = [le, lt, ge, gt, eq]


@st.composite
def diff_constraint(draw, vs: list[str]) -> Constraint:
    rel = draw(st.sampled_from(RELS))
    c = draw(st.integers(-6, 6))
    x = draw(st.sampled_from(vs))
    if draw(st.booleans()):
        return rel(var(x), c)
    y = draw(st.sampled_from([v for v in vs if v != x]))
    k = draw(st.sampled_from([1, 1, 1, 2, 3]))  # scaled forms exercise gcd normalisation
    return rel(k * var(x) - k * var(y), k * c + draw(st.integers(0, k - 1)))


@st.composite
def diff_sets(draw, min_vars: int = 2, max_vars: int = 4) -> tuple[list[str], list[Constraint]]:
    vs = VARS[: draw(st.integers(min_vars, max_vars))]
    cons = draw(st.lists(diff_constraint(vs), max_size=8)) + box(vs)
    return vs, draw(st.permutations(cons))


@st.composite
def general_constraint(draw, vs: list[str]) -> Constraint:
    coeffs = draw(st.lists(st.integers(-3, 3), min_size=len(vs), max_size=len(vs)))
    lhs = Lin(tuple(zip(vs, coeffs)))
    return draw(st.sampled_from(RELS))(lhs, draw(st.integers(-8, 8)))


@st.composite
def general_sets(draw) -> tuple[list[str], list[Constraint]]:
    vs = VARS[: draw(st.integers(2, 3))]
    cons = draw(st.lists(st.one_of(general_constraint(vs), diff_constraint(vs)), min_size=1, max_size=5))
    return vs, cons + box(vs, 0, 5)


# ------------------------------------------------------------------------------------------ expressions

def test_lin_normalises_and_hashes():
    x, y = var("x"), var("y")
    assert x + y - x == y
    assert 2 * (x - y) + 3 == Lin((("y", -2), ("x", 2)), 3)
    assert hash(x + 1 - 1) == hash(x)
    assert (x - x + 0).terms == () and 5 - x == -x + const(5)
    assert str(2 * x - y + 3) == "2*x - y + 3"


def test_constraint_normal_forms():
    x, y = var("x"), var("y")
    assert le(2 * x, 5) == le(x, 2)
    assert le(2 * x - 2 * y, 5) == le(x - y, 2)
    assert lt(x, y) == le(x - y, -1)
    assert ge(x, 3) == le(-x, -3) and gt(x, 3) == ge(x, 4)
    assert eq(x, y) == eq(y, x) and eq(2 * x, 2 * y + 4) == eq(x - y, 2)
    assert eq(2 * x, 3).is_false and le(const(1), 2).is_true and le(const(3), 2).is_false
    assert le(x + y, 3).is_difference is False and le(x - y, 3).is_difference
    with pytest.raises(ValueError):
        Constraint(x, "<")


def test_negation_and_ne_are_disjunctions():
    x, y = var("x"), var("y")
    assert le(x, 3).negate() == (gt(x, 3),)
    assert set(eq(x, y).negate()) == set(ne(x, y)) == {lt(x, y), gt(x, y)}


def test_render_and_explain():
    now_b, t1 = var("now_B"), var("T1")
    c = le(now_b - t1, 5)
    assert str(c) == "now_B - T1 <= 5"
    assert str(gt(now_b, t1)) == "now_B - T1 >= 1"
    assert explain(c, {"now_B": 12, "T1": 9}) == "12 - 9 <= 5"
    assert explain(c, {"now_B": 12, "T1": 2}) == "12 - 2 > 5"  # always a true statement
    assert explain(c, {"now_B": 3, "T1": -1}) == "3 - (-1) <= 5"
    assert explain(c, {"now_B": 12, "T1": 9}, {"T1": "T_A"}, symbolic=True) == "now_B - T_A <= 5 (12 - 9 <= 5)"
    assert explain(eq(2 * var("x"), var("y")), {"x": 2, "y": 4}) == "2*2 - 4 == 0"


# ------------------------------------------------------------------------------------------ sets

def test_unsat_pruning():
    t1, t2 = var("t1"), var("t2")
    cs = ConstraintSet([le(t2 - t1, 5), ge(t2 - t1, 6)])
    assert cs.is_false and cs == ConstraintSet.false()
    s = Solver()
    assert s.check(cs) is Verdict.UNSAT and s.model(cs) is None
    assert s.stats.fast_path == 1 and s.stats.z3_calls == 0


def test_canonical_closure_examples():
    x, y, z = var("x"), var("y"), var("z")
    base = ConstraintSet([le(x - y, 2), le(y - z, 3)])
    assert base == base.add(le(x - z, 5)) == base.add(le(x - z, 7))
    assert base != base.add(le(x - z, 4))
    assert ConstraintSet([le(x, 3), ge(x, 3)]) == ConstraintSet([eq(x, 3)])
    assert str(ConstraintSet([le(x, 3), ge(x, 3)])) == "{x == 3}"
    assert pickle.loads(pickle.dumps(base)) == base
    with pytest.raises(AttributeError):
        base._false = True  # type: ignore[misc]


def test_project_examples():
    x, y, z = var("x"), var("y"), var("z")
    assert ConstraintSet([le(x - y, 2), le(y - z, 3)]).project({"x", "z"}) == ConstraintSet([le(x - z, 5)])
    assert ConstraintSet([le(x + y, 3), ge(y, 1)]).project({"x"}) == ConstraintSet([le(x, 2)])
    assert ConstraintSet([eq(y, x + 1), le(y + z, 10)]).project({"x", "z"}) == ConstraintSet([le(x + z, 9)])
    kept = ConstraintSet([eq(2 * y, x)]).project({"x"})  # x even: not linear, so y is kept (exact)
    assert kept.variables() == {"x", "y"}


@SETTINGS
@given(diff_sets())
def test_dbm_decides_like_brute_force(case):
    vs, cons = case
    cs = ConstraintSet(cons)
    sols = solutions(vs, cons)
    s = Solver()
    assert (s.check(cs) is Verdict.SAT) == bool(sols)
    assert cs.is_false == (not sols)
    m = s.model(cs, vs)
    if sols:
        assert m is not None and cs.evaluate(m) and all(c.holds(m) for c in cons)
        assert tuple(m[v] for v in vs) in sols
    else:
        assert m is None
    assert s.stats.z3_calls == 0
    assert solutions(vs, list(cs)) == sols  # the canonical form keeps exactly the solutions


@SETTINGS
@given(diff_sets())
def test_z3_path_agrees_with_dbm(case):
    vs, cons = case
    padding = le(var(vs[0]) + var(vs[1]), 100)  # implied by the box, but not a difference constraint
    s = Solver()
    assert s.check(ConstraintSet(cons + [padding])) is s.check(ConstraintSet(cons))


@SETTINGS
@given(diff_sets(), st.randoms(use_true_random=False))
def test_canonical_is_order_independent_and_absorbs_implied(case, rnd):
    vs, cons = case
    a = ConstraintSet(cons)
    shuffled = cons[:]
    rnd.shuffle(shuffled)
    b = ConstraintSet([]).add(*shuffled[: len(shuffled) // 2]).add(*shuffled[len(shuffled) // 2:])
    assert a == b and hash(a) == hash(b) and a.canonical() == b.canonical()
    sols = solutions(vs, cons)
    if sols:
        x, y = rnd.sample(vs, 2)
        i, j = vs.index(x), vs.index(y)
        implied = le(var(x) - var(y), max(p[i] - p[j] for p in sols) + rnd.randint(0, 2))
        assert a.add(implied) == a


@SETTINGS
@given(diff_sets(), diff_sets())
def test_canonical_equality_is_solution_equality(c1, c2):
    """Same variables and same solution set <=> equal canonical forms (exact for the difference fragment)."""
    vs = VARS
    s1, s2 = solutions(vs, c1[1] + box(vs)), solutions(vs, c2[1] + box(vs))
    a, b = ConstraintSet(c1[1] + box(vs)), ConstraintSet(c2[1] + box(vs))
    assert (a == b) == (s1 == s2)
    if s1:  # rebuilding from the tight bounds of the solutions gives the same set
        tight = [le(var(x) - var(y), max(p[i] - p[j] for p in s1))
                 for i, x in enumerate(vs) for j, y in enumerate(vs) if i != j]
        tight += [le(var(x), max(p[i] for p in s1)) for i, x in enumerate(vs)]
        tight += [ge(var(x), min(p[i] for p in s1)) for i, x in enumerate(vs)]
        assert ConstraintSet(tight) == a


def check_projection(vs: list[str], cons: list[Constraint], keep: list[str], lo: int, hi: int) -> ConstraintSet:
    cs = ConstraintSet(cons)
    proj = cs.project(keep)
    expected = {tuple(p[vs.index(k)] for k in keep) for p in solutions(vs, cons, lo, hi)}
    wide = sorted(proj.variables() | set(keep))
    got = set() if proj.is_false else {
        tuple(p[wide.index(k)] for k in keep) for p in solutions(wide, list(proj), lo - 2, hi + 2)}
    assert got == expected
    return proj


@SETTINGS
@given(diff_sets(), st.data())
def test_project_keeps_exactly_the_solutions(case, data):
    vs, cons = case
    keep = sorted(data.draw(st.sets(st.sampled_from(vs), max_size=len(vs) - 1)))
    proj = check_projection(vs, cons, keep, LO, HI)
    assert proj.variables() <= set(keep)  # the difference fragment always eliminates


@SETTINGS
@given(general_sets())
def test_general_constraints_via_z3(case):
    vs, cons = case
    cs = ConstraintSet(cons)
    sols = solutions(vs, cons, 0, 5)
    s = Solver(timeout_ms=10_000)
    verdict = s.check(cs)
    assert verdict is (Verdict.SAT if sols else Verdict.UNSAT)
    m = s.model(cs)
    assert (m is not None) == bool(sols)
    if m is not None:
        assert all(c.holds(m) for c in cons)


@SETTINGS
@given(general_sets(), st.data())
def test_project_general_is_exact(case, data):
    vs, cons = case
    keep = sorted(data.draw(st.sets(st.sampled_from(vs), max_size=len(vs) - 1)))
    check_projection(vs, cons, keep, 0, 5)


# ------------------------------------------------------------------------------------------ solver

def test_general_linear_goes_to_z3_and_model_verifies():
    x, y = var("x"), var("y")
    cs = ConstraintSet([le(x + y, 3), ge(x - 2 * y, 1)])
    assert not cs.is_difference
    s = Solver()
    assert s.check(cs) is Verdict.SAT
    assert s.stats.z3_calls == 1 and s.stats.fast_path == 0 and s.stats.z3_seconds > 0
    m = s.model(cs)
    assert m is not None and m["x"] + m["y"] <= 3 and m["x"] - 2 * m["y"] >= 1
    assert abs(m["x"]) + abs(m["y"]) == 1  # the smallest witness: x=1, y=0


def test_small_witnesses():
    t1, t2 = var("t1"), var("t2")
    s = Solver()
    assert s.model(ConstraintSet([ge(t2 - t1, 3), ge(t1, 0)])) == {"t1": 0, "t2": 3}
    assert s.model(ConstraintSet([le(t1, -4), ge(t2 - t1, 1)]), ["u"]) == {"t1": -4, "t2": 0, "u": 0}
    x, y = var("x"), var("y")
    m = s.model(ConstraintSet([ge(x + y, 50), ge(x, 0), ge(y, 0), le(x - 3 * y, 0)]))
    assert m is not None and m["x"] + m["y"] == 50


def test_cache_and_stats():
    x, y = var("x"), var("y")
    s = Solver()
    a = ConstraintSet([le(x + y, 3), ge(x, 0)])
    b = ConstraintSet([ge(x, 0)]).add(le(2 * x + 2 * y, 7))  # built differently, same canonical form
    assert a == b
    assert s.check(a) is Verdict.SAT
    assert s.stats.cache_hits == 0
    assert s.check(b) is Verdict.SAT
    assert s.stats.cache_hits == 1 and s.stats.checks == 2 and s.stats.z3_calls == 1
    s.model(a)
    s.model(b)
    assert s.stats.models == 2 and s.stats.calls >= 4


def test_timeout_is_unknown_and_yields_no_model(monkeypatch):
    import z3
    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Optimize, "check", lambda self, *a: z3.unknown)
    s = Solver(timeout_ms=1)
    cs = ConstraintSet([le(var("x") + var("y"), 3)])
    assert s.check(cs) is Verdict.UNKNOWN and s.stats.unknown == 1
    assert s.model(cs) is None


def test_a_witness_failing_the_python_check_raises(monkeypatch):
    monkeypatch.setattr(ConstraintSet, "evaluate", lambda self, a: False)
    s = Solver()
    with pytest.raises(SolverError):
        s.model(ConstraintSet([le(var("x") + var("y"), 3)]))
    with pytest.raises(SolverError):
        s.model(ConstraintSet([le(var("x"), 3)]))


def test_z3_is_loaded_only_for_a_question_the_dbm_cannot_answer():
    import subprocess
    import sys
    probe = ("import sys; from checker.timed.constraints import ConstraintSet, Solver, le, var; s = Solver(); "
             "s.check(ConstraintSet([le(var('x') - var('y'), 3)])); print('z3' in sys.modules, end=' '); "
             "s.check(ConstraintSet([le(var('x') + var('y'), 3)])); print('z3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_solvers_are_independent():
    cs = ConstraintSet([le(var("x") + var("y"), 3)])
    s1, s2 = Solver(), Solver()
    s1.check(cs)
    assert s2.stats.checks == 0 and s2.check(cs) is Verdict.SAT and s2.stats.cache_hits == 0


def test_bound_reads_the_closed_matrix():
    cs = ConstraintSet([le(var("x") - var("y"), 3), le(var("y") - var("z"), -1), ge("x", 2)])
    assert cs.bound("x", "z") == 2  # implied through y: closure, not the written constraints
    assert cs.bound("", "x") == -2 and cs.bound("x", "") == math.inf
    assert cs.bound("x", "unknown") == math.inf and cs.bound("unknown", "unknown") == 0
    assert ConstraintSet.false().bound("x", "y") == -math.inf


@SETTINGS
@given(diff_sets(), st.data())
def test_includes_is_inclusion_of_the_integer_solutions(first, data):
    vs, cons = first
    other = data.draw(st.lists(diff_constraint(vs), max_size=8)) + box(vs)
    a, b = ConstraintSet(cons), ConstraintSet(other)
    assert a.includes(b) == (solutions(vs, other) <= solutions(vs, cons))
    assert b.includes(a) == (solutions(vs, cons) <= solutions(vs, other))
    assert a.includes(a.add(*other)) and a.includes(ConstraintSet.false())


def test_includes_leaves_free_what_it_does_not_mention_and_compares_general_constraints_as_written():
    x, y = var("x"), var("y")
    assert ConstraintSet([le(x, 3)]).includes(ConstraintSet([le(x, 2), le(y - x, 1)]))
    assert not ConstraintSet([le(x, 3), le(y, 9)]).includes(ConstraintSet([le(x, 2)]))  # y is free there
    assert ConstraintSet().includes(ConstraintSet([eq(x, 1)]))
    assert not ConstraintSet.false().includes(ConstraintSet())
    g = le(x + y, 4)
    assert ConstraintSet([g]).includes(ConstraintSet([g, le(x, 0)]))
    assert not ConstraintSet([le(x + y, 5)]).includes(ConstraintSet([g]))  # true, but only Z3 could tell
