"""Dolev-Yao attacker knowledge over ground terms: analysis, synthesis and explanations.

This is the *concrete* attacker: the replay of every attack (checker/security/concrete.py) checks each injected
message with `derivable`, and the trace explains it with `explain`, which uses the same definition, so the two
can never disagree. The symbolic search (checker/security/intruder.py) reads the same table of primitives.

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

from typing import Iterable, Iterator, Sequence

from checker.records import record
from checker.security.terms import PRIMITIVES, App, Atom, Pattern, Term, is_ground, pretty, pretty_enclosed, sort_key

Memo = dict[Pattern, bool]


@record(slots=True)
class Knowledge:
    """What the attacker knows: the analysed closure, tuples dropped (see module doc). Build with `initial`."""

    terms: frozenset[Pattern]

    @classmethod
    def initial(cls, terms: Iterable[Pattern] = ()) -> Knowledge:
        return cls(frozenset()).add_all(terms)

    def add(self, term: Pattern) -> Knowledge:
        """Learn `term`; it may make a key derivable and so open ciphertexts learnt earlier."""
        return self.add_all((term,))

    def add_all(self, terms: Iterable[Pattern]) -> Knowledge:
        new = tuple(terms)
        for t in new:
            if not is_ground(t):
                raise ValueError(f"attacker knowledge must be ground: {pretty(t)}")
        if all(t in self.terms for t in new):
            return self
        return Knowledge(frozenset(t for t in _saturate(self.terms, new) if not _is_tuple(t)))

    def __canonical__(self) -> frozenset[Pattern]:  # for state fingerprints (checker/engine/fingerprint.py)
        return self.terms

    def sorted_terms(self) -> tuple[Pattern, ...]:
        return tuple(sorted(self.terms, key=sort_key))

    def __len__(self) -> int:
        return len(self.terms)

    def __str__(self) -> str:
        return "{" + "; ".join(pretty(t) for t in self.sorted_terms()) + "}"


# ---------------------------------------------------------------------------------------------------------------
# Analysis and synthesis


def derivable(knowledge: Knowledge, term: Pattern, fresh: Sequence[Atom] = ()) -> bool:
    """Whether the attacker can send `term`: held, or built by public constructors from derivable parts (DH:
    see `compose`), where `fresh` are the constants it invents for the purpose (they are known to it and open
    whatever they are the key of). The one definition of derivability of the concrete attacker."""
    know = knowledge.add_all(fresh) if fresh else knowledge
    return _derivable(know.terms, term, {})


def _derivable(known: frozenset[Pattern] | set[Pattern], term: Pattern, memo: Memo) -> bool:
    return term in known or _constructible(known, term, memo)


def _constructible(known: frozenset[Pattern] | set[Pattern], term: Pattern, memo: Memo) -> bool:
    """Derivable without holding `term` itself: built by its (public) constructor from derivable parts."""
    return _build_parts(known, term, memo) is not None


def _build_parts(known: frozenset[Pattern] | set[Pattern], term: Pattern, memo: Memo) -> tuple[Pattern, ...] | None:
    """The derivable terms the attacker combines to build `term`, or None if it cannot build it."""
    if not isinstance(term, App) or not PRIMITIVES[term.op].public:
        return None
    cached = memo.get(term)
    if cached is False:
        return None
    prim = PRIMITIVES[term.op]

    def can(u: Pattern) -> bool:
        return _derivable(known, u, memo)

    parts = prim.compose(term.args, can) if prim.compose else (term.args if all(map(can, term.args)) else None)
    memo[term] = parts is not None
    return parts


def _reveal(known: frozenset[Pattern] | set[Pattern], term: Pattern, memo: Memo) -> tuple[Pattern, ...] | None:
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


def _saturate(base: frozenset[Pattern], new: Iterable[Pattern]) -> set[Pattern]:
    """Close `base` plus `new` under the destructors. Rescans earlier terms when anything is learnt, since a
    new term can make the key of an old ciphertext derivable. The result does not depend on set order."""
    known = set(base)
    pending = list(new)
    opened: set[Pattern] = set()
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


def _is_tuple(term: Pattern) -> bool:
    return isinstance(term, App) and term.op == "tuple"


# ---------------------------------------------------------------------------------------------------------------
# Explanations


Origin = tuple[Pattern, str, tuple[Pattern, ...]]  # (opened term, verb, terms needed to open it)


def _origins(closed: set[Pattern]) -> dict[Pattern, Origin]:
    """For each term analysis reveals, the first (by `sort_key`) ciphertext or signature it comes out of;
    tuples in between are looked through, so `Na` comes "decrypted from {Na, A}pk(E)", not from `(Na, A)`."""
    memo: Memo = {}
    origins: dict[Pattern, Origin] = {}
    for c in sorted(closed, key=sort_key):
        if isinstance(c, App) and not _is_tuple(c):
            parts = _reveal(closed, c, memo)
            if parts is not None:
                destructor = PRIMITIVES[c.op].destructor
                assert destructor is not None
                origin = (c, destructor.verb, destructor.needs(c.args) or ())
                for leaf in _untuple(parts):
                    origins.setdefault(leaf, origin)
    return origins


def _untuple(terms: Iterable[Pattern]) -> Iterator[Pattern]:
    for t in terms:
        if isinstance(t, App) and t.op == "tuple":
            yield from _untuple(t.args)
        else:
            yield t


def _how(origin: Origin) -> str:
    source, verb, needs = origin
    with_ = f" with {', '.join(pretty_enclosed(n) for n in needs)}" if needs else ""
    return f"{verb} from {pretty_enclosed(source)}{with_}"


@record(slots=True)
class _Explainer:
    """What `explain` needs to say how the attacker derives a term: the closed knowledge, where each of its
    terms came from, the fresh values, and a memo of the parts of terms built from it."""

    closed: set[Pattern]
    origins: dict[Pattern, Origin]
    fresh: frozenset[Atom]
    memo: Memo

    def parts(self, term: Pattern) -> list[Pattern]:
        """The pieces `term` is built from, tuples flattened, each once, in order."""
        parts = _build_parts(self.closed, term, self.memo) or ()
        flat: list[Pattern] = []
        for p in parts:
            for q in (self.parts(p) if _is_tuple(p) else [p]):
                if q not in flat:
                    flat.append(q)
        return flat

    def plain(self, term: Pattern) -> bool:
        """Held outright, or built from atoms held outright (`pk(B)`): not worth explaining. A term built
        from compound or derived parts (a DH key from `exp(g, x)` and `e`) is."""
        if term in self.closed:
            return term not in self.origins and term not in self.fresh
        return all(isinstance(p, Atom) and self.plain(p) for p in self.parts(term))

    def describe(self, term: Pattern) -> str:
        if term in self.fresh:
            return f"{pretty_enclosed(term)} (fresh)"
        if term in self.origins:
            return f"{pretty_enclosed(term)} ({_how(self.origins[term])})"
        if self.plain(term):
            return pretty_enclosed(term)
        return f"{pretty_enclosed(term)} (built from {', '.join(self.describe(p) for p in self.parts(term))})"


def explain(knowledge: Knowledge, term: Pattern, fresh: Sequence[Atom] = ()) -> str:
    """A short derivation of `term`, e.g. `{Na, E}pk(B) built from Na (decrypted from {Na, A}pk(E) with
    sk(E)), E, pk(B)`. `fresh` are atoms the attacker invents for this message. Deterministic."""
    if not derivable(knowledge, term, fresh):
        raise ValueError(f"the attacker cannot derive {pretty(term)}")
    closed = _saturate(frozenset(), knowledge.add_all(fresh).terms)
    ex = _Explainer(closed, _origins(closed), frozenset(fresh), {})
    if term in ex.fresh:
        return f"{pretty_enclosed(term)} fresh"
    if term in closed:
        return f"{pretty_enclosed(term)} {_how(ex.origins[term]) if term in ex.origins else 'known'}"
    return f"{pretty_enclosed(term)} built from {', '.join(ex.describe(p) for p in ex.parts(term))}"
