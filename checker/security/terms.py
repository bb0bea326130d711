"""The term algebra of security protocols: atoms, constructor applications, pattern variables.

Cryptography is data: `PRIMITIVES` is the one table that says, per operator, its arity, whether the
attacker may apply it, how it is taken apart (its destructor), how it is normalised and how it prints.
Adding a primitive edits that table and nothing else; `knowledge.py` reads it generically.

Every `App` is built in normal form by its own constructor, so two spellings of the same message are the
same Python value (equal, same hash, same `sort_key`):
  * `k(B, A)` becomes `k(A, B)` (long-term shared keys are symmetric: arguments sorted by `sort_key`);
  * `exp(exp(g, x), y)` becomes `App('exp', (g, x, y))`: the base followed by the multiset of exponents
    sorted by `sort_key` (the base is never itself an `exp`), so `exp(exp(g, y), x)` is the same term;
  * tuples are right-nested pairs written flat: `(a, (b, c))` becomes `(a, b, c)`. This is the pairing
    semantics of the classic tools, and it is what lets an untyped variable in the last position of a tuple
    pattern bind the remaining components (the Otway-Rees type flaw: `{Na, K}` matches `{Na, M, A, B}`
    with `K = (M, A, B)`). A tuple in any other position stays nested: `((a, b), c)`.
"""
from __future__ import annotations

import itertools
import weakref
from operator import is_
from types import MappingProxyType
from typing import Callable, Iterable, Iterator, Mapping, Sequence, Union

from checker.records import record

SORTS = ("agent", "nonce", "key", "number", "time", "text")
#: Sorts of opaque slots in typed mode: a ciphertext or hash the receiver cannot open stands for any application
#: of that operator ("a term of the right shape"); untyped, such a slot is a plain untyped variable.
SHAPES = ("senc", "aenc", "h")


class _Interned:
    """Base of atoms and variables: one object per (name, sort), so that equality and hashing are identity,
    done in C by every dict and set that holds terms (the search hashes atoms millions of times per second;
    a Python-level `__hash__` cost a tenth of it). Immutable; unpickling and copying go through the
    constructor, so a copy is the same object. Atoms and variables are few (names of a model, fresh values per
    session, canonical variable names), so the table stays small."""

    __slots__ = ("name", "sort")
    name: str
    sort: str | None

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        return (type(self), (self.name, self.sort))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sort={self.sort!r})"

    def __str__(self) -> str:
        return self.name


def _interned(cls: type, table: dict, name: str, sort: str | None) -> object:
    made: object = object.__new__(cls)
    object.__setattr__(made, "name", name)
    object.__setattr__(made, "sort", sort)
    return table.setdefault((name, sort), made)  # atomic: two threads making one atom get the same object


_ATOMS: dict[tuple[str, str], "Atom"] = {}
_VARS: dict[tuple[str, str | None], "Var"] = {}


class Atom(_Interned):
    """A name: an agent, a nonce, a key, a number, a time, or a public text constant."""

    __slots__ = ()
    sort: str

    def __new__(cls, name: str, sort: str) -> Atom:
        found = _ATOMS.get((name, sort))
        if found is not None:
            return found
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r} for atom {name!r}")
        return _interned(cls, _ATOMS, name, sort)  # type: ignore[return-value]

    def __canonical__(self) -> tuple[str, str]:  # for state fingerprints (checker/engine/fingerprint.py)
        return (self.name, self.sort)


class Var(_Interned):
    """A variable: in a role's patterns, a slot it learns; in a symbolic state, a value the attacker has not yet
    had to fix. `sort` None means it may stand for any term, a sort of `SORTS` for atoms of that sort (and, for
    `key`, key constructions), a shape of `SHAPES` for any application of that operator."""

    __slots__ = ()

    def __new__(cls, name: str, sort: str | None = None) -> Var:
        found = _VARS.get((name, sort))
        if found is not None:
            return found
        if sort is not None and sort not in SORTS and sort not in SHAPES and not sort.startswith("agent:"):
            raise ValueError(f"unknown sort {sort!r} for variable {name!r}")
        return _interned(cls, _VARS, name, sort)  # type: ignore[return-value]

    def __canonical__(self) -> tuple:
        return ("v", self.name, self.sort or "")


_NO_VARS: frozenset = frozenset()


class App:
    """An operator applied to arguments; constructing one validates the arity and normalises (see module doc).

    Interned like atoms and variables (hash-consing): equal applications are one object, so equality and hashing
    are identity and dictionaries keyed by terms never compare them part by part (the search builds hundreds of
    thousands of applications, nearly all of them equal to one made before: 401 distinct ones of 286,514 made
    in X.509 at `sessions 3`). The table holds them weakly: a term nothing refers to any more is dropped."""

    __slots__ = ("op", "args", "_ground", "_vars", "_names", "__weakref__")
    op: str
    args: tuple[Pattern, ...]
    _ground: bool
    _vars: frozenset  # the variables inside, for substitutions
    _names: frozenset[str]  # their names: whether a substitution touches the term is one test in C

    def __new__(cls, op: str, args: Iterable[Pattern]) -> App:
        prim = PRIMITIVES.get(op)
        if prim is None:
            raise ValueError(f"unknown operator {op!r}")
        args = tuple(args)
        for a in args:
            if not isinstance(a, (Atom, App, Var)):
                raise TypeError(f"argument of {op} is not a term: {a!r}")
        prim.check_arity(len(args))
        return _made(op, prim, args)

    @staticmethod
    def rebuilt(op: str, args: tuple[Pattern, ...]) -> App:
        """The application of `op` to `args` where they replace the arguments of a valid application (the
        same operator and number of terms: substitution, renaming): normalised, not validated again."""
        return _made(op, PRIMITIVES[op], args)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("App is immutable")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("App is immutable")

    def __reduce__(self):
        return (App, (self.op, self.args))

    def __canonical__(self) -> tuple:  # for state fingerprints (checker/engine/fingerprint.py)
        return (self.op, self.args)

    def __repr__(self) -> str:
        return f"App(op={self.op!r}, args={self.args!r})"

    def __str__(self) -> str:
        return pretty(self)


#: (operator, normalised arguments) -> a weak reference to the one such application. A dictionary of
#: `KeyedRef`s rather than a `WeakValueDictionary`, whose Python-level `get` cost more than the lookup itself.
_APPS: dict[tuple, weakref.KeyedRef] = {}


def _dropped(ref: weakref.KeyedRef) -> None:
    """An interned application died: forget it, unless its key already names a newer one."""
    if _APPS.get(ref.key) is ref:
        del _APPS[ref.key]


def _made(op: str, prim: Primitive, args: tuple[Pattern, ...]) -> App:
    """The one application of `op` to the normalised `args` (see the module doc)."""
    if prim.normalise is not None:
        args = prim.normalise(args)
    if prim.commutative:
        args = tuple(sorted(args, key=sort_key))
    key = (op, args)
    ref = _APPS.get(key)
    if ref is not None:
        found = ref()
        if found is not None:
            return found
    found_vars = _NO_VARS
    for a in args:
        if type(a) is Var:
            found_vars = found_vars | {a}
        elif type(a) is App and a._vars:
            found_vars = found_vars | a._vars if found_vars else a._vars
    made = object.__new__(App)
    names = frozenset(v.name for v in found_vars) if found_vars else _NO_VARS
    for name, value in (("op", op), ("args", args), ("_vars", found_vars), ("_names", names),
                        ("_ground", not found_vars)):
        object.__setattr__(made, name, value)
    _APPS[key] = weakref.KeyedRef(made, _dropped, key)
    return made


Term = Union[Atom, App]
Pattern = Union[Atom, App, Var]
Bindings = Mapping[str, Pattern]


# ---------------------------------------------------------------------------------------------------------------
# The table of primitives


@record(slots=True)
class Destructor:
    """How the attacker takes a term apart.

    `needs(args)` names the terms the attacker must derive first: `()` for nothing (tuples, signatures),
    `None` when the term cannot be opened at all (an `aenc` whose key is not `pk(X)`). `reveals` are the
    argument positions learnt (None: all of them); `verb` is used in derivation explanations.
    """

    needs: Callable[[tuple[Pattern, ...]], tuple[Pattern, ...] | None]
    reveals: tuple[int, ...] | None
    verb: str

    def parts(self, args: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
        return args if self.reveals is None else tuple(args[i] for i in self.reveals)


@record(slots=True)
class Primitive:
    """One operator. `arity` None means n-ary with at least `min_arity` arguments.

    `sort` is the sort a typed variable must have to match an application of this operator (None: only an
    untyped variable matches). `compose(args, can)` overrides synthesis: given a predicate telling which terms
    the attacker can derive, it returns the terms the application is built from, or None if it cannot be
    built (default: all arguments). `notation` is `tuple`, `braces` (`{m}k`) or `call` (`h(m)`).
    """

    name: str
    arity: int | None
    public: bool
    destructor: Destructor | None
    notation: str = "call"
    sort: str | None = None
    commutative: bool = False
    normalise: Callable[[tuple], tuple] | None = None
    compose: Callable[[tuple, Callable[[Pattern], bool]], tuple[Pattern, ...] | None] | None = None
    min_arity: int = 2

    def check_arity(self, n: int) -> None:
        if (self.arity is not None and n != self.arity) or (self.arity is None and n < self.min_arity):
            want = self.arity if self.arity is not None else f"at least {self.min_arity}"
            raise ValueError(f"{self.name} takes {want} arguments, got {n}")


def _needs_nothing(args: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    return ()


def _needs_key(args: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    return (args[1],)


def _needs_private_key(args: tuple[Pattern, ...]) -> tuple[Pattern, ...] | None:
    """`{m}pk(X)` opens with `sk(X)`; under any other key the matching private key is unnameable."""
    key = args[1]
    if isinstance(key, App) and key.op == "pk":
        return (App("sk", key.args),)
    return None


def _flatten_tuple(args: tuple) -> tuple:
    """Right-nested pairs are written flat: a tuple in the last position is spliced in."""
    last = args[-1]
    if isinstance(last, App) and last.op == "tuple":
        return args[:-1] + last.args
    return args


def _normalise_exp(args: tuple) -> tuple:
    """exp(exp(b, xs), ys) = exp(b, xs + ys); the exponents are a multiset, kept sorted."""
    base: Pattern = args[0]
    exps: tuple = args[1:]
    if isinstance(base, App) and base.op == "exp":
        exps = base.args[1:] + exps
        base = base.args[0]
    return (base,) + tuple(sorted(exps, key=sort_key))


def exp_or_base(base: Pattern, exponents: Sequence[Pattern]) -> Pattern:
    """`exp(base, exponents)`, or `base` itself for no exponent (g^{} = g)."""
    return App("exp", (base, *exponents)) if exponents else base


def exp_peels(args: tuple) -> Iterator[tuple[Pattern, Pattern]]:
    """The ways to build `exp(args)` by one exponentiation: (the rest, the exponent peeled), each distinct
    exponent once."""
    base, exps = args[0], args[1:]
    for i, e in enumerate(exps):
        if i and exps[i - 1] == e:
            continue
        yield exp_or_base(base, exps[:i] + exps[i + 1:]), e


def _compose_exp(args: tuple, can: Callable[[Pattern], bool]) -> tuple[Pattern, ...] | None:
    """Diffie-Hellman synthesis: exp(b, E) is built from exp(b, E - {e}) and e, peeling one exponent at a time
    (so from exp(g, x) and y the attacker gets exp(g, x, y), and from g, x, y likewise; never from
    exp(g, x) and exp(g, y) alone)."""
    for rest, e in exp_peels(args):
        if can(e) and can(rest):
            return (rest, e)
    return None


def _table(*prims: Primitive) -> Mapping[str, Primitive]:
    return MappingProxyType({p.name: p for p in prims})


PRIMITIVES: Mapping[str, Primitive] = _table(
    Primitive("tuple", None, True, Destructor(_needs_nothing, None, "projected"), notation="tuple",
              normalise=_flatten_tuple),
    Primitive("senc", 2, True, Destructor(_needs_key, (0,), "decrypted"), notation="braces"),
    Primitive("aenc", 2, True, Destructor(_needs_private_key, (0,), "decrypted"), notation="braces"),
    Primitive("sign", 2, True, Destructor(_needs_nothing, (0,), "read"), notation="braces"),
    Primitive("h", 1, True, None),
    Primitive("pk", 1, True, None, sort="key"),
    Primitive("sk", 1, False, None, sort="key"),
    Primitive("k", 2, False, None, sort="key", commutative=True),
    Primitive("exp", None, True, None, sort="key", normalise=_normalise_exp, compose=_compose_exp),
)


# ---------------------------------------------------------------------------------------------------------------
# Constructors (all return normal forms)


def apply(op: str, args: Sequence[Pattern]) -> App:
    """Apply `op` to `args`, checking the arity and normalising."""
    return App(op, tuple(args))


def mk_tuple(*items: Pattern) -> Pattern:
    """The tuple of `items`; a single item is itself (protocol notation `{Na}k` encrypts Na, not a 1-tuple)."""
    if not items:
        raise ValueError("empty tuple")
    return items[0] if len(items) == 1 else App("tuple", items)


def senc(m: Pattern, key: Pattern) -> App:
    return App("senc", (m, key))


def aenc(m: Pattern, key: Pattern) -> App:
    return App("aenc", (m, key))


def sign(m: Pattern, key: Pattern) -> App:
    return App("sign", (m, key))


def h(m: Pattern) -> App:
    return App("h", (m,))


def pk(a: Pattern) -> App:
    return App("pk", (a,))


def sk(a: Pattern) -> App:
    return App("sk", (a,))


def k(a: Pattern, b: Pattern) -> App:
    return App("k", (a, b))


def exp(base: Pattern, *exponents: Pattern) -> App:
    return App("exp", (base, *exponents))


# ---------------------------------------------------------------------------------------------------------------
# Inspection


def sort_key(term: Pattern) -> tuple:
    """A total order over terms and patterns, independent of `hash()`: atoms, then applications, then variables.
    Memoised for applications (the search sorts the same items over and over)."""
    if isinstance(term, Atom):
        return (0, term.name, term.sort)
    if isinstance(term, App):
        found = _SORT_KEYS.get(term)
        if found is None:
            if len(_SORT_KEYS) > 200_000:
                _SORT_KEYS.clear()
            found = _SORT_KEYS[term] = (1, term.op, tuple(sort_key(a) for a in term.args))
        return found
    return (2, term.name, term.sort or "")


_SORT_KEYS: dict[App, tuple] = {}


def is_ground(term: Pattern) -> bool:
    return isinstance(term, Atom) or (isinstance(term, App) and term._ground)


def _children(term: Pattern) -> Iterator[Pattern]:
    """Immediate subterms; a tuple's tails count too, since `(a, b, c)` is the pair `(a, (b, c))`."""
    if isinstance(term, App):
        yield from term.args
        if term.op == "tuple":
            for i in range(1, len(term.args) - 1):
                yield App("tuple", term.args[i:])


def subterms(term: Pattern) -> tuple[Pattern, ...]:
    """All subterms including `term` itself, without duplicates, sorted by `sort_key`."""
    seen: set[Pattern] = set()
    stack = [term]
    while stack:
        t = stack.pop()
        if t not in seen:
            seen.add(t)
            stack.extend(_children(t))
    return tuple(sorted(seen, key=sort_key))


def atoms(term: Pattern) -> tuple[Atom, ...]:
    return tuple(t for t in subterms(term) if isinstance(t, Atom))


def atoms_in_order(term: Pattern) -> Iterator[Atom]:
    """The atoms of `term` left to right, repeats included (renumbering goes by first appearance)."""
    if isinstance(term, Atom):
        yield term
    elif isinstance(term, App):
        for a in term.args:
            yield from atoms_in_order(a)


def numbered_constants(terms: Iterable[Pattern], bases: set[str]) -> Iterator[tuple[Atom, str, int]]:
    """The numbered constants (`Ne#3`: base `Ne`, number 3) among `terms` whose base is one of `bases`, as
    (atom, base, number), in order of appearance."""
    for t in terms:
        for a in atoms_in_order(t):
            base, _, n = a.name.partition("#")
            if base in bases and n.isdigit():
                yield a, base, int(n)


def variables(pattern: Pattern) -> tuple[Var, ...]:
    return tuple(t for t in subterms(pattern) if isinstance(t, Var))


def has_sort(term: Pattern, sort: str) -> bool:
    """Typed matching: an atom of that sort, or an application whose primitive declares that result sort
    (so a `key` variable accepts `Kab`, `k(A, B)`, `pk(B)`, `sk(B)` and DH keys `exp(g, x, y)`); for a shape
    (`SHAPES`), an application of that operator."""
    if isinstance(term, Atom):
        if sort.startswith("agent:"):
            return term.sort == "agent" and term.name in agent_names(sort)  # type: ignore[operator]
        return term.sort == sort
    if not isinstance(term, App):
        return False
    return term.op == sort if sort in SHAPES else PRIMITIVES[term.op].sort == sort


def agent_sort(names: Iterable[str] | None) -> str:
    """The sort of an agent variable that may only name the given agents (None: any agent): `agent:a,b`.
    Scenarios restrict who may play a role (`S played by server`); a partner learnt from a message keeps it."""
    return "agent" if names is None else "agent:" + ",".join(sorted(names))


def agent_names(sort: str | None) -> frozenset[str] | None:
    """The agents an agent sort admits (None: any agent)."""
    if sort is None or not sort.startswith("agent:"):
        return None
    return frozenset(sort[6:].split(",")) if sort[6:] else frozenset()


def is_agent_sort(sort: str | None) -> bool:
    return sort is not None and (sort == "agent" or sort.startswith("agent:"))


def term_vars(term: Pattern) -> frozenset[Var]:
    """The variables of a term (cached on applications)."""
    if isinstance(term, Var):
        return frozenset((term,))
    if isinstance(term, Atom):
        return frozenset()
    return term._vars


# ---------------------------------------------------------------------------------------------------------------
# Printing


def pretty(term: Pattern) -> str:
    """Protocol notation: `{Na, A}pk(B)`, `{Nb}k(A, S)`, `h(h(x))`, `exp(g, x, y)`, `Na, (A, B), C`."""
    return _pretty(term, top=True)


def pretty_enclosed(term: Pattern) -> str:
    """A term as a value inside prose or a trace: a message that is a tuple keeps its parentheses,
    `(M#1, alice, bob)`, so the commas around it cannot be mistaken for its own."""
    return _pretty(term, top=False)


def _pretty(term: Pattern, top: bool) -> str:
    if not isinstance(term, App):
        return term.name
    notation = PRIMITIVES[term.op].notation
    if notation == "tuple":
        inner = ", ".join(_pretty(a, False) for a in term.args)
        return inner if top else f"({inner})"
    if notation == "braces" and _braces_fit(term):
        return "{" + _pretty(term.args[0], True) + "}" + _pretty(term.args[1], False)
    if len(term.args) == 1:
        return f"{term.op}({_pretty(term.args[0], True)})"
    return f"{term.op}({', '.join(_pretty(a, False) for a in term.args)})"


def _braces_fit(term: App) -> bool:
    """`{m}k` reads back as the same operator only with the key kind the notation implies: `pk(..)` for public-key
    encryption, `sk(..)` for a signature, anything else for symmetric encryption. Other combinations (which only
    an attacker builds) print as calls, so that a public-key ciphertext never looks like a signature."""
    key = term.args[1]
    kind = key.op if isinstance(key, App) and key.op in ("pk", "sk") else None
    return kind == {"aenc": "pk", "sign": "sk"}.get(term.op)


# ---------------------------------------------------------------------------------------------------------------
# Matching and substitution


def match_all(pattern: Pattern, term: Pattern, bindings: Bindings = MappingProxyType({}),
              typed: bool = True) -> list[dict[str, Pattern]]:
    """Every way `pattern` matches the ground `term` extending `bindings`, without duplicates, in a fixed order.

    There can be several: `k(X, Y)` against `k(A, B)` (commutativity), `exp(G, Y)` against `exp(g, x, y)`
    (which exponent the variable base absorbs). Typed: a variable with a sort only binds terms of that sort
    (`has_sort`); untyped: any variable binds any term. A variable ending a tuple pattern may bind the
    remaining components as a tuple when its sort allows a tuple (untyped, or no sort).
    """
    found: dict[frozenset, dict[str, Pattern]] = {}
    for b in _match(pattern, term, dict(bindings), typed):
        found.setdefault(frozenset(b.items()), b)
    return list(found.values())


def match(pattern: Pattern, term: Pattern, bindings: Bindings = MappingProxyType({}),
          typed: bool = True) -> dict[str, Pattern] | None:
    """The first matcher of `match_all` (the same order every run), or None."""
    return next(_match(pattern, term, dict(bindings), typed), None)


def _match(p: Pattern, t: Pattern, b: dict[str, Pattern], typed: bool) -> Iterator[dict[str, Pattern]]:
    if isinstance(p, Var):
        bound = b.get(p.name)
        if bound is not None:
            if bound == t:
                yield b
        elif not typed or p.sort is None or has_sort(t, p.sort):
            yield {**b, p.name: t}
        return
    if isinstance(p, Atom) or p._ground:
        if p == t:
            yield b
        return
    if not isinstance(t, App) or t.op != p.op:
        return
    if p.op == "tuple":
        yield from _match_tuple(p, t, b, typed)
    elif p.op == "exp":
        yield from _match_exp(p, t, b, typed)
    elif PRIMITIVES[p.op].commutative:
        for order in dict.fromkeys(itertools.permutations(t.args)):
            yield from _match_seq(p.args, order, b, typed)
    else:
        yield from _match_seq(p.args, t.args, b, typed)


def _match_seq(ps: Sequence[Pattern], ts: Sequence[Pattern], b: dict[str, Pattern],
               typed: bool) -> Iterator[dict[str, Pattern]]:
    if len(ps) != len(ts):
        return
    if not ps:
        yield b
        return
    for b1 in _match(ps[0], ts[0], b, typed):
        yield from _match_seq(ps[1:], ts[1:], b1, typed)


def _match_tuple(p: App, t: App, b: dict[str, Pattern], typed: bool) -> Iterator[dict[str, Pattern]]:
    n, m = len(p.args), len(t.args)
    if m > n and isinstance(p.args[-1], Var):  # the last variable binds the tail pair
        yield from _match_seq(p.args, t.args[:n - 1] + (App("tuple", t.args[n - 1:]),), b, typed)
    else:
        yield from _match_seq(p.args, t.args, b, typed)


def _match_exp(p: App, t: App, b: dict[str, Pattern], typed: bool) -> Iterator[dict[str, Pattern]]:
    """Exponents match as a multiset; a variable base absorbs the exponents the pattern does not name."""
    pbase, pexps = p.args[0], p.args[1:]
    tbase, texps = t.args[0], t.args[1:]
    if isinstance(pbase, Var) and pbase.name in b:
        yield from _match(App("exp", (b[pbase.name], *pexps)), t, b, typed)
        return
    n, m = len(pexps), len(texps)
    if isinstance(pbase, Var):
        for chosen in itertools.permutations(range(m), n):
            rest = [texps[i] for i in range(m) if i not in chosen]
            yield from _match_seq((pbase, *pexps), (exp_or_base(tbase, rest), *(texps[i] for i in chosen)),
                                  b, typed)
    elif n == m:
        for b1 in _match(pbase, tbase, b, typed):
            for order in itertools.permutations(texps):
                yield from _match_seq(pexps, order, b1, typed)


def instantiate(pattern: Pattern, bindings: Bindings) -> Pattern:
    """Replace the bound variables of `pattern` (others stay), renormalising. The hottest function of the
    symbolic search: ground arguments are kept without a call, and the test that nothing changed runs in C."""
    kind = type(pattern)
    if kind is Var:
        return bindings.get(pattern.name, pattern)  # type: ignore[union-attr]
    if kind is Atom or pattern._ground:  # type: ignore[union-attr]
        return pattern
    old = pattern.args  # type: ignore[union-attr]
    new = [a if type(a) is Atom or (type(a) is App and a._ground) else instantiate(a, bindings)
           for a in old]
    if all(map(is_, new, old)):
        return pattern  # nothing bound inside: the same term, no rebuilding
    return App.rebuilt(pattern.op, tuple(new))  # type: ignore[union-attr]


def rename_atoms(term: Pattern, mapping: Mapping[Atom, Atom]) -> Pattern:
    """`term` with atoms renamed (a symmetry of the scenario: runs of one role, or sessions, swapped)."""
    if isinstance(term, Atom):
        return mapping.get(term, term)
    if isinstance(term, Var):
        return term
    old = term.args
    new = [mapping.get(a, a) if type(a) is Atom else a if type(a) is Var else rename_atoms(a, mapping)
           for a in old]
    if all(map(is_, new, old)):
        return term  # no renamed atom inside: the same term, no rebuilding
    return App.rebuilt(term.op, tuple(new))


def substitute(pattern: Pattern, bindings: Bindings) -> Term:
    """The ground term `pattern` denotes under `bindings`; every variable must be bound."""
    result = instantiate(pattern, bindings)
    if not is_ground(result):
        names = ", ".join(v.name for v in variables(result))
        raise ValueError(f"unbound variables in {pretty(pattern)}: {names}")
    return result  # type: ignore[return-value]  # ground, so an Atom or App
