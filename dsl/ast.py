"""Syntax tree of a wolf model: plain frozen data with source spans, produced by dsl/parser.py.

Every node carries the span it came from so that checks can point at the exact line and column.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)


# ------------------------------------------------------------------ types
@dataclass(frozen=True)
class TypeExpr:
    """A written type: `int`, `set[(int, pid)]`, `map[pid, int]`, `(int, pid)`."""

    name: str  # int, bool, pid, set, map, seq, tuple
    args: tuple["TypeExpr", ...] = ()
    span: Span = NO_SPAN


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class Expr:
    span: Span = field(default=NO_SPAN, kw_only=True)


@dataclass(frozen=True)
class IntLit(Expr):
    value: int


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool


@dataclass(frozen=True)
class StrLit(Expr):
    value: str


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class BinOp(Expr):
    """Arithmetic, comparison, membership and boolean operators (`op` is the operator as written;
    `in`, `not in`, `and`, `or`, `->`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True)
class Eventually(Expr):
    """`eventually q`: only legal as the right side of `->` directly under `always`, or at the top."""

    operand: Expr


@dataclass(frozen=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(frozen=True)
class Field(Expr):
    """`P[j].clock`, `p.critical`: a variable or control-state test of a process instance."""

    target: Expr
    name: str


@dataclass(frozen=True)
class Call(Expr):
    """A built-in function applied to plain arguments: `max(a, b)`, `min(queue)`, `len(q)`."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Comprehension(Expr):
    """Everything that binds a variable over a collection.

    kind is one of: `all`, `any`, `count`, `sum`, `min`, `max` (aggregates), `set` (a set built from
    `element`), `filter` (the members of `source` satisfying `cond`), `map` (`{var: element for var in S}`).
    `element` is None for `count` and `filter`; `cond` is None when there is no `where`.
    """

    kind: str
    var: str
    source: Expr
    element: Expr | None
    cond: Expr | None


@dataclass(frozen=True)
class TupleLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class SetLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class EmptyBraces(Expr):
    """`{}`: an empty set or an empty map, whichever the declared type says."""


@dataclass(frozen=True)
class MapLit(Expr):
    items: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class SeqLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class RangeLit(Expr):
    low: Expr
    high: Expr


# ------------------------------------------------------------------ statements
@dataclass(frozen=True)
class Stmt:
    span: Span = field(default=NO_SPAN, kw_only=True)


@dataclass(frozen=True)
class Assign(Stmt):
    """`x = e`, `m[k] = e`, and the augmented forms `x += e` / `x -= e` (`op` is `=`, `+=`, `-=`)."""

    target: str
    indices: tuple[Expr, ...]
    op: str
    value: Expr


@dataclass(frozen=True)
class ProcTarget:
    family: str
    index: Expr | None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Send(Stmt):
    message: str
    args: tuple[Expr, ...]
    to: ProcTarget


@dataclass(frozen=True)
class Broadcast(Stmt):
    """Send to every member of `family` (default: the sender's own family) except the sender."""

    message: str
    args: tuple[Expr, ...]
    family: str | None


@dataclass(frozen=True)
class If(Stmt):
    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    orelse: tuple[Stmt, ...]


@dataclass(frozen=True)
class For(Stmt):
    var: str
    source: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Goto(Stmt):
    state: str


@dataclass(frozen=True)
class Skip(Stmt):
    pass


# ------------------------------------------------------------------ declarations
@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    span: Span = NO_SPAN


@dataclass(frozen=True)
class MessageDecl:
    name: str
    params: tuple[Param, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class VarDecl:
    name: str
    type: TypeExpr | None
    init: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    label: str | None
    guard: Expr | None
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Handler:
    message: str
    params: tuple[str, ...]
    sender: str | None
    states: tuple[str, ...]
    guard: Expr | None
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class ProcessDecl:
    name: str
    index_var: str | None
    index_range: Expr | None
    vars: tuple[VarDecl, ...]
    states: tuple[str, ...]
    finals: tuple[str, ...]
    transitions: tuple[Transition, ...]
    handlers: tuple[Handler, ...]
    span: Span = NO_SPAN
    state_spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class ConstDecl:
    name: str
    value: Expr
    span: Span = NO_SPAN


@dataclass(frozen=True)
class CrashDecl:
    target: ProcTarget
    when: Expr | None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class CheckDecl:
    """A property. kind: `deadlock_free`, `always`, `eventually`, `messages_per`.

    For `messages_per`, `family`/`state` name the control state whose entries are counted and
    `op`/`bound` the comparison the per-entry count must satisfy.
    """

    name: str
    kind: str
    formula: Expr | None = None
    family: str | None = None
    state: str | None = None
    op: str | None = None
    bound: Expr | None = None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Model:
    name: str | None
    consts: tuple[ConstDecl, ...]
    network: tuple[str, ...]
    network_span: Span
    attacker: tuple[str, ...] | None
    attacker_span: Span
    crashes: tuple[CrashDecl, ...]
    messages: tuple[MessageDecl, ...]
    processes: tuple[ProcessDecl, ...]
    checks: tuple[CheckDecl, ...]
    protocol: "ProtocolDecl | None" = None
    scenario: "ScenarioDecl | None" = None
    attacker_limit: Expr | None = None  # process models: at most this many injected messages per run


# ------------------------------------------------------------------ security protocols (narrations)
@dataclass(frozen=True)
class TermExpr:
    """A message term as written in a narration; dsl/narration.py turns it into a checker.terms pattern."""

    span: Span = field(default=NO_SPAN, kw_only=True)


@dataclass(frozen=True)
class TName(TermExpr):
    """A name: a role, a fresh value, a constant."""

    id: str


@dataclass(frozen=True)
class TString(TermExpr):
    """A quoted public text constant: `"I am A"`."""

    value: str


@dataclass(frozen=True)
class TCall(TermExpr):
    """A function application: `pk(B)`, `k(A, S)`, `h(Na)`, `exp(g, X)`, `sign(m, sk(A))`."""

    func: str
    args: tuple[TermExpr, ...]


@dataclass(frozen=True)
class TEnc(TermExpr):
    """`{m1, m2}key`: asymmetric under `pk(X)`, a signature under `sk(X)`, symmetric otherwise."""

    body: tuple[TermExpr, ...]
    key: TermExpr


@dataclass(frozen=True)
class TTuple(TermExpr):
    items: tuple[TermExpr, ...]


@dataclass(frozen=True)
class NarrationMsg:
    """One line `A -> B: terms` of a narration."""

    sender: str
    receiver: str
    body: tuple[TermExpr, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class KnowsDecl:
    role: str
    terms: tuple[TermExpr, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class GoalDecl:
    """kind: `secret` (terms), `agree` (injective), `niagree`, `wagree`, `alive`; claimer/partner are roles."""

    kind: str
    claimer: str | None = None
    partner: str | None = None
    terms: tuple[TermExpr, ...] = ()
    span: Span = NO_SPAN


@dataclass(frozen=True)
class TimeCheckDecl:
    """A guard on the receiver of the message line written before it (`after`, from 1; 0: no message yet).

    kind `check` carries a linear comparison `expr` (`now - T <= DELTA`); `within`, `lifetime` and
    `increasing` are the sugar `role accepts value within/with lifetime expr` and `role accepts value
    increasing`."""

    kind: str
    role: str | None
    value: str | None
    expr: "Expr | None"
    after: int
    span: Span = NO_SPAN


@dataclass(frozen=True)
class ProtocolDecl:
    roles: tuple[str, ...]
    roles_span: Span
    knows: tuple[KnowsDecl, ...]
    messages: tuple[NarrationMsg, ...]
    goals: tuple[GoalDecl, ...]
    sorts: tuple[tuple[str, str, Span], ...]  # (name, sort, span)
    secrets: tuple[tuple[str, Span], ...]  # constants the attacker does not know
    span: Span = NO_SPAN
    timing: tuple["TimeCheckDecl", ...] = ()  # check lines, each after the message it guards
    counters: tuple[tuple[str, Span], ...] = ()  # `counter N`: per-pair sequence numbers


@dataclass(frozen=True)
class RunDecl:
    """`run A(alice, eve)`: one role instance; `_` leaves a role to be learnt from messages."""

    role: str
    agents: tuple[str, ...]
    span: Span = NO_SPAN


@dataclass(frozen=True)
class ScenarioDecl:
    honest: tuple[tuple[str, Span], ...]
    compromised: tuple[tuple[str, Span], ...]
    sessions: tuple[str | int, Span] | None
    runs: tuple[RunDecl, ...]
    reveals: tuple[tuple[str, Span], ...]
    attacker: tuple[str, ...] | None
    attacker_span: Span
    untyped: bool
    span: Span = NO_SPAN
    played_by: tuple[tuple[str, tuple[str, ...], Span], ...] = ()  # `S played by server`: dedicated agents
    skew: tuple[str | int, Span] | None = None  # `skew 2`: every clock is within 2 of real time
    pace: tuple[str | int, Span] | None = None  # `pace 1`: an agent's steps are at least 1 apart
    caches: tuple[tuple[str, Span], ...] = ()  # `replay cache B`: B's agents refuse timestamps seen before
