"""Syntax tree of a wolf model: plain immutable data with source spans, produced by dsl/parser.py.

Every node carries the span it came from so that checks can point at the exact line and column.

Nodes are made by `node`: records (checker/records.py) compared by identity, cheap to define, which matters
because every `wolf` process defines these 50-odd classes. `Span` is a record with value equality.
"""
from __future__ import annotations

from typing import TypeVar, dataclass_transform

from checker.records import field, record

_Node = TypeVar("_Node")


@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(field,))
def node(cls: type[_Node]) -> type[_Node]:
    """A syntax tree node class: a record compared and hashed by identity.

    Identity, because each node stands for one place in the source and nothing compares two trees: a generated
    `__eq__` and `__hash__` would walk whole subtrees. Immutable, but checked statically: type checkers take
    nodes for frozen dataclasses (`dataclass_transform` above) and mypy rejects any assignment to a field.
    """
    return record(eq=False)(cls)


@record
class Span:
    """Where a node was written: first line and column, last line and column (1-based; 0 where unknown)."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)


# ------------------------------------------------------------------ types
@node
class TypeExpr:
    """A written type: `int`, `set[(int, pid)]`, `map[pid, int]`, `(int, pid)`."""

    name: str  # int, bool, pid, set, map, seq, tuple
    args: tuple["TypeExpr", ...] = ()
    span: Span = NO_SPAN


# ------------------------------------------------------------------ expressions
@node
class Expr:
    """An expression of the process language; `span` is keyword-only so that subclasses list their own fields first."""

    span: Span = field(default=NO_SPAN, kw_only=True)


@node
class IntLit(Expr):
    """An integer literal: `42`."""

    value: int


@node
class BoolLit(Expr):
    """`true` or `false`."""

    value: bool


@node
class StrLit(Expr):
    """A quoted string: `"idle"`."""

    value: str


@node
class Name(Expr):
    """A variable, constant, parameter or bound name."""

    id: str


@node
class BinOp(Expr):
    """Arithmetic, comparison, membership and boolean operators (`op` is the operator as written;
    `in`, `not in`, `and`, `or`, `->`)."""

    op: str
    left: Expr
    right: Expr


@node
class Not(Expr):
    """`not e`."""

    operand: Expr


@node
class Neg(Expr):
    """`-e`."""

    operand: Expr


@node
class Eventually(Expr):
    """`eventually q`: only legal as the right side of `->` directly under `always`, or at the top."""

    operand: Expr


@node
class Index(Expr):
    """`target[index]`: an element of a sequence or map, or a member of a process family."""

    target: Expr
    index: Expr


@node
class Field(Expr):
    """`P[j].clock`, `p.critical`: a variable or control-state test of a process instance."""

    target: Expr
    name: str


@node
class Call(Expr):
    """A built-in function applied to plain arguments: `max(a, b)`, `min(queue)`, `len(q)`."""

    func: str
    args: tuple[Expr, ...]


@node
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


@node
class TupleLit(Expr):
    """`(a, b)`."""

    items: tuple[Expr, ...]


@node
class SetLit(Expr):
    """`{a, b}`: a non-empty set."""

    items: tuple[Expr, ...]


@node
class EmptyBraces(Expr):
    """`{}`: an empty set or an empty map, whichever the declared type says."""


@node
class MapLit(Expr):
    """`{k: v, ...}`: a non-empty map."""

    items: tuple[tuple[Expr, Expr], ...]


@node
class SeqLit(Expr):
    """`[a, b]`: a sequence."""

    items: tuple[Expr, ...]


@node
class RangeLit(Expr):
    """`low..high`: the integers from `low` to `high`, both included."""

    low: Expr
    high: Expr


# ------------------------------------------------------------------ statements
@node
class Stmt:
    """A statement of a transition or handler body; `span` is keyword-only, as in `Expr`."""

    span: Span = field(default=NO_SPAN, kw_only=True)


@node
class Assign(Stmt):
    """`x = e`, `m[k] = e`, and the augmented forms `x += e` / `x -= e` (`op` is `=`, `+=`, `-=`)."""

    target: str
    indices: tuple[Expr, ...]
    op: str
    value: Expr


@node
class ProcTarget:
    """A process as the target of a send or a crash: `P[i]`, `M` (`index` None for a single process)."""

    family: str
    index: Expr | None
    span: Span = NO_SPAN


@node
class Send(Stmt):
    """`send m(args) to P[i]`."""

    message: str
    args: tuple[Expr, ...]
    to: ProcTarget


@node
class Broadcast(Stmt):
    """Send to every member of `family` (default: the sender's own family) except the sender."""

    message: str
    args: tuple[Expr, ...]
    family: str | None


@node
class If(Stmt):
    """`if c { ... } elif c2 { ... } else { ... }`: (condition, body) branches and the `else` body."""

    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    orelse: tuple[Stmt, ...]


@node
class For(Stmt):
    """`for x in S { ... }`."""

    var: str
    source: Expr
    body: tuple[Stmt, ...]


@node
class Goto(Stmt):
    """`goto s`: move to control state `s`."""

    state: str


@node
class Skip(Stmt):
    """`skip`: a statement that does nothing."""


# ------------------------------------------------------------------ declarations
@node
class Param:
    """A message parameter: `name: type`."""

    name: str
    type: TypeExpr
    span: Span = NO_SPAN


@node
class MessageDecl:
    """`message m(a: int, b: pid)`."""

    name: str
    params: tuple[Param, ...]
    span: Span = NO_SPAN


@node
class VarDecl:
    """`var x: type = init` of a process (the type may be left to the initial value)."""

    name: str
    type: TypeExpr | None
    init: Expr
    span: Span = NO_SPAN


@node
class Transition:
    """`source -> target as label when guard { body }` (label, guard and body optional)."""

    source: str
    target: str
    label: str | None
    guard: Expr | None
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@node
class Handler:
    """`on m(params) from sender in states when guard { body }`."""

    message: str
    params: tuple[str, ...]
    sender: str | None
    states: tuple[str, ...]
    guard: Expr | None
    body: tuple[Stmt, ...]
    span: Span = NO_SPAN


@node
class ProcessDecl:
    """A process, or a family `P[i in 0..N-1]` of them: variables, control states and behaviour."""

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


@node
class ConstDecl:
    """`const N = 3` (overridable with `-D N=...`)."""

    name: str
    value: Expr
    span: Span = NO_SPAN


@node
class CrashDecl:
    """`crash P[i] when c`: the process may stop for good (when `c` holds, if given)."""

    target: ProcTarget
    when: Expr | None
    span: Span = NO_SPAN


@node
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


@node
class Model:
    """A whole model file: a process model, or a security protocol (`protocol` and `scenario`)."""

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
@node
class TermExpr:
    """A message term as written in a narration; dsl/narration.py turns it into a checker.terms pattern."""

    span: Span = field(default=NO_SPAN, kw_only=True)


@node
class TName(TermExpr):
    """A name: a role, a fresh value, a constant."""

    id: str


@node
class TString(TermExpr):
    """A quoted public text constant: `"I am A"`."""

    value: str


@node
class TCall(TermExpr):
    """A function application: `pk(B)`, `k(A, S)`, `h(Na)`, `exp(g, X)`, `sign(m, sk(A))`."""

    func: str
    args: tuple[TermExpr, ...]


@node
class TEnc(TermExpr):
    """`{m1, m2}key`: asymmetric under `pk(X)`, a signature under `sk(X)`, symmetric otherwise."""

    body: tuple[TermExpr, ...]
    key: TermExpr


@node
class TTuple(TermExpr):
    """`(t1, t2)`: a pair or longer tuple of terms."""

    items: tuple[TermExpr, ...]


@node
class NarrationMsg:
    """One line `A -> B: terms` of a narration."""

    sender: str
    receiver: str
    body: tuple[TermExpr, ...]
    span: Span = NO_SPAN


@node
class KnowsDecl:
    """`A knows k(A, S), pk(B)`: what a role knows before the protocol starts."""

    role: str
    terms: tuple[TermExpr, ...]
    span: Span = NO_SPAN


@node
class GoalDecl:
    """kind: `secret` (terms), `agree` (injective), `niagree`, `wagree`, `alive`; claimer/partner are roles."""

    kind: str
    claimer: str | None = None
    partner: str | None = None
    terms: tuple[TermExpr, ...] = ()
    span: Span = NO_SPAN


@node
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


@node
class ProtocolDecl:
    """A narration: roles, initial knowledge, message lines, goals, sorts, secrets and time checks."""

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


@node
class RunDecl:
    """`run A(alice, eve)`: one role instance; `_` leaves a role to be learnt from messages."""

    role: str
    agents: tuple[str, ...]
    span: Span = NO_SPAN


@node
class ScenarioDecl:
    """The runs to check a protocol on: agents, sessions or runs, compromised agents, the attacker, clocks."""

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
