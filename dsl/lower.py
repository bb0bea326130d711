"""Type checking and compilation of process models into closures, in one pass over the syntax tree.

Declarations, families, statements and the network live here; expressions in dsl/lower_expr.py and
properties in dsl/lower_props.py (mixins of the one Lowerer, which owns the diagnostics). Each statement
becomes `fn(ctx)` that updates a `checker.process.procsys.Ctx`. Errors are collected as diagnostics and raised
together. Closures, not `eval`: model files are data.
"""
from __future__ import annotations

from typing import Any, Callable, cast

from checker.process.capabilities import CAPABILITIES
from checker.process.network import Network
from checker.engine.system import ModelFault
from checker.process.symmetry import SymmetrySpec
from checker.process.procsys import (Ctx, FamilySpec, HandlerSpec, MessageSpec, ProcessSystem,
                             TransitionSpec)
from checker.engine.invariant import Invariant
from checker.engine.liveness import Response
from checker.engine.properties import Property
from checker.process.values import render_seq, render_value
from checker.records import replace

from . import ast as A
from . import types as T
from .closures import ARITH, Abort, FamilyInfo, Fn, Scope, did_you_mean, tuple_builder
from .diagnostics import Diagnostic, ModelError, unknown_hint
from .limits import INT_CEILING, MAX_INT_DIGITS, SizeLimits, quantity
from .lower_expr import ExpressionLowering
from .lower_props import PropertyLowering

#: The context constant expressions run in: they read no process state, so a closure that tries to fails with
#: AttributeError, which is how a non-constant expression is reported (E403).
NO_STATE = cast(Ctx, None)

NETWORK_WORDS = {"fifo", "unordered", "lossy"}


class Lowerer(ExpressionLowering, PropertyLowering):
    def __init__(self, model: A.Model, overrides: dict[str, int], model_name: str,
                 attacker: tuple[str, ...] | None = None, limits: SizeLimits = SizeLimits(),
                 attacker_limit: int | None = None):
        self.model = model
        self.attacker_override = attacker
        self.limits = limits
        self.attacker_limit_override = attacker_limit
        self.overrides = dict(overrides)
        self.model_name = model.name or model_name
        self.diags: list[Diagnostic] = []
        self.consts: dict[str, tuple[Any, T.Type]] = {}
        self.sends: dict[str, set[tuple[int, str]]] = {}  # sender family -> (message id, target family)
        self.families: dict[str, FamilyInfo] = {}
        self.messages: dict[str, tuple[int, tuple[T.Type, ...], A.MessageDecl]] = {}
        self.others_sets: dict[str, tuple[frozenset[int], ...]] = {}  # per family, built on first use

    # ------------------------------------------------------------------ diagnostics
    def error(self, code: str, message: str, span: A.Span, hint: str | None = None) -> Abort:
        self.diags.append(Diagnostic(code, message, span, hint))
        return Abort()

    def _expect(self, got: T.Type, want: T.Type, span: A.Span, what: str) -> T.Type:
        u = T.unify(got, want)
        if u is None:
            raise self.error("E301", f"{what} must be {want}, not {got}", span)
        return u

    # ------------------------------------------------------------------ entry point
    def lower(self) -> tuple[ProcessSystem, tuple[Property, ...]]:
        with T.watching_symmetry() as asymmetries:
            system, props = self._lower()
        system.symmetry, system.asymmetry = self._symmetry(system, asymmetries)
        return system, props

    def _lower(self) -> tuple[ProcessSystem, tuple[Property, ...]]:
        self._consts()
        self._messages()
        self._layout_families()
        specs = []
        for fam in self.families.values():
            try:
                specs.append(self._family(fam))
            except Abort:
                pass
        network = self._network()
        crash = self._crashes()
        props = self._properties()
        if not self.model.processes and not self.diags:
            self.error("E401", "the model declares no process", A.Span(1, 1, 1, 1),
                       hint="add `process Name { ... }` (see docs/language.md)")
        for name in self.overrides:
            self.error("E404", f"-D {name}: the model has no constant {name}", A.NO_SPAN,
                       hint=unknown_hint(name, (c.name for c in self.model.consts), "constants"))
        if self.diags:  # in source order, like a compiler
            raise ModelError(sorted(self.diags, key=lambda d: (d.span.line, d.span.column)))
        families = tuple(FamilySpec(**{**s.__dict__, "crashable": crash.get(s.name, frozenset())}) for s in specs)
        msgs = tuple(MessageSpec(name, tuple(_renderer(t) for t in types))
                     for name, (_, types, _) in sorted(self.messages.items(), key=lambda kv: kv[1][0]))
        system = ProcessSystem(self.model_name, families, msgs, network)
        return system, tuple(_lifted(p, system) for p in props)

    # ------------------------------------------------------------------ symmetry
    def _symmetry(self, system: ProcessSystem, asymmetries: list[str]) -> tuple[SymmetrySpec | None, str]:
        """The family whose members are interchangeable, or why there is none (checker/process/symmetry.py).
        Process numbers carry no family in the type system, so there must be exactly one indexed family (every
        number in the model is then one of its members), no use of numbers that tells members apart, and no
        `from` binding that a process outside the family can fill."""
        indexed = [f for f in self.families.values() if f.indexed]
        if len(indexed) != 1:
            return None, ("no process family" if not indexed else
                          "more than one process family (process numbers do not say which family they count)")
        family = indexed[0]
        if family.size < 2:
            return None, f"{family.name} has a single member"
        if asymmetries:
            return None, asymmetries[0]
        for spec in system.families:
            for kind, handlers in spec.handlers.items():
                if any(h.sender_slot is not None for h in handlers):
                    senders = {fam for fam, sends in self.sends.items() if (kind, spec.name) in sends}
                    if senders - {family.name}:
                        return None, "a `from` binding names a sender outside the family"
        local_types = {f.name: (("int",),) + tuple(_tree(f.var_types[v]) for v, _ in
                                                    sorted(f.var_slots.items(), key=lambda kv: kv[1]))
                       for f in self.families.values()}
        message_types = tuple(tuple(_tree(x) for x in types)
                              for _name, (_, types, _) in sorted(self.messages.items(), key=lambda kv: kv[1][0]))
        return SymmetrySpec(family.name, local_types, message_types), ""

    # ------------------------------------------------------------------ constants
    def _consts(self) -> None:
        for c in self.model.consts:
            if c.name in self.consts:
                self.error("E202", f"constant {c.name} is declared twice", c.span)
                continue
            if c.name in self.overrides:
                value = self.overrides.pop(c.name)
                t = T.BOOL if isinstance(value, bool) else T.INT
                try:
                    declared, _fn = self.expr(c.value, Scope(None, False))
                except Abort:
                    declared = t
                if T.unify(declared, t) is None:  # -D N=true for `const N = 3` would only confuse later
                    self.error("E403", f"-D {c.name}: {c.name} is {declared}, the value given is {t}", c.span,
                               hint=f"give {c.name} a value of type {declared}")
                else:
                    self.consts[c.name] = (value, t)
                    continue
            try:
                t, fn = self.expr(c.value, Scope(None, False))
            except Abort:
                continue
            try:
                value = fn(NO_STATE)
            except (ModelFault, TypeError, AttributeError):
                self.error("E403", f"constant {c.name} must be computable from other constants", c.value.span)
                continue
            if isinstance(value, int) and abs(value) >= INT_CEILING:
                self.error("E403", f"constant {c.name} is too large: {quantity(value)}, more than "
                                   f"{MAX_INT_DIGITS:,} digits", c.value.span)
                continue
            self.consts[c.name] = (value, t)

    def const_int(self, e: A.Expr, what: str) -> int:
        t, fn = self.expr(e, Scope(None, False))
        self._expect(t, T.INT, e.span, what)
        try:
            value = fn(NO_STATE)
        except (ModelFault, TypeError, AttributeError):
            raise self.error("E403", f"{what} must be computable from constants", e.span)
        if abs(value) >= INT_CEILING:
            raise self.error("E403", f"{what} is too large: {quantity(value)}, more than {MAX_INT_DIGITS:,} digits",
                             e.span)
        return value

    # ------------------------------------------------------------------ messages and families
    def _messages(self) -> None:
        for m in self.model.messages:
            if m.name in self.messages:
                self.error("E202", f"message {m.name} is declared twice", m.span)
                continue
            types = []
            for p in m.params:
                try:
                    types.append(self.type_expr(p.type))
                except Abort:
                    types.append(T.ANY)
            self.messages[m.name] = (len(self.messages), tuple(types), m)

    def type_expr(self, t: A.TypeExpr) -> T.Type:
        if t.name == "tuple":
            return T.tuple_of(*(self.type_expr(x) for x in t.args))
        if t.name in T.SCALARS and not t.args:
            return T.SCALARS[t.name]
        if t.name in T.GENERICS and len(t.args) == T.GENERICS[t.name]:
            return T.Type(t.name, tuple(self.type_expr(x) for x in t.args))
        if t.name in T.GENERICS:
            raise self.error("E301", f"{t.name} takes {T.GENERICS[t.name]} type argument(s)", t.span)
        raise self.error("E201", f"unknown type {t.name}", t.span,
                         hint="types are int, bool, pid, str, (T1, T2), set[T], seq[T], map[K, V]")

    def _layout_families(self) -> None:
        offset = 0
        for p in self.model.processes:
            if p.name in self.families:
                self.error("E202", f"process {p.name} is declared twice", p.span)
                continue
            size, indexed = 1, False
            if p.index_range is not None:
                indexed = True
                if not isinstance(p.index_range, A.RangeLit):
                    self.error("E401", "a process family is written P[i in 0..N-1]", p.index_range.span)
                    continue
                try:
                    low = self.const_int(p.index_range.low, "the family's lower bound")
                    high = self.const_int(p.index_range.high, "the family's upper bound")
                except Abort:
                    continue
                if low != 0:
                    self.error("E401", "process families are numbered from 0", p.index_range.low.span)
                    continue
                size = high - low + 1
                if size < 1:
                    self.error("E403", f"process family {p.name} would be empty (0..{high})", p.index_range.span)
                    continue
            if not p.states:
                self.error("E401", f"process {p.name} declares no control state", p.span,
                           hint="add `state idle, ...` (the first one is the initial state)")
                continue
            seen = set()
            for s, sp in zip(p.states, p.state_spans or (p.span,) * len(p.states)):
                if s in seen:
                    self.error("E202", f"control state {s} is declared twice", sp)
                seen.add(s)
            self.families[p.name] = FamilyInfo(p, p.name, offset, size, indexed, tuple(p.states), {}, {})
            offset += size
        self._check_network_size(offset)

    def _check_network_size(self, n: int) -> None:
        """Every state holds a channel slot per ordered pair of processes (and `others` a set per member): a
        total the limits refuse stops compilation here, before any of it is built."""
        if not self.limits.exceeded(n * n):
            return
        largest = max(self.families.values(), key=lambda f: f.size)
        what = f"process family {largest.name} has {quantity(largest.size)} members: " if largest.indexed else ""
        span = largest.decl.index_range.span if largest.decl.index_range is not None else largest.decl.span
        raise ModelError(self.diags + [self.limits.too_large(
            f"{what}a network of {quantity(n)} processes needs {quantity(n * n)} channel slots", span,
            "explicit-state checking explores every interleaving: check a small instance (N = 2 to 4, "
            "with -D N=...)")])

    def _family(self, fam: FamilyInfo) -> FamilySpec:
        decl = fam.decl
        states = {s: k for k, s in enumerate(fam.states)}
        finals = []
        for f in decl.finals:
            if f not in states:
                self.error("E204", f"unknown control state {f} in `final`", decl.span)
            else:
                finals.append(states[f])
        # variables: types first (so bodies can refer to any of them), then initial values per member
        init_fns = []
        for k, v in enumerate(decl.vars, start=1):
            if v.name in fam.var_slots:
                self.error("E202", f"variable {v.name} is declared twice in {fam.name}", v.span)
                continue
            scope = Scope(fam, False)
            try:
                want = self.type_expr(v.type) if v.type is not None else None
                t, fn = self.expr(v.init, scope, want)
                if want is not None:
                    t = self._expect(t, want, v.init.span, f"the initial value of {v.name}")
                if not T.is_complete(t):
                    raise self.error("E303", f"cannot infer the type of {v.name} from {t}", v.span,
                                     hint=f"write the type: var {v.name}: set[int] = {{}}")
            except Abort:
                t, fn = T.ANY, None
            fam.var_slots[v.name] = len(fam.var_slots) + 1
            fam.var_types[v.name] = t
            init_fns.append((scope.size, fn))
        initial = []
        for member in range(fam.size):
            locs: list[Any] = [0]
            for frame_size, fn in init_fns:
                locs.append(None)
                if fn is None:
                    break  # its error is reported; the later initial values may read this one
                try:
                    locs[-1] = fn(Ctx(locs, [None] * frame_size, member, fam.offset + member, None))
                except ModelFault as err:
                    self.error("E403", f"initial value: {err}", err.span or decl.span)
                    break  # the later initial values may read this one
            locs.extend([None] * (len(init_fns) + 1 - len(locs)))  # after an error: the slots stay, unfilled
            initial.append(tuple(locs))
        frame_size = 0
        transitions = []
        for tr in decl.transitions:
            for name in (tr.source, tr.target):
                if name not in states:
                    self.error("E204", f"unknown control state {name} in {fam.name}", tr.span,
                               hint=f"declared states: {', '.join(fam.states)}")
            if tr.source not in states or tr.target not in states:
                continue
            scope = Scope(fam, False)
            try:
                guard = self._bool(tr.guard, scope) if tr.guard is not None else None
                body = self.block(tr.body, scope, states)
            except Abort:
                continue
            frame_size = max(frame_size, scope.size)
            text = tr.label or f"{tr.source} -> {tr.target}"
            transitions.append(TransitionSpec(states[tr.source], states[tr.target], text, guard, body))
        handlers: dict[int, list[HandlerSpec]] = {}
        for h in decl.handlers:
            spec = self._handler(fam, h, states)
            if spec is not None:
                frame_size = max(frame_size, spec[1])
                handlers.setdefault(spec[0].message, []).append(spec[0])
        var_names = tuple(v for v, _ in sorted(fam.var_slots.items(), key=lambda kv: kv[1]))
        return FamilySpec(name=fam.name, offset=fam.offset, size=fam.size, indexed=fam.indexed,
                          states=fam.states, finals=frozenset(finals), var_names=var_names,
                          var_renderers=tuple(_renderer(fam.var_types[v]) for v in var_names),
                          initial=tuple(initial), transitions=tuple(transitions),
                          handlers={k: tuple(v) for k, v in handlers.items()}, frame_size=frame_size,
                          sends=frozenset(self.sends.get(fam.name, ())))

    def _handler(self, fam: FamilyInfo, h: A.Handler, states: dict[str, int]) -> tuple[HandlerSpec, int] | None:
        if h.message not in self.messages:
            self.error("E203", f"unknown message {h.message}", h.span,
                       hint=f"declare it: message {h.message}(...)")
            return None
        msg_id, types, decl = self.messages[h.message]
        if len(h.params) != len(types):
            self.error("E302", f"message {h.message} has {len(types)} parameter(s), the handler names "
                               f"{len(h.params)}", h.span, hint=f"declared at line {decl.span.line}")
            return None
        scope = Scope(fam, False)
        for p, t in zip(h.params, types):
            scope.bind(p, t)
        sender_slot = scope.bind(h.sender, T.PID) if h.sender else None
        in_states = None
        if h.states:
            bad = [s for s in h.states if s not in states]
            if bad:
                self.error("E204", f"unknown control state {bad[0]} in {fam.name}", h.span)
                return None
            in_states = frozenset(states[s] for s in h.states)
        try:
            guard = self._bool(h.guard, scope) if h.guard is not None else None
            body = self.block(h.body, scope, states)
        except Abort:
            return None
        return HandlerSpec(msg_id, in_states, guard, body, sender_slot), scope.size

    # ------------------------------------------------------------------ network and faults
    def _network(self) -> Network:
        words = set(self.model.network) or {"fifo"}
        unknown = words - NETWORK_WORDS
        if unknown:
            self.error("E404", f"unknown network kind {sorted(unknown)[0]}", self.model.network_span,
                       hint="network fifo | unordered | lossy (lossy combines with fifo or unordered)")
        if {"fifo", "unordered"} <= words:
            self.error("E401", "a network is fifo or unordered, not both", self.model.network_span)
        fifo = "unordered" not in words and not (words == {"lossy"})
        n = sum(f.size for f in self.families.values())
        limit = self.attacker_limit_override
        if limit is None and self.model.attacker_limit is not None:
            try:
                limit = self.const_int(self.model.attacker_limit, "the attacker's limit")
            except Abort:
                pass
        return Network(fifo=fifo, lossy="lossy" in words, n=n, attacker=self._attacker(), limit=limit)

    def _attacker(self) -> frozenset[str]:
        """The declared capabilities (`attacker drop, replay`; `attacker none`), or the CLI's override."""
        if self.attacker_override is not None:
            caps, span = self.attacker_override, A.NO_SPAN
        else:
            caps, span = self.model.attacker or (), self.model.attacker_span
        caps = tuple(c for c in caps if c != "none")
        for c in caps:
            if c not in CAPABILITIES:
                self.error("E404", f"unknown attacker capability {c}", span,
                           hint=unknown_hint(c, CAPABILITIES, "capabilities") + " (or none)")
        return frozenset(c for c in caps if c in CAPABILITIES)

    def _crashes(self) -> dict[str, frozenset[int]]:
        out: dict[str, set[int]] = {}
        for c in self.model.crashes:
            try:
                if c.when is not None:
                    t, fn = self.expr(c.when, Scope(None, False))
                    self._expect(t, T.BOOL, c.when.span, "a crash condition")
                    if not fn(NO_STATE):
                        continue
                fam = self.families.get(c.target.family)
                if fam is None:
                    raise self.error("E205", f"unknown process {c.target.family}", c.target.span)
                members: range | list[int]
                if c.target.index is None:
                    members = range(fam.size)
                else:
                    k = self.const_int(c.target.index, "the crashing member")
                    if not 0 <= k < fam.size:
                        raise self.error("E403", f"{fam.name}[{k}] does not exist (0..{fam.size - 1})",
                                         c.target.span)
                    members = [k]
                out.setdefault(fam.name, set()).update(members)
            except Abort:
                pass
        return {k: frozenset(v) for k, v in out.items()}

    # ------------------------------------------------------------------ statements
    def block(self, stmts: tuple[A.Stmt, ...], scope: Scope, states: dict[str, int]) -> Fn | None:
        fns = []
        for s in stmts:
            try:
                fn = self.stmt(s, scope, states)
            except Abort:
                continue
            if fn is not None:
                fns.append(fn)
        if not fns:
            return None
        if len(fns) == 1:
            return fns[0]
        seq = tuple(fns)

        def run(c: Ctx) -> None:
            for f in seq:
                f(c)
        return run

    def stmt(self, s: A.Stmt, scope: Scope, states: dict[str, int]) -> Fn | None:
        if isinstance(s, A.Assign):
            return self._assign(s, scope)
        if isinstance(s, A.Send):
            return self._send(s, scope)
        if isinstance(s, A.Broadcast):
            return self._broadcast(s, scope)
        if isinstance(s, A.If):
            branches = []
            for cond, body in s.branches:
                branches.append((self._bool(cond, scope), self.block(body, scope, states)))
            orelse = self.block(s.orelse, scope, states)
            branches_t = tuple(branches)

            def run_if(c: Ctx) -> None:
                for cond_fn, body_fn in branches_t:
                    if cond_fn(c):
                        if body_fn is not None:
                            body_fn(c)
                        return
                if orelse is not None:
                    orelse(c)
            return run_if
        if isinstance(s, A.For):
            st, src = self.expr(s.source, scope)
            elem, order = self._iterable(st, s.source.span)
            if st.name in ("set", "map") and T.contains_pid(elem):
                T.note_asymmetry("a loop over process numbers runs in their order")
            scope.push()
            slot = scope.bind(s.var, elem)
            loop_body = self.block(s.body, scope, states)
            scope.pop()
            if loop_body is None:
                return None

            def run_for(c: Ctx) -> None:
                for v in order(src(c)):
                    c.frame[slot] = v
                    loop_body(c)
            return run_for
        if isinstance(s, A.Goto):
            if s.state not in states:
                raise self.error("E204", f"unknown control state {s.state}", s.span)
            idx = states[s.state]

            def run_goto(c: Ctx) -> None:
                c.locs[0] = idx
            return run_goto
        if isinstance(s, A.Skip):
            return None
        raise self.error("E401", "unsupported statement", s.span)

    def _assign(self, s: A.Assign, scope: Scope) -> Fn:
        fam = scope.family
        if scope.lookup(s.target) is not None:
            raise self.error("E401", f"{s.target} is a parameter or loop variable and cannot be assigned", s.span,
                             hint="declare a process variable with `var` and assign that")
        if fam is None or s.target not in fam.var_slots:
            raise self.error("E201", f"unknown variable {s.target}", s.span,
                             hint=did_you_mean(s.target, list(fam.var_slots) if fam else []))
        slot = fam.var_slots[s.target]
        vt = fam.var_types[s.target]
        if len(s.indices) > 1:
            raise self.error("E401", "only one level of indexing can be assigned (m[k] = v)", s.span)
        if s.indices:
            if vt.name == "map":
                kt, kfn = self.expr(s.indices[0], scope)
                self._expect(kt, vt.args[0], s.indices[0].span, "the map key")
                target_t = vt.args[1]
            elif vt.name == "seq":
                kt, kfn = self.expr(s.indices[0], scope)
                self._expect(kt, T.INT, s.indices[0].span, "a sequence index")
                target_t = vt.args[0]
            else:
                raise self.error("E301", f"{s.target} is {vt}; only maps and sequences can be indexed", s.span)
            vt_, vfn = self.expr(s.value, scope, target_t)
            combine = self._combiner(s.op, target_t, vt_, s.span)
            span = s.span
            if vt.name == "map":
                def run_map(c: Ctx) -> None:
                    m = c.locs[slot]
                    k = kfn(c)
                    if s.op != "=" and k not in m:
                        raise ModelFault(f"key {render_value(k)} is not in {s.target}", span)
                    c.locs[slot] = m.set(k, combine(m[k] if k in m else None, vfn(c)))
                return run_map

            def run_seq(c: Ctx) -> None:
                q = c.locs[slot]
                k = kfn(c)
                if not 0 <= k < len(q):
                    raise ModelFault(f"index {k} is outside {s.target} (length {len(q)})", span)
                c.locs[slot] = q[:k] + (combine(q[k], vfn(c)),) + q[k + 1:]
            return run_seq
        value_t, vfn = self.expr(s.value, scope, vt)
        combine = self._combiner(s.op, vt, value_t, s.span)
        if s.op == "=":
            def run_set(c: Ctx) -> None:
                c.locs[slot] = vfn(c)
            return run_set

        def run_aug(c: Ctx) -> None:
            c.locs[slot] = combine(c.locs[slot], vfn(c))
        return run_aug

    def _combiner(self, op: str, target: T.Type, value: T.Type, span: A.Span) -> Callable[[Any, Any], Any]:
        if op == "=":
            self._expect(value, target, span, "the assigned value")
            return lambda old, new: new
        fn = ARITH.get((op[0], target.name))
        if fn is None or T.unify(target, value) is None:
            raise self.error("E301", f"`{op}` does not apply to {target} and {value}", span,
                             hint="+= and -= work on int, set (union/difference) and seq (+= appends a seq)")
        return fn

    def _message_args(self, name: str, args: tuple[A.Expr, ...], scope: Scope, span: A.Span) -> tuple[int, tuple]:
        if name not in self.messages:
            raise self.error("E203", f"unknown message {name}", span,
                             hint=did_you_mean(name, list(self.messages)) or f"declare it: message {name}(...)")
        msg_id, types, decl = self.messages[name]
        if len(args) != len(types):
            raise self.error("E302", f"message {name} takes {len(types)} argument(s), {len(args)} given", span,
                             hint=f"declared as message {name}("
                                  + ", ".join(f"{p.name}: {t}" for p, t in zip(decl.params, types)) + ")")
        fns = []
        for a, t in zip(args, types):
            at, afn = self.expr(a, scope, t)
            self._expect(at, t, a.span, f"argument of {name}")
            fns.append(afn)
        return msg_id, tuple(fns)

    def _send(self, s: A.Send, scope: Scope) -> Fn:
        msg_id, fns = self._message_args(s.message, s.args, scope, s.span)
        fam, gid = self._target(s.to, scope)
        self._record_send(scope, msg_id, fam.name)
        message = tuple_builder((lambda c: msg_id,) + fns)

        def run_send(c: Ctx) -> None:
            c.out.append((c.gid, gid(c), message(c)))
        return run_send

    def _record_send(self, scope: Scope, msg_id: int, target: str) -> None:
        """Which message kinds a family may send to which family: partial-order reduction needs to know who
        can still send a process something it listens to (checker/process/procsys.py, `ample`)."""
        if scope.family is not None:
            self.sends.setdefault(scope.family.name, set()).add((msg_id, target))

    def _broadcast(self, s: A.Broadcast, scope: Scope) -> Fn:
        msg_id, fns = self._message_args(s.message, s.args, scope, s.span)
        name = s.family or (scope.family.name if scope.family else None)
        fam = self.families.get(name or "")
        if fam is None:
            raise self.error("E205", f"unknown process {name}", s.span)
        gids = tuple(range(fam.offset, fam.offset + fam.size))
        self._record_send(scope, msg_id, fam.name)
        message = tuple_builder((lambda c: msg_id,) + fns)

        def run_broadcast(c: Ctx) -> None:
            msg = message(c)
            for g in gids:
                if g != c.gid:
                    c.out.append((c.gid, g, msg))
        return run_broadcast


def _tree(t: T.Type) -> tuple:
    """A static type as the type tree checker/process/symmetry.py renames values by."""
    return (t.name, *(_tree(x) for x in t.args))


def _lifted(prop: Property, system: ProcessSystem) -> Property:
    """Properties are compiled as predicates over the instances' locals; the system makes them predicates over
    its states (memoised on the locals)."""
    if isinstance(prop, Invariant):
        return replace(prop, cases=tuple((label, system.lift(p)) for label, p in prop.cases))
    if isinstance(prop, Response):
        return replace(prop, cases=tuple((label, system.lift(p), system.lift(q)) for label, p, q in prop.cases))
    return prop


def _renderer(t: T.Type) -> Callable[[Any], str]:
    if t.name == "seq":
        return render_seq
    return render_value


def lower(model: A.Model, overrides: dict[str, int] | None = None, default_name: str = "model",
          attacker: tuple[str, ...] | None = None, limits: SizeLimits = SizeLimits(),
          attacker_limit: int | None = None) -> tuple[ProcessSystem, tuple[Property, ...]]:
    """Type-check and compile a parsed model; raise ModelError with every diagnostic found.
    `attacker` and `attacker_limit` override the capabilities and the injection limit the model declares;
    `limits` bounds what compilation may build (dsl/limits.py)."""
    try:
        return Lowerer(model, overrides or {}, default_name, attacker, limits, attacker_limit).lower()
    except RecursionError:
        raise ModelError([Diagnostic("E401", "the model is nested too deeply to compile", A.NO_SPAN,
                                     hint="split the expression or block")]) from None
