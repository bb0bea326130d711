"""Tests of the term algebra: normal forms, printing, ordering, matching and substitution."""
from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.security.terms import (PRIMITIVES, App, Atom, Var, aenc, apply, atoms, exp, h, has_sort, is_ground, k,
                           match, match_all, mk_tuple, pk, pretty, senc, sign, sk, sort_key, substitute,
                           subterms, variables)

A, B, E, S = (Atom(n, "agent") for n in ("A", "B", "E", "S"))
Na, Nb, Ne, M = (Atom(n, "nonce") for n in ("Na", "Nb", "Ne", "M"))
x, y, z = (Atom(n, "nonce") for n in ("x", "y", "z"))
Kab, Kx = Atom("Kab", "key"), Atom("Kx", "key")
g = Atom("g", "text")

AGENTS = [A, B, E, S]
NONCES = [Na, Nb, Ne, x, y]
agent_st = st.sampled_from(AGENTS)
atom_st = st.sampled_from(AGENTS + NONCES + [Kab, Kx, g])


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: mk_tuple(*xs)),
        st.builds(senc, children, st.one_of(st.sampled_from([Kab, Kx]), st.builds(k, agent_st, agent_st), children)),
        st.builds(aenc, children, st.builds(pk, agent_st)),
        st.builds(sign, children, st.builds(sk, agent_st)),
        st.builds(h, children),
        st.builds(lambda b, es: exp(b, *es), st.one_of(st.just(g), children),
                  st.lists(st.sampled_from(NONCES), min_size=1, max_size=3)),
        st.builds(pk, agent_st), st.builds(sk, agent_st), st.builds(k, agent_st, agent_st),
    )


term_st = st.recursive(atom_st, _extend, max_leaves=8)


# ---------------------------------------------------------------------------------------------------------------
# Normal forms


def test_k_is_symmetric():
    assert k(A, B) == k(B, A)
    assert hash(k(A, B)) == hash(k(B, A))
    assert pretty(k(S, A)) == "k(A, S)"
    assert senc(Na, k(B, A)) == senc(Na, k(A, B))


@given(st.permutations([x, y, z]), st.integers(1, 3))
def test_exp_normal_form_is_independent_of_order_and_nesting(order, split):
    """exp(exp(g, a), b) = exp(exp(g, b), a): however the exponents are applied, one normal form."""
    nested = exp(g, *order[:split])
    for e in order[split:]:
        nested = exp(nested, e)
    assert nested == exp(g, x, y, z)
    assert nested.args == (g, x, y, z)
    assert pretty(nested) == "exp(g, x, y, z)"


def test_exp_dh_equation():
    assert exp(exp(g, x), y) == exp(exp(g, y), x) == exp(g, y, x)
    assert exp(g, x, x) != exp(g, x)  # a multiset: repeated exponents count


def test_tuples_are_right_nested_pairs():
    assert mk_tuple(Na, mk_tuple(A, B)) == mk_tuple(Na, A, B)
    assert mk_tuple(mk_tuple(Na, A), B) != mk_tuple(Na, A, B)
    assert mk_tuple(Na) == Na


def test_arity_and_operators_are_checked():
    with pytest.raises(ValueError):
        apply("senc", (Na,))
    with pytest.raises(ValueError):
        apply("tuple", (Na,))
    with pytest.raises(ValueError):
        apply("inv", (Kab,))
    with pytest.raises(ValueError):
        Atom("X", "colour")
    with pytest.raises(TypeError):
        App("h", ("Na",))
    assert apply("h", [Na]) == h(Na)


def test_primitive_table_describes_attacker_powers():
    assert not PRIMITIVES["sk"].public and not PRIMITIVES["k"].public
    assert all(PRIMITIVES[op].public for op in ("tuple", "senc", "aenc", "sign", "h", "pk", "exp"))
    assert PRIMITIVES["h"].destructor is None and PRIMITIVES["exp"].destructor is None


@given(term_st)
def test_terms_are_hashable_and_pickle(t):
    assert pickle.loads(pickle.dumps(t)) == t
    assert hash(pickle.loads(pickle.dumps(t))) == hash(t)
    assert is_ground(t)


@given(st.permutations([x, y, z]), term_st)
def test_equal_terms_are_one_object(order, t):
    """Terms are interned after normalisation, so equality is identity: the search's dictionaries rely on it."""
    assert exp(exp(g, order[0]), order[1], order[2]) is exp(g, x, y, z)
    assert k(B, A) is k(A, B) and senc(Na, k(B, A)) is senc(Na, k(A, B))
    assert mk_tuple(Na, mk_tuple(A, B)) is mk_tuple(Na, A, B)
    assert Atom("Na", "nonce") is Na and Var("X", "nonce") is Var("X", "nonce") and Var("X") is not Var("X", "nonce")
    assert pickle.loads(pickle.dumps(t)) is t and copy.deepcopy(t) is t and copy.copy(t) is t
    if isinstance(t, App):
        assert App(t.op, t.args) is t


def test_terms_are_immutable():
    for t in (Na, Var("X"), senc(Na, Kab)):
        with pytest.raises(AttributeError):
            t.name = "other"  # type: ignore[union-attr]
    with pytest.raises(AttributeError):
        senc(Na, Kab).args = (Nb, Kab)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------------
# Printing


@pytest.mark.parametrize("term, text", [
    (aenc(mk_tuple(Na, A), pk(B)), "{Na, A}pk(B)"),
    (senc(Nb, k(A, S)), "{Nb}k(A, S)"),
    (h(h(x)), "h(h(x))"),
    (exp(g, x), "exp(g, x)"),
    (exp(exp(g, y), x), "exp(g, x, y)"),
    (mk_tuple(Na, A), "Na, A"),
    (mk_tuple(mk_tuple(Na, A), B), "(Na, A), B"),
    (aenc(mk_tuple(mk_tuple(Na, A), B), pk(B)), "{(Na, A), B}pk(B)"),
    (sign(mk_tuple(A, pk(A)), sk(S)), "{A, pk(A)}sk(S)"),
    (h(mk_tuple(Na, Nb)), "h(Na, Nb)"),
    (senc(Na, mk_tuple(Kab, Kx)), "{Na}(Kab, Kx)"),
    (senc(mk_tuple(Var("X"), A), Kab), "{X, A}Kab"),
])
def test_pretty(term, text):
    assert pretty(term) == text
    assert str(term) == text


# ---------------------------------------------------------------------------------------------------------------
# Ordering and inspection


@given(term_st, term_st)
def test_sort_key_is_a_total_order_consistent_with_equality(a, b):
    assert (sort_key(a) == sort_key(b)) == (a == b)
    assert (sort_key(a) < sort_key(b)) or (sort_key(b) < sort_key(a)) or a == b


@given(st.lists(term_st, max_size=6), st.randoms())
def test_sorting_is_independent_of_input_order(ts, rnd):
    shuffled = list(ts)
    rnd.shuffle(shuffled)
    assert sorted(ts, key=sort_key) == sorted(shuffled, key=sort_key)


def test_subterms_and_atoms():
    t = senc(mk_tuple(Na, M, A), k(A, S))
    subs = subterms(t)
    assert t in subs and mk_tuple(Na, M, A) in subs and mk_tuple(M, A) in subs  # tails of tuples count
    assert subs == tuple(sorted(set(subs), key=sort_key))
    assert atoms(t) == (A, M, Na, S)
    assert variables(senc(mk_tuple(Var("X", "nonce"), A), Var("K"))) == (Var("K"), Var("X", "nonce"))


# ---------------------------------------------------------------------------------------------------------------
# Matching and substitution


def _abstract(t, draw_flags):
    """Replace some subterms of t by untyped variables (numbered in pre-order), giving a pattern t matches."""
    counter = iter(range(1000))

    def go(u):
        if next(draw_flags):
            return Var(f"V{next(counter)}")
        if isinstance(u, App):
            return App(u.op, tuple(go(a) for a in u.args))
        return u
    return go(t)


@given(term_st, st.lists(st.booleans(), min_size=64, max_size=64))
def test_match_inverts_substitute(t, flags):
    pattern = _abstract(t, iter(flags + [False] * 1000))
    found = match_all(pattern, t, {}, typed=False)
    assert found, pretty(pattern)
    for b in found:
        assert substitute(pattern, b) == t
    assert match(pattern, t, {}, False) == found[0]


@given(term_st, term_st)
def test_match_of_ground_pattern_is_equality(a, b):
    assert (match(a, b, {}, True) is not None) == (a == b)


def test_typed_variables_match_atoms_of_their_sort():
    X = Var("X", "nonce")
    assert match(X, Na, {}, True) == {"X": Na}
    assert match(X, A, {}, True) is None
    assert match(X, mk_tuple(Na, A), {}, True) is None
    assert match(X, mk_tuple(Na, A), {}, False) == {"X": mk_tuple(Na, A)}
    assert match(Var("Y"), mk_tuple(Na, A), {}, True) == {"Y": mk_tuple(Na, A)}  # no sort: any term


def test_key_variables_match_key_atoms_and_key_constructions():
    K = Var("K", "key")
    for key in (Kab, k(A, B), pk(A), sk(A), exp(g, x, y)):
        assert has_sort(key, "key") and match(K, key, {}, True) == {"K": key}
    for other in (Na, h(Kab), senc(Na, Kab), mk_tuple(Kab, Kx)):
        assert match(K, other, {}, True) is None
        assert match(K, other, {}, False) == {"K": other}


def test_bound_variables_must_agree():
    X = Var("X", "nonce")
    assert match(mk_tuple(X, X), mk_tuple(Na, Na), {}, True) == {"X": Na}
    assert match(mk_tuple(X, X), mk_tuple(Na, Nb), {}, True) is None
    assert match(X, Na, {"X": Nb}, True) is None
    assert match(X, Na, {"X": Na}, True) == {"X": Na}


def test_otway_rees_type_flaw_only_untyped():
    """A's pattern {Na, K}k(A, S) against the ciphertext of the first message {Na, M, A, B}k(A, S)."""
    pattern = senc(mk_tuple(Na, Var("K", "key")), k(A, S))
    term = senc(mk_tuple(Na, M, A, B), k(A, S))
    assert match(pattern, term, {}, typed=True) is None
    assert match(pattern, term, {}, typed=False) == {"K": mk_tuple(M, A, B)}
    assert substitute(pattern, {"K": mk_tuple(M, A, B)}) == term


def test_commutative_key_matching_finds_both_orders():
    X, Y = Var("X", "agent"), Var("Y", "agent")
    assert match_all(k(X, Y), k(A, B)) == [{"X": A, "Y": B}, {"X": B, "Y": A}]
    assert match_all(k(X, S), k(A, S)) == [{"X": A}]
    assert match(k(X, B), k(B, A), {}, True) == {"X": A}


def test_exp_matching_is_modulo_the_dh_equation():
    G, Z = Var("G", "key"), Var("Z", "nonce")
    assert match(exp(g, Z), exp(g, x), {}, True) == {"Z": x}
    assert match(exp(g, Z), exp(g, x, y), {}, True) is None
    both = match_all(exp(G, Z), exp(g, x, y), {}, True)
    assert {"G": exp(g, x), "Z": y} in both and {"G": exp(g, y), "Z": x} in both and len(both) == 2
    assert match(exp(G, y), exp(g, x, y), {"G": exp(g, x)}, True) == {"G": exp(g, x)}
    assert match_all(exp(Var("B"), x), exp(g, x)) == [{"B": g}]


def test_substitute_renormalises_and_requires_all_variables():
    assert substitute(k(Var("X"), A), {"X": B}) == k(A, B)
    assert substitute(exp(Var("G"), y), {"G": exp(g, x)}) == exp(g, x, y)
    assert substitute(mk_tuple(Na, Var("T")), {"T": mk_tuple(A, B)}) == mk_tuple(Na, A, B)
    with pytest.raises(ValueError):
        substitute(senc(Var("X"), Kab), {})


@settings(max_examples=50)
@given(term_st)
def test_exp_inside_terms_is_normalised_on_substitution(t):
    pattern = mk_tuple(t, exp(Var("G"), x))
    assert substitute(pattern, {"G": exp(g, y)}) == mk_tuple(t, exp(g, x, y))
