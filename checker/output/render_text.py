"""Plain-text rendering of a counterexample, for the terminal and for golden tests.

The text says the same things as the message-sequence chart, in reading order: one numbered block per step
(who acted, on what, which messages went where, what changed), the attacker's capability and derivation for
every injected message, the schedule and the engine's notes, where a lasso's cycle begins, and at the end the
violated property with its reason. It uses only ASCII punctuation of its own so it reads in any terminal; the
model's own strings are passed through untouched.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE, FAULT_KINDS, Change, Message, Run, Step, Trace

#: How a step relates to a message it lists in `receives`, by step kind (honest receipt is the default).
_RECEIVE_VERBS: Mapping[str, str] = MappingProxyType({
    "receive": "receives",
    "eavesdrop": "overhears",
    "drop": "drops",
    "lose": "loses",
    "modify": "intercepts",
    "replay": "takes",
    "masquerade": "intercepts",
})

_INDENT = "       "  # under the step's text, past the step number


def render_text(trace: Trace, show_state: bool = True) -> str:
    """The whole counterexample as text; `show_state` adds the initial values and the changed variables.
    A trace of runs (a security protocol) lists its runs and whom each believes it talks to instead."""
    lines = [_title(trace)]
    if trace.runs:
        lines += ["", "runs:"] + [f"  {_flat(r.lane)}: {_beliefs(r)}" for r in trace.runs]
        if trace.attackers:
            lines.append(f"  the attacker also acts as {', '.join(trace.attackers)} (compromised)")
    elif show_state and trace.initial:
        lines += ["", "initial state:"]
        lines += [f"  {lane}: {_assignments(changes)}" for lane, changes in trace.initial]
    lines.append("")
    if not trace.steps:
        lines.append("  (no steps: the initial state already violates the property)")
    width = len(str(max((s.index for s in trace.steps), default=0)))
    for step in trace.steps:
        if trace.loop_start is not None and step.index == trace.loop_start:
            lines.append("  -- cycle: the steps below repeat forever --")
        lines += _step_block(trace, step, show_state, width)
    if trace.loop_start is not None:
        lines.append(f"  -- end of cycle: back to step {trace.loop_start} --")
    lines.append("")
    lines += _ending(trace)
    return "\n".join(lines) + "\n"


def _beliefs(run: Run) -> str:
    """`talking to B = eve`, `believes A = alice`: the partners a run chose, and those it learnt."""
    chosen = [f"{role} = {who or '?'}" for role, who in run.partners if role in run.chosen]
    learnt = [f"{role} = {who or '?'}" for role, who in run.partners if role not in run.chosen]
    parts = ([f"talking to {', '.join(chosen)}"] if chosen else []) + ([f"believes {', '.join(learnt)}"] if learnt else [])
    return "; ".join(parts) + ("; a server" if run.server else "") or "no partner"


def _title(trace: Trace) -> str:
    """The first line: which property of which model, and whether the run is finite or a lasso."""
    steps = f"{len(trace.steps):,} step" + ("" if len(trace.steps) == 1 else "s")
    shape = "lasso (a cycle repeats forever)" if trace.loop_start is not None else steps
    return f"counterexample to `{_flat(trace.property)}` in {_flat(trace.model)}: {shape}"


def _step_block(trace: Trace, step: Step, show_state: bool, width: int) -> list[str]:
    """One step: a headline, then the changes, the sends, the notes, each on its own indented line."""
    lines = [_headline(trace, step, width)]
    if show_state:
        lines += [f"{_INDENT}{_change(c)}" for c in step.changes]
    for msg_id in step.sends:
        lines += _send_lines(trace, msg_id)
    if step.note:
        lines.append(f"{_INDENT}note: {_indented(step.note)}")
    return lines


def _headline(trace: Trace, step: Step, width: int) -> str:
    """`  3. P[1]  on request(1, 0)  [receives #2 from P[0]]`, with the capability for attacker steps.

    Step numbers are right-aligned to `width` digits so the actors line up in runs of ten steps or more.
    """
    parts = [f"{step.index:>{width}}. {_flat(step.actor)}"]
    if step.time:
        parts.append(f"({_time(step.time)})")
    if step.kind in ATTACKER_KINDS or step.kind in FAULT_KINDS:
        parts.append(f"{step.kind.upper()}: {_indented(step.text)}")
    else:
        parts.append(_indented(step.text))
    head = "  ".join(p for p in parts if p)
    received = [_receipt(trace, step, msg_id) for msg_id in step.receives]
    if received:
        head += "  [" + "; ".join(received) + "]"
    return "  " + head


def _receipt(trace: Trace, step: Step, msg_id: int) -> str:
    """`receives #2 from P[0]`, naming the true origin when an injected message claims another sender."""
    msg = _find(trace, msg_id)
    verb = _RECEIVE_VERBS.get(step.kind, "receives")
    if msg is None:
        return f"{verb} #{msg_id}"
    origin = _origin(trace, msg)
    if step.kind == "receive":
        source = f"from {_flat(msg.sender)}"
        if origin != msg.sender:
            source = f"from {_flat(origin)} posing as {_flat(msg.sender)}"
        elif msg.capability:
            source += f", injected by {msg.capability}"
        return f"{verb} #{msg.id} {source}"
    return f"{verb} #{msg.id} {_flat(msg.text)} from {_flat(origin)} to {_flat(msg.receiver)}"


def _send_lines(trace: Trace, msg_id: int) -> list[str]:
    """`-> ack(2, 1) to P[0]  (#4)`, plus the fate when it never arrived and the attacker's derivation."""
    msg = _find(trace, msg_id)
    if msg is None:
        return [f"{_INDENT}-> #{msg_id}"]
    tags = [f"#{msg.id}"]
    if msg.capability:
        tags.append(f"injected: {msg.capability}")
    if msg.capability and msg.sender != _origin(trace, msg):
        tags.append(f"claims to be from {_flat(msg.sender)}")
    if msg.fate != "delivered":
        tags.append(_fate(msg))
    lines = [f"{_INDENT}-> {_indented(msg.text)} to {_addressee(msg)}  ({', '.join(tags)})"]
    if msg.derivation:
        lines.append(f"{_INDENT}   derivation: {_indented(msg.derivation)}")
    return lines


def _ending(trace: Trace) -> list[str]:
    """The verdict (the failing claim and who makes it), then what the network still holds and what the
    engine established on the way. A lasso's reason says what repeats: the cycle's markers show where."""
    lines = [f"violated: {_flat(trace.property)}"]
    if trace.claim is not None:
        lines.append(f"  claim: {_flat(trace.claim.text)}, made by {_flat(trace.claim.lane)}")
    lines.append(f"  reason: {_indented(trace.reason)}")
    pending = [m for m in trace.messages if m.fate == "pending"]
    if pending:
        lines.append("in flight at the end:")
        lines += [f"  #{m.id} {_flat(m.text)} from {_flat(_origin(trace, m))} to {_addressee(m)}" for m in pending]
    if trace.facts:
        lines.append("facts:")
        lines += [f"  {_indented(f)}" for f in trace.facts]
    return lines


def _addressee(msg: Message) -> str:
    """Whom a message goes to: its receiver's lane, naming the compromised agent the attacker read it as. One
    that no run received went only to its agent (the chart points it at a run that could have taken it)."""
    if msg.addressee and msg.receiver == ATTACKER_LANE:
        return f"{_flat(msg.addressee)} (the attacker)"
    if msg.addressee and msg.received_at is None:
        return _flat(msg.addressee)
    return _flat(msg.receiver)


def _fate(msg: Message) -> str:
    """How a message that was not delivered ended, in words."""
    return {
        "pending": "never received",
        "lost": "lost by the network",
        "dropped": "dropped by the attacker",
    }.get(msg.fate, msg.fate)


def _origin(trace: Trace, msg: Message) -> str:
    """The lane that really sent a message: the actor of its sending step (the attacker for a forgery)."""
    for step in trace.steps:
        if step.index == msg.sent_at:
            return step.actor
    return msg.sender


def _find(trace: Trace, msg_id: int) -> Message | None:
    """The message with this id, or None when the trace is inconsistent (rendering must not crash)."""
    return next((m for m in trace.messages if m.id == msg_id), None)


def _change(change: Change) -> str:
    """`clock: 1 -> 2`; a variable that did not exist before shows as `clock := 2`."""
    if change.old == "":
        return f"{_flat(change.name)} := {_flat(change.new)}"
    return f"{_flat(change.name)}: {_flat(change.old)} -> {_flat(change.new)}"


def _assignments(changes: tuple[Change, ...]) -> str:
    """`clock = 0, queue = {}` for a lane's initial state."""
    return ", ".join(f"{_flat(c.name)} = {_flat(c.new)}" for c in changes) or "(no variables)"


def _time(time: str) -> str:
    """`t=12` whether the engine wrote `12` or already `t=12`."""
    return time if "=" in time else f"t={time}"


def _flat(text: str) -> str:
    """Model text on one line: a name must never break the layout of the block around it."""
    return " ".join(text.split("\n"))


def _indented(text: str) -> str:
    """Multi-line model text whose continuation lines stay inside the step's block."""
    return text.replace("\n", "\n" + _INDENT + "  ")

