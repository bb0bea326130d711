"""Counterexample traces: the hub every renderer reads.

A trace is plain, immutable data built once by the explorer after a violation was found and replayed.
Renderers (text, JSON, DOT, SVG) are pure functions of a `Trace`; none of them sees states or models.
"""
from __future__ import annotations

from typing import Any

from checker.records import asdict, field, record

#: Step kinds. Honest behaviour first, then the network's own faults, then the attacker's capabilities.
HONEST_KINDS = ("internal", "send", "receive")
FAULT_KINDS = ("lose", "crash")
ATTACKER_KINDS = ("eavesdrop", "drop", "modify", "replay", "masquerade")
STEP_KINDS = HONEST_KINDS + FAULT_KINDS + ATTACKER_KINDS

ATTACKER_LANE = "attacker"


@record
class Change:
    """One variable that a step changed, rendered as text (`clock`, `1`, `2`)."""

    name: str
    old: str
    new: str


@record
class Message:
    """One message of the run, from the step that sent it to the step that received it.

    `received_at` is None while the message is still in the network at the end of the trace, or when it was
    lost or dropped (`fate` says which). `capability` names the attacker capability that injected it (None
    for an honest message); `derivation` says how the attacker built an injected term.
    """

    id: int
    sender: str
    receiver: str
    text: str
    sent_at: int
    received_at: int | None = None
    fate: str = "delivered"  # delivered | pending | lost | dropped
    capability: str | None = None
    derivation: str | None = None
    addressee: str | None = None  # the agent it is addressed to, where lanes are runs (`bob`, `eve`)


@record
class Step:
    """One transition of the run.

    `actor` is the lane the step belongs to (a process instance, a role instance, or `attacker`).
    `sends` and `receives` are message ids; `text` is the action in the model's own words
    (`idle -> waiting`, `on request(1, 0)`); `time` is the concrete schedule entry where the run has one
    (`t=12`) and `note` any explanation the engine adds (`accepted since 12 - 9 <= DELTA = 5`).
    """

    index: int
    actor: str
    kind: str
    text: str
    sends: tuple[int, ...] = ()
    receives: tuple[int, ...] = ()
    changes: tuple[Change, ...] = ()
    time: str | None = None
    note: str | None = None


@record
class Run:
    """A role instance with a lane of its own (security protocols): `lane` is its name in steps and
    messages (`alice as A#1`); `partners` are (role, agent) as the run believes them at the end of the trace
    (agent None: never learnt), `chosen` the partner roles it picked itself when it started, and a `server`
    run plays a role its agent is dedicated to."""

    lane: str
    agent: str
    role: str
    number: int
    partners: tuple[tuple[str, str | None], ...] = ()
    chosen: tuple[str, ...] = ()
    server: bool = False


@record
class Claim:
    """The claim a violated security goal makes, in words (`secret(Na)`), and the lane of the run making it."""

    lane: str
    text: str


@record
class Trace:
    """A counterexample: the steps from an initial state to the violation.

    For a liveness failure the run is a lasso: the steps from `loop_start` to the end repeat forever.
    `initial` lists every lane's initial variable values as changes from nothing. `formula` is the violated
    property as the model wrote it. Security traces have a lane per run (`runs`), the compromised agents
    the attacker acts as (`attackers`) and the failing `claim`.
    """

    model: str
    property: str
    reason: str
    lanes: tuple[str, ...]
    steps: tuple[Step, ...]
    messages: tuple[Message, ...] = ()
    loop_start: int | None = None
    initial: tuple[tuple[str, tuple[Change, ...]], ...] = ()
    facts: tuple[str, ...] = field(default=())
    formula: str = ""
    runs: tuple[Run, ...] = ()
    attackers: tuple[str, ...] = ()
    claim: Claim | None = None

    def message(self, msg_id: int) -> Message:
        """The message with this id (ids are unique within a trace)."""
        for m in self.messages:
            if m.id == msg_id:
                return m
        raise KeyError(msg_id)

    def run(self, lane: str) -> Run | None:
        """The run whose lane this is, or None (a process, an agent without a run, the attacker)."""
        return next((r for r in self.runs if r.lane == lane), None)

    def same_run(self, other: "Trace") -> bool:
        """Whether two counterexamples are the same run (whatever property each of them violates)."""
        return (self.steps, self.messages, self.loop_start, self.lanes) == \
            (other.steps, other.messages, other.loop_start, other.lanes)

    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON-ready data (the `trace` object of the JSON schema in docs/json.md)."""
        return asdict(self)
