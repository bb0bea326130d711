"""The lazy intruder: the attacker's knowledge as part of a symbolic state, and the constraint solver.

A message an honest role receives is a pattern with variables. Instead of enumerating what the attacker could
send, the search adds the *constraint* "this pattern is derivable from what the attacker knew at this point" and
solves it lazily (Millen-Shmatikov; OFMC's lazy intruder, Basin, Moedersheim and Vigano): a variable that only
has to be *some* derivable term stays a variable, and the state records the *simple constraint* "X is
derivable at level l". A set of simple constraints is always satisfiable: the attacker fills each variable with
a value of its own (a fresh constant of the variable's sort), so a state is reachable exactly when its
constraints could be reduced to simple ones. That is why the search is complete for a bounded number of
sessions while branching stays finite.

Levels. Constraints refer to the knowledge *at the time of the receive*: a value learnt later must not be used
earlier. Every item of knowledge and every simple constraint carries a level; an item is usable for a
constraint when its level is at most the constraint's. Levels are kept canonical (`Store.canonical`): the
distinct levels of the simple constraints are numbered 0, 1, ... and each item gets the number of constraint
levels below its own, so that states that differ only in when something irrelevant was learnt coincide.

Knowledge. `Store.known` is the *analysed closure* of what the attacker was given (as in knowledge.py for
ground terms): every component of a tuple (tuples themselves are dropped, synthesis rebuilds them), every
plaintext of a ciphertext whose key is derivable *whatever the variables stand for*, and the ciphertexts it
cannot open, kept whole. A ciphertext whose key contains variables may become openable for some values only:
such *conditional* items are opened inside the solver, on demand, by adding the key as a further constraint
(Millen-Shmatikov's decomposition rule). All analysis and synthesis rules come from `terms.PRIMITIVES`.

The solver (`Intruder.solve`) reduces a list of goals `(term, level)` by
  * simple: a variable goal becomes (or tightens) a simple constraint;
  * identity: a goal derivable without fixing any variable is dropped; this solution is the most general one
    and subsumes every other, so no branching happens (the common case);
  * compose: a public constructor applied to derivable arguments (Diffie-Hellman: one exponent peeled at a time);
  * unify: the goal equals (under a most general unifier) an item of the knowledge at its level;
  * DH base: a variable DH base `V` in `exp(V, ...)` may be the attacker's own half-key `exp(b, Z)`;
  * decrypt: a conditional item is opened by adding its key as a goal.
Binding a variable re-activates its simple constraint as a goal, with the variable's value, at its level.
"""
from __future__ import annotations

import itertools
from bisect import bisect_left
from functools import lru_cache
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from checker.records import field, record
from checker.security.terms import (PRIMITIVES, App, Atom, Pattern, Term, Var, exp_peels, is_agent_sort,
                                    is_ground, sort_key, term_vars)
from checker.security.unify import Subst, apply, unify

INF = 1 << 30
#: The level of a variable of a receive taken early (secsys `_eager`) with levels: it was chosen at some moment
#: before its run's next step, not yet known which, so every item is usable for it (below INF) until that step
#: pins it to the level of the moment (`Store.pinned`).
FLOAT = INF - 1
Goal = tuple[Pattern, int]

#: Solver steps allowed for one set of goals before the search is declared not to terminate (an engine bug:
#: every branch of the reduction shrinks a goal or binds a variable).
STEP_LIMIT = 200_000


class SolverLimit(RuntimeError):
    """The constraint solver exceeded STEP_LIMIT steps."""


# ---------------------------------------------------------------------------------------------------------------
# analysis: the closure of a set of items under the destructors, with levels


def _flat(t: Pattern) -> Iterator[Pattern]:
    """A term's tuple components (recursively), or the term itself."""
    if isinstance(t, App) and t.op == "tuple":
        for a in t.args:
            yield from _flat(a)
    else:
        yield t


def level_of(t: Pattern, known: Mapping[Pattern, int], simple: Mapping[str, int], memo: dict) -> int:
    """The lowest level at which `t` is derivable whatever the variables stand for: held, a variable with a
    simple constraint, or built by a public constructor from such parts (INF: not derivable so)."""
    found = memo.get(t)
    if found is not None:
        return found
    memo[t] = INF  # guards cycles; overwritten below
    best = known.get(t, INF)
    if isinstance(t, Var):
        best = min(best, simple.get(t.name, INF))
    elif isinstance(t, App):
        prim = PRIMITIVES[t.op]
        if prim.public:
            if t.op == "exp":
                for rest, e in exp_peels(t.args):
                    best = min(best, max(level_of(e, known, simple, memo), level_of(rest, known, simple, memo)))
            else:
                best = min(best, max(level_of(a, known, simple, memo) for a in t.args))
    memo[t] = best
    return best


@lru_cache(maxsize=1 << 16)
def _needs(c: Pattern) -> tuple[Pattern, ...] | None:
    """What the attacker must derive to analyse `c`, or None if `c` has no destructor that can ever apply
    (memoised: a pure function of an immutable term)."""
    if not isinstance(c, App) or c.op == "tuple":
        return None
    destructor = PRIMITIVES[c.op].destructor
    if destructor is None:
        return None
    return destructor.needs(c.args)


def _parts(c: App) -> tuple[Pattern, ...]:
    destructor = PRIMITIVES[c.op].destructor
    assert destructor is not None
    return destructor.parts(c.args)


def close(items: dict[Pattern, int] | Sequence[tuple[Pattern, int]], simple: Mapping[str, int],
          base: Mapping[Pattern, int] | None = None, done: dict[Pattern, int] | None = None) -> dict[Pattern, int]:
    """The analysed closure of `items` (plus the already closed `base`), each term with its lowest level.
    Tuples are split and dropped, variables dropped (a variable the attacker holds is one it chose: its
    simple constraint says so already). `done` (updated in place) holds items of the base, with their level,
    whose parts are all held at that level (or that have none): they are not analysed again while their level
    stays."""
    known: dict[Pattern, int] = dict(base) if base else {}
    pairs = items.items() if isinstance(items, dict) else items  # a dict or a list (not an ABC check: hot)
    changed = False
    for t, lv in pairs:
        for u in _flat(t):
            if not isinstance(u, Var) and known.get(u, INF) > lv:
                known[u] = lv
                changed = True
    if not changed and base is not None:
        return known
    if done is None:
        done = {}
    # The items not analysed at their level: the first round looks at all of them, each later one only at those
    # the round before left unanalysed, added or lowered (an entry whose item was lowered since is stale and
    # passed over). The closure does not depend on the order (it is the least fixpoint of the levels), as it
    # must not: stores are sets.
    todo = [(c, lc) for c, lc in known.items() if done.get(c, INF) != lc]
    while changed:
        changed = False
        memo: dict = {}
        again: list[tuple[Pattern, int]] = []
        for c, lc in todo:
            if known[c] != lc:
                continue  # lowered by this round or the last: its new level is on the list
            needs = _needs(c)
            if needs is None:
                done[c] = lc  # nothing to open: not looked at again
                continue
            need = max((level_of(n, known, simple, memo) for n in needs), default=0)
            if need >= INF:
                again.append((c, lc))
                continue
            lp = max(lc, need)
            if lp == lc:
                done[c] = lc
            else:
                again.append((c, lc))
            for p in _parts(c):  # type: ignore[arg-type]
                for u in _flat(p):
                    if not isinstance(u, Var) and known.get(u, INF) > lp:
                        known[u] = lp
                        again.append((u, lp))
                        changed = True
        todo = again
    return known


# ---------------------------------------------------------------------------------------------------------------
# the attacker's part of a symbolic state


@record
class Store:
    """The analysed knowledge and the simple constraints of a symbolic state, levels canonical."""

    known: frozenset[tuple[Pattern, int]]
    simple: frozenset[tuple[Var, int]]
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def initial(cls, terms: Sequence[Term]) -> Store:
        return cls(frozenset(close([(t, 0) for t in terms], {}).items()), frozenset())

    def __canonical__(self) -> tuple:
        return (self.known, self.simple)

    # ---- derived views, computed once per store
    def index(self) -> dict[Pattern, int]:
        found = self._cache.get("index")
        if found is None:
            found = self._cache["index"] = dict(self.known)
        return found

    def levels(self) -> dict[str, int]:
        found = self._cache.get("levels")
        if found is None:
            found = self._cache["levels"] = {v.name: lv for v, lv in self.simple}
        return found

    def variables(self) -> dict[str, Var]:
        found = self._cache.get("vars")
        if found is None:
            found = self._cache["vars"] = {v.name: v for v, _lv in self.simple}
        return found

    @property
    def now(self) -> int:
        """The level of a goal posed now: every item held is usable (levels are canonical, see the module doc)."""
        found = self._cache.get("now")
        if found is None:
            found = self._cache["now"] = len({lv for _v, lv in self.simple if lv != FLOAT})
        return found

    def pinned(self, names: frozenset[str]) -> Store:
        """The store with the floating variables among `names` fixed at the level of now (see FLOAT)."""
        levels = self.levels()
        if not any(levels.get(n) == FLOAT for n in names):
            return self
        now = self.now
        simple = {v.name: (v, now if lv == FLOAT and v.name in names else lv) for v, lv in self.simple}
        levels = {n: lv for n, (_v, lv) in simple.items()}
        # what was opened with a floating key is opened again at the key's new level
        return canonical_levels(close([(t, lv) for t, lv in self.known if lv != FLOAT], levels), simple)

    def is_ground(self) -> bool:
        return not self.simple and all(is_ground(t) for t, _lv in self.known)

    def done(self) -> dict[Pattern, int]:
        """The items whose parts are all held at the item's own level (their analysis is done: see `close`);
        a store's knowledge is closed, so that is every item without a destructor and every item whose
        destructor's needs are derivable there."""
        found = self._cache.get("done")
        if found is None:
            known, levels = self.index(), self.levels()
            memo: dict = {}
            found = self._cache["done"] = {
                c: lc for c, lc in known.items()
                if (needs := _needs(c)) is None or max((level_of(n, known, levels, memo) for n in needs),
                                                       default=0) <= lc}
        return found

    def varied(self) -> tuple[App, ...]:
        """The items with variables (the knowledge never holds a bare variable: `close` drops them)."""
        found = self._cache.get("varied")
        if found is None:
            found = self._cache["varied"] = tuple(t for t, _lv in self.known if type(t) is App and t._vars)
        return found

    def by_op(self) -> dict[str, tuple[App, ...]]:
        """The applications held, by operator: what the solver's `_candidates` looks through."""
        found = self._cache.get("by_op")
        if found is None:
            groups: dict[str, list[App]] = {}
            for t, _lv in self.known:
                if type(t) is App:
                    groups.setdefault(t.op, []).append(t)
            found = self._cache["by_op"] = {op: tuple(ts) for op, ts in groups.items()}
        return found

    def sorted_terms(self) -> list[Pattern]:
        """The items, sorted (deterministic order for traces and tests)."""
        return sorted((t for t, _lv in self.known), key=sort_key)


#: Sorts whose variables stand for atoms only (a `key` variable also admits `pk(X)`, `k(A, B)`, DH keys).
ATOMIC_SORTS = ("nonce", "text")


def canonical_levels(known: Mapping[Pattern, int], simple: Mapping[str, tuple[Var, int]]) -> Store:
    """Renumber levels (see the module doc): constraint level c becomes the number of distinct constraint levels
    below it; an item's level x the number of distinct constraint levels below x.

    First, a variable that stands for an atom (agents, nonces, texts) moves down to the level at which the last
    atom of its sort became derivable: "derivable at l" then admits the same values (the closed
    knowledge holds every derivable atom as an item, and nothing learnt later gets a level at or below l), so the
    states that differ only in when such a variable was chosen between two new atoms of its sort coincide."""
    if any(lv for _v, lv in simple.values()):
        simple = _atoms_lowered(known, simple)
    distinct = sorted({lv for _v, lv in simple.values() if lv != FLOAT})
    if distinct in ([], [0]) and not any(known.values()):  # everything at level 0 (the search without levels)
        return Store(frozenset(known.items()), frozenset(simple.values()))
    rank = {lv: k for k, lv in enumerate(distinct)}
    rank[FLOAT] = FLOAT
    below = {x: FLOAT if x == FLOAT else bisect_left(distinct, x) for x in set(known.values())}  # levels below x
    return Store(frozenset((t, below[x]) for t, x in known.items()),
                 frozenset((v, rank[lv]) for v, lv in simple.values()))


def _atoms_lowered(known: Mapping[Pattern, int], simple: Mapping[str, tuple[Var, int]]
                   ) -> Mapping[str, tuple[Var, int]]:
    """`simple` with each atom variable at the lowest level that admits the same atoms (see `canonical_levels`)."""
    atom_levels: dict[str, list[int]] = {}
    out = dict(simple)
    for name, (v, lv) in simple.items():
        if lv == 0 or lv == FLOAT or v.sort is None:
            continue
        if is_agent_sort(v.sort):
            out[name] = (v, 0)  # every agent's name is known from the start
            continue
        if v.sort not in ATOMIC_SORTS:
            continue
        found = atom_levels.get(v.sort)
        if found is None:
            found = atom_levels[v.sort] = [x for t, x in known.items() if isinstance(t, Atom) and t.sort == v.sort]
        out[name] = (v, max((x for x in found if x <= lv), default=0))
    return out


# ---------------------------------------------------------------------------------------------------------------
# the solver's working state


class Work:
    """One branch of the constraint search: substitution, closure and simple constraints so far (mutable;
    copied when the search branches)."""

    __slots__ = ("sigma", "known", "simple", "opened", "fresh", "_decrypts", "done", "origin", "_levels")

    def __init__(self, sigma: Subst, known: dict[Pattern, int], simple: dict[str, tuple[Var, int]],
                 opened: frozenset = frozenset(), fresh: int = 0, decrypts: bool | None = None,
                 done: dict[Pattern, int] | None = None, origin: Store | None = None,
                 levels: dict[str, int] | None = None):
        self.sigma = sigma
        self.known = known
        self.simple = simple
        # `levels()` of `simple`, None until asked for and whenever `simple` changes; never changed in place, so
        # copies share it
        self._levels = levels
        self.done = {} if done is None else done  # items whose analysis is complete (see `close`)
        self.opened = opened  # (item, level) pairs decrypted on demand in this branch
        self.fresh = fresh  # variables the solver introduced (DH half-keys)
        self._decrypts = decrypts  # whether some item may open for some values of its variables (None: unknown)
        # The store this branch started from while `known` still begins with its items, in order (`close` only
        # adds items, at the end, or lowers levels): `flat_store` then adds only the new ones. None once a
        # binding has rewritten items.
        self.origin = origin

    @property
    def decrypts(self) -> bool:
        if self._decrypts is None:
            self._decrypts = self._has_conditional()
        return self._decrypts

    @classmethod
    def start(cls, store: Store) -> Work:
        w = cls({}, dict(store.index()), {v.name: (v, lv) for v, lv in store.simple}, done=dict(store.done()),
                origin=store, levels=store.levels())
        found = store._cache.get("decrypts")
        if found is None:
            found = store._cache["decrypts"] = w._has_conditional()
        w._decrypts = found
        return w

    def copy(self) -> Work:
        return Work(dict(self.sigma), dict(self.known), dict(self.simple), self.opened, self.fresh, self._decrypts,
                    dict(self.done), self.origin, self._levels)

    def levels(self) -> dict[str, int]:
        """Each simple constraint's variable name and level (callers only read it)."""
        found = self._levels
        if found is None:
            found = self._levels = {n: lv for n, (_v, lv) in self.simple.items()}
        return found

    def level(self, t: Pattern, memo: dict | None = None) -> int:
        return level_of(t, self.known, self.levels(), {} if memo is None else memo)

    def constrain(self, v: Var, lv: int) -> None:
        old = self.simple.get(v.name)
        if old is None or old[1] > lv:
            self.simple[v.name] = (v, lv)
            self._levels = None

    def bind(self, sigma: Subst) -> list[Goal]:
        """Adopt `sigma` (an extension of self.sigma): apply it to the knowledge and re-activate the simple
        constraints of the variables it binds, as goals at their levels."""
        new = {n: t for n, t in sigma.items() if n not in self.sigma}
        self.sigma = sigma
        if not new:
            return []
        goals: list[Goal] = []
        for name in sorted(new):
            old = self.simple.pop(name, None)
            if old is not None:
                goals.append((new[name], old[1]))
                self._levels = None
        items: dict[Pattern, int] = {}
        base = dict(self.known)  # less the items a bound variable rewrites: closed among themselves already
        for t in self._varied():
            u = apply(t, new)
            if u is not t:
                lv = base.pop(t)
                if items.get(u, INF) > lv:
                    items[u] = lv
        if items:  # some items were rewritten: what was done about them is void
            self.done = {c: lc for c, lc in self.done.items() if c in base}
            self.origin = None
        self.known = close(items, self.levels(), base, self.done)
        self._decrypts = None
        return goals

    def _varied(self) -> Iterable[Pattern]:
        """Items that may hold variables (the others are ground). While this branch's items are still those of
        the store it started from followed by the ones it added (`origin`), that store's items with variables
        (`Store.varied`) and the added ones; otherwise all of them."""
        return self.known if self.origin is None else itertools.chain(self.origin.varied(), self._added())

    def _added(self) -> Iterable[Pattern]:
        """The items added since the branch started from `origin` (which must be set): `close` appends them."""
        assert self.origin is not None
        return itertools.islice(self.known, len(self.origin.known), None)

    def learn(self, terms: Sequence[Pattern], lv: int) -> None:
        """Add terms the attacker learns at level `lv` (with the substitution applied) and analyse."""
        items = [(apply(t, self.sigma), lv) for t in terms]
        self.known = close(items, self.levels(), self.known, self.done)
        self._decrypts = None

    def _has_conditional(self) -> bool:
        """Whether some held item might open for some values of its variables (then the solver also tries
        decrypting on demand): a destructor whose needs mention variables, are not derivable now, and could
        become derivable (`_could_open`)."""
        levels = self.levels()
        memo: dict = {}
        for c, lc in self.known.items():
            needs = _needs(c)
            if needs and any(not is_ground(n) for n in needs) and \
                    max(level_of(n, self.known, levels, memo) for n in needs) > lc and \
                    all(self._could_open(n) for n in needs):
                return True
        return False

    def _could_open(self, need: Pattern) -> bool:
        """Whether `need` could be derivable for some values of its variables. A private construction
        (`sk(X)`, `k(X, Y)`) only by unifying with one held; anything else is assumed possible."""
        if isinstance(need, App) and not PRIMITIVES[need.op].public:
            return any(isinstance(u, App) and u.op == need.op and unify(need, u) for u in self.known)
        return not isinstance(need, Atom)

    def pending(self, lv: int) -> list[App]:
        """Items usable at level `lv` that are not opened (yet) at that level but might be, sorted."""
        levels = self.levels()
        memo: dict = {}
        out = []
        for c, lc in self.known.items():
            if lc > lv or (c, lv) in self.opened:
                continue
            needs = _needs(c)
            if needs is None:
                continue
            if max((level_of(n, self.known, levels, memo) for n in needs), default=0) <= lv:
                continue
            if not all(self._could_open(n) or is_ground(n) for n in needs):
                continue
            out.append(c)
        return sorted(out, key=sort_key)  # type: ignore[arg-type]

    def key_agents(self) -> list[Var]:
        """Agent variables in the keys of items the attacker cannot open yet (`{m}pk(X)`, `{m}k(A, X)`): whether
        X is compromised decides whether it can, so the system splits on it once (see secsys `_split`)."""
        levels = self.levels()
        memo: dict = {}
        found: set[Var] = set()
        for c in self.known:
            needs = _needs(c)
            if not needs or all(is_ground(n) for n in needs):
                continue
            if max(level_of(n, self.known, levels, memo) for n in needs) < INF:
                continue
            for n in needs:
                if isinstance(n, App) and not PRIMITIVES[n.op].public:
                    found |= {v for v in term_vars(n) if is_agent_sort(v.sort)}
        return sorted(found, key=lambda v: v.name)

    def store(self) -> Store:
        return canonical_levels(self.known, self.simple)

    def flat_store(self) -> Store:
        """The store with every level 0: every item usable for every constraint. The search without levels
        (secsys's default, an over-approximation) keeps no levels, so states reached in different orders
        coincide instead of differing in when each variable was introduced. Built on the store the branch started
        from when its items are still the first ones held (`origin`, a flat store in a search without levels):
        the union of two frozensets reuses their members' hashes, so only the new items are hashed."""
        simple = frozenset((v, 0) for v, _lv in self.simple.values())
        origin = self.origin
        if origin is None:
            return Store(frozenset((t, 0) for t in self.known), simple)
        n = len(origin.known)
        if len(self.known) == n:
            return origin if simple == origin.simple else Store(origin.known, simple)
        return Store(origin.known | frozenset((t, 0) for t in itertools.islice(self.known, n, None)), simple)


# ---------------------------------------------------------------------------------------------------------------
# the solver


@record(frozen=False)
class Intruder:
    """The constraint solver, with the attacker's own atoms (`own`) per sort for concretisation."""

    dh_bases: tuple[Term, ...] = ()  # the DH bases of the protocol (`g`), for the attacker's own half-keys

    def solve(self, work: Work, goals: list[Goal]) -> Iterator[Work]:
        """Every reduction of `goals` (with the constraints of `work`) to simple constraints, as branches,
        without duplicates. `work` is consumed (mutated) by the first branch."""
        if not goals:
            yield work
            return
        budget = [STEP_LIMIT]
        seen: set = set()
        for w in self._solve(work, list(goals), budget):
            key = (frozenset(w.sigma.items()), frozenset(w.simple.items()), frozenset(w.known.items()))
            if key not in seen:
                seen.add(key)
                yield w

    def _solve(self, work: Work, goals: list[Goal], budget: list[int]) -> Iterator[Work]:
        while goals:
            budget[0] -= 1
            if budget[0] < 0:
                raise SolverLimit("the constraint solver did not terminate")
            t, lv = goals.pop()
            t = apply(t, work.sigma)
            if isinstance(t, Var):
                work.constrain(t, lv)
                continue
            if self._identity(work, t, lv):
                continue
            for w2, extra in self._branches(work, t, lv):
                yield from self._solve(w2, goals + extra, budget)
            return
        yield work

    def _identity(self, work: Work, t: Pattern, lv: int) -> bool:
        """Whether `t` is derivable at `lv` whatever its variables stand for, when they all have simple
        constraints already: then every other solution (unifying a part with something held) binds them to
        values derivable at their levels, an instance of this one, so it is the most general solution and
        no branching is needed. A *new* variable may instead be bound to a part the attacker cannot derive
        (a nonce inside a ciphertext it forwards), so goals with new variables always branch."""
        levels = work.levels()
        if any(v.name not in levels for v in term_vars(t)):
            return False
        return level_of(t, work.known, levels, {}) <= lv

    def _branches(self, work: Work, t: Pattern, lv: int) -> Iterator[tuple[Work, list[Goal]]]:
        # compose
        if isinstance(t, App) and PRIMITIVES[t.op].public:
            if t.op == "exp":
                for rest, e in exp_peels(t.args):
                    yield work.copy(), [(rest, lv), (e, lv)]
            else:
                yield work.copy(), [(a, lv) for a in reversed(t.args)]
        # unify with an item held at this level
        candidates = _candidates(work, t, lv) if type(t) is App else []
        for u in sorted(candidates, key=sort_key):
            for sigma in unify(t, u, work.sigma):
                w2 = work.copy()
                extra = w2.bind(sigma)
                yield w2, extra
        # the attacker's own half-key for a variable DH base
        if isinstance(t, App) and t.op == "exp" and isinstance(t.args[0], Var):
            v = t.args[0]
            for b in self.dh_bases:
                w2 = work.copy()
                w2.fresh += 1
                z = Var(f"~dh{w2.fresh}", "nonce" if v.sort is not None else None)
                half = App("exp", (b, z))
                for sigma in unify(v, half, w2.sigma):
                    w3 = w2.copy()
                    extra = w3.bind(sigma)
                    w3.constrain(z, lv)
                    yield w3, extra + [(t, lv)]
        # decrypt on demand
        if work.decrypts:
            for c in work.pending(lv):
                needs = _needs(c)
                assert needs is not None
                w2 = work.copy()
                w2.opened = w2.opened | {(c, lv)}
                w2.known = close([(p, max(lv, w2.known[c])) for p in _parts(c)], w2.levels(), w2.known, w2.done)
                yield w2, [(t, lv)] + [(n, lv) for n in needs]


def _candidates(work: Work, t: App, lv: int) -> list[App]:
    """The items usable at `lv` that could unify with the application `t` (an atom goal unifies only with itself,
    which `_identity` handles): other applications of its operator, not both ground, that do not clash. While the
    branch's items are still those of the store it started from followed by the ones it added (`Work.origin`),
    the store's applications of that operator (`Store.by_op`) and the added ones are all there is to look at."""
    op, ground = t.op, t._ground
    known = work.known
    pool: Iterable[Pattern] = known if work.origin is None else \
        itertools.chain(work.origin.by_op().get(op, ()), work._added())
    return [u for u in pool if type(u) is App and u.op == op and known[u] <= lv and u is not t
            and not (ground and u._ground) and not _clash(t, u)]


#: Operators whose unification is not argument by argument: right-nested tuples, DH exponents, `k`'s two orders.
_SPECIAL = frozenset({"tuple", "exp", "k"})


def _clash(s: Pattern, t: Pattern) -> bool:
    """Whether `s` and `t` (under the current substitution) certainly do not unify: two different atoms, an
    atom against an application, different operators or arities, or such a clash in corresponding arguments.
    A cheap test that spares most failing calls of `unify` (a variable never clashes: sorts are left to it)."""
    if s is t:
        return False
    ts, tt = type(s), type(t)
    if ts is Var or tt is Var:
        return False
    if ts is Atom or tt is Atom:
        return True  # atoms are interned: two different objects are two different atoms
    if s.op != t.op:  # type: ignore[union-attr]
        return True
    if s._ground and t._ground:  # type: ignore[union-attr]
        return True  # applications are interned too: two ground ones that are not the same object differ
    if s.op == "tuple":  # type: ignore[union-attr]
        return _tuples_clash(s.args, t.args)  # type: ignore[union-attr]
    if s.op in _SPECIAL:  # type: ignore[union-attr]
        return False
    return len(s.args) != len(t.args) or any(_clash(a, b) for a, b in zip(s.args, t.args))  # type: ignore


def _tuples_clash(a: tuple[Pattern, ...], b: tuple[Pattern, ...]) -> bool:
    """`_clash` for two flat tuples. Tuples are right-nested pairs written flat (terms.py `_flatten_tuple`), so
    only a variable in the last place can stand for several elements: elements align from the left, and where
    one tuple is shorter, its last element must take the other's whole tail, a tuple, which no atom or
    (necessarily non-tuple) application in that place can be."""
    if len(a) > len(b):
        a, b = b, a
    last = len(a) - 1
    if any(_clash(x, y) for x, y in zip(a[:last], b[:last])):
        return True
    if len(a) == len(b):
        return _clash(a[last], b[last])
    return type(a[last]) is not Var


def fresh_value(v: Var, counters: dict[str, int], own: Mapping[str, Atom], agent: Callable[[str], Atom]) -> Term:
    """A fresh attacker constant for an unpinned variable, of the variable's sort (or shape); `agent(sort)`
    picks an agent for an agent variable (agents are not invented: the scenario names them all)."""
    sort = v.sort or "nonce"
    if sort in ("senc", "aenc", "h"):
        m = fresh_value(Var("_", "nonce"), counters, own, agent)
        if sort == "h":
            return App("h", (m,))
        if sort == "aenc":
            return App("aenc", (m, App("pk", (agent("agent"),))))
        return App("senc", (m, fresh_value(Var("_", "key"), counters, own, agent)))
    if is_agent_sort(sort):
        return agent(sort)
    base = own.get(sort) or own["nonce"]
    counters[base.name] = counters.get(base.name, 0) + 1
    return Atom(f"{base.name}#{counters[base.name]}", base.sort)
