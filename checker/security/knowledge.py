"""Dolev-Yao attacker knowledge: analysis, synthesis, explanations and injection candidates.

Everything here is driven by `terms.PRIMITIVES`: destructors for analysis, `public`/`compose` for synthesis.

Representation. The attacker derives a term by *analysis* (applying destructors to what it holds, opening a
ciphertext only once it can derive the key) followed by *synthesis* (applying public constructors). A
`Knowledge` stores the analysed closure of every term it was given: the terms themselves, every component and
plaintext it can get out of them, and the ciphertexts it cannot (yet) open, kept whole for replay. Tuples
are the one exception: they are dropped once split, since synthesis rebuilds them and nothing is lost; this
makes "saw (Na, A)" and "saw Na and A" the same state. The stored set is a function of the *set* of terms
given, whatever the order, so explored states do not multiply with interleavings.

Nothing is remembered about how a term was learnt (that would make equal knowledges unequal); `explain`
recomputes a derivation from the set itself.

Feed it what honest agents send. The attacker's own injections are derivable by construction; adding them
is harmless but grows the state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence

from checker.security.terms import (PRIMITIVES, App, Atom, Pattern, Term, Var, has_sort, instantiate,
                           is_ground, match_all, pretty, pretty_enclosed, sort_key, subterms)

Memo = dict[Term, bool]


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What the attacker knows: the analysed closure, tuples dropped (see module doc). Build with `initial`."""

    terms: frozenset[Term]

    @classmethod
    def initial(cls, terms: Iterable[Term] = ()) -> Knowledge:
        return cls(frozenset()).add_all(terms)

    def add(self, term: Term) -> Knowledge:
        """Learn `term`; it may make a key derivable and so open ciphertexts learnt earlier."""
        return self.add_all((term,))

    def add_all(self, terms: Iterable[Term]) -> Knowledge:
        new = tuple(terms)
        for t in new:
            if not is_ground(t):
                raise ValueError(f"attacker knowledge must be ground: {pretty(t)}")
        if all(t in self.terms for t in new):
            return self
        return Knowledge(frozenset(t for t in _saturate(self.terms, new) if not _is_tuple(t)))

    def __canonical__(self) -> frozenset[Term]:  # for state fingerprints (checker/engine/fingerprint.py)
        return self.terms

    def sorted_terms(self) -> tuple[Term, ...]:
        return tuple(sorted(self.terms, key=sort_key))

    def __len__(self) -> int:
        return len(self.terms)

    def __str__(self) -> str:
        return "{" + "; ".join(pretty(t) for t in self.sorted_terms()) + "}"


# ---------------------------------------------------------------------------------------------------------------
# Analysis and synthesis


def derivable(knowledge: Knowledge, term: Pattern) -> bool:
    """Synthesis: `term` is held, or built by a public constructor from derivable parts (DH: see `compose`)."""
    return _derivable(knowledge.terms, term, {})


def _derivable(known: frozenset[Term] | set[Term], term: Pattern, memo: Memo) -> bool:
    return term in known or _constructible(known, term, memo)


def _constructible(known: frozenset[Term] | set[Term], term: Pattern, memo: Memo) -> bool:
    """Derivable without holding `term` itself: built by its (public) constructor from derivable parts."""
    return _build_parts(known, term, memo) is not None


def _build_parts(known: frozenset[Term] | set[Term], term: Pattern, memo: Memo) -> tuple[Term, ...] | None:
    """The derivable terms the attacker combines to build `term`, or None if it cannot build it."""
    if not isinstance(term, App) or not PRIMITIVES[term.op].public:
        return None
    cached = memo.get(term)
    if cached is False:
        return None
    prim = PRIMITIVES[term.op]

    def can(u: Term) -> bool:
        return _derivable(known, u, memo)

    parts = prim.compose(term.args, can) if prim.compose else (term.args if all(map(can, term.args)) else None)
    memo[term] = parts is not None
    return parts


def _reveal(known: frozenset[Term] | set[Term], term: Term, memo: Memo) -> tuple[Term, ...] | None:
    """What a destructor yields from `term` given `known`, or None if it has none or its key is not derivable."""
    if not isinstance(term, App):
        return None
    destructor = PRIMITIVES[term.op].destructor
    if destructor is None:
        return None
    needs = destructor.needs(term.args)
    if needs is None or not all(_derivable(known, n, memo) for n in needs):
        return None
    return destructor.parts(term.args)


def _saturate(base: frozenset[Term], new: Iterable[Term]) -> set[Term]:
    """Close `base` plus `new` under the destructors. Rescans earlier terms when anything is learnt, since a
    new term can make the key of an old ciphertext derivable. The result does not depend on set order."""
    known = set(base)
    pending = list(new)
    opened: set[Term] = set()
    while pending:
        while pending:
            t = pending.pop()
            if t not in known:
                known.add(t)
                parts = _reveal(known, t, {})
                if parts is not None:
                    opened.add(t)
                    pending.extend(parts)
        memo: Memo = {}
        for c in known:
            if c not in opened:
                parts = _reveal(known, c, memo)
                if parts is not None:
                    opened.add(c)
                    pending.extend(p for p in parts if p not in known)
    return known


def _is_tuple(term: Term) -> bool:
    return isinstance(term, App) and term.op == "tuple"


# ---------------------------------------------------------------------------------------------------------------
# Explanations


Origin = tuple[Term, str, tuple[Term, ...]]  # (opened term, verb, terms needed to open it)


def _origins(closed: set[Term]) -> dict[Term, Origin]:
    """For each term analysis reveals, the first (by `sort_key`) ciphertext or signature it comes out of;
    tuples in between are looked through, so `Na` comes "decrypted from {Na, A}pk(E)", not from `(Na, A)`."""
    memo: Memo = {}
    origins: dict[Term, Origin] = {}
    for c in sorted(closed, key=sort_key):
        if isinstance(c, App) and not _is_tuple(c):
            parts = _reveal(closed, c, memo)
            if parts is not None:
                destructor = PRIMITIVES[c.op].destructor
                origin = (c, destructor.verb, destructor.needs(c.args))
                for leaf in _untuple(parts):
                    origins.setdefault(leaf, origin)
    return origins


def _untuple(terms: Iterable[Term]) -> Iterator[Term]:
    for t in terms:
        if _is_tuple(t):
            yield from _untuple(t.args)
        else:
            yield t


def _how(origin: Origin) -> str:
    source, verb, needs = origin
    with_ = f" with {', '.join(pretty_enclosed(n) for n in needs)}" if needs else ""
    return f"{verb} from {pretty_enclosed(source)}{with_}"


@dataclass(frozen=True, slots=True)
class _Explainer:
    closed: set[Term]
    origins: dict[Term, Origin]
    fresh: frozenset[Atom]
    memo: Memo

    def parts(self, term: Term) -> list[Term]:
        """The pieces `term` is built from, tuples flattened, each once, in order."""
        parts = _build_parts(self.closed, term, self.memo) or ()
        flat: list[Term] = []
        for p in parts:
            for q in (self.parts(p) if _is_tuple(p) else [p]):
                if q not in flat:
                    flat.append(q)
        return flat

    def plain(self, term: Term) -> bool:
        """Held outright, or built from atoms held outright (`pk(B)`): not worth explaining. A term built
        from compound or derived parts (a DH key from `exp(g, x)` and `e`) is."""
        if term in self.closed:
            return term not in self.origins and term not in self.fresh
        return all(isinstance(p, Atom) and self.plain(p) for p in self.parts(term))

    def describe(self, term: Term) -> str:
        if term in self.fresh:
            return f"{pretty_enclosed(term)} (fresh)"
        if term in self.origins:
            return f"{pretty_enclosed(term)} ({_how(self.origins[term])})"
        if self.plain(term):
            return pretty_enclosed(term)
        return f"{pretty_enclosed(term)} (built from {', '.join(self.describe(p) for p in self.parts(term))})"


def explain(knowledge: Knowledge, term: Term, fresh: Sequence[Atom] = ()) -> str:
    """A short derivation of `term`, e.g. `{Na, E}pk(B) built from Na (decrypted from {Na, A}pk(E) with
    sk(E)), E, pk(B)`. `fresh` are atoms the attacker invents for this message. Deterministic."""
    know = knowledge.add_all(fresh)
    closed = _saturate(frozenset(), know.terms)
    if not _derivable(closed, term, {}):
        raise ValueError(f"the attacker cannot derive {pretty(term)}")
    ex = _Explainer(closed, _origins(closed), frozenset(fresh), {})
    if term in ex.fresh:
        return f"{pretty_enclosed(term)} fresh"
    if term in closed:
        return f"{pretty_enclosed(term)} {_how(ex.origins[term]) if term in ex.origins else 'known'}"
    return f"{pretty_enclosed(term)} built from {', '.join(ex.describe(p) for p in ex.parts(term))}"


# ---------------------------------------------------------------------------------------------------------------
# Injection candidates


@dataclass(frozen=True, slots=True)
class _Search:
    known: frozenset[Term]
    pool: tuple[Term, ...]              # values variables range over, sorted
    by_op: Mapping[str, tuple[App, ...]]  # the pool's applications, per operator: what can be replayed whole
    typed: bool
    memo: Memo

    def derivable(self, term: Term) -> bool:
        return _derivable(self.known, term, self.memo)


def _pool(known: frozenset[Term], fresh: Sequence[Atom], memo: Memo) -> tuple[Term, ...]:
    """The bound on branching: every derivable subterm of what the attacker holds (this includes its fresh
    atoms), plus its own DH half-keys `exp(b, n)` for each fresh nonce n and each DH base b it has seen."""
    subs = {s for t in known for s in subterms(t)}
    values = {s for s in subs if _derivable(known, s, memo)}
    bases = {s.args[0] for s in subs if isinstance(s, App) and s.op == "exp"}
    for b in bases:
        for n in fresh:
            if n.sort == "nonce" and _derivable(known, b, memo):
                values.add(App("exp", (b, n)))
    return tuple(sorted(values, key=sort_key))


def injection_pool(knowledge: Knowledge, fresh: Sequence[Atom] = ()) -> tuple[Term, ...]:
    """The values `candidates` lets variables range over; callers that ask about many patterns against the
    same knowledge compute it once and pass it in."""
    return _pool(knowledge.add_all(fresh).terms, fresh, {})


def candidates(knowledge: Knowledge, pattern: Pattern, typed: bool, fresh: Sequence[Atom] = (),
               bindings: Mapping[str, Term] | None = None,
               pool: tuple[Term, ...] | None = None) -> list[tuple[Term, dict[str, Term]]]:
    """Every ground term the attacker can derive that matches `pattern`, with the matcher (extending
    `bindings`, the receiver's variables already fixed), sorted by term then bindings, no duplicates.

    A variable ranges over the pool (`_pool`), filtered by sort when typed. A compound sub-pattern is
    either a pool term replayed whole (a ciphertext seen earlier, matched against the pattern, which is
    where untyped variables pick up tuples: Otway-Rees) or built by its public constructor from candidates
    for its arguments. Every result is checked derivable. The count is at most the product of the pool sizes
    over the pattern's variables (untyped patterns can be large: every variable ranges over the whole pool).
    """
    know = knowledge.add_all(fresh)
    memo: Memo = {}
    if pool is None:
        pool = _pool(know.terms, fresh, memo)
    by_op: dict[str, tuple[App, ...]] = {}
    for t in pool:
        if isinstance(t, App):
            by_op[t.op] = by_op.get(t.op, ()) + (t,)
    search = _Search(know.terms, pool, by_op, typed, memo)
    found: dict[tuple[Term, frozenset], tuple[Term, dict[str, Term]]] = {}
    for term, b in _generate(search, pattern, dict(bindings or {})):
        found.setdefault((term, frozenset(b.items())), (term, b))
    return sorted(found.values(), key=lambda tb: (sort_key(tb[0]), _bindings_key(tb[1])))


def _bindings_key(b: Mapping[str, Term]) -> tuple:
    return tuple((name, sort_key(b[name])) for name in sorted(b))


def _generate(s: _Search, pattern: Pattern, b: dict[str, Term]) -> Iterator[tuple[Term, dict[str, Term]]]:
    """Pairs (t, b') with `substitute(pattern, b') == t` and t derivable (duplicates possible)."""
    p = instantiate(pattern, b)
    if is_ground(p):
        if s.derivable(p):
            yield p, b
        return
    if isinstance(p, Var):
        for v in s.pool:
            if not s.typed or p.sort is None or has_sort(v, p.sort):
                yield v, {**b, p.name: v}
        return
    for t in s.by_op.get(p.op, ()):  # replay a known term whole
        for b2 in match_all(p, t, b, s.typed):
            yield t, b2
    if PRIMITIVES[p.op].public:  # or build it
        for args, b2 in _generate_seq(s, p.args, b):
            t = App(p.op, args)
            if s.derivable(t):
                yield t, b2


def _generate_seq(s: _Search, ps: Sequence[Pattern],
                  b: dict[str, Term]) -> Iterator[tuple[tuple[Term, ...], dict[str, Term]]]:
    if not ps:
        yield (), b
        return
    for t0, b0 in _generate(s, ps[0], b):
        for rest, b1 in _generate_seq(s, ps[1:], b0):
            yield (t0, *rest), b1
