"""What a search produces: statistics, paths, found violations and, in graph mode, the reachable graph.

Plain data shared by the explorer (which fills it), the property kinds (which judge it) and the output layer
(which turns paths into traces). A path is a list of successor indices from an initial state: replaying it on
the system (`replay`) rebuilds the states, so no state is ever kept for a counterexample.
"""
from __future__ import annotations

from array import array
from typing import Any

from checker.records import field, record


@record(frozen=False)
class Stats:
    """Figures of a search, updated as it runs (progress lines show them) and final once it ends."""

    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    frontier: int = 0
    collision_probability: float | None = None  # None in --exact mode: no collision is possible
    reduced: int = 0  # states expanded with a partial-order-reduced (ample) successor set
    fully_expanded_by_proviso: int = 0  # states whose ample set the cycle proviso refused

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


@record
class Path:
    """A run as indices: which initial state, then which successor at each step."""

    initial: int
    actions: tuple[int, ...]


@record
class Found:
    """A safety violation found during exploration: the failing case (a label such as `i=2`, or "") and the
    shortest path to a state where it fails."""

    case: str
    path: Path


@record(frozen=False)
class Graph:
    """The reachable graph in flat arrays (graph mode only). State ids are in breadth-first discovery order.

    `labels[name]` holds one byte per state for each predicate a property asked for (`Hooks.labels`), and
    `marks[name]` one byte per edge (`Hooks.edge_mark`)."""

    depth: array = field(default_factory=lambda: array("l"))
    parent: array = field(default_factory=lambda: array("l"))
    parent_action: array = field(default_factory=lambda: array("l"))
    initial_ids: list[int] = field(default_factory=list)
    src: array = field(default_factory=lambda: array("l"))
    dst: array = field(default_factory=lambda: array("l"))
    owner: array = field(default_factory=lambda: array("l"))
    action: array = field(default_factory=lambda: array("l"))
    sent: array = field(default_factory=lambda: array("l"))
    labels: dict[str, list[bytearray]] = field(default_factory=dict)
    marks: dict[str, bytearray] = field(default_factory=dict)
    valid_end: bytearray = field(default_factory=bytearray)  # 1: no successor and not a deadlock

    def path_to(self, sid: int) -> Path:
        acts = []
        while self.parent[sid] >= 0:
            acts.append(self.parent_action[sid])
            sid = self.parent[sid]
        return Path(self.initial_ids.index(sid), tuple(reversed(acts)))


@record(frozen=False)
class Exploration:
    """The outcome of one search. `complete` is True when every reachable state (within the depth bound, when
    there is none: all of them) was explored; `stop_reason` says which bound ended it otherwise."""

    stats: Stats
    found: dict[str, Found]
    complete: bool
    stop_reason: str | None
    graph: Graph | None
    reduced: bool = False  # a partial-order reduction was applied (graph and statistics cover fewer states)
    settled: bool = False  # stopped early: every property that needed the search had already failed


def stop_reason(err: BaseException) -> str:
    """How a search that ended on a bound, Ctrl-C or exhausted memory reports it."""
    reason = getattr(err, "reason", None)
    if isinstance(reason, str):
        return reason
    return "interrupted by the user" if isinstance(err, KeyboardInterrupt) else "out of memory"


class StateError(Exception):
    """A model failed (a `ModelFault`) while computing the successors of a reachable state, or while a
    property was evaluated on it; `path` leads to that state."""

    def __init__(self, cause: Any, path: Path):
        super().__init__(str(cause))
        self.cause = cause
        self.path = path


#: Prefixes a replay cache keeps before it starts afresh (each holds one state).
REPLAY_CACHE_LIMIT = 4_096


def replay(system: Any, path: Path, cache: dict | None = None) -> list[tuple[Any, Any, int | None]]:
    """The states of a path with the action that led to each: [(state, action, index), ...].

    `cache` (a path prefix -> its last state and action), when given, is read and filled: the violations one
    search finds one after another share most of their prefixes, and computing successors along a path was
    nearly all the cost of replaying one. Only for one system: another has other successors."""
    s = system.initial_states()[path.initial]
    out: list[tuple[Any, Any, int | None]] = [(s, None, None)]
    for k, idx in enumerate(path.actions):
        key = (path.initial, path.actions[:k + 1])
        found = cache.get(key) if cache is not None else None
        if found is None:
            found = system.successors(s)[idx]
            if cache is not None:
                if len(cache) >= REPLAY_CACHE_LIMIT:
                    cache.clear()
                cache[key] = found
        act, s = found
        out.append((s, act, idx))
    return out
