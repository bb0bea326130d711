"""Where the traces of security protocols send messages that no run received.

Lanes of security traces are runs (`alice as A#1`), but a protocol addresses its messages to agents. A
message no run took must not be drawn or printed as going to the sender's own run when its agent plays
several roles: that reads as a message to oneself, which the protocol never sends. It points at a run of
the agent whose role receives that message number, or at the agent itself when none does.
"""
from __future__ import annotations

from typing import Any

from checker.engine.run import Path
from checker.engine.system import ClaimInfo, RunInfo, StepInfo
from checker.output.msc_layout import layout
from checker.output.render_text import render_text
from checker.output.tracebuild import build_trace

ALICE, EVE = 0, 1


class _Script:
    """A minimal security system replaying fixed steps: state k is "k steps done"; runs are given as
    (agent, role, number, message numbers the role receives)."""

    def __init__(self, runs: tuple[tuple[str, str, int, tuple[int, ...]], ...], steps: tuple[StepInfo, ...]):
        self.runs = runs
        self.steps = steps

    def initial_states(self) -> list[int]:
        return [0]

    def successors(self, state: int) -> list[tuple[int, int]]:
        return [(state, state + 1)] if state < len(self.steps) else []

    def describe(self, state: int, action: int) -> StepInfo:
        return self.steps[action]

    def lane(self, g: int) -> str:
        return self.lanes()[g]

    def lanes(self) -> tuple[str, ...]:
        return ("alice", "eve")

    def render_message(self, msg: Any) -> str:
        return str(msg)

    def changes(self, before: int, after: int, g: int) -> list[tuple[str, str, str]]:
        return []

    def initial_values(self, state: int, g: int) -> list[tuple[str, str]]:
        return []

    def run_info(self, state: int) -> tuple[RunInfo, ...]:
        return tuple(RunInfo(agent, role, n, (("B" if role == "A" else "A", "alice"),), receives=receives)
                     for agent, role, n, receives in self.runs)

    def attacker_names(self) -> tuple[str, ...]:
        return ("eve",)

    def claim(self, prop: str, state: int) -> ClaimInfo | None:
        return None


def _send(run: int, message: str, number: int) -> StepInfo:
    return StepInfo(ALICE, "send", f"sends message {number}", ((ALICE, ALICE, message),), None, None, run=run,
                    numbers=(number,))


def _receive(run: int, message: str) -> StepInfo:
    return StepInfo(ALICE, "receive", "receives message 1", (), (ALICE, ALICE, message), None, run=run)


def _trace(runs: tuple[tuple[str, str, int, tuple[int, ...]], ...], steps: tuple[StepInfo, ...]):
    system = _Script(runs, steps)
    return build_trace(system, Path(0, tuple(0 for _ in steps)), "M", "p", "r")


#: alice plays A twice and B once; A#1's message 1 to alice is never received, A#2's is, by B#1.
REFLECTED = (("alice", "A", 1, (2,)), ("alice", "B", 1, (1, 3)), ("alice", "A", 2, (2,)))
STEPS = (_send(0, "m1", 1), _send(2, "m2", 1), _receive(1, "m2"))


def test_a_message_nobody_received_points_at_a_run_whose_role_receives_it():
    trace = _trace(REFLECTED, STEPS)
    lost = trace.message(1)
    assert (lost.sender, lost.receiver, lost.fate) == ("alice as A#1", "alice as B#1", "pending")


def test_a_message_nobody_received_is_printed_as_to_its_agent_not_to_a_run():
    text = render_text(_trace(REFLECTED, STEPS))
    assert "-> m1 to alice  (#1, never received)" in text
    assert "#1 m1 from alice as A#1 to alice\n" in text


def test_a_message_nobody_received_is_not_drawn_to_its_sender():
    drawn = layout(_trace(REFLECTED, STEPS))
    arrow = next(a for a in drawn.chart.arrows if a.msg.id == 1)
    assert arrow.towards != arrow.tail[0]


def test_without_a_run_that_receives_it_the_message_points_at_its_agent():
    runs = (("alice", "A", 1, (2,)), ("alice", "A", 2, (2,)))
    trace = _trace(runs, (_send(0, "m1", 1), _send(1, "m2", 1)))
    assert [m.receiver for m in trace.messages] == ["alice", "alice"]
    assert "alice" in trace.lanes
