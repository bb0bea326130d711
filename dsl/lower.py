"""Type checking and compilation of process models into closures, in one pass over the syntax tree.

Each expression becomes `(Type, fn)` where `fn(ctx)` computes its value from a `checker.procsys.Ctx`;
each statement becomes `fn(ctx)` that updates the context. Errors are collected as diagnostics and raised
together. Closures, not `eval`: model files are data.

Name resolution, innermost first: bound variables (handler parameters, `from` sender, loop and
comprehension variables) live in the frame; then the process's variables; then its index variable and
`others`; then constants; then process family names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from checker.network import CAPABILITIES, Network
from checker.procsys import (CRASHED, Ctx, FamilySpec, HandlerSpec, MessageSpec, ModelRuntimeError,
                             ProcessSystem, TransitionSpec)
from checker.properties import DeadlockFree, Invariant, MessagesPer, Property, Response
from checker.values import FrozenMap, render_seq, render_value, sorted_values, vkey

from . import ast as A
from . import types as T
from .diagnostics import Diagnostic, ModelError

Fn = Callable[[Ctx], Any]
BUILTINS = ("min", "max", "len", "head", "tail", "abs", "keys")
NETWORK_WORDS = {"fifo", "unordered", "lossy"}


class _Abort(Exception):
    """Stops lowering one construct after its diagnostic was recorded."""


@dataclass
class _Family:
    decl: A.ProcessDecl
    name: str
    offset: int
    size: int
    indexed: bool
    states: tuple[str, ...]
    var_slots: dict[str, int]
    var_types: dict[str, T.Type]


class _Scope:
    """Bindings visible while lowering one body: frame variables on top of a family (or none)."""

    def __init__(self, family: _Family | None, in_property: bool):
        self.family = family
        self.in_property = in_property
        self.frame: list[dict[str, tuple[int, T.Type]]] = [{}]
        self.size = 0
        self.fixed: dict[str, tuple[Any, T.Type]] = {}  # names with a known value (a property's case)

    def bind(self, name: str, t: T.Type) -> int:
        slot = self.size
        self.size += 1
        self.frame[-1][name] = (slot, t)
        return slot

    def push(self) -> None:
        self.frame.append({})

    def pop(self) -> None:
        self.frame.pop()

    def lookup(self, name: str) -> tuple[int, T.Type] | None:
        for layer in reversed(self.frame):
            if name in layer:
                return layer[name]
        return None


class Lowerer:
    def __init__(self, model: A.Model, overrides: dict[str, int], model_name: str,
                 attacker: tuple[str, ...] | None = None):
        self.model = model
        self.attacker_override = attacker
        self.overrides = dict(overrides)
        self.model_name = model.name or model_name
        self.diags: list[Diagnostic] = []
        self.consts: dict[str, tuple[Any, T.Type]] = {}
        self.families: dict[str, _Family] = {}
        self.messages: dict[str, tuple[int, tuple[T.Type, ...], A.MessageDecl]] = {}

    # ------------------------------------------------------------------ diagnostics
    def error(self, code: str, message: str, span: A.Span, hint: str | None = None) -> _Abort:
        self.diags.append(Diagnostic(code, message, span, hint))
        return _Abort()

    def _expect(self, got: T.Type, want: T.Type, span: A.Span, what: str) -> T.Type:
        u = T.unify(got, want)
        if u is None:
            raise self.error("E301", f"{what} must be {want}, not {got}", span)
        return u

    # ------------------------------------------------------------------ entry point
    def lower(self) -> tuple[ProcessSystem, tuple[Property, ...]]:
        self._consts()
        self._messages()
        self._layout_families()
        specs = []
        for fam in self.families.values():
            try:
                specs.append(self._family(fam))
            except _Abort:
                pass
        network = self._network()
        crash = self._crashes()
        props = self._properties()
        if not self.model.processes and not self.diags:
            self.error("E401", "the model declares no process", A.Span(1, 1, 1, 1),
                       hint="add `process Name { ... }` (see docs/language.md)")
        for name in self.overrides:
            self.error("E404", f"-D {name}: the model has no constant {name}", A.NO_SPAN,
                       hint="constants are declared with `const NAME = value`")
        if self.diags:  # in source order, like a compiler
            raise ModelError(sorted(self.diags, key=lambda d: (d.span.line, d.span.column)))
        specs = tuple(FamilySpec(**{**s.__dict__, "crashable": crash.get(s.name, frozenset())}) for s in specs)
        msgs = tuple(MessageSpec(name, tuple(_renderer(t) for t in types))
                     for name, (_, types, _) in sorted(self.messages.items(), key=lambda kv: kv[1][0]))
        system = ProcessSystem(self.model_name, specs, msgs, network)
        return system, props

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
                    declared, _fn = self.expr(c.value, _Scope(None, False))
                except _Abort:
                    declared = t
                if T.unify(declared, t) is None:  # -D N=true for `const N = 3` would only confuse later
                    self.error("E403", f"-D {c.name}: {c.name} is {declared}, the value given is {t}", c.span,
                               hint=f"give {c.name} a value of type {declared}")
                else:
                    self.consts[c.name] = (value, t)
                    continue
            try:
                t, fn = self.expr(c.value, _Scope(None, False))
            except _Abort:
                continue
            try:
                self.consts[c.name] = (fn(None), t)
            except (ModelRuntimeError, TypeError, AttributeError):
                self.error("E403", f"constant {c.name} must be computable from other constants", c.value.span)

    def const_int(self, e: A.Expr, what: str) -> int:
        t, fn = self.expr(e, _Scope(None, False))
        self._expect(t, T.INT, e.span, what)
        try:
            return fn(None)
        except (ModelRuntimeError, TypeError, AttributeError):
            raise self.error("E403", f"{what} must be computable from constants", e.span)

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
                except _Abort:
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
                except _Abort:
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
            self.families[p.name] = _Family(p, p.name, offset, size, indexed, tuple(p.states), {}, {})
            offset += size

    def _family(self, fam: _Family) -> FamilySpec:
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
            scope = _Scope(fam, False)
            try:
                want = self.type_expr(v.type) if v.type is not None else None
                t, fn = self.expr(v.init, scope, want)
                if want is not None:
                    t = self._expect(t, want, v.init.span, f"the initial value of {v.name}")
                if not T.is_complete(t):
                    raise self.error("E303", f"cannot infer the type of {v.name} from {t}", v.span,
                                     hint=f"write the type: var {v.name}: set[int] = {{}}")
            except _Abort:
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
                    continue
                try:
                    locs[-1] = fn(Ctx(locs, [None] * frame_size, member, fam.offset + member, None))
                except ModelRuntimeError as err:
                    self.error("E403", f"initial value: {err}", err.span or decl.span)
            initial.append(tuple(locs))
        frame_size = 0
        transitions = []
        for t in decl.transitions:
            for s in (t.source, t.target):
                if s not in states:
                    self.error("E204", f"unknown control state {s} in {fam.name}", t.span,
                               hint=f"declared states: {', '.join(fam.states)}")
            if t.source not in states or t.target not in states:
                continue
            scope = _Scope(fam, False)
            try:
                guard = self._bool(t.guard, scope) if t.guard is not None else None
                body = self.block(t.body, scope, states)
            except _Abort:
                continue
            frame_size = max(frame_size, scope.size)
            text = t.label or f"{t.source} -> {t.target}"
            transitions.append(TransitionSpec(states[t.source], states[t.target], text, guard, body))
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
                          handlers={k: tuple(v) for k, v in handlers.items()}, frame_size=frame_size)

    def _handler(self, fam: _Family, h: A.Handler, states: dict[str, int]) -> tuple[HandlerSpec, int] | None:
        if h.message not in self.messages:
            self.error("E203", f"unknown message {h.message}", h.span,
                       hint=f"declare it: message {h.message}(...)")
            return None
        msg_id, types, decl = self.messages[h.message]
        if len(h.params) != len(types):
            self.error("E302", f"message {h.message} has {len(types)} parameter(s), the handler names "
                               f"{len(h.params)}", h.span, hint=f"declared at line {decl.span.line}")
            return None
        scope = _Scope(fam, False)
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
        except _Abort:
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
        limit = None
        if self.model.attacker_limit is not None:
            try:
                limit = self.const_int(self.model.attacker_limit, "the attacker's limit")
            except _Abort:
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
                           hint="capabilities: " + ", ".join(CAPABILITIES) + " (or none)")
        return frozenset(c for c in caps if c in CAPABILITIES)

    def _crashes(self) -> dict[str, frozenset[int]]:
        out: dict[str, set[int]] = {}
        for c in self.model.crashes:
            try:
                if c.when is not None:
                    t, fn = self.expr(c.when, _Scope(None, False))
                    self._expect(t, T.BOOL, c.when.span, "a crash condition")
                    if not fn(None):
                        continue
                fam = self.families.get(c.target.family)
                if fam is None:
                    raise self.error("E205", f"unknown process {c.target.family}", c.target.span)
                if c.target.index is None:
                    members = range(fam.size)
                else:
                    k = self.const_int(c.target.index, "the crashing member")
                    if not 0 <= k < fam.size:
                        raise self.error("E403", f"{fam.name}[{k}] does not exist (0..{fam.size - 1})",
                                         c.target.span)
                    members = [k]
                out.setdefault(fam.name, set()).update(members)
            except _Abort:
                pass
        return {k: frozenset(v) for k, v in out.items()}

    # ------------------------------------------------------------------ statements
    def block(self, stmts: tuple[A.Stmt, ...], scope: _Scope, states: dict[str, int]) -> Fn | None:
        fns = []
        for s in stmts:
            try:
                fn = self.stmt(s, scope, states)
            except _Abort:
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

    def stmt(self, s: A.Stmt, scope: _Scope, states: dict[str, int]) -> Fn | None:
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
            scope.push()
            slot = scope.bind(s.var, elem)
            body = self.block(s.body, scope, states)
            scope.pop()
            if body is None:
                return None

            def run_for(c: Ctx) -> None:
                for v in order(src(c)):
                    c.frame[slot] = v
                    body(c)
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

    def _assign(self, s: A.Assign, scope: _Scope) -> Fn:
        fam = scope.family
        if scope.lookup(s.target) is not None:
            raise self.error("E401", f"{s.target} is a parameter or loop variable and cannot be assigned", s.span,
                             hint="declare a process variable with `var` and assign that")
        if fam is None or s.target not in fam.var_slots:
            raise self.error("E201", f"unknown variable {s.target}", s.span,
                             hint=_did_you_mean(s.target, list(fam.var_slots) if fam else []))
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
                        raise ModelRuntimeError(f"key {render_value(k)} is not in {s.target}", span)
                    c.locs[slot] = m.set(k, combine(m[k] if k in m else None, vfn(c)))
                return run_map

            def run_seq(c: Ctx) -> None:
                q = c.locs[slot]
                k = kfn(c)
                if not 0 <= k < len(q):
                    raise ModelRuntimeError(f"index {k} is outside {s.target} (length {len(q)})", span)
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
        fn = _ARITH.get((op[0], target.name))
        if fn is None or T.unify(target, value) is None:
            raise self.error("E301", f"`{op}` does not apply to {target} and {value}", span,
                             hint="+= and -= work on int, set (union/difference) and seq (+= appends a seq)")
        return fn

    def _target(self, to: A.ProcTarget, scope: _Scope) -> tuple[_Family, Fn]:
        fam = self.families.get(to.family)
        if fam is None:
            raise self.error("E205", f"unknown process {to.family}", to.span,
                             hint=_did_you_mean(to.family, list(self.families)))
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
        known = getattr(ifn, "constant", _UNKNOWN)
        if known is not _UNKNOWN:
            if not 0 <= known < size:
                raise self.error("E403", f"{name}[{known}] does not exist (0..{size - 1})", to.span)
            return fam, _constant(off + known)

        def gid(c: Ctx) -> int:
            k = ifn(c)
            if not 0 <= k < size:
                raise ModelRuntimeError(f"{name}[{k}] does not exist (0..{size - 1})", span)
            return off + k
        return fam, gid

    def _message_args(self, name: str, args: tuple[A.Expr, ...], scope: _Scope, span: A.Span) -> tuple[int, tuple]:
        if name not in self.messages:
            raise self.error("E203", f"unknown message {name}", span,
                             hint=_did_you_mean(name, list(self.messages)) or f"declare it: message {name}(...)")
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

    def _send(self, s: A.Send, scope: _Scope) -> Fn:
        msg_id, fns = self._message_args(s.message, s.args, scope, s.span)
        _fam, gid = self._target(s.to, scope)
        message = _tuple_builder((lambda c: msg_id,) + fns)

        def run_send(c: Ctx) -> None:
            c.out.append((c.gid, gid(c), message(c)))
        return run_send

    def _broadcast(self, s: A.Broadcast, scope: _Scope) -> Fn:
        msg_id, fns = self._message_args(s.message, s.args, scope, s.span)
        name = s.family or (scope.family.name if scope.family else None)
        fam = self.families.get(name or "")
        if fam is None:
            raise self.error("E205", f"unknown process {name}", s.span)
        gids = tuple(range(fam.offset, fam.offset + fam.size))
        message = _tuple_builder((lambda c: msg_id,) + fns)

        def run_broadcast(c: Ctx) -> None:
            msg = message(c)
            for g in gids:
                if g != c.gid:
                    c.out.append((c.gid, g, msg))
        return run_broadcast

    # ------------------------------------------------------------------ expressions
    def _bool(self, e: A.Expr, scope: _Scope) -> Fn:
        t, fn = self.expr(e, scope)
        self._expect(t, T.BOOL, e.span, "a condition")
        return fn

    def expr(self, e: A.Expr, scope: _Scope, want: T.Type | None = None) -> tuple[T.Type, Fn]:
        method = getattr(self, "_e_" + type(e).__name__, None)
        if method is None:
            raise self.error("E401", f"{type(e).__name__} is not allowed here", e.span)
        return method(e, scope, want)

    def _e_IntLit(self, e, scope, want):
        return T.INT, _constant(e.value)

    def _e_BoolLit(self, e, scope, want):
        return T.BOOL, _constant(e.value)

    def _e_StrLit(self, e, scope, want):
        return T.STR, _constant(e.value)

    def _e_Name(self, e: A.Name, scope: _Scope, want):
        if e.id in scope.fixed and scope.lookup(e.id) is None:
            v, t = scope.fixed[e.id]
            return t, _constant(v)
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
                size = fam.size
                others = tuple(frozenset(j for j in range(size) if j != m) for m in range(size))
                return T.set_of(T.PID), lambda c: others[c.me]
            if e.id == "self" and not fam.indexed:
                return T.PID, lambda c: 0
        if e.id in self.consts:
            v, t = self.consts[e.id]
            return t, _constant(v)
        if e.id in self.families:
            f = self.families[e.id]
            if f.indexed:
                members = frozenset(range(f.offset, f.offset + f.size))
                return T.set_of(T.proc_of(f.name)), lambda c: members
            off = f.offset
            return T.proc_of(f.name), lambda c: off
        names = list(self.consts) + (list(fam.var_slots) if fam else []) + [n for layer in scope.frame for n in layer]
        raise self.error("E201", f"unknown name {e.id}", e.span, hint=_did_you_mean(e.id, names))

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

    def _e_BinOp(self, e: A.BinOp, scope: _Scope, want):
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
            return T.BOOL, _comparison(op, lf, rf)
        fn = _ARITH.get((op, lt.name))
        u = T.unify(lt, rt)
        if fn is None or u is None:
            raise self.error("E301", f"`{op}` does not apply to {lt} and {rt}", e.span,
                             hint="arithmetic works on int; + and - on sets (union, difference); + on seq")
        span = e.span
        if op in ("/", "%"):
            def div(c: Ctx) -> int:
                r = rf(c)
                if r == 0:
                    raise ModelRuntimeError("division by zero", span)
                return fn(lf(c), r)
            return u, div
        return u, lambda c: fn(lf(c), rf(c))

    def _e_Index(self, e: A.Index, scope: _Scope, want):
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
                    raise ModelRuntimeError(f"key {render_value(k)} is not in the map", span)
                return m[k]
            return tt.args[1], get
        if tt.name == "seq":
            self._expect(it, T.INT, e.index.span, "a sequence index")

            def at(c: Ctx) -> Any:
                q, k = tf(c), ifn(c)
                if not 0 <= k < len(q):
                    raise ModelRuntimeError(f"index {k} is outside the sequence (length {len(q)})", span)
                return q[k]
            return tt.args[0], at
        raise self.error("E301", f"{tt} cannot be indexed", e.span)

    def _e_Field(self, e: A.Field, scope: _Scope, want):
        tt, tf = self.expr(e.target, scope)
        if tt.name != "proc":
            raise self.error("E301", f"`.{e.name}` needs a process, not {tt}", e.span)
        if not scope.in_property:
            raise self.error("E401", "a process cannot read another process's state; send it a message",
                             e.span)
        fam = self.families[tt.family]
        g = getattr(tf, "constant", _UNKNOWN)
        if e.name in fam.states:
            idx = fam.states.index(e.name)
            if g is not _UNKNOWN:
                return T.BOOL, lambda c: c.procs[g][0] == idx
            return T.BOOL, lambda c: c.procs[tf(c)][0] == idx
        if e.name == "crashed":
            return T.BOOL, lambda c: c.procs[tf(c)][0] == CRASHED
        if e.name in fam.var_slots:
            slot = fam.var_slots[e.name]
            return fam.var_types[e.name], lambda c: c.procs[tf(c)][slot]
        raise self.error("E201", f"{fam.name} has no variable or control state {e.name}", e.span,
                         hint=_did_you_mean(e.name, list(fam.states) + list(fam.var_slots)))

    def _e_TupleLit(self, e, scope, want):
        parts = []
        for k, item in enumerate(e.items):
            w = want.args[k] if want is not None and want.name == "tuple" and k < len(want.args) else None
            parts.append(self.expr(item, scope, w))
        return T.tuple_of(*(t for t, _ in parts)), _tuple_builder(tuple(f for _, f in parts))

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
        items = _tuple_builder(fns)
        return T.set_of(et), lambda c: frozenset(items(c))

    def _e_SeqLit(self, e, scope, want):
        et, fns = self._elements(e.items, scope, want.args[0] if want is not None and want.name == "seq" else None)
        return T.seq_of(et), _tuple_builder(fns)

    def _e_EmptyBraces(self, e, scope, want):
        if want is not None and want.name == "map":
            empty_map = FrozenMap()
            return want, lambda c: empty_map
        empty = frozenset()
        return (want if want is not None and want.name == "set" else T.set_of(T.ANY)), lambda c: empty

    def _e_MapLit(self, e, scope, want):
        kt, kfns = self._elements([k for k, _ in e.items], scope, want.args[0] if want and want.name == "map" else None)
        vt, vfns = self._elements([v for _, v in e.items], scope, want.args[1] if want and want.name == "map" else None)
        pairs = tuple(zip(kfns, vfns))
        return T.map_of(kt, vt), lambda c: FrozenMap((k(c), v(c)) for k, v in pairs)

    def _e_RangeLit(self, e, scope, want):
        lt, lf = self.expr(e.low, scope)
        ht, hf = self.expr(e.high, scope)
        self._expect(lt, T.INT, e.low.span, "a range bound")
        self._expect(ht, T.INT, e.high.span, "a range bound")
        return T.set_of(T.INT), lambda c: frozenset(range(lf(c), hf(c) + 1))

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

    def _e_Comprehension(self, e: A.Comprehension, scope: _Scope, want):
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
                        if cond(c):
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
                agg = min if e.kind == "min" else max
                span = e.span

                def extreme(c: Ctx) -> Any:
                    vals = list(values(c))
                    if not vals:
                        raise ModelRuntimeError(f"{e.kind} of an empty collection", span)
                    return agg(vals)
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

    def _e_Call(self, e: A.Call, scope: _Scope, want):
        name, span = e.func, e.span
        args = [self.expr(a, scope) for a in e.args]
        if name in ("min", "max") and len(args) == 2:
            (at, af), (bt, bf) = args
            u = T.unify(at, bt)
            if u is None or not T.is_ordered(u):
                raise self.error("E301", f"{name} needs two values of one ordered type, not {at} and {bt}", span)
            agg = min if name == "min" else max
            return u, lambda c: agg(af(c), bf(c))
        if name in BUILTINS and len(args) != 1:
            raise self.error("E302", f"{name} takes one argument" + (" or two" if name in ("min", "max") else ""),
                             span)
        if name in ("min", "max"):
            (at, af), = args
            if at.name not in ("set", "seq") or not T.is_ordered(at.args[0]):
                raise self.error("E301", f"{name} needs a set or sequence of ordered values, not {at}", span)
            agg = min if name == "min" else max

            def extreme(c: Ctx) -> Any:
                s = af(c)
                if not s:
                    raise ModelRuntimeError(f"{name} of an empty collection", span)
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
                    raise ModelRuntimeError(f"{name} of an empty sequence", span)
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

    # ------------------------------------------------------------------ properties
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
            except _Abort:
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
            bound = self.const_int(chk.bound, "the message bound")
            return MessagesPer(chk.name, f"messages per {fam.name}.{chk.state} {chk.op} {bound}", fam.name,
                               chk.state, tuple(range(fam.offset, fam.offset + fam.size)),
                               fam.states.index(chk.state), chk.op, bound)
        formula = chk.formula
        free = self._free_index_vars(formula)
        if chk.kind == "eventually":
            cases = tuple((label, _state_pred(lambda c: True, 0), q)
                          for label, q in self._cases(formula, free, chk))
            return Response(chk.name, f"eventually {_text(formula)}", cases, from_init=True,
                            p_text="the run starts", q_text=_text(formula))
        if isinstance(formula, A.BinOp) and formula.op == "->" and isinstance(formula.right, A.Eventually):
            ps = self._cases(formula.left, free, chk)
            qs = self._cases(formula.right.operand, free, chk)
            cases = tuple((lp, p, q) for (lp, p), (_, q) in zip(ps, qs))
            return Response(chk.name, _text(formula), cases, p_text=_text(formula.left),
                            q_text=_text(formula.right.operand))
        if isinstance(formula, A.Eventually):
            cases = tuple((label, _state_pred(lambda c: True, 0), q)
                          for label, q in self._cases(formula.operand, free, chk))
            return Response(chk.name, _text(formula), cases, p_text="always", q_text=_text(formula.operand))
        return Invariant(chk.name, _text(formula), tuple(self._cases(formula, free, chk)))

    def _cases(self, formula: A.Expr, free: dict[str, _Family], chk: A.CheckDecl) -> list[tuple[str, Callable]]:
        """One predicate per assignment of the free index variables."""
        assignments: list[list[tuple[str, int]]] = [[]]
        for var, fam in free.items():
            assignments = [a + [(var, m)] for a in assignments for m in range(fam.size)]
        out = []
        for assignment in assignments:
            scope = _Scope(None, True)
            scope.fixed = {var: (m, T.PID) for var, m in assignment}
            t, fn = self.expr(formula, scope)
            self._expect(t, T.BOOL, formula.span, f"property {chk.name}")
            label = ", ".join(f"{v}={m}" for v, m in assignment)
            out.append((label, _state_pred(fn, scope.size)))
        return out

    def _free_index_vars(self, formula: A.Expr) -> dict[str, _Family]:
        """Names used only as `P[x]` that nothing binds: quantified over P's members."""
        found: dict[str, _Family] = {}
        bound: set[str] = set()

        def walk(e: Any) -> None:
            if isinstance(e, A.Comprehension):
                walk(e.source)
                bound.add(e.var)
                for part in (e.element, e.cond):
                    if part is not None:
                        walk(part)
                return
            if isinstance(e, A.Index) and isinstance(e.target, A.Name) and e.target.id in self.families \
                    and isinstance(e.index, A.Name):
                n = e.index.id
                if n not in self.consts and n not in bound and n not in self.families:
                    found.setdefault(n, self.families[e.target.id])
            if isinstance(e, A.Expr):
                for v in vars(e).values():
                    if isinstance(v, A.Expr):
                        walk(v)
                    elif isinstance(v, tuple):
                        for x in v:
                            if isinstance(x, A.Expr):
                                walk(x)
        walk(formula)
        return found


# ---------------------------------------------------------------------------------------------- helpers
def _state_pred(fn: Fn, frame_size: int) -> Callable[[Any], bool]:
    """A predicate over global states. It reuses one context: evaluation is never re-entered."""
    ctx = Ctx(None, [None] * frame_size, 0, -1, None)

    def pred(state: Any) -> bool:
        ctx.procs = state[0]
        return bool(fn(ctx))
    return pred


_UNKNOWN = object()


def _constant(value: Any) -> Fn:
    """A closure returning `value`, marked so that process indices and state tests can be folded."""
    fn = lambda c: value  # noqa: E731
    fn.constant = value  # type: ignore[attr-defined]
    return fn


def _renderer(t: T.Type) -> Callable[[Any], str]:
    if t.name == "seq":
        return render_seq
    return render_value


def _comparison(op: str, lf: Fn, rf: Fn) -> Fn:
    """One closure per operator: the explorer evaluates guards millions of times."""
    if op == "<":
        return lambda c: lf(c) < rf(c)
    if op == "<=":
        return lambda c: lf(c) <= rf(c)
    if op == ">":
        return lambda c: lf(c) > rf(c)
    return lambda c: lf(c) >= rf(c)


def _tuple_builder(fns: tuple[Fn, ...]) -> Fn:
    """A closure building the tuple of the values of `fns`, unrolled for the common short lengths."""
    if len(fns) == 0:
        return lambda c: ()
    if len(fns) == 1:
        (f0,) = fns
        return lambda c: (f0(c),)
    if len(fns) == 2:
        f0, f1 = fns
        return lambda c: (f0(c), f1(c))
    if len(fns) == 3:
        f0, f1, f2 = fns
        return lambda c: (f0(c), f1(c), f2(c))
    return lambda c: tuple(f(c) for f in fns)
_ARITH: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
    ("+", "int"): lambda a, b: a + b,
    ("-", "int"): lambda a, b: a - b,
    ("*", "int"): lambda a, b: a * b,
    ("/", "int"): lambda a, b: a // b,
    ("%", "int"): lambda a, b: a % b,
    ("+", "pid"): lambda a, b: a + b,  # a pid is a number 0..N-1: `(i + 1) % N` names the next one
    ("-", "pid"): lambda a, b: a - b,
    ("*", "pid"): lambda a, b: a * b,
    ("/", "pid"): lambda a, b: a // b,
    ("%", "pid"): lambda a, b: a % b,
    ("+", "set"): lambda a, b: a | b,
    ("-", "set"): lambda a, b: a - b,
    ("+", "seq"): lambda a, b: a + b,
}


_PRECEDENCE = {"->": 1, "or": 2, "and": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
               "not in": 4, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7}


def _operand(child: A.Expr, parent: A.BinOp, side: str) -> str:
    """A BinOp's operand as text, in parentheses where the precedence of the source needs them."""
    text = _text(child)
    if isinstance(child, A.BinOp):
        mine, theirs = _PRECEDENCE.get(child.op, 0), _PRECEDENCE.get(parent.op, 0)
        if mine < theirs or (mine == theirs and (side == "right" or child.op != parent.op)):
            return f"({text})"
    return text


def _text(e: A.Expr) -> str:
    """A compact rendering of a formula for verdict lines."""
    if isinstance(e, A.IntLit):
        return str(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.StrLit):
        return f'"{e.value}"'
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.BinOp):
        return f"{_operand(e.left, e, 'left')} {e.op} {_operand(e.right, e, 'right')}"
    if isinstance(e, A.Not):
        inner = _text(e.operand)
        return f"not ({inner})" if isinstance(e.operand, A.BinOp) else f"not {inner}"
    if isinstance(e, A.Neg):
        return f"-{_text(e.operand)}"
    if isinstance(e, A.Eventually):
        return f"eventually {_text(e.operand)}"
    if isinstance(e, A.Index):
        return f"{_text(e.target)}[{_text(e.index)}]"
    if isinstance(e, A.Field):
        return f"{_text(e.target)}.{e.name}"
    if isinstance(e, A.Call):
        return f"{e.func}({', '.join(_text(a) for a in e.args)})"
    if isinstance(e, A.TupleLit):
        return "(" + ", ".join(_text(a) for a in e.items) + ")"
    if isinstance(e, A.SetLit):
        return "{" + ", ".join(_text(a) for a in e.items) + "}"
    if isinstance(e, A.SeqLit):
        return "[" + ", ".join(_text(a) for a in e.items) + "]"
    if isinstance(e, A.MapLit):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in e.items) + "}"
    if isinstance(e, A.EmptyBraces):
        return "{}"
    if isinstance(e, A.RangeLit):
        return f"{_text(e.low)}..{_text(e.high)}"
    if isinstance(e, A.Comprehension):
        cond = f" where {_text(e.cond)}" if e.cond is not None else ""
        if e.kind == "count":
            return f"count({e.var} in {_text(e.source)}{cond})"
        if e.kind == "filter":
            return f"{{{e.var} in {_text(e.source)}{cond}}}"
        if e.kind == "set":
            return f"{{{_text(e.element)} for {e.var} in {_text(e.source)}{cond}}}"
        if e.kind == "map":
            return f"{{{e.var}: {_text(e.element)} for {e.var} in {_text(e.source)}}}"
        body = _text(e.element) if e.element is not None else ""
        return f"{e.kind}({body} for {e.var} in {_text(e.source)}{cond})"
    return type(e).__name__


def _did_you_mean(name: str, candidates: list[str]) -> str | None:
    import difflib
    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean {close[0]}?" if close else None


def lower(model: A.Model, overrides: dict[str, int] | None = None, default_name: str = "model",
          attacker: tuple[str, ...] | None = None) -> tuple[ProcessSystem, tuple[Property, ...]]:
    """Type-check and compile a parsed model; raise ModelError with every diagnostic found.
    `attacker` overrides the capabilities the model declares."""
    try:
        return Lowerer(model, overrides or {}, default_name, attacker).lower()
    except RecursionError:
        raise ModelError([Diagnostic("E401", "the model is nested too deeply to compile", A.NO_SPAN,
                                     hint="split the expression or block")]) from None
