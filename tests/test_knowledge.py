"""Tests of the concrete Dolev-Yao attacker: analysis, synthesis and explanations (one derivability definition)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.security.knowledge import Knowledge, derivable, explain
from checker.security.terms import (Atom, Var, aenc, exp, h, has_sort, k, match, mk_tuple, pk, pretty, senc, sign, sk,
                           sort_key, substitute, subterms)

A, B, E, S = (Atom(n, "agent") for n in ("A", "B", "E", "S"))
Na, Nb, Ne, M = (Atom(n, "nonce") for n in ("Na", "Nb", "Ne", "M"))
x, y, e = (Atom(n, "nonce") for n in ("x", "y", "e"))
Kab, Kx = Atom("Kab", "key"), Atom("Kx", "key")
g = Atom("g", "text")
Secret = Atom("Secret", "nonce")  # never generated below: the probe for "is this plaintext revealed"

AGENTS = [A, B, E, S]
agent_st = st.sampled_from(AGENTS)
key_st = st.one_of(st.sampled_from([Kab, Kx]), st.builds(k, agent_st, agent_st), st.builds(sk, agent_st))
atom_st = st.sampled_from(AGENTS + [Na, Nb, Ne, x, y, Kab, Kx, g])


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: mk_tuple(*xs)),
        st.builds(senc, children, st.one_of(key_st, children)),
        st.builds(aenc, children, st.builds(pk, agent_st)),
        st.builds(sign, children, st.builds(sk, agent_st)),
        st.builds(h, children),
        st.builds(lambda es: exp(g, *es), st.lists(st.sampled_from([Na, Nb, x, y]), min_size=1, max_size=2)),
        key_st, st.builds(pk, agent_st),
    )


term_st = st.recursive(atom_st, _extend, max_leaves=6)
terms_st = st.lists(term_st, max_size=6)
NSPK = Knowledge.initial([A, B, E, pk(A), pk(B), pk(E), sk(E), aenc(mk_tuple(Na, A), pk(E))])


def _probes(ts):
    """Terms worth asking about: every subterm of what was given, plus keys and secrets that never were."""
    return {s for t in ts for s in subterms(t)} | {Secret, sk(A), k(A, B), Kab, exp(g, x, y)}


# ---------------------------------------------------------------------------------------------------------------
# Analysis and synthesis


@given(terms_st, term_st)
def test_knowledge_is_monotone(ts, extra):
    before = Knowledge.initial(ts)
    after = before.add(extra)
    for probe in _probes(ts + [extra]):
        assert not derivable(before, probe) or derivable(after, probe), pretty(probe)


@given(terms_st)
def test_whatever_was_added_is_derivable(ts):
    know = Knowledge.initial(ts)
    assert all(derivable(know, t) for t in ts)


@given(terms_st, st.randoms())
def test_knowledge_depends_on_the_set_of_terms_not_the_order(ts, rnd):
    shuffled = list(ts)
    rnd.shuffle(shuffled)
    one_by_one = Knowledge.initial()
    for t in shuffled:
        one_by_one = one_by_one.add(t)
    assert Knowledge.initial(ts) == one_by_one == Knowledge.initial(shuffled).add_all(ts)
    assert hash(Knowledge.initial(ts)) == hash(one_by_one)


@given(terms_st, key_st)
def test_symmetric_ciphertext_reveals_plaintext_exactly_when_key_derivable(ts, key):
    know = Knowledge.initial(ts + [senc(Secret, key)])
    assert derivable(know, Secret) == derivable(Knowledge.initial(ts), key)


@given(terms_st, agent_st)
def test_public_key_ciphertext_reveals_plaintext_exactly_when_private_key_derivable(ts, agent):
    know = Knowledge.initial(ts + [aenc(mk_tuple(Secret, A), pk(agent))])
    assert derivable(know, Secret) == derivable(Knowledge.initial(ts), sk(agent))


def test_signatures_do_not_hide():
    assert derivable(Knowledge.initial([sign(Secret, sk(A))]), Secret)


def test_learning_a_key_later_opens_earlier_ciphertexts():
    know = Knowledge.initial([senc(mk_tuple(senc(Secret, Kx), Na), Kab), h(Na)])
    assert not derivable(know, Secret) and not derivable(know, Na)
    know = know.add(Kab)
    assert derivable(know, Na) and not derivable(know, Secret)
    assert derivable(know.add(Kx), Secret)
    # a key built by the attacker (a hash of something it learns) counts too
    assert derivable(Knowledge.initial([senc(Secret, h(Nb))]).add(mk_tuple(A, Nb)), Secret)


def test_long_term_keys_are_symmetric_in_knowledge():
    know = Knowledge.initial([k(B, A), senc(Secret, k(A, B))])
    assert derivable(know, k(A, B)) and derivable(know, Secret)


def test_private_constructors_cannot_be_applied():
    know = Knowledge.initial([A, B, Na])
    assert not derivable(know, sk(A)) and not derivable(know, k(A, B))
    assert derivable(know, pk(A)) and derivable(know, h(Na)) and derivable(know, senc(Na, mk_tuple(A, B)))
    assert not derivable(Knowledge.initial([h(Secret)]), Secret)  # hashes do not invert


def test_public_key_encryption_under_a_non_public_key_never_opens():
    assert not derivable(Knowledge.initial([aenc(Secret, Kab), Kab]), Secret)


def test_tuples_are_split_and_not_stored():
    assert Knowledge.initial([mk_tuple(Na, A)]) == Knowledge.initial([Na, A])
    assert derivable(Knowledge.initial([Na, A]), mk_tuple(Na, A))


def test_knowledge_rejects_variables():
    with pytest.raises(ValueError):
        Knowledge.initial([Var("X")])


# ---------------------------------------------------------------------------------------------------------------
# Diffie-Hellman


def test_dh_attacker_combines_a_half_key_with_its_exponent():
    know = Knowledge.initial([g, exp(g, x), y])
    assert derivable(know, exp(g, x, y))
    assert exp(exp(g, y), x) == exp(g, x, y)
    assert derivable(know, exp(exp(g, y), x))
    assert not derivable(Knowledge.initial([g, exp(g, x), exp(g, y)]), exp(g, x, y))
    assert not derivable(Knowledge.initial([exp(g, x)]), x)  # no discrete logarithms


def test_dh_man_in_the_middle():
    """A sends exp(g, x) to B, B answers exp(g, y); the attacker replaces both halves with its own exp(g, e).
    It then shares exp(g, x, e) with A and exp(g, y, e) with B, can read what A encrypts for 'B' and re-encrypt
    it for B, but never learns the honest key exp(g, x, y)."""
    know = Knowledge.initial([A, B, g, exp(g, x), exp(g, y)]).add(e)
    assert derivable(know, exp(g, e))
    assert derivable(know, exp(g, x, e)) and derivable(know, exp(g, y, e))
    assert not derivable(know, exp(g, x, y))
    know = know.add(senc(Secret, exp(exp(g, e), x)))  # A's message under the key it shares with "B"
    assert derivable(know, Secret)
    assert derivable(know, senc(Secret, exp(g, e, y)))
    assert explain(know, senc(Secret, exp(g, e, y))) == (
        "{Secret}exp(g, e, y) built from Secret (decrypted from {Secret}exp(g, e, x) with exp(g, e, x)), "
        "exp(g, e, y) (built from exp(g, y), e)")


# ---------------------------------------------------------------------------------------------------------------
# Explanations


def test_explain_the_nspk_attack_message():
    assert explain(NSPK, aenc(mk_tuple(Na, E), pk(B))) == (
        "{Na, E}pk(B) built from Na (decrypted from {Na, A}pk(E) with sk(E)), E, pk(B)")
    assert explain(NSPK, Na) == "Na decrypted from {Na, A}pk(E) with sk(E)"
    assert explain(NSPK, sk(E)) == "sk(E) known"
    assert explain(NSPK, aenc(Ne, pk(A)), fresh=[Ne]) == "{Ne}pk(A) built from Ne (fresh), pk(A)"
    assert explain(Knowledge.initial([sign(Nb, sk(S))]), Nb) == "Nb read from {Nb}sk(S)"
    with pytest.raises(ValueError):
        explain(NSPK, Nb)


def test_explain_uses_the_same_derivability_as_the_replay():
    """Issue 10: a pair used as a symmetric key. The explainer and the attacker's check are one definition, so
    whatever the replay accepts as derivable (fresh constants included) is explained, and nothing else is."""
    C, K = Atom("C", "agent"), Atom("K", "agent")
    Kcg, Ti1 = Atom("Kcg#1", "key"), Atom("Ti#1", "time")
    ticket = senc(mk_tuple(C, Kcg), k(K, S))
    know = Knowledge.initial([C, K, S, senc(mk_tuple(Kcg, ticket), mk_tuple(C, K))])
    authenticator = mk_tuple(ticket, senc(mk_tuple(C, Ti1), Kcg), C)
    assert not derivable(know, authenticator)
    assert derivable(know, authenticator, fresh=[Ti1])
    text = explain(know, authenticator, fresh=[Ti1])
    assert "Ti#1 (fresh)" in text and "Kcg#1 (decrypted from" in text
    with pytest.raises(ValueError):
        explain(know, authenticator)


_DETERMINISM_SCRIPT = """
from checker.security.knowledge import Knowledge, explain
from checker.security.terms import Atom, aenc, mk_tuple, pk, sk
A, B, E = (Atom(n, "agent") for n in "ABE")
Na, Ne = Atom("Na", "nonce"), Atom("Ne", "nonce")
know = Knowledge.initial([A, B, E, pk(B), sk(E), aenc(mk_tuple(Na, A), pk(E))])
for t in (aenc(mk_tuple(Na, E), pk(B)), aenc(mk_tuple(Ne, A, Na), pk(B)), Na, mk_tuple(Na, Ne)):
    print(explain(know, t, fresh=[Ne]))
for t in know.sorted_terms():
    print(t)
"""


def test_results_do_not_depend_on_the_hash_seed():
    root = Path(__file__).resolve().parent.parent
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        run = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT], env=env, capture_output=True, text=True,
                             check=True, cwd=root)
        outputs.add(run.stdout)
    assert len(outputs) == 1 and outputs.pop().count("\n") > 8


# ---------------------------------------------------------------------------------------------------------------
# Performance smoke test


def _mixed_terms(n):
    agents = [Atom(f"P{i}", "agent") for i in range(8)]
    nonces = [Atom(f"N{i}", "nonce") for i in range(30)]
    keys = [Atom(f"K{i}", "key") for i in range(10)]
    out = []
    for i in range(n):
        a, b, nonce, key = agents[i % 8], agents[(i * 3 + 1) % 8], nonces[i % 30], keys[i % 10]
        inner = mk_tuple(nonce, a, h(nonces[(i * 7) % 30]))
        out.append([senc(inner, key), aenc(inner, pk(b)), sign(inner, sk(a)), mk_tuple(a, senc(inner, k(a, b))),
                    exp(g, nonce, nonces[(i + 1) % 30])][i % 5])
    return out + keys[:4] + [sk(agents[0]), k(agents[1], agents[2])]


def test_analysing_200_mixed_terms_at_once_or_one_by_one_agrees():
    terms = _mixed_terms(200)
    know = Knowledge.initial(terms)
    incremental = Knowledge.initial()
    for t in terms:
        incremental = incremental.add(t)
    assert know == incremental
    assert all(derivable(know, t) for t in terms)
