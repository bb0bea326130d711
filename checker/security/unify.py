"""Unification of terms with variables, modulo wolf's normal forms: the core operation of the symbolic search.

`unify(s, t, sigma)` returns every most general unifier of `s` and `t` extending the substitution `sigma` (a
complete set, without duplicates, in a fixed order). Substitutions map variable names to terms and are kept
idempotent: no bound variable occurs in any value, so applying one is a single `instantiate`.

The theory is the free term algebra with the three equations `terms.py` builds into its normal forms:
  * tuples are right-nested pairs, so `(a, X)` unifies with `(a, b, c)` binding `X = (b, c)`: unification is
    pairwise, head then tail, exactly as for free pairs;
  * `k(A, B) = k(B, A)`: both argument orders are tried (at most two unifiers);
  * Diffie-Hellman `exp(exp(g, x), y) = exp(exp(g, y), x)`: exponents are a multiset, matched in every order,
    and a variable base absorbs the exponents the other side has in excess (`exp(V, y)` against
    `exp(g, x, y)` gives `V = exp(g, x)`). When both bases are variables only the cases where one absorbs the
    other's excess are produced (not the ones where both absorb a new common part): a DH equation that needs
    that loses unifiers, never gains a wrong one (docs/security.md, Limits).

Sorts. A variable with a sort only takes terms of that sort (`terms.has_sort`), another variable of the same
sort, or an untyped variable (which is then bound to it). Untyped mode is expressed by creating variables
without sorts, so unification itself needs no flag.
"""
from __future__ import annotations

import itertools
from typing import Iterator, Mapping

from checker.security.terms import (App, Atom, Pattern, Var, agent_names, agent_sort, exp_or_base, has_sort,
                                    instantiate, is_agent_sort, term_vars)

Subst = dict[str, Pattern]


def apply(term: Pattern, sigma: Mapping[str, Pattern]) -> Pattern:
    """`term` under the idempotent substitution `sigma`, renormalised."""
    if not sigma or isinstance(term, Atom):
        return term
    if isinstance(term, App):
        if term._ground or sigma.keys().isdisjoint(term._names):
            return term
    return instantiate(term, sigma)


def unify(s: Pattern, t: Pattern, sigma: Mapping[str, Pattern] | None = None) -> list[Subst]:
    """Every most general unifier of `s` and `t` extending `sigma` (see the module doc), deduplicated."""
    found: dict[frozenset, Subst] = {}
    for u in _unify(s, t, dict(sigma or {})):
        found.setdefault(frozenset(u.items()), u)
    return list(found.values())


def unify_all(pairs: list[tuple[Pattern, Pattern]], sigma: Mapping[str, Pattern] | None = None) -> list[Subst]:
    """Most general unifiers of several equations at once."""
    current = [dict(sigma or {})]
    for s, t in pairs:
        nxt: dict[frozenset, Subst] = {}
        for base in current:
            for u in _unify(s, t, base):
                nxt.setdefault(frozenset(u.items()), u)
        current = list(nxt.values())
        if not current:
            break
    return current


def compatible(v: Var, t: Pattern) -> bool:
    """Whether the sort of `v` admits the (non-variable) term `t`."""
    return v.sort is None or has_sort(t, v.sort)


def _unify(s: Pattern, t: Pattern, sigma: Subst) -> Iterator[Subst]:
    s, t = apply(s, sigma), apply(t, sigma)
    if s == t:
        yield sigma
        return
    if isinstance(s, Var):
        yield from _bind(s, t, sigma)
        return
    if isinstance(t, Var):
        yield from _bind(t, s, sigma)
        return
    if isinstance(s, Atom) or isinstance(t, Atom) or s.op != t.op:
        return
    if s._ground and t._ground:
        return  # unequal ground terms
    if s.op == "tuple":
        yield from _unify_pairs(s.args, t.args, sigma)
    elif s.op == "exp":
        yield from _unify_exp(s, t, sigma)
    elif s.op == "k":
        yield from _unify_seq(s.args, t.args, sigma)
        if s.args[0] != s.args[1] and t.args[0] != t.args[1]:
            yield from _unify_seq(s.args, t.args[::-1], sigma)
    else:
        yield from _unify_seq(s.args, t.args, sigma)


def _bind(v: Var, t: Pattern, sigma: Subst) -> Iterator[Subst]:
    if isinstance(t, Var):
        if v.sort == t.sort:
            v, t = (v, t) if v.name > t.name else (t, v)  # bind the later name: a fixed orientation
        elif t.sort is None:
            v, t = t, v
        elif is_agent_sort(v.sort) and is_agent_sort(t.sort):
            yield from _meet_agents(v, t, sigma)
            return
        elif v.sort is not None:
            return  # two different sorts
    elif not compatible(v, t) or v in term_vars(t):
        return
    yield from _bind_plain(v, t, sigma)


def _meet_agents(x: Var, y: Var, sigma: Subst) -> Iterator[Subst]:
    """Two agent variables with different restrictions: the wider one is bound to the narrower, or both to a
    new variable admitting the agents both admit."""
    xs, ys = agent_names(x.sort), agent_names(y.sort)
    if xs is None or (ys is not None and ys <= xs):
        wide, narrow = x, y
    elif ys is None or xs <= ys:
        wide, narrow = y, x
    else:
        both = xs & ys
        if not both:
            return
        meet = Var(min(x.name, y.name) + "&", agent_sort(both))
        for s1 in _bind(x, meet, sigma):
            yield from _bind(y, meet, s1)
        return
    yield from _bind(wide, narrow, sigma) if wide.sort is None else _bind_plain(wide, narrow, sigma)


def _bind_plain(v: Var, t: Pattern, sigma: Subst) -> Iterator[Subst]:
    one = {v.name: t}
    out = {name: apply(value, one) for name, value in sigma.items()}
    out[v.name] = t
    yield out


def _unify_seq(ps: tuple, ts: tuple, sigma: Subst) -> Iterator[Subst]:
    if len(ps) != len(ts):
        return
    if not ps:
        yield sigma
        return
    for s1 in _unify(ps[0], ts[0], sigma):
        yield from _unify_seq(ps[1:], ts[1:], s1)


def _tail(args: tuple) -> Pattern:
    return args[1] if len(args) == 2 else App("tuple", args[1:])


def _unify_pairs(ps: tuple, ts: tuple, sigma: Subst) -> Iterator[Subst]:
    """`(p1, rest)` against `(t1, rest')`: a tuple is its head paired with the tuple of the others."""
    for s1 in _unify(ps[0], ts[0], sigma):
        yield from _unify(_tail(ps), _tail(ts), s1)


def _unify_exp(s: App, t: App, sigma: Subst) -> Iterator[Subst]:
    sb, se = s.args[0], s.args[1:]
    tb, te = t.args[0], t.args[1:]
    if isinstance(tb, Var) and not isinstance(sb, Var) or (isinstance(tb, Var) and isinstance(sb, Var)
                                                           and len(te) < len(se)):
        sb, se, tb, te = tb, te, sb, se
    # now: sb is a variable whenever tb is, and a variable sb has at most as many exponents as t
    if not isinstance(sb, Var):
        if len(se) != len(te):
            return
        for s1 in _unify(sb, tb, sigma):
            for order in dict.fromkeys(itertools.permutations(te)):
                yield from _unify_seq(se, order, s1)
        return
    n, m = len(se), len(te)
    if m < n:
        return
    for chosen in itertools.permutations(range(m), n):
        rest = tuple(te[i] for i in range(m) if i not in chosen)
        base = exp_or_base(tb, rest)
        for s1 in _unify(sb, base, sigma):
            yield from _unify_seq(se, tuple(te[i] for i in chosen), s1)
