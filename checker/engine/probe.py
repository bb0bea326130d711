"""Depth-first search for a state where a question is answered yes: for questions that need no path.

The explorer (explorer.py) searches breadth-first so that every counterexample is a shortest one; it therefore
looks at every state up to the depth of the first hit. Some questions only need to know that states exist and
are settled by the explorer when the answer is no: whether an honest session of a timed protocol completes
for every clock offset (checker/timed/timing.py, `robust_executable`) asks for completed sessions, which
depth-first search meets after a handful of states where breadth-first search expands every interleaving of
the sessions up to that depth.
"""
from __future__ import annotations

from typing import Any, Callable

from checker.engine.budget import Bounds, BoundHit, active_budget
from checker.engine.system import ModelFault

CHECK_EVERY = 512  # states between looks at the budget (the clock and memory), as the explorer's batches


def reaches(system: Any, goal: Callable[[Any], bool], bounds: Bounds) -> int | None:
    """The depth of the first state for which `goal` is true that a depth-first search from the initial states
    meets within `bounds` (states, depth, and time and memory through the active budget). None when the
    search ends without one, on a bound, on a fault of the model or exhausted: the caller then asks the
    explorer, which reports bounds and faults properly. States are told apart by their fingerprints: a
    collision can only hide a state, never invent one, so a state found is always a real one."""
    budget = active_budget()
    max_states, max_depth = bounds.max_states, bounds.max_depth
    seen: set[Any] = set()
    stack: list[tuple[Any, int]] = []
    try:
        if budget is not None:
            budget.check()  # a probe begun after the bound struck stops at once, as the explorer does
        for s in reversed(list(system.initial_states())):
            key = system.fingerprint(s)
            if key not in seen:
                seen.add(key)
                stack.append((s, 0))
        expanded = 0
        while stack:
            state, depth = stack.pop()
            if goal(state):
                return depth
            if max_depth is not None and depth >= max_depth:
                continue
            expanded += 1
            if budget is not None and expanded % CHECK_EVERY == 0:
                budget.check()
            for _action, t in reversed(system.successors(state)):
                key = system.fingerprint(t)
                if key in seen:
                    continue
                if max_states is not None and len(seen) >= max_states:
                    return None
                seen.add(key)
                stack.append((t, depth + 1))
    except (BoundHit, KeyboardInterrupt, MemoryError, ModelFault):
        return None
    return None
