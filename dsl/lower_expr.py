"""Type checking and compilation of expressions to closures (a mixin of dsl/lower.py's Lowerer).

Each expression becomes `(Type, fn)` where `fn(ctx)` computes its value from a `checker.process.procsys.Ctx`.
Name resolution, innermost first: fixed names of a property case, bound variables (handler parameters,
`from` sender, loop and comprehension variables) in the frame; then the process's variables; then its index
variable and `others`; then constants; then process family names.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from checker.engine.system import ModelFault
from checker.process.procsys import CRASHED, Ctx
from checker.process.values import FrozenMap, render_value, sorted_values

from . import ast as A
from . import types as T
from .closures import (ARITH, UNKNOWN, Abort, FamilyInfo, Fn, Scope, comparison, constant, did_you_mean,
                       tuple_builder)
from .limits import quantity

if TYPE_CHECKING:
    from .diagnostics import Diagnostic
    from .limits import SizeLimits

BUILTINS = ("min", "max", "len", "head", "tail", "abs", "keys")
_RANGE_HINT = "a range builds every element as a set: keep ranges to the values a model really uses"


def _range_size(low: int, high: int) -> str:
    return f"the range {quantity(low)}..{quantity(high)} has {quantity(high - low + 1)} elements"


class ExpressionLowering:
    """Expression compilation. Expects the host class to provide `error`, `_expect`, `diags`, `consts`,
    `families`, `limits` and the `others_sets` cache (see dsl/lower.py)."""

    if TYPE_CHECKING:  # the host's members, declared for the type checker only
        diags: list[Diagnostic]
        consts: dict[str, tuple[Any, T.Type]]
        families: dict[str, FamilyInfo]
        limits: SizeLimits
        others_sets: dict[str, tuple[frozenset[int], ...]]

        def error(self, code: str, message: str, span: A.Span, hint: str | None = None) -> Abort: ...
        def _expect(self, got: T.Type, want: T.Type, span: A.Span, what: str) -> T.Type: ...

    def _target(self, to: A.ProcTarget, scope: Scope) -> tuple[FamilyInfo, Fn]:
        fam = self.families.get(to.family)
        if fam is None:
            raise self.error("E205", f"unknown process {to.family}", to.span,
                             hint=did_you_mean(to.family, list(self.families)))
        if to.index is None:
            if fam.indexed:
                raise self.error("E401", f"{fam.name} is a family: say which member, {fam.name}[j]", to.span)
            off = fam.offset
            return fam, lambda c: off
        if not fam.indexed:
            raise self.error("E401", f"{fam.name} is a single process and takes no index", to.span)
        it, ifn = self.expr(to.index, scope)
        if T.unify(it, T.PID) is None and T.unify(it, T.INT) is None:
            raise self.error("E301", f"a process index must be pid or int, not {it}", to.index.span)
        off, size, span, name = fam.offset, fam.size, to.span, fam.name
        known: Any = getattr(ifn, "constant", UNKNOWN)
        if known is not UNKNOWN:
            if not 0 <= known < size:
                raise self.error("E403", f"{name}[{known}] does not exist (0..{size - 1})", to.span)
            return fam, constant(off + known)

        def gid(c: Ctx) -> int:
            k = ifn(c)
            if not 0 <= k < size:
                raise ModelFault(f"{name}[{k}] does not exist (0..{size - 1})", span)
            return off + k
        return fam, gid

    def _bool(self, e: A.Expr, scope: Scope) -> Fn:
        t, fn = self.expr(e, scope)
        self._expect(t, T.BOOL, e.span, "a condition")
        return fn

    def expr(self, e: A.Expr, scope: Scope, want: T.Type | None = None) -> tuple[T.Type, Fn]:
        method = getattr(self, "_e_" + type(e).__name__, None)
        if method is None:
            raise self.error("E401", f"{type(e).__name__} is not allowed here", e.span)
        return method(e, scope, want)

    def _e_IntLit(self, e, scope, want):
        return T.INT, constant(e.value)

    def _e_BoolLit(self, e, scope, want):
        return T.BOOL, constant(e.value)

    def _e_StrLit(self, e, scope, want):
        return T.STR, constant(e.value)

    def _e_Name(self, e: A.Name, scope: Scope, want):
        if e.id in scope.fixed and scope.lookup(e.id) is None:
            v, t = scope.fixed[e.id]
            return t, constant(v)
        bound = scope.lookup(e.id)
        if bound is not None:
            slot, t = bound
            return t, lambda c: c.frame[slot]
        fam = scope.family
        if fam is not None and not scope.in_property:
            if e.id in fam.var_slots:
                slot = fam.var_slots[e.id]
                return fam.var_types[e.id], lambda c: c.locs[slot]
            if e.id == fam.decl.index_var:
                return T.PID, lambda c: c.me
            if e.id == "others":
                others = self._others(fam)
                return T.set_of(T.PID), lambda c: others[c.me]
            if e.id == "self" and not fam.indexed:
                return T.PID, lambda c: 0
        if e.id in self.consts:
            v, t = self.consts[e.id]
            return t, constant(v)
        if e.id in self.families:
            f = self.families[e.id]
            if f.indexed:
                members = frozenset(range(f.offset, f.offset + f.size))
                return T.set_of(T.proc_of(f.name)), lambda c: members
            off = f.offset
            return T.proc_of(f.name), lambda c: off
        names = list(self.consts) + (list(fam.var_slots) if fam else []) + [n for layer in scope.frame for n in layer]
        raise self.error("E201", f"unknown name {e.id}", e.span, hint=did_you_mean(e.id, names))

    def _e_Neg(self, e, scope, want):
        t, fn = self.expr(e.operand, scope)
        self._expect(t, T.INT, e.operand.span, "the operand of unary minus")
        return T.INT, lambda c: -fn(c)

    def _e_Not(self, e, scope, want):
        fn = self._bool(e.operand, scope)
        return T.BOOL, lambda c: not fn(c)

    def _e_Eventually(self, e, scope, want):
        raise self.error("E402", "`eventually` may only appear in a property: always (p -> eventually q)",
                         e.span)

    def _e_BinOp(self, e: A.BinOp, scope: Scope, want):
        op = e.op
        if op in ("and", "or", "->"):
            lf, rf = self._bool(e.left, scope), self._bool(e.right, scope)
            if op == "and":
                return T.BOOL, lambda c: lf(c) and rf(c)
            if op == "or":
                return T.BOOL, lambda c: lf(c) or rf(c)
            return T.BOOL, lambda c: (not lf(c)) or rf(c)
        if op in ("in", "not in"):
            ct, cf = self.expr(e.right, scope)
            if ct.name not in ("set", "seq", "map"):
                raise self.error("E301", f"`{op}` needs a set, sequence or map on the right, not {ct}", e.right.span)
            et, ef = self.expr(e.left, scope, ct.args[0])
            self._expect(et, ct.args[0], e.left.span, "the element")
            if op == "in":
                return T.BOOL, lambda c: ef(c) in cf(c)
            return T.BOOL, lambda c: ef(c) not in cf(c)
        lt, lf = self.expr(e.left, scope)
        rt, rf = self.expr(e.right, scope, lt)
        if not T.is_complete(lt):  # `{} == m`, `[] == q`: the right side says what the left one is
            lt, lf = self.expr(e.left, scope, rt)
        if op in ("==", "!="):
            if T.unify(lt, rt) is None:
                raise self.error("E301", f"cannot compare {lt} with {rt}", e.span)
            if op == "==":
                return T.BOOL, lambda c: lf(c) == rf(c)
            return T.BOOL, lambda c: lf(c) != rf(c)
        if op in ("<", "<=", ">", ">="):
            u = T.unify(lt, rt)
            if u is None or not T.is_ordered(u):
                raise self.error("E301", f"`{op}` needs two values of one ordered type, not {lt} and {rt}", e.span,
                                 hint="int, pid, str and tuples of them are ordered (tuples lexicographically)")
            if T.contains_pid(u):
                T.note_asymmetry("process numbers are compared by order (such as a (timestamp, i) tie-break)")
            return T.BOOL, comparison(op, lf, rf)
        if "pid" in (lt.name, rt.name):
            T.note_asymmetry("arithmetic on process numbers")
        fn = ARITH.get((op, lt.name))
        u = T.unify(lt, rt)
        if fn is None or u is None:
            raise self.error("E301", f"`{op}` does not apply to {lt} and {rt}", e.span,
                             hint="arithmetic works on int; + and - on sets (union, difference); + on seq")
        span = e.span
        if op in ("/", "%"):
            def div(c: Ctx) -> int:
                r = rf(c)
                if r == 0:
                    raise ModelFault("division by zero", span)
                return fn(lf(c), r)
            return u, div
        return u, lambda c: fn(lf(c), rf(c))

    def _e_Index(self, e: A.Index, scope: Scope, want):
        if isinstance(e.target, A.Name) and e.target.id in self.families and scope.lookup(e.target.id) is None \
                and not (scope.family and e.target.id in scope.family.var_slots):
            fam, gid = self._target(A.ProcTarget(e.target.id, e.index, e.span), scope)
            return T.proc_of(fam.name), gid
        tt, tf = self.expr(e.target, scope)
        span = e.span
        if tt.name == "tuple":
            if not isinstance(e.index, A.IntLit) or not 0 <= e.index.value < len(tt.args):
                raise self.error("E301", f"a tuple {tt} is indexed by a number 0..{len(tt.args) - 1}", e.index.span)
            k = e.index.value
            return tt.args[k], lambda c: tf(c)[k]
        it, ifn = self.expr(e.index, scope)
        if tt.name == "map":
            self._expect(it, tt.args[0], e.index.span, "the map key")

            def get(c: Ctx) -> Any:
                m, k = tf(c), ifn(c)
                if k not in m:
                    raise ModelFault(f"key {render_value(k)} is not in the map", span)
                return m[k]
            return tt.args[1], get
        if tt.name == "seq":
            self._expect(it, T.INT, e.index.span, "a sequence index")

            def at(c: Ctx) -> Any:
                q, k = tf(c), ifn(c)
                if not 0 <= k < len(q):
                    raise ModelFault(f"index {k} is outside the sequence (length {len(q)})", span)
                return q[k]
            return tt.args[0], at
        raise self.error("E301", f"{tt} cannot be indexed", e.span)

    def _e_Field(self, e: A.Field, scope: Scope, want):
        tt, tf = self.expr(e.target, scope)
        if tt.name != "proc":
            raise self.error("E301", f"`.{e.name}` needs a process, not {tt}", e.span)
        if not scope.in_property:
            raise self.error("E401", "a process cannot read another process's state; send it a message",
                             e.span)
        assert tt.family is not None  # a proc type names its family
        fam = self.families[tt.family]
        g: Any = getattr(tf, "constant", UNKNOWN)
        scope.reads.add((fam.name, fam.var_slots.get(e.name, 0)))
        if e.name in fam.states:
            idx = fam.states.index(e.name)
            if g is not UNKNOWN:
                return T.BOOL, lambda c: c.procs[g][0] == idx
            return T.BOOL, lambda c: c.procs[tf(c)][0] == idx
        if e.name == "crashed":
            return T.BOOL, lambda c: c.procs[tf(c)][0] == CRASHED
        if e.name in fam.var_slots:
            slot = fam.var_slots[e.name]
            return fam.var_types[e.name], lambda c: c.procs[tf(c)][slot]
        raise self.error("E201", f"{fam.name} has no variable or control state {e.name}", e.span,
                         hint=did_you_mean(e.name, list(fam.states) + list(fam.var_slots)))

    def _e_TupleLit(self, e, scope, want):
        parts = []
        for k, item in enumerate(e.items):
            w = want.args[k] if want is not None and want.name == "tuple" and k < len(want.args) else None
            parts.append(self.expr(item, scope, w))
        return T.tuple_of(*(t for t, _ in parts)), tuple_builder(tuple(f for _, f in parts))

    def _elements(self, items, scope, want_elem) -> tuple[T.Type, tuple[Fn, ...]]:
        et = want_elem or T.ANY
        fns = []
        for item in items:
            t, f = self.expr(item, scope, et if et.name != "any" else None)
            u = T.unify(et, t)
            if u is None:
                raise self.error("E301", f"elements must all be {et}, this one is {t}", item.span)
            et = u
            fns.append(f)
        return et, tuple(fns)

    def _e_SetLit(self, e, scope, want):
        et, fns = self._elements(e.items, scope, want.args[0] if want is not None and want.name == "set" else None)
        items = tuple_builder(fns)
        return T.set_of(et), lambda c: frozenset(items(c))

    def _e_SeqLit(self, e, scope, want):
        et, fns = self._elements(e.items, scope, want.args[0] if want is not None and want.name == "seq" else None)
        return T.seq_of(et), tuple_builder(fns)

    def _e_EmptyBraces(self, e, scope, want):
        if want is not None and want.name == "map":
            empty_map = FrozenMap()
            return want, lambda c: empty_map
        empty: frozenset[Any] = frozenset()
        return (want if want is not None and want.name == "set" else T.set_of(T.ANY)), lambda c: empty

    def _e_MapLit(self, e, scope, want):
        kt, kfns = self._elements([k for k, _ in e.items], scope, want.args[0] if want and want.name == "map" else None)
        vt, vfns = self._elements([v for _, v in e.items], scope, want.args[1] if want and want.name == "map" else None)
        pairs = tuple(zip(kfns, vfns))
        return T.map_of(kt, vt), lambda c: FrozenMap((k(c), v(c)) for k, v in pairs)

    def _others(self, fam: FamilyInfo) -> tuple[frozenset[int], ...]:
        """Per member, the set of the other members' numbers: built once per family, however often used."""
        if fam.name not in self.others_sets:
            size = fam.size
            self.others_sets[fam.name] = tuple(frozenset(j for j in range(size) if j != m) for m in range(size))
        return self.others_sets[fam.name]

    def _e_RangeLit(self, e, scope, want):
        lt, lf = self.expr(e.low, scope)
        ht, hf = self.expr(e.high, scope)
        self._expect(lt, T.INT, e.low.span, "a range bound")
        self._expect(ht, T.INT, e.high.span, "a range bound")
        limits, span = self.limits, e.span
        low: Any = getattr(lf, "constant", UNKNOWN)
        high: Any = getattr(hf, "constant", UNKNOWN)
        if low is not UNKNOWN and high is not UNKNOWN and limits.exceeded(high - low + 1):
            self.diags.append(limits.too_large(_range_size(low, high), span, _RANGE_HINT))
            raise Abort()

        def build(c: Ctx) -> frozenset[int]:
            lo, hi = lf(c), hf(c)
            if limits.exceeded(hi - lo + 1):
                raise ModelFault(limits.too_large(_range_size(lo, hi), span, _RANGE_HINT).message, span)
            return frozenset(range(lo, hi + 1))
        return T.set_of(T.INT), build

    def _iterable(self, t: T.Type, span: A.Span) -> tuple[T.Type, Callable[[Any], Any]]:
        """Element type and a deterministic iteration order of a collection type."""
        if t.name == "set":
            if T.is_ordered(t.args[0]) or t.args[0].name == "proc":
                return t.args[0], sorted
            return t.args[0], sorted_values
        if t.name == "seq":
            return t.args[0], lambda q: q
        if t.name == "map":
            return t.args[0], (sorted if T.is_ordered(t.args[0]) else sorted_values)
        raise self.error("E301", f"cannot iterate over {t}", span, hint="iterate over a set, seq, map or a..b")

    def _e_Comprehension(self, e: A.Comprehension, scope: Scope, want):
        st, sf = self.expr(e.source, scope)
        elem, order = self._iterable(st, e.source.span)
        scope.push()
        slot = scope.bind(e.var, elem)
        try:
            cond = self._bool(e.cond, scope) if e.cond is not None else None
            if e.kind == "filter":  # over a map: the set of its keys satisfying the condition
                result_t = st if st.name in ("set", "seq") else T.set_of(elem)

                def filt(c: Ctx) -> Any:
                    out = []
                    for v in sf(c):
                        c.frame[slot] = v
                        if cond is None or cond(c):
                            out.append(v)
                    return tuple(out) if st.name == "seq" else frozenset(out)
                return result_t, filt
            if e.kind == "count":
                def count(c: Ctx) -> int:
                    n = 0
                    for v in sf(c):
                        c.frame[slot] = v
                        if cond is None or cond(c):
                            n += 1
                    return n
                return T.INT, count
            want_elem = None
            if e.kind == "set" and want is not None and want.name == "set":
                want_elem = want.args[0]
            if e.kind == "map" and want is not None and want.name == "map":
                want_elem = want.args[1]
            assert e.element is not None  # only count and filter have none
            et, ef = self.expr(e.element, scope, want_elem)

            def values(c: Ctx):
                for v in order(sf(c)):
                    c.frame[slot] = v
                    if cond is None or cond(c):
                        yield ef(c)
            if e.kind in ("all", "any"):
                self._expect(et, T.BOOL, e.element.span, f"the body of {e.kind}")
                agg = all if e.kind == "all" else any
                return T.BOOL, lambda c: agg(values(c))
            if e.kind == "sum":
                self._expect(et, T.INT, e.element.span, "the body of sum")
                return T.INT, lambda c: sum(values(c))
            if e.kind in ("min", "max"):
                if not T.is_ordered(et):
                    raise self.error("E301", f"{e.kind} needs ordered values, not {et}", e.element.span)
                if T.contains_pid(et):
                    T.note_asymmetry(f"{e.kind} of process numbers")
                pick = min if e.kind == "min" else max
                span = e.span

                def extreme(c: Ctx) -> Any:
                    vals = list(values(c))
                    if not vals:
                        raise ModelFault(f"{e.kind} of an empty collection", span)
                    return pick(vals)
                return et, extreme
            if e.kind == "set":
                return T.set_of(et), lambda c: frozenset(values(c))
            if e.kind == "map":
                def build(c: Ctx) -> FrozenMap:
                    items = []
                    for v in order(sf(c)):
                        c.frame[slot] = v
                        items.append((v, ef(c)))
                    return FrozenMap(items)
                return T.map_of(elem, et), build
            raise self.error("E401", f"unknown comprehension {e.kind}", e.span)
        finally:
            scope.pop()

    def _e_Call(self, e: A.Call, scope: Scope, want):
        name, span = e.func, e.span
        args = [self.expr(a, scope) for a in e.args]
        if name in ("min", "max") and len(args) == 2:
            (at, af), (bt, bf) = args
            u = T.unify(at, bt)
            if u is None or not T.is_ordered(u):
                raise self.error("E301", f"{name} needs two values of one ordered type, not {at} and {bt}", span)
            if T.contains_pid(u):
                T.note_asymmetry(f"{name} of process numbers")
            agg = min if name == "min" else max
            return u, lambda c: agg(af(c), bf(c))
        if name in BUILTINS and len(args) != 1:
            raise self.error("E302", f"{name} takes one argument" + (" or two" if name in ("min", "max") else ""),
                             span)
        if name in ("min", "max"):
            (at, af), = args
            if at.name not in ("set", "seq") or not T.is_ordered(at.args[0]):
                raise self.error("E301", f"{name} needs a set or sequence of ordered values, not {at}", span)
            if T.contains_pid(at.args[0]):
                T.note_asymmetry(f"{name} of process numbers")
            agg = min if name == "min" else max

            def extreme(c: Ctx) -> Any:
                s = af(c)
                if not s:
                    raise ModelFault(f"{name} of an empty collection", span)
                return agg(s)
            return at.args[0], extreme
        if name == "len":
            (at, af), = args
            if at.name not in ("set", "seq", "map"):
                raise self.error("E301", f"len needs a set, sequence or map, not {at}", span)
            return T.INT, lambda c: len(af(c))
        if name in ("head", "tail"):
            (at, af), = args
            if at.name != "seq":
                raise self.error("E301", f"{name} needs a sequence, not {at}", span)

            def part(c: Ctx) -> Any:
                q = af(c)
                if not q:
                    raise ModelFault(f"{name} of an empty sequence", span)
                return q[0] if name == "head" else q[1:]
            return (at.args[0] if name == "head" else at), part
        if name == "abs":
            (at, af), = args
            self._expect(at, T.INT, span, "the argument of abs")
            return T.INT, lambda c: abs(af(c))
        if name == "keys":
            (at, af), = args
            if at.name != "map":
                raise self.error("E301", f"keys needs a map, not {at}", span)
            return T.set_of(at.args[0]), lambda c: frozenset(af(c).keys())
        raise self.error("E201", f"unknown function {name}", span,
                         hint="functions: " + ", ".join(BUILTINS) + ", all, any, count, sum")
