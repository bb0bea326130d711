"""Compilation of `check` declarations into checker properties (a mixin of dsl/lower.py's Lowerer); their
verdict lines show formulas as dsl/formulas.py writes them."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from checker.process.procsys import Ctx
from checker.engine.deadlock import DeadlockFree
from checker.engine.invariant import Invariant
from checker.engine.liveness import Response
from checker.engine.measures import MessagesPer
from checker.engine.properties import Property

from . import ast as A
from . import types as T
from .closures import Abort, FamilyInfo, Fn, Scope
from .formulas import formula_text
from .limits import quantity

if TYPE_CHECKING:
    from .diagnostics import Diagnostic
    from .limits import SizeLimits

#: What one case of a quantified property costs in the size limits: a compiled predicate of ~100 objects.
ELEMENTS_PER_CASE = 100


class PropertyLowering:
    """Property compilation. Expects the host class to provide `error`, `_expect`, `expr`, `const_int`,
    `diags`, `consts`, `families` and `limits` (see dsl/lower.py)."""

    if TYPE_CHECKING:  # the host's members, declared for the type checker only
        model: A.Model
        diags: list[Diagnostic]
        consts: dict[str, tuple[Any, T.Type]]
        families: dict[str, FamilyInfo]
        limits: SizeLimits

        def error(self, code: str, message: str, span: A.Span, hint: str | None = None) -> Abort: ...
        def _expect(self, got: T.Type, want: T.Type, span: A.Span, what: str) -> T.Type: ...
        def expr(self, e: A.Expr, scope: Scope, want: T.Type | None = None) -> tuple[T.Type, Fn]: ...
        def const_int(self, e: A.Expr, what: str) -> int: ...

    def _properties(self) -> tuple[Property, ...]:
        props: list[Property] = []
        names = set()
        for chk in self.model.checks:
            if chk.name in names:
                self.error("E202", f"property {chk.name} is declared twice", chk.span)
                continue
            names.add(chk.name)
            try:
                prop = self._property(chk)
            except Abort:
                continue
            props.append(prop)
        return tuple(props)

    def _property(self, chk: A.CheckDecl) -> Property:
        if chk.kind == "deadlock_free":
            return DeadlockFree()
        if chk.kind == "missing":
            raise self.error("E402", f"property {chk.name} has no formula", chk.span,
                             hint="write `check NAME: always <condition>` or `check deadlock_free`")
        if chk.kind == "messages_per":
            fam = self.families.get(chk.family or "")
            if fam is None:
                raise self.error("E205", f"unknown process {chk.family}", chk.span)
            if chk.state not in fam.states:
                raise self.error("E204", f"unknown control state {chk.state} of {fam.name}", chk.span)
            assert chk.state is not None and chk.op is not None and chk.bound is not None  # the parser's shape
            bound = self.const_int(chk.bound, "the message bound")
            return MessagesPer(chk.name, f"messages per {fam.name}.{chk.state} {chk.op} {bound}", fam.name,
                               chk.state, tuple(range(fam.offset, fam.offset + fam.size)),
                               fam.states.index(chk.state), chk.op, bound)
        formula = chk.formula
        assert formula is not None  # every kind but deadlock_free, missing and messages_per has one
        free = self._free_index_vars(formula)
        if chk.kind == "eventually":
            cases = tuple((label, ProcsPredicate(lambda c: True, 0, frozenset()), q)
                          for label, q in self._cases(formula, free, chk))
            return Response(chk.name, f"eventually {formula_text(formula)}", cases, from_init=True,
                            p_text="the run starts", q_text=formula_text(formula))
        if isinstance(formula, A.BinOp) and formula.op == "->" and isinstance(formula.right, A.Eventually):
            ps = self._cases(formula.left, free, chk)
            qs = self._cases(formula.right.operand, free, chk)
            cases = tuple((lp, p, q) for (lp, p), (_, q) in zip(ps, qs))
            return Response(chk.name, formula_text(formula), cases, p_text=formula_text(formula.left),
                            q_text=formula_text(formula.right.operand))
        if isinstance(formula, A.Eventually):
            cases = tuple((label, ProcsPredicate(lambda c: True, 0, frozenset()), q)
                          for label, q in self._cases(formula.operand, free, chk))
            return Response(chk.name, formula_text(formula), cases, p_text="always", q_text=formula_text(formula.operand))
        return Invariant(chk.name, formula_text(formula), tuple(self._cases(formula, free, chk)))

    def _cases(self, formula: A.Expr, free: dict[str, FamilyInfo],
               chk: A.CheckDecl) -> list[tuple[str, ProcsPredicate]]:
        """One predicate per assignment of the free index variables."""
        cases = math.prod(fam.size for fam in free.values())
        if self.limits.exceeded(cases * ELEMENTS_PER_CASE):
            names = ", ".join(free)
            self.diags.append(self.limits.too_large(
                f"property {chk.name} is checked for every value of {names}: {quantity(cases)} cases of "
                f"{ELEMENTS_PER_CASE} elements each", chk.span, "quantify over fewer members, or check a smaller "
                                                                 "instance"))
            raise Abort()
        assignments: list[list[tuple[str, int]]] = [[]]
        for var, fam in free.items():
            assignments = [a + [(var, m)] for a in assignments for m in range(fam.size)]
        out = []
        for assignment in assignments:
            scope = Scope(None, True)
            scope.fixed = {var: (m, T.PID) for var, m in assignment}
            t, fn = self.expr(formula, scope)
            self._expect(t, T.BOOL, formula.span, f"property {chk.name}")
            label = ", ".join(f"{v}={m}" for v, m in assignment)
            out.append((label, ProcsPredicate(fn, scope.size, frozenset(scope.reads))))
        return out

    def _free_index_vars(self, formula: A.Expr) -> dict[str, FamilyInfo]:
        """Names used only as `P[x]` that nothing binds: quantified over P's members."""
        found: dict[str, FamilyInfo] = {}
        self._index_vars(formula, found, set())
        return found

    def _index_vars(self, e: Any, found: dict[str, FamilyInfo], bound: set[str]) -> None:
        """`_free_index_vars` below `e`, adding to `found`; `bound` holds the names comprehensions bind."""
        if isinstance(e, A.Comprehension):
            self._index_vars(e.source, found, bound)
            bound.add(e.var)
            for part in (e.element, e.cond):
                if part is not None:
                    self._index_vars(part, found, bound)
            return
        if isinstance(e, A.Index) and isinstance(e.target, A.Name) and e.target.id in self.families \
                and isinstance(e.index, A.Name):
            n = e.index.id
            if n not in self.consts and n not in bound and n not in self.families:
                found.setdefault(n, self.families[e.target.id])
        if isinstance(e, A.Expr):
            for v in vars(e).values():
                if isinstance(v, A.Expr):
                    self._index_vars(v, found, bound)
                elif isinstance(v, tuple):
                    for x in v:
                        if isinstance(x, A.Expr):
                            self._index_vars(x, found, bound)


class ProcsPredicate:
    """A predicate over the local tuples of all instances (dsl/lower.py lifts it to states), with the locals it
    reads: (family, slot) pairs, slot 0 for the control state. The system memoises it on just those. It reuses
    one context: evaluation is never re-entered."""

    def __init__(self, fn: Fn, frame_size: int, reads: frozenset[tuple[str, int]]):
        self.fn = fn
        self.ctx = Ctx(None, [None] * frame_size, 0, -1, None)
        self.reads = reads

    def __call__(self, procs: Any) -> bool:
        self.ctx.procs = procs
        return bool(self.fn(self.ctx))
