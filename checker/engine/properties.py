"""The properties a model can state, as data the explorer evaluates.

Predicates are functions of a global state. Free index variables of a property (`P[i].waiting`) are
expanded by the front end into one instance per value, each with a label such as `i=2`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class Invariant:
    """`always p`: p holds in every reachable state."""

    name: str
    text: str
    cases: tuple[tuple[str, Predicate], ...]  # (binding label, predicate)

    def violated(self, state: Any) -> str | None:
        """The label of the first case that fails in `state`, or None when all hold."""
        for label, pred in self.cases:
            if not pred(state):
                return label
        return None


@dataclass(frozen=True)
class DeadlockFree:
    """No reachable state in which no process can take a step, except valid end states (every process final
    or crashed). Steps of the environment (losses, crashes, the attacker) do not count as progress."""

    name: str = "deadlock_free"
    text: str = "deadlock_free"


@dataclass(frozen=True)
class Response:
    """`always (p -> eventually q)` under weak fairness of the processes; `eventually q` when `from_init`."""

    name: str
    text: str
    cases: tuple[tuple[str, Predicate, Predicate], ...]  # (binding label, p, q)
    from_init: bool = False
    p_text: str = "p"
    q_text: str = "q"


@dataclass(frozen=True)
class MessagesPer:
    """The number of messages sent per entry into a control state, over all complete runs, compared
    with a bound (`messages per P.critical == 3 * (N - 1)`)."""

    name: str
    text: str
    family: str
    state: str
    gids: tuple[int, ...]
    state_index: int
    op: str
    bound: int

    def holds_for(self, value: float) -> bool:
        return {"==": value == self.bound, "<=": value <= self.bound, ">=": value >= self.bound,
                "<": value < self.bound, ">": value > self.bound}[self.op]


Property = Invariant | DeadlockFree | Response | MessagesPer


def needs_graph(props: tuple[Property, ...]) -> bool:
    """Liveness and message statistics analyse the whole reachable graph, not just its states."""
    return any(isinstance(p, (Response, MessagesPer)) for p in props)
