"""Integer constraints over symbolic values (timestamps, clocks, counters), and the one door to Z3.

States carry a `ConstraintSet`; transitions add constraints; a set known to be unsatisfiable prunes the branch;
states are fingerprinted on the set itself, which is kept in a canonical form so equal constraint sets give
equal (and equally hashed) states. This is the ONLY module of wolf that imports `z3` (an architecture test
enforces it): everything else sees plain, immutable Python data. Z3 itself is loaded on the first question
the DBM cannot answer (`Solver._z3`): most timed searches never ask one, and loading it costs a run 40 ms.

Design decisions
- Constraints are `lhs <= 0` or `lhs == 0` over integers, with `lhs` a `Lin` (integer coefficients, integer
  constant), gcd-normalised so that `2x - 2y <= 5` and `x - y <= 2` are the same object. Strict `<` becomes
  `<= -1` (exact on integers). `!=` is a disjunction and a set is a conjunction, so there is no `!=`
  constraint: `ne()` and `Constraint.negate()` return the alternatives and the engine branches on them.
- Difference constraints (`x - y <= c`, `x <= c`, `x >= c`, and the equalities built from them) live in a
  difference-bound matrix kept closed (shortest paths, as in UPPAAL). A closed DBM is unique for its solution
  set, and because difference systems are totally unimodular the same holds over the integers; this is what
  makes the canonical form exact for that fragment, and what decides it in pure Python (negative cycle).
- Every other linear constraint is kept as a normalised, deduplicated, sorted tuple and decided by Z3 only.
- Principle 4 of the design: Z3 only proposes. Every witness is checked with `ConstraintSet.evaluate` (plain
  Python) before it leaves `Solver.model`; a model that fails the check raises `SolverError`.
"""
from __future__ import annotations

import enum
import math
import time
from math import gcd
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping

from checker.records import record

if TYPE_CHECKING:
    import z3

__all__ = [
    "Lin", "Constraint", "ConstraintSet", "Solver", "SolverStats", "Verdict", "SolverError",
    "var", "const", "le", "lt", "ge", "gt", "eq", "ne", "explain",
]

Op = Literal["<=", "=="]
_INF = math.inf


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# --------------------------------------------------------------------------------------------- expressions

@record(slots=True)
class Lin:
    """A linear integer expression `sum(coeff * var) + const`, normalised (sorted, merged, no zero terms)
    so that structural equality is semantic equality and the value can be hashed into a state."""

    terms: tuple[tuple[str, int], ...] = ()
    const: int = 0

    def __canonical__(self) -> tuple:  # for state fingerprints (checker/engine/fingerprint.py)
        return (self.terms, self.const)

    def __post_init__(self) -> None:
        if not _is_int(self.const):
            raise TypeError(f"constant must be an int, not {self.const!r}")
        acc: dict[str, int] = {}
        for name, coeff in self.terms:
            if not isinstance(name, str) or not name:
                raise ValueError(f"variable names must be non-empty strings, not {name!r}")
            if not _is_int(coeff):
                raise TypeError(f"coefficient of {name} must be an int, not {coeff!r}")
            acc[name] = acc.get(name, 0) + coeff
        object.__setattr__(self, "terms", tuple(sorted((n, c) for n, c in acc.items() if c)))

    def coeff(self, name: str) -> int:
        for n, c in self.terms:
            if n == name:
                return c
        return 0

    def variables(self) -> frozenset[str]:
        return frozenset(n for n, _ in self.terms)

    def evaluate(self, assignment: Mapping[str, int]) -> int:
        try:
            return sum(c * assignment[n] for n, c in self.terms) + self.const
        except KeyError as e:
            raise KeyError(f"no value for variable {e.args[0]!r}") from None

    def __add__(self, other: Lin | int) -> Lin:
        o = _lin(other)
        if not o.terms or not self.terms:  # both operands are normalised already: nothing to merge
            return _raw_lin(self.terms or o.terms, self.const + o.const)
        acc = dict(self.terms)
        for n, c in o.terms:
            acc[n] = acc.get(n, 0) + c
        return _raw_lin(tuple(sorted((n, c) for n, c in acc.items() if c)), self.const + o.const)

    __radd__ = __add__

    def __neg__(self) -> Lin:
        return _raw_lin(tuple((n, -c) for n, c in self.terms), -self.const)

    def __sub__(self, other: Lin | int) -> Lin:
        return self + (-_lin(other))

    def __rsub__(self, other: Lin | int) -> Lin:
        return _lin(other) - self

    def __mul__(self, k: int) -> Lin:
        if not _is_int(k):
            return NotImplemented
        if k == 0:
            return _raw_lin((), 0)
        return _raw_lin(tuple((n, c * k) for n, c in self.terms), self.const * k)

    __rmul__ = __mul__

    def __str__(self) -> str:
        return _render_sum([(c, n) for n, c in self.terms], self.const)


def _raw_lin(terms: tuple[tuple[str, int], ...], k: int) -> Lin:
    """A `Lin` from terms already normalised (sorted, merged, non-zero), skipping `__post_init__`: arithmetic
    on normalised operands builds millions of these while exploring zones, and re-checking them was the cost."""
    lin = object.__new__(Lin)
    object.__setattr__(lin, "terms", terms)
    object.__setattr__(lin, "const", k)
    return lin


def var(name: str) -> Lin:
    """The expression consisting of one variable."""
    return Lin(((name, 1),))


def const(c: int) -> Lin:
    """A constant expression (constants such as DELTA are substituted by the engine before they reach here)."""
    return Lin((), c)


def _lin(x: Lin | int | str) -> Lin:
    if isinstance(x, Lin):
        return x
    if _is_int(x):
        return Lin((), x)  # type: ignore[arg-type]
    if isinstance(x, str):
        return var(x)
    raise TypeError(f"not a linear expression: {x!r}")


def _render_sum(items: list[tuple[int, str]], k: int) -> str:
    """`[(2, 'x'), (-1, 'y')], 3` -> `2*x - y + 3`; items are (coefficient, already-rendered operand)."""
    out = ""
    for c, s in items:
        mag = s if abs(c) == 1 else f"{abs(c)}*{s}"
        out += (("-" if c < 0 else "") + mag) if not out else ((" - " if c < 0 else " + ") + mag)
    if k or not out:
        out += str(k) if not out else (f" - {-k}" if k < 0 else f" + {k}")
    return out


# --------------------------------------------------------------------------------------------- constraints

_FLIP = {"<=": ">", ">=": "<", "==": "!="}


@record(slots=True)
class Constraint:
    """`lhs <= 0` or `lhs == 0`, normalised on construction: coefficients divided by their gcd (the constant
    rounded so the integer solutions are unchanged), equalities signed so the first coefficient is positive,
    and variable-free constraints collapsed to `TRUE` (`0 <= 0`) or `FALSE` (`1 <= 0`)."""

    lhs: Lin
    op: Op = "<="

    def __canonical__(self) -> tuple:  # for state fingerprints (checker/engine/fingerprint.py)
        return (self.lhs, self.op)

    def __post_init__(self) -> None:
        if self.op not in ("<=", "=="):
            raise ValueError(f"op must be '<=' or '==' (use le/lt/ge/gt/eq), not {self.op!r}")
        lhs = _lin(self.lhs)
        if not lhs.terms:
            ok = lhs.const <= 0 if self.op == "<=" else lhs.const == 0
            lhs, op = (Lin(), "<=") if ok else (Lin((), 1), "<=")
            object.__setattr__(self, "lhs", lhs)
            object.__setattr__(self, "op", op)
            return
        g = 0
        for _, c in lhs.terms:
            g = gcd(g, c)
        if self.op == "==":
            if lhs.const % g:
                object.__setattr__(self, "lhs", Lin((), 1))
                object.__setattr__(self, "op", "<=")
                return
            if lhs.terms[0][1] < 0:
                g = -g
            k = lhs.const // g
        else:
            k = -((-lhs.const) // g)  # ceil: sum(a/g * x) <= floor(-const/g)
        object.__setattr__(self, "lhs", Lin(tuple((n, c // g) for n, c in lhs.terms), k))

    @property
    def is_true(self) -> bool:
        return not self.lhs.terms and self.lhs.const <= 0

    @property
    def is_false(self) -> bool:
        return not self.lhs.terms and self.lhs.const > 0

    @property
    def is_difference(self) -> bool:
        """`x <= c`, `-x <= c`, `x - y <= c` (or `==`): the fragment the DBM decides exactly."""
        cs = sorted(c for _, c in self.lhs.terms)
        return cs in ([1], [-1], [-1, 1])

    def variables(self) -> frozenset[str]:
        return self.lhs.variables()

    def holds(self, assignment: Mapping[str, int]) -> bool:
        v = self.lhs.evaluate(assignment)
        return v <= 0 if self.op == "<=" else v == 0

    def negate(self) -> tuple[Constraint, ...]:
        """The alternatives whose disjunction is the negation (one for `<=`, two for `==`)."""
        if self.op == "<=":
            return (Constraint(1 - self.lhs),)
        return (Constraint(self.lhs + 1), Constraint(1 - self.lhs))

    def _display(self) -> tuple[list[tuple[int, str]], str, int]:
        """Readable orientation: positive terms first, constant on the right; `>=` when that avoids a leading
        minus or a negative bound (`now_B - T1 >= 1` rather than `T1 - now_B <= -1`)."""
        terms, rhs = list(self.lhs.terms), -self.lhs.const
        op: str = self.op
        if op == "<=" and (all(c < 0 for _, c in terms) or (rhs < 0 and any(c < 0 for _, c in terms))):
            terms, op, rhs = [(n, -c) for n, c in terms], ">=", -rhs
        ordered = [t for t in terms if t[1] > 0] + [t for t in terms if t[1] < 0]
        return [(c, n) for n, c in ordered], op, rhs

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """Symbolic form, e.g. `now_B - T1 <= 5`; `names` maps variables to display names."""
        if self.is_true or self.is_false:
            return "true" if self.is_true else "false"
        items, op, rhs = self._display()
        names = names or {}
        return f"{_render_sum([(c, names.get(n, n)) for c, n in items], 0)} {op} {rhs}"

    def __str__(self) -> str:
        return self.render()


def _bound(pos: str, neg: str, w: int, op: Op) -> Constraint:
    """`pos - neg <= w` (or `==`), '' standing for 0, built directly in the normal form `Constraint` would
    compute (coefficients +-1 need no gcd; an equality is signed so its first coefficient is positive): the
    DBM emits these for every zone, and normalising each again was a large part of exploring zones."""
    terms = sorted([(n, k) for n, k in ((pos, 1), (neg, -1)) if n])
    k = -w
    if op == "==" and terms[0][1] < 0:
        terms, k = [(n, -c) for n, c in terms], w
    out = object.__new__(Constraint)
    object.__setattr__(out, "lhs", _raw_lin(tuple(terms), k))
    object.__setattr__(out, "op", op)
    return out


def le(a: Lin | int | str, b: Lin | int | str) -> Constraint:
    """a <= b"""
    return Constraint(_lin(a) - _lin(b), "<=")


def lt(a: Lin | int | str, b: Lin | int | str) -> Constraint:
    """a < b, i.e. a - b <= -1 on the integers"""
    return Constraint(_lin(a) - _lin(b) + 1, "<=")


def ge(a: Lin | int | str, b: Lin | int | str) -> Constraint:
    """a >= b"""
    return le(b, a)


def gt(a: Lin | int | str, b: Lin | int | str) -> Constraint:
    """a > b"""
    return lt(b, a)


def eq(a: Lin | int | str, b: Lin | int | str) -> Constraint:
    """a == b"""
    return Constraint(_lin(a) - _lin(b), "==")


def ne(a: Lin | int | str, b: Lin | int | str) -> tuple[Constraint, Constraint]:
    """a != b as a disjunction (a < b, a > b): a set is a conjunction, so the engine branches on the two."""
    return (lt(a, b), gt(a, b))


def explain(c: Constraint, assignment: Mapping[str, int], names: Mapping[str, str] | None = None,
            *, symbolic: bool = False) -> str:
    """Render `c` with the values of `assignment`, e.g. `now_B - T1 <= 5` -> `12 - 9 <= 5`.

    The result is always a true statement: a violated constraint is shown with the negated operator
    (`12 - 2 > 5`), so a trace note can never claim something the values contradict. With `symbolic=True`
    the symbolic form (using display `names`) comes first: `now_B - T1 <= 5 (12 - 9 <= 5)`."""
    if c.is_true or c.is_false:
        return str(c)
    items, op, rhs = c._display()
    shown = _render_sum([(k, _value(assignment, n)) for k, n in items], 0)
    if not c.holds(assignment):
        op = _FLIP[op]
    values = f"{shown} {op} {rhs}"
    return f"{c.render(names)} ({values})" if symbolic else values


def _value(assignment: Mapping[str, int], name: str) -> str:
    if name not in assignment:
        raise KeyError(f"no value for variable {name!r}")
    v = assignment[name]
    return str(v) if v >= 0 else f"({v})"


# --------------------------------------------------------------------------------------------- DBM helpers

_Matrix = list[list[float]]  # entries are ints or +inf; D[i][j] bounds v_i - v_j, node 0 is the constant 0


def _edges(c: Constraint) -> list[tuple[str, str, int]]:
    """Difference constraint -> DBM edges (a, b, w) meaning a - b <= w, with '' for the zero node."""
    pos = next((n for n, k in c.lhs.terms if k > 0), "")
    neg = next((n for n, k in c.lhs.terms if k < 0), "")
    w = -c.lhs.const
    return [(pos, neg, w)] if c.op == "<=" else [(pos, neg, w), (neg, pos, -w)]


def _tighten(d: _Matrix, i: int, j: int, w: int) -> bool:
    """Add v_i - v_j <= w to a closed DBM, keeping it closed in O(n^2); False on a negative cycle."""
    if w >= d[i][j]:
        return True
    if d[j][i] != _INF and w + d[j][i] < 0:
        return False
    # Infinite entries are skipped rather than added: int + float converts the int, which overflows for the
    # huge integers a model may hold (10^1000), where int + int stays exact.
    finite_j = [(b, x) for b, x in enumerate(d[j]) if x != _INF]
    for row_a in d:
        if row_a[i] == _INF:
            continue
        via = row_a[i] + w
        for b, x in finite_j:
            nv = via + x
            if nv < row_a[b]:
                row_a[b] = nv
    return True


def _pick(lo: float, hi: float) -> int:
    """The readable value in [lo, hi]: 0 if allowed, else the bound nearest to 0."""
    return 0 if lo <= 0 <= hi else int(lo) if lo > 0 else int(hi)


# --------------------------------------------------------------------------------------------- sets

class ConstraintSet:
    """An immutable, hashable conjunction of constraints, always held in canonical form.

    Equality and hashing use `canonical()`. Guarantees: (1) any two satisfiable sets of difference
    constraints with the same integer solutions are equal (closed DBM, each finite bound emitted once,
    tight pairs as `==`); (2) every set known unsatisfiable in pure Python (a negative cycle in the difference
    part, or a constraint that normalises to false) equals `ConstraintSet.false()`; (3) general constraints are
    compared syntactically after normalisation, so implied or differently combined general constraints (and
    unsatisfiability that only Z3 can see) may leave logically equal sets unequal. That only costs duplicate
    states, never soundness."""

    __slots__ = ("_names", "_dbm", "_general", "_false", "_identity", "_canon", "_hash", "_vars")
    _names: tuple[str, ...]
    _dbm: tuple[tuple[float, ...], ...]
    _general: tuple[Constraint, ...]
    _false: bool
    _identity: tuple  # what equality, hashing and fingerprints compare (see `_init`)
    _canon: tuple[Constraint, ...] | None  # the sorted constraints, built when first read (`canonical()`)
    _hash: int
    _vars: frozenset[str]

    def __init__(self, constraints: Iterable[Constraint] = ()) -> None:
        self._init((), ((0,),), frozenset(), False)
        other = self.add(*constraints)
        for s in self.__slots__:
            object.__setattr__(self, s, getattr(other, s))

    def _init(self, names: tuple[str, ...], dbm: tuple[tuple[float, ...], ...],
              general: frozenset[Constraint], false: bool) -> None:
        sa = object.__setattr__
        sa(self, "_names", names)
        sa(self, "_dbm", dbm)
        sa(self, "_general", tuple(sorted(general, key=_key)))
        sa(self, "_false", false)
        # The identity is the closed matrix itself, over the constrained variables in name order (unbounded
        # entries as None) plus the general constraints: a function of the solution set like the sorted
        # constraints (`_emit`), but built without creating and sorting a Constraint per bound, which was most
        # of the cost of a timed search (every step makes several zones, most of which are never printed).
        if false:
            sa(self, "_identity", ("false",))
            sa(self, "_canon", (_FALSE,))
            sa(self, "_vars", frozenset())
        else:
            size = len(names) + 1
            live = [i for i in range(1, size)
                    if any(dbm[i][j] != _INF or dbm[j][i] != _INF for j in range(size) if j != i)]
            live.sort(key=lambda i: names[i - 1])
            nodes = [0] + live
            bounds = tuple(None if dbm[i][j] == _INF else dbm[i][j] for i in nodes for j in nodes)
            sa(self, "_identity", (tuple(names[i - 1] for i in live), bounds, self._general))
            sa(self, "_canon", None)
            sa(self, "_vars", frozenset(names[i - 1] for i in live) |
               frozenset(name for c in self._general for name, _k in c.lhs.terms))
        sa(self, "_hash", hash(self._identity))

    @classmethod
    def _make(cls, names: tuple[str, ...], dbm: _Matrix | tuple[tuple[float, ...], ...],
              general: Iterable[Constraint], false: bool = False) -> ConstraintSet:
        cs = object.__new__(cls)
        cs._init(names, tuple(tuple(r) for r in dbm), frozenset(general), false)
        return cs

    @classmethod
    def false(cls) -> ConstraintSet:
        """The canonical unsatisfiable set."""
        return cls._make((), ((0,),), (), True)

    def _emit(self) -> tuple[Constraint, ...]:
        """The closed DBM as constraints, deterministically; a function of the solution set only."""
        d, names = self._dbm, ("",) + self._names
        nodes = [0] + sorted(range(1, len(names)), key=lambda i: names[i])
        out: list[Constraint] = []
        for p, i in enumerate(nodes):
            for j in nodes[p + 1:]:
                up, lo = d[i][j], d[j][i]
                if up != _INF and lo != _INF and up == -lo:
                    out.append(_bound(names[i], names[j], int(up), "=="))
                    continue
                if up != _INF:
                    out.append(_bound(names[i], names[j], int(up), "<="))
                if lo != _INF:
                    out.append(_bound(names[j], names[i], int(lo), "<="))
        return tuple(sorted(out, key=_key))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ConstraintSet is immutable")

    def __reduce__(self) -> tuple[type, tuple[tuple[Constraint, ...]]]:
        return (ConstraintSet, (self.canonical(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstraintSet) and self._hash == other._hash and self._identity == other._identity

    def __hash__(self) -> int:
        return self._hash

    def __iter__(self) -> Iterator[Constraint]:
        return iter(self.canonical())

    def __len__(self) -> int:
        return len(self.canonical())

    def __str__(self) -> str:
        return "{" + ", ".join(map(str, self.canonical())) + "}"

    def __repr__(self) -> str:
        return f"ConstraintSet({', '.join(map(str, self.canonical()))})"

    def __canonical__(self) -> tuple:  # for state fingerprints (checker/engine/fingerprint.py)
        return self._identity

    def canonical(self) -> tuple[Constraint, ...]:
        """The normal form: sorted constraints, equal exactly when the sets are equal (see `_init`)."""
        if self._canon is None:
            object.__setattr__(self, "_canon", self._emit() + self._general)
        return self._canon  # type: ignore[return-value]

    @property
    def is_false(self) -> bool:
        """Known unsatisfiable without a solver (the converse needs `Solver.check` unless `is_difference`)."""
        return self._false

    @property
    def is_difference(self) -> bool:
        """No general constraints: satisfiability is decided exactly in pure Python."""
        return not self._general

    @property
    def general(self) -> tuple[Constraint, ...]:
        """The constraints outside the difference fragment (only Z3 reasons about these)."""
        return self._general

    def variables(self) -> frozenset[str]:
        return self._vars

    def includes(self, other: ConstraintSet) -> bool:
        """Whether every solution of `other` is one of this set's, read off the closed matrices: each finite bound
        here must be implied by `other`. General constraints are compared as written, so a set with different
        ones is never said to include `other`: an inclusion may be missed, never invented."""
        if other._false:
            return True
        if self._false or self._general != other._general:
            return False
        where = {n: i + 1 for i, n in enumerate(other._names)}
        rows = [0] + [where.get(n, -1) for n in self._names]
        theirs = other._dbm
        for i, row in enumerate(self._dbm):
            oi = rows[i]
            for j, w in enumerate(row):
                if w == _INF or i == j:
                    continue
                oj = rows[j]
                if oi < 0 or oj < 0 or theirs[oi][oj] > w:
                    return False
        return True

    def bound(self, a: str, b: str) -> float:
        """The tightest upper bound of `a - b` the difference part implies (`math.inf` when none; `b` may be
        "" for the constant 0). Exact on the closed matrix, so a caller can tell an implied guard from one that
        still restricts."""
        if self._false:
            return -_INF
        index = {n: i + 1 for i, n in enumerate(self._names)}
        i, j = index.get(a, 0 if a == "" else -1), index.get(b, 0 if b == "" else -1)
        if i < 0 or j < 0:
            return 0 if a == b else _INF
        return self._dbm[i][j]

    def evaluate(self, assignment: Mapping[str, int]) -> bool:
        """Plain-Python truth of the conjunction; the check every witness must pass (principle 4)."""
        return not self._false and all(c.holds(assignment) for c in self.canonical())

    def add(self, *constraints: Constraint) -> ConstraintSet:
        """The conjunction of this set with `constraints`, canonicalised (incremental DBM closure)."""
        if self._false or not constraints:
            return self
        names = list(self._names)
        index = {n: i + 1 for i, n in enumerate(names)}
        d: _Matrix = [list(r) for r in self._dbm]
        general = set(self._general)
        for c in constraints:
            if not isinstance(c, Constraint):
                raise TypeError(f"not a Constraint: {c!r}")
            if c.is_true:
                continue
            if c.is_false:
                return ConstraintSet.false()
            if not c.is_difference:
                general.add(c)
                continue
            for a, b, w in _edges(c):
                for n in (a, b):
                    if n and n not in index:
                        names.append(n)
                        index[n] = len(names)
                        for row in d:
                            row.append(_INF)
                        d.append([_INF] * len(names) + [0])
                if not _tighten(d, index.get(a, 0), index.get(b, 0), w):
                    return ConstraintSet.false()
        return ConstraintSet._make(tuple(names), d, general)

    def conjoin(self, other: ConstraintSet) -> ConstraintSet:
        return ConstraintSet.false() if other._false else self.add(*other.canonical())

    def project(self, keep: Iterable[str]) -> ConstraintSet:
        """Existentially eliminate every variable not in `keep`, exactly over the integers.

        Difference-only variables are dropped from the closed DBM (exact). A variable in general constraints
        is eliminated by substitution if some equality gives it coefficient +-1, else by Fourier-Motzkin if
        all its coefficients are +-1 (then FM is exact on integers: bounds are integer-valued). Otherwise it
        is kept, with its constraints, so the result is never an over-approximation; check `variables()`
        to see what remained."""
        keep = frozenset(keep)
        if self._false or self._vars <= keep:
            return self
        in_general = {n for c in self._general for n in c.variables()}
        rows = [0] + [i + 1 for i, n in enumerate(self._names) if n in keep or n in in_general]
        names = tuple(self._names[i - 1] for i in rows[1:])
        d = [[self._dbm[i][j] for j in rows] for i in rows]
        kept = ConstraintSet._make(names, d, self._general)
        pending = sorted(in_general - keep)
        if not pending:  # a principal submatrix of a closed DBM is closed: nothing to rebuild
            return kept
        cons = list(kept.canonical())
        progress = True
        while pending and progress:
            progress = False
            for x in list(pending):
                result = _eliminate(cons, x)
                if result is not None:
                    cons, progress = result, True
                    pending.remove(x)
        return ConstraintSet(cons)

    def rename(self, mapping: Mapping[str, str]) -> ConstraintSet:
        """The set with variables renamed. An injective renaming of a closed DBM is the same matrix under new
        names, so the set is relabelled instead of rebuilt constraint by constraint; a renaming that merges
        variables is a substitution, conjoined from scratch."""
        if self._false or not mapping:
            return self
        mentioned = set(self._names) | {n for c in self._general for n in c.variables()}
        targets = {mapping.get(n, n) for n in mentioned}
        renamed = [_rename_vars(c, mapping) for c in self._general]
        if len(targets) < len(mentioned):
            return ConstraintSet([_rename_vars(c, mapping) for c in self._emit()] + renamed)
        return ConstraintSet._make(tuple(mapping.get(n, n) for n in self._names), self._dbm, renamed)

    def release(self, rising: Iterable[str]) -> ConstraintSet:
        """Drop every upper bound of a `rising` variable relative to 0 or to a variable that is not rising (the
        timed-automata `up` operator: time passes for the rising ones together). Done on the matrix: in a closed
        DBM a dropped bound could only be implied through another dropped one, so the result stays closed.
        General constraints are kept as they are."""
        rising = frozenset(rising)
        up = [i + 1 for i, n in enumerate(self._names) if n in rising]
        if self._false or not up:
            return self
        still = [j for j in range(len(self._names) + 1) if j not in up]
        d = [list(r) for r in self._dbm]
        changed = False
        for i in up:
            row = d[i]
            for j in still:
                if row[j] != _INF:
                    row[j] = _INF
                    changed = True
        return ConstraintSet._make(self._names, d, self._general) if changed else self

    def _witness(self) -> dict[str, int]:
        """A pure-Python model of the difference part: variables fixed in name order, each to the value of
        its (closed) interval nearest 0; fixing a value inside a closed DBM's interval never empties it."""
        d = [list(r) for r in self._dbm]
        out: dict[str, int] = {}
        for i in sorted(range(1, len(self._names) + 1), key=lambda k: self._names[k - 1]):
            v = _pick(-d[0][i], d[i][0])
            if not (_tighten(d, i, 0, v) and _tighten(d, 0, i, -v)):
                raise SolverError("DBM witness construction failed")  # unreachable on a closed DBM
            out[self._names[i - 1]] = v
        return {n: out.get(n, 0) for n in sorted(self._vars)}


def _key(c: Constraint) -> tuple[tuple[str, ...], tuple[int, ...], str, int]:
    """Sort key of the canonical tuple: constraints over the same variables end up next to each other."""
    return (tuple(n for n, _ in c.lhs.terms), tuple(k for _, k in c.lhs.terms), c.op, c.lhs.const)


_FALSE = Constraint(Lin((), 1))


def _rename_vars(c: Constraint, mapping: Mapping[str, str]) -> Constraint:
    """`c` with variables renamed (and normalised again: renaming may reorder or merge terms)."""
    return Constraint(Lin(tuple((mapping.get(n, n), k) for n, k in c.lhs.terms), c.lhs.const), c.op)


def _eliminate(cons: list[Constraint], x: str) -> list[Constraint] | None:
    """One exact integer elimination step of `x` (see `ConstraintSet.project`), or None if not exact."""
    with_x = [c for c in cons if c.lhs.coeff(x)]
    rest = [c for c in cons if not c.lhs.coeff(x)]
    for e in with_x:
        a = e.lhs.coeff(x)
        if e.op == "==" and abs(a) == 1:
            value = -a * (e.lhs - a * var(x))  # a*x + r == 0  =>  x == -a*r
            return rest + [Constraint(c.lhs + c.lhs.coeff(x) * (value - var(x)), c.op)
                           for c in with_x if c is not e]
    if any(c.op == "==" or abs(c.lhs.coeff(x)) != 1 for c in with_x):
        return None
    lows = [c.lhs for c in with_x if c.lhs.coeff(x) < 0]
    ups = [c.lhs for c in with_x if c.lhs.coeff(x) > 0]
    return rest + [Constraint(lo + up) for lo in lows for up in ups]


# --------------------------------------------------------------------------------------------- solving

class Verdict(enum.Enum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"  # Z3 gave up (timeout): the engine must neither prune on it nor report from it


class SolverError(RuntimeError):
    """A witness failed the plain-Python check: a solver (or DBM) bug. Never turned into a report."""


@record(frozen=False)
class SolverStats:
    """Counters of one Solver: how often it was asked, which path answered, time spent inside Z3."""

    checks: int = 0
    models: int = 0
    cache_hits: int = 0
    fast_path: int = 0      # answered in pure Python (closed DBM)
    z3_calls: int = 0       # calls into Z3 (check, optimise, fallback each count)
    z3_seconds: float = 0.0
    unknown: int = 0
    optimize_fallbacks: int = 0

    @property
    def calls(self) -> int:
        return self.checks + self.models


class Solver:
    """Decides and solves ConstraintSets for one run. Holds its own Z3 context and caches (no module state).

    `timeout_ms` bounds every Z3 call; a timed-out `check` is `Verdict.UNKNOWN` (cached like any answer, so
    a run is deterministic). `small_models` asks Z3's optimiser for the witness minimising the sum of
    absolute values (readable traces: `t=3`, not `t=8273645`), falling back to a plain solve on timeout."""

    def __init__(self, timeout_ms: int = 5000, *, seed: int = 0, small_models: bool = True) -> None:
        self.timeout_ms = timeout_ms
        self.seed = seed
        self.small_models = small_models
        self.stats = SolverStats()
        self._ctx: Any = None  # the Z3 context, made with the first call into Z3 (`_z3`)
        self._verdicts: dict[ConstraintSet, Verdict] = {}
        self._models: dict[ConstraintSet, dict[str, int] | None] = {}

    def check(self, cs: ConstraintSet) -> Verdict:
        self.stats.checks += 1
        hit = self._verdicts.get(cs)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit
        if cs.is_false or cs.is_difference:
            self.stats.fast_path += 1
            verdict = Verdict.UNSAT if cs.is_false else Verdict.SAT
        else:
            z3 = self._z3()
            s = z3.Solver(ctx=self._ctx)
            self._configure(s)
            verdict = self._run(s, cs)
        if verdict is Verdict.UNKNOWN:
            self.stats.unknown += 1
        self._verdicts[cs] = verdict
        return verdict

    def model(self, cs: ConstraintSet, variables: Iterable[str] = ()) -> dict[str, int] | None:
        """A witness for every variable of `cs` (and of `variables`, unconstrained ones set to 0), verified
        in plain Python, keys sorted; None when `cs` is UNSAT or Z3 could not find one in time. Raises
        `SolverError` if a witness fails the Python check."""
        self.stats.models += 1
        if cs in self._models:
            self.stats.cache_hits += 1
            found = self._models[cs]
        else:
            found = self._solve(cs)
            self._models[cs] = found
        if found is None:
            return None
        return dict(sorted({**{n: 0 for n in variables}, **found}.items()))  # stable order for goldens

    def _solve(self, cs: ConstraintSet) -> dict[str, int] | None:
        if self.check(cs) is not Verdict.SAT:
            return None
        if cs.is_difference:
            found: dict[str, int] | None = cs._witness()
            if found is None:  # a satisfiable difference set always has one: a bug, never "no schedule"
                raise SolverError(f"no witness found for the satisfiable {cs}")
        else:
            found = None
            z3 = self._z3()
            if self.small_models:
                opt = z3.Optimize(ctx=self._ctx)
                self._configure(opt)
                xs = [z3.Int(n, self._ctx) for n in sorted(cs.variables())]
                opt.minimize(z3.Sum([z3.If(x >= 0, x, -x) for x in xs]))
                found = self._extract(opt, cs)
                if found is None:
                    self.stats.optimize_fallbacks += 1
            if found is None:
                s = z3.Solver(ctx=self._ctx)
                self._configure(s)
                found = self._extract(s, cs)
        if found is None:
            return None
        if not cs.evaluate(found):
            raise SolverError(f"witness {found} does not satisfy {cs}")
        return found

    def _configure(self, s: z3.Solver | z3.Optimize) -> None:
        s.set("timeout", self.timeout_ms)
        s.set("random_seed", self.seed)

    def _run(self, s: z3.Solver | z3.Optimize, cs: ConstraintSet) -> Verdict:
        for c in cs:
            s.add(self._expr(c))
        self.stats.z3_calls += 1
        start = time.perf_counter()
        try:
            r = s.check()
        finally:
            self.stats.z3_seconds += time.perf_counter() - start
        z3 = self._z3()
        return Verdict.SAT if r == z3.sat else Verdict.UNSAT if r == z3.unsat else Verdict.UNKNOWN

    def _extract(self, s: z3.Solver | z3.Optimize, cs: ConstraintSet) -> dict[str, int] | None:
        if self._run(s, cs) is not Verdict.SAT:
            return None
        m = s.model()
        z3 = self._z3()
        return {n: m.evaluate(z3.Int(n, self._ctx), model_completion=True).as_long() for n in sorted(cs.variables())}

    def _z3(self) -> Any:
        """The z3 module, loaded (with this solver's context) on first use."""
        import z3
        if self._ctx is None:
            self._ctx = z3.Context()
        return z3

    def _expr(self, c: Constraint) -> z3.BoolRef:
        z3 = self._z3()
        ctx = self._ctx
        e = z3.Sum([z3.IntVal(k, ctx) * z3.Int(n, ctx) for n, k in c.lhs.terms] + [z3.IntVal(c.lhs.const, ctx)])
        return e <= 0 if c.op == "<=" else e == 0
