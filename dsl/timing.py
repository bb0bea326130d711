"""Time and counters in narrations: check lines, `accepts` sugar, `counter` and the scenario's clock settings.

Compiles the time constructs of a protocol into `checker.security.roles.StepTiming` records attached to the role steps
(before dsl/security.py freezes them), and reads `skew`, `pace` and `replay cache` from the scenario. Every
misuse is a diagnostic with the line and column of the construct (E420), never an exception.

A check line belongs to the *receiver* of the message line written just before it, and is evaluated in the
step that receives that message: `now` is the receiver's clock there, and every other name must be a time or
number value the receiver knows by then, or a model constant (`const DELTA = 5`, overridable with -D).
"""
from __future__ import annotations

from typing import Any

from checker.records import record
from checker.security.roles import StepTiming, TimeCheck
from checker.security.terms import Var, variables

from . import ast as A
from .diagnostics import Diagnostic
from .limits import MAX_TIME_VALUE, quantity
from .formulas import formula_text
from .narration import Compiled, RoleView

NUMERIC = ("time", "number")
_FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "=="}


@record
class ClockSettings:
    """The scenario's time model: clock skew bound, minimum gap between an agent's steps, caching roles."""

    skew: int
    pace: int
    cached_roles: frozenset[int]


def uses_time(proto: A.ProtocolDecl, scen: A.ScenarioDecl, comp: Compiled) -> bool:
    """Whether the protocol needs the time engine at all (untimed protocols keep their exact old behaviour)."""
    fresh_time = any(sort == "time" for view in comp.views.values() for step in view.steps for _s, sort in step.fresh)
    return bool(proto.timing or proto.counters or fresh_time or scen.skew or scen.pace or scen.caches)


def constants(model: A.Model, defines: dict[str, Any]) -> dict[str, int]:
    """The model's integer constants, `-D` overrides applied (non-integer constants are left out)."""
    out: dict[str, int] = {}
    for c in model.consts:
        v = c.value
        if isinstance(v, A.IntLit):
            out[c.name] = v.value
        elif isinstance(v, A.Neg) and isinstance(v.operand, A.IntLit):
            out[c.name] = -v.operand.value
    for name, value in defines.items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
    return out


def attach(proto: A.ProtocolDecl, scen: A.ScenarioDecl, comp: Compiled, consts: dict[str, int],
           diags: list[Diagnostic]) -> ClockSettings:
    """Compile every check line and counter into the role steps; read the scenario's clock settings."""
    counters = {name for name, _span in proto.counters}
    for name, span in proto.counters:
        if name in comp.names.constants or name in comp.names.roles:
            diags.append(Diagnostic("E420", f"counter '{name}' must be a value some role sends fresh", span,
                                    hint="a counter is created by its first sender, like a nonce"))
    per_step: dict[tuple[str, int], dict[str, list]] = {}
    for view in comp.views.values():
        for k, step in enumerate(view.steps):
            stamps = [view.slots[s] for s, sort in step.fresh if sort == "time" and view.slots[s] not in counters]
            sent = [(view.slots[s], _addressee(view, step, view.slots[s])) for s, _sort in step.fresh
                    if view.slots[s] in counters]
            per_step[(view.name, k)] = {"stamps": stamps, "counters": [c for c in sent if c[1]], "checks": [],
                                        "increasing": [], "times": []}
    for decl in proto.timing:
        _compile_check(decl, proto, comp, consts, per_step, diags)
    cached: set[int] = set()
    for role, span in scen.caches:
        if role not in comp.views:
            diags.append(Diagnostic("E201", f"unknown role '{role}'", span,
                                    hint=f"the roles are {', '.join(comp.names.roles)}"))
            continue
        if not any(v["times"] for (r, _k), v in per_step.items() if r == role):
            diags.append(Diagnostic("E420", f"{role} checks no timestamp, so its replay cache has nothing to "
                                            f"remember", span, hint=f"add `{role} accepts T within DELTA` "
                                                                    f"after the message it receives"))
            continue
        cached.add(comp.names.roles.index(role))
    for (role, k), v in per_step.items():
        if any(v[key] for key in ("stamps", "counters", "checks", "increasing")):
            comp.views[role].steps[k].timing = StepTiming(
                tuple(v["stamps"]), tuple(v["counters"]), tuple(v["checks"]), tuple(v["increasing"]),
                tuple(dict.fromkeys(v["times"])) if comp.names.roles.index(role) in cached else ())
    return ClockSettings(_setting(scen.skew, "skew", consts, diags), _setting(scen.pace, "pace", consts, diags),
                         frozenset(cached))


def _addressee(view: RoleView, step: Any, name: str) -> str | None:
    """The role a fresh counter is first sent to (the counter is kept per sender and addressee)."""
    for s in step.sends:
        if any(v.name == name for v in variables(s.recipe)):
            return view.slots[s.to_slot]
    return None


def _setting(value: tuple[str | int, A.Span] | None, what: str, consts: dict[str, int],
             diags: list[Diagnostic]) -> int:
    if value is None:
        return 0
    v, span = value
    if isinstance(v, str):
        if v not in consts:
            diags.append(Diagnostic("E201", f"unknown constant '{v}'", span,
                                    hint=f"declare it with `const {v} = 2` or write a number"))
            return 0
        v = consts[v]
    if v < 0:
        diags.append(Diagnostic("E420", f"{what} must not be negative, got {quantity(v)}", span))
        return 0
    if v > MAX_TIME_VALUE:
        diags.append(_time_limit_diagnostic(what, v, span))
        return 0
    return v


def _within_time_limit(const: int, terms: tuple[tuple[str, int], ...], span: A.Span) -> None:
    """Every number of a compiled check (bound and coefficients) within MAX_TIME_VALUE."""
    for value in (const, *(k for _o, k in terms)):
        if abs(value) > MAX_TIME_VALUE:
            raise _Bad(_time_limit_diagnostic("a number in this check", value, span))


def _time_limit_diagnostic(what: str, value: int, span: A.Span) -> Diagnostic:
    return Diagnostic("E420", f"{what} is {quantity(value)}, beyond the {quantity(MAX_TIME_VALUE)} that times and "
                              f"counters may reach", span,
                      hint="time is counted in steps of the model's clock: windows, lifetimes and skews are "
                           "small numbers")


# ---------------------------------------------------------------------------------------------------------------
# check lines


class _Bad(Exception):
    """A check line that cannot be compiled; carries its diagnostic."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def _compile_check(decl: A.TimeCheckDecl, proto: A.ProtocolDecl, comp: Compiled, consts: dict[str, int],
                   per_step: dict[tuple[str, int], dict[str, list]], diags: list[Diagnostic]) -> None:
    if decl.after == 0:
        diags.append(Diagnostic("E420", "a check line must follow the message it guards", decl.span,
                                hint="write it after a line `A -> B: ...`; the receiver B performs the check"))
        return
    msg = proto.messages[decl.after - 1]
    receiver = msg.receiver
    if receiver not in comp.views:
        return  # reported with the message
    if decl.role is not None and decl.role != receiver:
        diags.append(Diagnostic("E420", f"the check after message {decl.after} is made by its receiver "
                                        f"{receiver}, not {decl.role}", decl.span,
                                hint=f"write `{receiver} accepts ...`, or move the line after a message to "
                                     f"{decl.role}"))
        return
    view = comp.views[receiver]
    k = next((j for j, s in enumerate(view.steps) if s.receive_number == decl.after), None)
    known = next((kn for number, j, kn in view.snapshots if number == decl.after and j == k), None)
    if k is None or known is None:
        return
    env = _Env(view, {v.name: v.sort for v in known if isinstance(v, Var)}, consts, receiver, decl.after)
    slot = per_step[(receiver, k)]
    try:
        if decl.kind == "check":
            assert decl.expr is not None  # the parser gives every kind its parts
            checks = [env.comparison(c, formula_text(c)) for c in _conjuncts(decl.expr)]
        elif decl.kind == "increasing":
            assert decl.value is not None
            env.value(decl.value, decl.span, ("number", "time"))
            if msg.sender not in view.slots:
                raise _Bad(Diagnostic("E420", f"{receiver} does not know who sent message {decl.after}, so it "
                                              f"cannot keep a counter per sender", decl.span))
            slot["increasing"].append((decl.value, msg.sender))
            checks = []
        else:
            assert decl.value is not None and decl.expr is not None
            t = env.value(decl.value, decl.span, ("time",))
            bound_terms, bound_const = env.linear(decl.expr)
            bound = formula_text(decl.expr)
            if decl.kind == "within":  # |now - T| <= bound
                text = f"|now - {decl.value}| <= {bound}"
                checks = [_check([("now", 1), (t, -1)] + _neg(bound_terms), -bound_const, "<=", text),
                          _check([(t, 1), ("now", -1)] + _neg(bound_terms), -bound_const, "<=", text)]
            else:  # now < T + L
                text = f"now < {decl.value} + {bound}"
                checks = [_check([("now", 1), (t, -1)] + _neg(bound_terms), 1 - bound_const, "<=", text)]
        for c in checks:
            _within_time_limit(c.const, c.terms, decl.span)
    except _Bad as bad:
        diags.append(bad.diag)
        return
    used = sorted({n for n in _names(decl.expr) if n in consts and n not in env.sorts})
    if used:
        where = ", ".join(f"{n} = {consts[n]}" for n in used)
        checks = [TimeCheck(c.terms, c.const, c.op, f"{c.text} ({where})") for c in checks]
    slot["checks"].extend(checks)
    slot["times"].extend(o for c in checks for o, _k in c.terms if o != "now" and env.sorts.get(o) == "time")


def _check(terms: list[tuple[str, int]], const: int, op: str, text: str) -> TimeCheck:
    acc: dict[str, int] = {}
    for o, c in terms:
        acc[o] = acc.get(o, 0) + c
    return TimeCheck(tuple(sorted((o, c) for o, c in acc.items() if c)), const, op, text)


def _neg(terms: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(o, -c) for o, c in terms]


def _conjuncts(e: A.Expr) -> list[A.Expr]:
    if isinstance(e, A.BinOp) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


class _Env:
    """Names a check may use in one receive step, and the conversion of expressions to linear forms."""

    def __init__(self, view: RoleView, sorts: dict[str, str | None], consts: dict[str, int], role: str,
                 number: int):
        self.view = view
        self.sorts = sorts
        self.consts = consts
        self.role = role
        self.number = number

    def value(self, name: str, span: A.Span, allowed: tuple[str, ...]) -> str:
        if name not in self.sorts:
            if name in self.view.slots or name in self.view.names.sorts:
                raise _Bad(Diagnostic("E420", f"{self.role} does not know {name} when it receives message "
                                              f"{self.number}", span,
                                      hint="a check can only use values the receiver has learnt by then"))
            raise _Bad(Diagnostic("E201", f"unknown name '{name}'", span,
                                  hint="use `now`, a time or number value of the protocol, or a `const`"))
        sort = self.sorts[name]
        if sort not in allowed:
            raise _Bad(Diagnostic("E420", f"{name} is a {sort}, not a {' or '.join(allowed)}", span,
                                  hint=f"declare it with `{allowed[0]} {name}` in the protocol block"))
        return name

    def comparison(self, e: A.Expr, text: str) -> TimeCheck:
        if not isinstance(e, A.BinOp) or e.op not in _FLIP:
            raise _Bad(Diagnostic("E420", "a check is a comparison (<=, <, >=, >, ==) of linear expressions, "
                                          "possibly joined with `and`", e.span,
                                  hint="for example `check now - T <= DELTA`; `!=` and `or` are not supported"))
        lt, lc = self.linear(e.left)
        rt, rc = self.linear(e.right)
        if e.op in (">=", ">"):
            lt, lc, rt, rc = rt, rc, lt, lc
        terms = lt + _neg(rt)
        const = lc - rc + (1 if e.op in ("<", ">") else 0)
        if not any(c for _o, c in _check(terms, 0, "<=", "").terms):
            raise _Bad(Diagnostic("E420", "this check mentions no clock or value, so it is always true or "
                                          "always false", e.span))
        return _check(terms, const, "==" if e.op == "==" else "<=", text)

    def linear(self, e: A.Expr) -> tuple[list[tuple[str, int]], int]:
        if isinstance(e, A.IntLit):
            return [], e.value
        if isinstance(e, A.Name):
            if e.id == "now":
                return [("now", 1)], 0
            if e.id in self.consts and e.id not in self.sorts:
                return [], self.consts[e.id]
            return [(self.value(e.id, e.span, NUMERIC), 1)], 0
        if isinstance(e, A.Call) and e.func == "now":
            if len(e.args) != 1 or not isinstance(e.args[0], A.Name) or e.args[0].id != self.role:
                raise _Bad(Diagnostic("E420", f"the check after message {self.number} runs at {self.role}, which "
                                              f"can only read its own clock", e.span,
                                      hint=f"write `now` or `now({self.role})`"))
            return [("now", 1)], 0
        if isinstance(e, A.Neg):
            t, c = self.linear(e.operand)
            return _neg(t), -c
        if isinstance(e, A.BinOp) and e.op in ("+", "-"):
            lt, lc = self.linear(e.left)
            rt, rc = self.linear(e.right)
            return (lt + rt, lc + rc) if e.op == "+" else (lt + _neg(rt), lc - rc)
        if isinstance(e, A.BinOp) and e.op == "*":
            lt, lc = self.linear(e.left)
            rt, rc = self.linear(e.right)
            if lt and rt:
                raise _Bad(Diagnostic("E420", "a check must be linear: multiply by constants only", e.span))
            k, (t, c) = (rc, (lt, lc)) if not rt else (lc, (rt, rc))
            return [(o, x * k) for o, x in t], c * k
        raise _Bad(Diagnostic("E420", "a check may only use +, -, multiplication by constants, `now`, values "
                                      "and constants", e.span))


def _names(e: A.Expr | None) -> list[str]:
    if isinstance(e, A.Name):
        return [e.id]
    if isinstance(e, A.BinOp):
        return _names(e.left) + _names(e.right)
    if isinstance(e, A.Neg):
        return _names(e.operand)
    if isinstance(e, A.Call):
        return [n for a in e.args for n in _names(a)]
    return []
