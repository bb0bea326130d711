"""Breadth-first exploration of any transition system, with bounds and shortest counterexamples.

The explorer sees a system only through checker/engine/system.py and properties only through their `Hooks`
(checker/engine/properties.py). It keeps, per state, a key in the store (the state's 64-bit fingerprint, or with
`exact` the whole state) and a parent link (parent id, successor index); counterexamples are rebuilt by
replaying successor indices from the initial state (checker/engine/run.py). Breadth-first order makes every
counterexample a shortest one. In graph mode (liveness, message statistics) it also records every edge in flat
integer arrays.

Partial-order reduction. When the system offers ample sets (`Reducible`) and no property needs the whole graph,
a state may be expanded with an ample subset of its successors. The system guarantees conditions C0-C2
(non-empty, persistent, invisible to the properties); the explorer adds the cycle proviso C3 in the form that is
correct for breadth-first search: the ample set is used only if none of its successors was already found at
the same or a smaller depth. Along any cycle of the reduced graph the discovery depth cannot grow at every step,
so some state of the cycle met an earlier-found successor and was fully expanded: no transition is ignored for
ever, and invariant violations and deadlocks are preserved.
"""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from checker.engine.budget import Bounds, BoundHit, Budget
from checker.engine.fingerprint import collision_probability
from checker.engine.properties import Property
from checker.engine.run import Exploration, Found, Graph, Path, Stats
from checker.engine.system import ModelFault, Reducible


@dataclass(frozen=True)
class SearchOptions:
    """How to search, as opposed to what to look for. `exact` stores whole states (no fingerprint collision can
    hide a state); `reduce` allows partial-order reduction where the system offers it."""

    exact: bool = False
    reduce: bool = True


class StateError(Exception):
    """A model failed while computing the successors of a reachable state; `path` leads to that state."""

    def __init__(self, cause: ModelFault, path: Path):
        super().__init__(str(cause))
        self.cause = cause
        self.path = path


class Explorer:
    def __init__(self, system: Any, props: Sequence[Property], bounds: Bounds = Bounds(),
                 progress: Callable[[Stats], None] | None = None, graph_mode: bool | None = None,
                 options: SearchOptions = SearchOptions(), budget: Budget | None = None):
        self.system = system
        self.bounds = bounds
        self.progress = progress
        self.options = options
        self.budget = budget
        hooks = [(p.name, p.hooks(system)) for p in props]
        self.graph_mode = any(h.needs_graph for _n, h in hooks) if graph_mode is None else graph_mode
        self.on_state = [(n, h.on_state) for n, h in hooks if h.on_state is not None]
        self.on_expand = [(n, h.on_expand) for n, h in hooks if h.on_expand is not None]
        self.labels = [(n, h.labels) for n, h in hooks if h.labels]
        self.marks = [(n, h.edge_mark) for n, h in hooks if h.edge_mark is not None]
        # The search may stop early once these have all failed, unless some property needs the whole graph.
        self.searched = {n for n, h in hooks if h.needs_search}
        self.stoppable = not any(h.needs_graph for _n, h in hooks)
        self.reducer = system if (options.reduce and not self.graph_mode and isinstance(system, Reducible)) else None

    # ------------------------------------------------------------------ main loop
    def run(self) -> Exploration:
        """Explore breadth-first until done or a bound is hit. A bound, Ctrl-C and running out of memory all
        end the run with the statistics so far and inconclusive verdicts, never a traceback."""
        system, bounds = self.system, self.bounds
        start = time.perf_counter()
        stats = Stats()
        found: dict[str, Found] = {}
        graph = Graph() if self.graph_mode else None
        if graph is not None:
            for name, preds in self.labels:
                graph.labels[name] = [bytearray() for _ in preds]
            for name, _mark in self.marks:
                graph.marks[name] = bytearray()
        key: Callable[[Any], Hashable] = system.exact_key if self.options.exact else system.fingerprint
        index: dict[Hashable, int] = {}  # store key -> state id (ids in discovery order)
        parent = array("q")  # per state id: parent id, or -1 - k for the k-th initial state
        via = array("l")  # per state id: index of the successor that led to it
        frontier: list[tuple[Any, int]] = []
        stop_reason: str | None = None
        cut = settled = False
        depth = 0
        max_states = bounds.max_states if bounds.max_states is not None else -1
        reducer = self.reducer
        try:
            for k, s in enumerate(system.initial_states()):
                fk = key(s)
                if fk in index:
                    continue
                sid = len(parent)
                index[fk] = sid
                parent.append(-1 - k)
                via.append(0)
                if graph is not None:
                    self._register(graph, -1, 0, 0, s)
                frontier.append((s, sid))
                stats.states += 1
                self._check_state(s, sid, parent, via, found)
            expanded = 0
            next_report = start + 1.0
            while frontier and not stop_reason:
                if bounds.max_depth is not None and depth >= bounds.max_depth:
                    cut = any(system.successors(s) for s, _ in frontier)
                    if cut:
                        stop_reason = f"depth bound {bounds.max_depth} reached"
                    break
                next_start = len(parent)
                nxt: list[tuple[Any, int]] = []
                for s, sid in frontier:
                    succ: Sequence[tuple[Any, Any]]
                    numbered: Sequence[tuple[int, Any, Any]] | None = None
                    try:
                        if reducer is not None:
                            numbered = reducer.ample(s)
                            if numbered is not None:
                                for _i, _a, t in numbered:
                                    tid = index.get(key(t))
                                    if tid is not None and tid < next_start:
                                        numbered = None  # the cycle proviso: expand fully
                                        stats.fully_expanded_by_proviso += 1
                                        break
                        if numbered is None:
                            succ = system.successors(s)
                        else:
                            stats.reduced += 1
                            succ = [(a, t) for _i, a, t in numbered]
                    except ModelFault as err:
                        raise StateError(err, self._path(parent, via, sid)) from err
                    for name, check in self.on_expand:
                        if name not in found:
                            case = check(s, succ)
                            if case is not None:
                                found[name] = Found(case, self._path(parent, via, sid))
                    if graph is not None and not succ and system.is_valid_end(s):
                        graph.valid_end[sid] = 1
                    for pos, (act, t) in enumerate(succ):
                        idx = numbered[pos][0] if numbered is not None else pos
                        stats.transitions += 1
                        fk = key(t)
                        tid = index.get(fk)
                        if tid is None:
                            tid = len(parent)
                            index[fk] = tid
                            parent.append(sid)
                            via.append(idx)
                            if graph is not None:
                                self._register(graph, sid, idx, depth + 1, t)
                            stats.states += 1
                            nxt.append((t, tid))
                            if self.on_state:
                                self._check_state(t, tid, parent, via, found)
                            if stats.states == max_states:
                                stop_reason = f"state bound {max_states:,} reached"
                        if graph is not None:
                            self._edge(graph, sid, tid, idx, act, s, t)
                        if stop_reason:
                            break
                    expanded += 1
                    if stop_reason:
                        break
                    if expanded & 255 == 0:
                        now = time.perf_counter()
                        if self.budget is not None:
                            self.budget.check()
                        if self.progress is not None and now >= next_report:
                            stats.seconds, stats.depth, stats.frontier = now - start, depth, len(nxt)
                            self.progress(stats)
                            next_report = now + 1.0
                    if self.stoppable and self.searched and self.searched <= found.keys():
                        settled = True  # every property has its verdict: nothing left to learn
                        break
                if stop_reason or settled:
                    stats.frontier = len(nxt)
                    break
                if nxt:
                    depth += 1
                frontier = nxt
        except (BoundHit, KeyboardInterrupt, MemoryError) as err:
            stop_reason = (err.reason if isinstance(err, BoundHit) else
                           "interrupted by the user" if isinstance(err, KeyboardInterrupt) else
                           "out of memory")
            stats.frontier = len(frontier)
        stats.depth = depth
        stats.seconds = time.perf_counter() - start
        if not self.options.exact:
            stats.collision_probability = collision_probability(stats.states, stats.transitions + stats.states)
        complete = stop_reason is None and not cut and not settled
        return Exploration(stats, found, complete, stop_reason, graph, reduced=stats.reduced > 0, settled=settled)

    # ------------------------------------------------------------------ helpers
    def _check_state(self, s: Any, sid: int, parent: array, via: array, found: dict[str, Found]) -> None:
        for name, check in self.on_state:
            if name not in found:
                try:
                    case = check(s)
                except ModelFault as err:  # a property the model cannot evaluate in this state
                    raise StateError(err, self._path(parent, via, sid)) from err
                if case is not None:
                    found[name] = Found(case, self._path(parent, via, sid))

    @staticmethod
    def _path(parent: array, via: array, sid: int) -> Path:
        acts = []
        while parent[sid] >= 0:
            acts.append(via[sid])
            sid = parent[sid]
        return Path(-1 - parent[sid], tuple(reversed(acts)))

    def _register(self, graph: Graph, parent: int, action: int, depth: int, state: Any) -> None:
        sid = len(graph.depth)
        graph.depth.append(depth)
        graph.parent.append(parent)
        graph.parent_action.append(action)
        graph.valid_end.append(0)
        if parent < 0:
            graph.initial_ids.append(sid)
        for name, preds in self.labels:
            for bits, pred in zip(graph.labels[name], preds):
                bits.append(1 if pred(state) else 0)

    def _edge(self, graph: Graph, sid: int, tid: int, idx: int, act: Any, s: Any, t: Any) -> None:
        graph.src.append(sid)
        graph.dst.append(tid)
        graph.owner.append(act.owner)
        graph.action.append(idx)
        graph.sent.append(act.sent)
        for name, mark in self.marks:
            graph.marks[name].append(1 if mark(s, act, t) else 0)

