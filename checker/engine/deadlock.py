"""Deadlock freedom: no reachable state in which no process can take a step, except valid end states.

A valid end state is one the system says may stop (every process final or crashed, as SPIN's valid end
states). Steps of the environment (losses, crashes, the attacker: owner -1) are not progress, so an attacker who
could replay forever does not hide a deadlock.
"""
from __future__ import annotations

from typing import Any, Sequence

from checker.engine.invariant import holds_in_all
from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run
from checker.records import record


def stuck(system: Any, state: Any, successors: Sequence[tuple[Any, Any]]) -> bool:
    """No process can step in `state` (given its successors) and the system may not stop there."""
    return not any(action.owner >= 0 for action, _t in successors) and not system.is_valid_end(state)


@record
class DeadlockFree:
    name: str = "deadlock_free"
    text: str = "deadlock_free"

    def hooks(self, system: Any) -> Hooks:
        def on_expand(state: Any, successors: Sequence[tuple[Any, Any]]) -> str | None:
            return "" if stuck(system, state, successors) else None
        return Hooks(on_expand=on_expand, deadlock=True)

    def judge(self, run: Run) -> Judgement:
        found = run.exploration.found.get(self.name)
        if found is not None:
            return Judgement(FAILS, "in the last state no process can take a step and not every process is in "
                                    "a final state", found.path)
        if run.exploration.complete:
            return Judgement(HOLDS, holds_in_all(run))
        return Judgement(UNKNOWN, run.bound_note())

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        last = states[-1]
        if not stuck(system, last, system.successors(last)):
            return "in the last state of the replayed run a process can still step, or every process is final"
        return None
