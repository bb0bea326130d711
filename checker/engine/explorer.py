"""Breadth-first exploration of any transition system, with bounds and shortest counterexamples.

The explorer knows only `initial_states()`, `successors(state)` (deterministic order, each successor with
an action tuple whose first two fields are the fairness owner and the number of messages sent) and
`is_valid_end(state)`. States are stored as 64-bit fingerprints (Python's hash of the immutable state
tuple, as TLC and SPIN's hash-compact do: a collision could hide a state, with probability about n²/2⁶⁵)
with a packed parent link, never whole; counterexamples are rebuilt by replaying action indices from the
initial state. Liveness and message statistics need the reachable graph: in graph mode the explorer also
records every edge in flat integer arrays.
"""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from checker.engine.properties import DeadlockFree, Invariant, MessagesPer, Property, Response, needs_graph

MASK64 = (1 << 64) - 1
IDX_BITS = 24


class TransitionSystem(Protocol):
    def initial_states(self) -> Sequence[Any]: ...

    def successors(self, state: Any) -> list[tuple[tuple, Any]]: ...

    def is_valid_end(self, state: Any) -> bool: ...


@dataclass(frozen=True)
class Bounds:
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    frontier: int = 0

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Path:
    """A run as indices: which initial state, then which successor at each step."""

    initial: int
    actions: tuple[int, ...]


@dataclass(frozen=True)
class Found:
    """A safety violation found during exploration: the property, the failing case, the path to it."""

    prop: str
    case: str
    path: Path
    detail: str = ""


@dataclass
class Graph:
    """The reachable graph in flat arrays (graph mode only). State ids are in BFS discovery order."""

    depth: array = field(default_factory=lambda: array("l"))
    parent: array = field(default_factory=lambda: array("l"))
    parent_action: array = field(default_factory=lambda: array("l"))
    initial_ids: list[int] = field(default_factory=list)
    src: array = field(default_factory=lambda: array("l"))
    dst: array = field(default_factory=lambda: array("l"))
    owner: array = field(default_factory=lambda: array("l"))
    action: array = field(default_factory=lambda: array("l"))
    sent: array = field(default_factory=lambda: array("l"))
    entered: array = field(default_factory=lambda: array("l"))  # bit k: entry for MessagesPer #k
    labels: dict[str, bytearray] = field(default_factory=dict)  # predicate bits per state id
    valid_end: bytearray = field(default_factory=bytearray)  # 1: no successor and every process final

    def path_to(self, sid: int) -> Path:
        acts = []
        while self.parent[sid] >= 0:
            acts.append(self.parent_action[sid])
            sid = self.parent[sid]
        return Path(self.initial_ids.index(sid), tuple(reversed(acts)))


@dataclass
class Exploration:
    stats: Stats
    found: dict[str, Found]
    complete: bool
    stop_reason: str | None
    graph: Graph | None
    measures: tuple[MessagesPer, ...] = ()


class Explorer:
    def __init__(self, system: TransitionSystem, props: Sequence[Property], bounds: Bounds = Bounds(),
                 progress: Callable[[Stats], None] | None = None, graph_mode: bool | None = None):
        self.system = system
        self.props = tuple(props)
        self.bounds = bounds
        self.progress = progress
        self.graph_mode = needs_graph(self.props) if graph_mode is None else graph_mode
        self.invariants = [p for p in self.props if isinstance(p, Invariant)]
        self.deadlock = next((p for p in self.props if isinstance(p, DeadlockFree)), None)
        self.measures = [p for p in self.props if isinstance(p, MessagesPer)]
        # per process: (bit, control state) pairs whose entry a MessagesPer property counts
        self.entry_checks: dict[int, list[tuple[int, int]]] = {}
        for k, m in enumerate(self.measures):
            for g in m.gids:
                self.entry_checks.setdefault(g, []).append((1 << k, m.state_index))
        self.label_preds: list[tuple[str, Callable[[Any], bool]]] = []
        for p in self.props:
            if isinstance(p, Response):
                for k, (_label, pp, qq) in enumerate(p.cases):
                    self.label_preds.append((f"{p.name}#{k}:p", pp))
                    self.label_preds.append((f"{p.name}#{k}:q", qq))

    # ------------------------------------------------------------------ main loop
    def run(self) -> Exploration:
        """Explore breadth-first until done or a bound is hit. Ctrl-C counts as a bound: the run ends with
        the statistics so far and 'unknown' verdicts, not a traceback."""
        system, bounds = self.system, self.bounds
        start = time.perf_counter()
        stats = Stats()
        found: dict[str, Found] = {}
        graph = Graph() if self.graph_mode else None
        if graph is not None:
            for name, _ in self.label_preds:
                graph.labels[name] = bytearray()
        seen: dict[int, int] = {}  # fingerprint -> packed parent link (safety) or state id (graph)
        frontier: list[tuple[Any, int]] = []
        for k, s in enumerate(system.initial_states()):
            fp = hash(s)
            if fp in seen:
                continue
            seen[fp] = self._register(graph, -1, k, 0, s) if graph is not None else -1 - k
            frontier.append((s, fp))
            stats.states += 1
            self._check_state(s, fp, seen, graph, found)
        stop_reason = None
        cut = False
        depth = 0
        check_at = 1024  # transitions count at which to look at the clock and report progress
        max_states = bounds.max_states if bounds.max_states is not None else -1
        next_report = start + 1.0
        invariants_left = bool(self.invariants) or self.deadlock is not None
        try:
            while frontier:
                if bounds.max_depth is not None and depth >= bounds.max_depth:
                    cut = any(system.successors(s) for s, _ in frontier)
                    if cut:
                        stop_reason = f"depth bound {bounds.max_depth} reached"
                    break
                nxt: list[tuple[Any, int]] = []
                for s, fp in frontier:
                    succ = system.successors(s)
                    sid = seen[fp] if graph is not None else 0
                    if graph is not None and not succ and system.is_valid_end(s):
                        graph.valid_end[sid] = 1
                    if self.deadlock is not None and "deadlock_free" not in found \
                            and not any(act[0] >= 0 for act, _t in succ) and not system.is_valid_end(s):
                        found["deadlock_free"] = Found("deadlock_free", "", self._path(seen, graph, fp))
                    for idx, (act, t) in enumerate(succ):
                        stats.transitions += 1
                        tfp = hash(t)
                        known = seen.get(tfp)
                        if known is None:
                            if graph is not None:
                                known = self._register(graph, sid, idx, depth + 1, t)
                                seen[tfp] = known
                            else:
                                seen[tfp] = ((fp & MASK64) << IDX_BITS) | idx
                            stats.states += 1
                            nxt.append((t, tfp))
                            if invariants_left:
                                self._check_state(t, tfp, seen, graph, found)
                        if graph is not None:
                            self._edge(graph, sid, known, idx, act, s, t)
                        if stats.states == max_states:
                            stop_reason = f"state bound {max_states:,} reached"
                            break
                    if stats.transitions >= check_at or stop_reason:
                        check_at = stats.transitions + 1024
                        now = time.perf_counter()
                        if self.progress is not None and now >= next_report:
                            stats.seconds, stats.depth, stats.frontier = now - start, depth, len(nxt)
                            self.progress(stats)
                            next_report = now + 1.0
                        if bounds.timeout is not None and now - start > bounds.timeout:
                            stop_reason = f"time bound {bounds.timeout:g} s reached"
                        if stop_reason:
                            break
                if stop_reason:
                    stats.frontier = len(nxt)
                    break
                if nxt:
                    depth += 1
                frontier = nxt
                if not self.graph_mode and self._all_safety_found(found):
                    break
        except KeyboardInterrupt:
            stop_reason = "interrupted by the user"
            stats.frontier = len(frontier)
        stats.depth = depth
        stats.seconds = time.perf_counter() - start
        complete = stop_reason is None and not cut
        return Exploration(stats, found, complete, stop_reason, graph, tuple(self.measures))

    def _all_safety_found(self, found: dict[str, Found]) -> bool:
        names = [p.name for p in self.invariants] + (["deadlock_free"] if self.deadlock else [])
        return bool(names) and all(n in found for n in names) and len(names) == len(self.props)

    # ------------------------------------------------------------------ helpers
    def _check_state(self, s: Any, fp: int, seen: dict[int, int], graph: Graph | None,
                     found: dict[str, Found]) -> None:
        for inv in self.invariants:
            if inv.name in found:
                continue
            case = inv.violated(s)
            if case is not None:
                found[inv.name] = Found(inv.name, case, self._path(seen, graph, fp))

    def _path(self, seen: dict[int, int], graph: Graph | None, fp: int) -> Path:
        if graph is not None:
            return graph.path_to(seen[fp])
        acts = []
        link = seen[fp]
        while link >= 0:
            acts.append(link & ((1 << IDX_BITS) - 1))
            parent = link >> IDX_BITS
            link = seen[parent if parent < (1 << 63) else parent - (1 << 64)]
        return Path(-1 - link, tuple(reversed(acts)))

    def _register(self, graph: Graph, parent: int, action: int, depth: int, state: Any) -> int:
        sid = len(graph.depth)
        graph.depth.append(depth)
        graph.parent.append(parent)
        graph.parent_action.append(action)
        graph.valid_end.append(0)
        if parent < 0:
            graph.initial_ids.append(sid)
        for name, pred in self.label_preds:
            graph.labels[name].append(1 if pred(state) else 0)
        return sid

    def _edge(self, graph: Graph, sid: int, tid: int, idx: int, act: tuple, s: Any, t: Any) -> None:
        graph.src.append(sid)
        graph.dst.append(tid)
        owner = act[0]
        graph.owner.append(owner)
        graph.action.append(idx)
        graph.sent.append(act[1])
        bits = 0
        for bit, state_index in self.entry_checks.get(owner, ()):
            if t[0][owner][0] == state_index and s[0][owner][0] != state_index:
                bits |= bit
        graph.entered.append(bits)


def replay(system: TransitionSystem, path: Path) -> list[tuple[Any, tuple | None, int | None]]:
    """The states of a path with the action that led to each: [(state, action, index), ...]."""
    s = system.initial_states()[path.initial]
    out: list[tuple[Any, tuple | None, int | None]] = [(s, None, None)]
    for idx in path.actions:
        act, s = system.successors(s)[idx]
        out.append((s, act, idx))
    return out
