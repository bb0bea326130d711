"""`always p`: p holds in every reachable state, checked on every new state as the search finds it."""
from __future__ import annotations

from typing import Any

from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run, StatePredicate
from checker.records import record


@record
class Invariant:
    """Free index variables of the formula (`P[i].waiting`) are expanded by the front end into one case per
    value, each with a label such as `i=2`; the first failing case is reported."""

    name: str
    text: str
    cases: tuple[tuple[str, StatePredicate], ...]  # (binding label, predicate)

    def violated(self, state: Any) -> str | None:
        """The label of the first case that fails in `state`, or None when all hold."""
        for label, pred in self.cases:
            if not pred(state):
                return label
        return None

    def hooks(self, system: Any) -> Hooks:
        reads: frozenset[Any] | None = frozenset()
        for _label, pred in self.cases:
            more = getattr(pred, "reads", None)
            reads = None if more is None or reads is None else reads | more
        return Hooks(on_state=self.violated, reads=reads, cases=self.cases)

    def judge(self, run: Run) -> Judgement:
        found = run.exploration.found.get(self.name)
        if found is not None:
            where = f" (for {found.case})" if found.case else ""
            return Judgement(FAILS, f"{self.text} is false in the last state{where}", found.path)
        if run.exploration.complete:
            return Judgement(HOLDS, holds_in_all(run))
        return Judgement(UNKNOWN, run.bound_note())

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        if self.violated(states[-1]) is None:
            return f"{self.text} holds in the last state of the replayed run"
        return None


def holds_in_all(run: Run) -> str:
    """'holds in all N reachable states', saying when a reduction means fewer states were looked at."""
    n = run.exploration.stats.states
    if hasattr(run.system, "real_path"):
        return f"holds in all {n:,} states explored up to symmetry (one per class of equivalent states)"
    if run.exploration.reduced:
        return (f"holds in all {n:,} states explored with partial-order reduction (which keeps every "
                f"reachable violation)")
    return f"holds in all {n:,} reachable states"
