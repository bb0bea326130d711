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
from checker.records import record

CHECK_EVERY = 512  # states between looks at the budget (the clock and memory), as the explorer's batches


@record
class Probe:
    """What a depth-first probe found: the depth of the first state where the question was answered yes (None:
    none), how many states it saw, and whether it saw every reachable state (no bound, depth cut or fault
    stopped it): then None is a no."""

    depth: int | None
    states: int
    complete: bool


def reaches(system: Any, goal: Callable[[Any], bool], bounds: Bounds) -> Probe:
    """Search depth-first from the initial states for a state for which `goal` is true, within `bounds`
    (states, depth, and time and memory through the active budget). When it ends without one on a bound, a
    depth cut or a fault of the model, the caller asks the explorer, which reports bounds and faults properly
    (depth-first with a set of seen states may miss a state within a depth bound that it first met deeper).
    States are told apart by their fingerprints: a collision can only hide a state, never invent one, so a
    state found is always a real one."""
    budget = active_budget()
    max_states, max_depth = bounds.max_states, bounds.max_depth
    seen: set[Any] = set()
    stack: list[tuple[Any, int]] = []
    cut = False
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
                return Probe(depth, len(seen), False)
            if max_depth is not None and depth >= max_depth:
                cut = True
                continue
            expanded += 1
            if budget is not None and expanded % CHECK_EVERY == 0:
                budget.check()
            for _action, t in reversed(system.successors(state)):
                key = system.fingerprint(t)
                if key in seen:
                    continue
                if max_states is not None and len(seen) >= max_states:
                    return Probe(None, len(seen), False)
                seen.add(key)
                stack.append((t, depth + 1))
    except (BoundHit, KeyboardInterrupt, MemoryError, ModelFault):
        return Probe(None, len(seen), False)
    return Probe(None, len(seen), not cut)
