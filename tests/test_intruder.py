"""The lazy intruder: unification modulo the normal forms, the constraint solver, levels, canonical states."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from checker.security.intruder import Intruder, Store, Work, _clash, canonical_levels
from checker.security.secsys import Run, SecState, _canonical
from checker.security.terms import (Atom, Var, aenc, agent_sort, exp, h, k, mk_tuple, pk, senc, sign, sk,
                                    substitute)
from checker.security.unify import apply, unify
from dsl.frontend import load_model

A, B, E, S = (Atom(n, "agent") for n in ("alice", "bob", "eve", "server"))
Na, Nb, Ne = (Atom(n, "nonce") for n in ("Na#1", "Nb#1", "Ne"))
g = Atom("g", "text")
x, y = Atom("x#1", "nonce"), Atom("y#1", "nonce")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------------------
# unification


def test_tuples_unify_as_right_nested_pairs():
    X = Var("X")
    assert unify(mk_tuple(Na, X), mk_tuple(Na, Nb, A)) == [{"X": mk_tuple(Nb, A)}]
    assert unify(mk_tuple(X, A), mk_tuple(Na, Nb, A)) == []  # ((Na, Nb), A) is another message
    assert unify(mk_tuple(X, Var("Y")), mk_tuple(Na, Nb, A)) == [{"X": Na, "Y": mk_tuple(Nb, A)}]


def test_long_term_keys_unify_in_both_orders():
    X, Y = Var("X", "agent"), Var("Y", "agent")
    found = unify(k(X, Y), k(A, B))
    assert {frozenset(u.items()) for u in found} == {frozenset({"X": A, "Y": B}.items()),
                                                    frozenset({"X": B, "Y": A}.items())}


def test_a_variable_dh_base_absorbs_the_other_exponents():
    V = Var("V", "key")
    assert unify(exp(V, y), exp(g, x, y)) == [{"V": exp(g, x)}]
    assert {frozenset(u.items()) for u in unify(exp(V, Var("Z", "nonce")), exp(g, x, y))} == {
        frozenset({"V": exp(g, x), "Z": y}.items()), frozenset({"V": exp(g, y), "Z": x}.items())}


def test_sorts_and_the_occurs_check():
    N = Var("N", "nonce")
    assert unify(N, Atom("K", "key")) == []
    assert unify(N, A) == []
    assert unify(Var("X"), h(Var("X"))) == []
    assert unify(Var("Blob", "senc"), senc(Na, Atom("K", "key"))) == [{"Blob": senc(Na, Atom("K", "key"))}]
    assert unify(Var("Blob", "senc"), aenc(Na, pk(A))) == []


def test_agent_sorts_meet():
    some = Var("P", agent_sort(["alice", "bob"]))
    other = Var("Q", agent_sort(["bob", "eve"]))
    [u] = unify(some, other)
    assert apply(some, u) == apply(other, u) and apply(some, u).sort == "agent:bob"
    assert unify(some, E) == [] and unify(some, B) == [{"P": B}]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([Na, Nb, A, B, mk_tuple(Na, A), senc(Na, k(A, B)), h(Nb)]),
       st.sampled_from([Na, Nb, A, mk_tuple(Nb, B), aenc(Nb, pk(B)), sign(Na, sk(A))]))
def test_unifiers_make_both_sides_equal(t1, t2):
    X, Y = Var("X"), Var("Y")
    left, right = mk_tuple(X, t1), mk_tuple(t2, Y)
    for u in unify(left, right):
        assert substitute(left, u) == substitute(right, u)


def _terms() -> st.SearchStrategy:
    """Small terms with typed and untyped variables, flat tuples of every length, and each kind of operator."""
    leaves = st.sampled_from([Na, Nb, A, B, g, Var("X"), Var("Y"), Var("N", "nonce"), Var("P", "agent")])
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(lambda xs: mk_tuple(*xs)),
        st.tuples(inner, inner).map(lambda p: senc(*p)), st.tuples(inner, inner).map(lambda p: sign(p[0], sk(p[1]))),
        inner.map(h), st.tuples(inner, inner).map(lambda p: aenc(p[0], pk(p[1]))),
        st.tuples(inner, inner).map(lambda p: k(*p))), max_leaves=8)


@settings(max_examples=1500, deadline=None)
@given(_terms(), _terms())
def test_a_clash_means_no_unifier(s, t):
    """The solver's prefilter (`_clash`) only ever rejects pairs that `unify` would reject too: flat tuples of
    different lengths, whose shorter one ends in a variable that may take the other's tail, included."""
    if _clash(s, t):
        assert unify(s, t) == []


@settings(max_examples=1500, deadline=None)
@given(_terms(), _terms(), _terms())
def test_a_term_never_clashes_with_its_instances(s, x, y):
    """Pairs that do unify, tuples whose last variable takes several elements among them (random pairs rarely
    unify, so they cannot show a prefilter that rejects too much)."""
    t = apply(s, {"X": x, "Y": y})
    if unify(s, t):
        assert not _clash(s, t) and not _clash(t, s)


def test_tuples_clash_element_by_element_and_only_a_variable_takes_a_tail():
    X = Var("X")
    assert _clash(mk_tuple(Var("N", "nonce"), A, Na, h(Nb)), mk_tuple(Na, A, h(Nb)))  # h(Nb) cannot be (Na, h(Nb))
    assert _clash(mk_tuple(X, A, Na), mk_tuple(Nb, B, Na))  # A against B, in the middle
    assert not _clash(mk_tuple(Na, X), mk_tuple(Na, Nb, A))  # X may be (Nb, A)
    assert unify(mk_tuple(Na, X), mk_tuple(Na, Nb, A)) == [{"X": mk_tuple(Nb, A)}]


# ---------------------------------------------------------------------------------------------------------------
# the constraint solver


def _store(items: list, simple: dict | None = None) -> Store:
    """A store from (term, level) items and {variable: level} simple constraints."""
    from checker.security.intruder import close
    known = close(items, {v.name: lv for v, lv in (simple or {}).items()})
    return canonical_levels(known, {v.name: (v, lv) for v, lv in (simple or {}).items()})


def _solutions(store: Store, goal, level=None) -> list[Work]:
    return list(Intruder((g,)).solve(Work.start(store), [(goal, store.now if level is None else level)]))


def test_a_variable_the_attacker_only_has_to_make_stays_a_variable():
    store = _store([(A, 0), (B, 0), (E, 0), (pk(B), 0), (Ne, 0)])
    X = Var("~X", "nonce")
    [w] = _solutions(store, aenc(mk_tuple(X, A), pk(B)))
    assert w.sigma == {} and "~X" in w.simple


def test_lowe_attack_binds_the_forwarded_nonce():
    """Alice waits for {Na#1, Y}pk(alice); bob sent {Z, Nb#1}pk(alice) where Z is what the attacker chose."""
    Z, Y = Var("?1", "nonce"), Var("~Y", "nonce")
    store = _store([(A, 0), (B, 0), (E, 0), (sk(E), 0), (Na, 0), (aenc(mk_tuple(Z, Nb), pk(A)), 1)], {Z: 0})
    found = [w.sigma for w in _solutions(store, aenc(mk_tuple(Na, Y), pk(A)))]
    assert {"?1": Na, "~Y": Nb} in found  # Lowe's attack: bob's answer, forwarded
    assert {} in found  # or the attacker builds it with a nonce of its own


def test_levels_stop_using_later_knowledge_earlier():
    """The attacker chose Z at level 0; Nb#1 becomes known at level 1 only, so Z cannot be Nb#1."""
    Z = Var("?1", "nonce")
    store = _store([(A, 0), (senc(mk_tuple(Z, A), k(A, B)), 1), (Nb, 1)], {Z: 0})
    assert store.now == 1
    # a goal needing Z = Nb#1 (forwarding {Nb#1, alice}k(alice, bob)): impossible
    assert _solutions(store, senc(mk_tuple(Nb, A), k(A, B))) == []
    # the same with Nb#1 known at level 0: Z := Nb#1
    earlier = _store([(A, 0), (senc(mk_tuple(Z, A), k(A, B)), 1), (Nb, 0)], {Z: 0})
    assert [w.sigma for w in _solutions(earlier, senc(mk_tuple(Nb, A), k(A, B)))] == [{"?1": Nb}]


def test_a_private_key_is_never_composed():
    store = _store([(A, 0), (B, 0), (E, 0), (sk(E), 0)])
    assert _solutions(store, sign(Na, sk(A))) == []
    assert _solutions(store, sign(Ne, sk(E))) == []  # Ne is not known here
    assert len(_solutions(_store([(A, 0), (sk(E), 0), (Ne, 0)]), sign(Ne, sk(E)))) == 1


def test_dh_man_in_the_middle_through_the_attackers_half_key():
    """A half-key V that bob exponentiates with y: the attacker makes it exp(g, Z) and builds the key itself."""
    V, M = Var("?1", "key"), Var("~M", "nonce")
    store = _store([(g, 0), (exp(g, y), 0), (Ne, 0)], {V: 0})
    found = _solutions(store, senc(M, exp(V, y)))
    halves = [apply(V, w.sigma) for w in found]
    assert any(h.op == "exp" and h.args[0] == g and isinstance(h.args[1], Var) for h in halves)  # exp(g, Z)
    assert g not in halves  # typed: the text g is no key


def _rebuilt_flat(w: Work) -> Store:
    return Store(frozenset((t, 0) for t in w.known), frozenset((v, 0) for v, _lv in w.simple.values()))


def test_a_flat_store_is_its_origin_plus_what_the_branch_learnt():
    """`flat_store` adds only a branch's new items to the store it started from; learning keeps that origin,
    a binding that rewrites held items drops it. Each time the result is the store rebuilt from scratch."""
    X = Var("?1", "nonce")
    origin = _store([(A, 0), (aenc(mk_tuple(X, Na), pk(E)), 0)], {X: 0})
    w = Work.start(origin)
    assert w.flat_store() is origin  # nothing learnt: the very store
    w.learn([senc(mk_tuple(Nb, X), k(A, B)), Ne], 0)
    assert w.origin is origin and w.flat_store() == _rebuilt_flat(w) != origin
    w.bind({"?1": Nb})  # rewrites the items holding ?1
    assert w.origin is None and w.flat_store() == _rebuilt_flat(w)


# ---------------------------------------------------------------------------------------------------------------
# symbolic states


def _state(values, store):
    return SecState((Run(1, values),), store, frozenset(), frozenset(), frozenset(), frozenset(), None)


def test_states_equal_up_to_renaming_of_variables_coincide():
    X, Y = Var("~a", "nonce"), Var("?7", "nonce")
    one, _ = _canonical(_state((A, X, Na), _store([(aenc(mk_tuple(X, Nb), pk(A)), 1)], {X: 0})))
    two, _ = _canonical(_state((A, Y, Na), _store([(aenc(mk_tuple(Y, Nb), pk(A)), 1)], {Y: 0})))
    assert one == two
    assert one.runs[0].values[1] == Var("?1", "nonce")


def test_levels_are_canonical():
    """Only the order of learning relative to the variables' constraints matters, not the step numbers."""
    X = Var("?1", "nonce")
    a = canonical_levels({Na: 0, Nb: 7}, {"?1": (X, 3)})
    b = canonical_levels({Na: 2, Nb: 4}, {"?1": (X, 3)})
    assert a == b


def test_lowe_attack_is_found_and_replayed_from_the_library_model():
    from checker.analysis import analyze
    a = analyze(str(ROOT / "models/security/nspk.wolf"))
    v = next(v for v in a.verdicts if v.name == "B_agrees_A")
    assert v.status == "fails" and v.trace is not None
    system, _props = load_model(str(ROOT / "models/security/nspk.wolf"))
    assert system.initial_states()[0].store.is_ground()
