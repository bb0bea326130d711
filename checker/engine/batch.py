"""Breadth-first search a batch of states at a time, for systems that compute successors with numpy.

Same search as checker/engine/explorer.py (same order, same parent links, same counterexamples, same bounds,
the same partial-order reduction and cycle proviso, the same recorded graph), for systems that offer a
`BatchSource` (process models without environment steps: checker/process/vector.py) and properties whose hooks
are declared in forms it evaluates natively (`cases`, `deadlock`, `labels`, `entry`:
checker/engine/properties.py). States never become Python objects: a level of the search is a list of parts,
each an array of fingerprints, a matrix of component ids and an array of state ids, and every step of the loop,
from successors to the store to the invariants and the graph, works on whole chunks of them.
"""
from __future__ import annotations

import time
from array import array
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from checker.engine.arrays import Grow
from checker.engine.budget import Bounds, BoundHit, Budget
from checker.engine.fingerprint import collision_probability
from checker.engine.properties import Hooks
from checker.engine.run import Exploration, Found, Graph, Path, StateError, Stats, stop_reason
from checker.engine.store import FingerprintStore
from checker.engine.system import ModelFault

CHUNK = 4096  # states expanded per batch


class BatchSource(Protocol):
    """Batches are (fingerprints, component matrix); `state` turns a row back into the system's own state."""

    def initial(self) -> tuple[Any, Any]: ...

    def expand(self, fps: Any, comps: Any) -> Any: ...

    def valid_end(self, comps: Any) -> Any: ...

    def ample(self, comps: Any, succ: Any, visible: frozenset[Any]) -> tuple[Any, Any]: ...

    def batch_predicate(self, pred: Any) -> Callable[[Any], Any] | None: ...

    def control(self, comps: Any, g: int) -> Any: ...

    def state(self, fp: Any, row: Any) -> Any: ...

    @property
    def scalar(self) -> Any: ...


class NotBatchable(Exception):
    """A property cannot be evaluated on batches: the scalar explorer takes over."""


class BatchLimit(Exception):
    """The system's batch tables cannot hold the search (ids outgrew their packed keys): the scalar explorer
    starts over."""


def batchable(hooks: Sequence[tuple[str, Hooks]]) -> bool:
    """Every hook is declared in a form the batch search evaluates natively."""
    for _name, h in hooks:
        if h.edge_mark is not None and h.entry is None:
            return False
        if h.on_state is not None and not h.cases:
            return False
        if h.on_expand is not None and not h.deadlock:
            return False
        if h.on_step is not None or h.confirm is not None:
            return False
    return True


class BatchExplorer:
    def __init__(self, source: BatchSource, hooks: Sequence[tuple[str, Hooks]], bounds: Bounds,
                 progress: Callable[[Stats], None] | None, budget: Budget | None,
                 visible: frozenset[Any] | None = None, graph_mode: bool | None = None):
        """`visible`: what the properties read, when partial-order reduction is wanted (None: no reduction);
        `graph_mode`: record the reachable graph (default: when a property needs it)."""
        self.source = source
        self.visible = visible
        self.bounds = bounds
        self.progress = progress
        self.budget = budget
        self.hooks = hooks
        self.cases: list[tuple[str, list[tuple[str, Callable[[Any], Any]]]]] = []
        for name, h in hooks:
            if h.cases:
                batched = [(label, source.batch_predicate(pred)) for label, pred in h.cases]
                if any(b is None for _label, b in batched):
                    raise NotBatchable(name)
                self.cases.append((name, [(label, b) for label, b in batched if b is not None]))
        self.deadlocks = [name for name, h in hooks if h.deadlock]
        self.searched = {name for name, h in hooks if h.needs_search}
        self.graph_mode = any(h.needs_graph for _name, h in hooks) if graph_mode is None else graph_mode
        self.stoppable = not self.graph_mode
        self.labels: list[tuple[str, list[Callable[[Any], Any]]]] = []
        for name, h in hooks:
            if h.labels:
                batched_labels = [source.batch_predicate(pred) for pred in h.labels]
                if any(b is None for b in batched_labels):
                    raise NotBatchable(name)
                self.labels.append((name, [b for b in batched_labels if b is not None]))
        self.entries = [(name, h.entry) for name, h in hooks if h.entry is not None]

    def run(self) -> Exploration:
        stats = self.stats = Stats()
        self.found: dict[str, Found] = {}
        self.store = FingerprintStore(compact_at=0)
        self.parent = np.zeros(1 << 16, dtype=np.int32)  # -1 - k for the k-th initial state
        self.via = np.zeros(1 << 16, dtype=np.uint16)  # widened when a state has more successors
        self.count = 0
        self.depth = 0
        if self.graph_mode:
            self._start_graph()
        self.level_start = 0
        self.reduced_any = False
        self.stop_reason: str | None = None
        start = time.perf_counter()
        next_report = start + 1.0
        cut = settled = False
        depth = 0
        try:
            fps, comps = self.source.initial()
            # A level is a list of parts (fingerprints, component ids, state ids), each expanded a chunk at a
            # time and dropped once expanded: the level being expanded and the next never both sit in memory
            # in full, and no part is ever copied into one big array.
            frontier: list[Any] = [self._admit(fps, comps, -1 - np.arange(len(fps)),
                                               np.zeros(len(fps), dtype=np.int64))]
            while any(len(p[0]) for p in frontier) and not self.stop_reason:
                if self.bounds.max_depth is not None and depth >= self.bounds.max_depth:
                    cut = any(bool(self.source.expand(p[0], p[1]).total.any()) for p in frontier)
                    if cut:
                        self.stop_reason = f"depth bound {self.bounds.max_depth} reached"
                    break
                parts: list[tuple[Any, Any, Any]] = []
                self.level_start = self.count
                for k in range(len(frontier)):
                    part, frontier[k] = frontier[k], None
                    for c in range(0, len(part[0]), CHUNK):
                        fps, comps, ids = (x[c:c + CHUNK] for x in part)
                        parts.append(self._expand(fps, comps, ids))
                        settled = self.stoppable and bool(self.searched) and self.searched <= self.found.keys()
                        now = time.perf_counter()
                        if self.budget is not None:
                            self.budget.check()
                        if self.progress is not None and now >= next_report:
                            stats.seconds, stats.depth = now - start, depth
                            stats.frontier = sum(len(p[0]) for p in parts)
                            self.progress(stats)
                            next_report = now + 1.0
                        if self.stop_reason or settled:
                            break
                    if self.stop_reason or settled:
                        break
                frontier = [p for p in parts if len(p[0])]
                stats.frontier = sum(len(p[0]) for p in frontier)
                if self.stop_reason or settled:
                    break
                if frontier:
                    depth += 1
                    self.depth = depth
        except (BoundHit, KeyboardInterrupt, MemoryError) as err:
            self.stop_reason = stop_reason(err)
        stats.depth = depth
        stats.seconds = time.perf_counter() - start
        stats.collision_probability = collision_probability(stats.states, stats.transitions + stats.states)
        complete = self.stop_reason is None and not cut and not settled
        graph = self._graph() if self.graph_mode else None
        return Exploration(stats, self.found, complete, self.stop_reason, graph, reduced=self.reduced_any,
                           settled=settled)

    def _expand(self, fps: Any, comps: Any, ids: Any) -> tuple[Any, Any, Any]:
        try:
            succ = self.source.expand(fps, comps)
        except ModelFault:
            raise self._locate_fault(fps, comps, ids) from None
        for name in self.deadlocks:
            if name not in self.found:
                stuck = np.flatnonzero(succ.steps == 0)
                if stuck.size:
                    stuck = stuck[~self.source.valid_end(comps[stuck])]
                if stuck.size:
                    self.found[name] = Found("", self._path(int(ids[stuck[0]])))
        if self.graph_mode:
            return self._admit_with_edges(comps, ids, succ)
        if self.visible is None:
            self.stats.transitions += len(succ.rows)
            return self._admit(succ.fps, succ.comps, ids[succ.rows], succ.via)
        return self._admit_reduced(comps, ids, succ)

    def _admit_reduced(self, comps: Any, ids: Any, succ: Any) -> tuple[Any, Any, Any]:
        """Partial-order reduction on a batch: keep each row's ample successors, except for rows whose ample
        successors include a state found at an earlier depth (the cycle proviso, checker/engine/explorer.py):
        those keep all. The kept successors stay in scalar order, so ids and paths are the scalar explorer's."""
        assert self.visible is not None
        keep, reduced = self.source.ample(comps, succ, self.visible)
        known = self.store.lookup_array(succ.fps[keep])
        old = np.flatnonzero(keep)[(known >= 0) & (known < self.level_start)]
        again = np.zeros(len(reduced), dtype=bool)
        again[succ.rows[old]] = True
        again &= reduced
        keep |= again[succ.rows]
        self.stats.reduced += int(reduced.sum() - again.sum())
        self.stats.fully_expanded_by_proviso += int(again.sum())
        if self.stats.reduced:
            self.reduced_any = True
        kept = np.flatnonzero(keep)
        self.stats.transitions += len(kept)
        return self._admit(succ.fps[kept], succ.comps[kept], ids[succ.rows[kept]], succ.via[kept])

    def _admit(self, fps: Any, comps: Any, parents: Any, via: Any) -> tuple[Any, Any, Any]:
        """Store a batch; record, check and return its new states (first occurrences, in batch order)."""
        return self._store(fps, comps, parents, via)[0]

    def _store(self, fps: Any, comps: Any, parents: Any, via: Any) -> tuple[tuple[Any, Any, Any], Any]:
        """`_admit`, also giving every state's id (the admitted ones are those below `self.count`)."""
        before = self.store.count
        got = self.store.add_array(fps, want_ids=self.visible is not None or self.graph_mode)
        new = np.flatnonzero(got >= before)
        if new.size:
            _, first = np.unique(got[new], return_index=True)
            new = new[first]
        limit = self.bounds.max_states
        if limit is not None and self.count + len(new) >= limit:
            new = new[:limit - self.count]
            self.stop_reason = f"state bound {limit:,} reached"
        start, end = self.count, self.count + len(new)
        if end > len(self.parent):
            size = len(self.parent)
            while size < end:
                size *= 2
            self.parent = np.resize(self.parent, size)
            self.via = np.resize(self.via, size)
        self.parent[start:end] = parents[new]
        if len(new) and int(via[new].max()) > np.iinfo(self.via.dtype).max:
            self.via = self.via.astype(np.int64)
        self.via[start:end] = via[new]
        self.count = end
        self.stats.states = end
        ids = np.arange(start, end, dtype=np.int64)
        fps, comps = fps[new], comps[new]
        try:
            self._check(comps, ids)
            if self.graph_mode:
                self._register(comps, parents[new], via[new])
        except ModelFault:
            raise self._locate_fault(fps, comps, ids, check=True) from None
        return (fps, comps, ids), got

    # ------------------------------------------------------------------ the reachable graph (graph mode)
    def _start_graph(self) -> None:
        self.g_depth, self.g_parent, self.g_action = Grow(np.int64), Grow(np.int64), Grow(np.int64)
        self.g_valid_end = Grow(np.uint8)
        self.g_labels = {name: [Grow(np.uint8) for _ in preds] for name, preds in self.labels}
        self.e_src, self.e_dst, self.e_owner = Grow(np.int64), Grow(np.int64), Grow(np.int64)
        self.e_action, self.e_sent = Grow(np.int64), Grow(np.int64)
        self.e_marks = {name: Grow(np.uint8) for name, _entry in self.entries}

    def _register(self, comps: Any, parents: Any, via: Any) -> None:
        """New states: depth, parent link (-1 for initial states), labels."""
        self.g_depth.extend(np.where(parents < 0, 0, self.depth + 1))
        self.g_parent.extend(np.where(parents < 0, -1, parents))
        self.g_action.extend(via)
        self.g_valid_end.extend(np.zeros(len(comps), dtype=np.uint8))
        for name, preds in self.labels:
            for grow, pred in zip(self.g_labels[name], preds):
                grow.extend(pred(comps).astype(np.uint8) if len(comps) else [])

    def _admit_with_edges(self, comps: Any, ids: Any, succ: Any) -> tuple[Any, Any, Any]:
        """Graph mode: admit the successors, then record every edge to an admitted state, and which expanded
        states may stop (no successor, a valid end)."""
        self.stats.transitions += len(succ.rows)
        admitted, got = self._store(succ.fps, succ.comps, ids[succ.rows], succ.via)
        stops = np.flatnonzero(succ.total == 0)
        if stops.size:
            ends = stops[self.source.valid_end(comps[stops])]
            self.g_valid_end.data[ids[ends]] = 1
        keep = np.flatnonzero(got < self.count)
        src, dst, owner = ids[succ.rows[keep]], got[keep], succ.owner[keep]
        self.e_src.extend(src)
        self.e_dst.extend(dst)
        self.e_owner.extend(owner)
        self.e_action.extend(succ.via[keep])
        self.e_sent.extend(succ.sent[keep])
        for name, (gids, index) in self.entries:
            entered = np.zeros(len(keep), dtype=bool)
            for g in sorted(gids):
                sel = np.flatnonzero(owner == g)
                if sel.size:
                    before = self.source.control(comps[succ.rows[keep[sel]]], g)
                    after = self.source.control(succ.comps[keep[sel]], g)
                    entered[sel] = (after == index) & (before != index)
            self.e_marks[name].extend(entered.astype(np.uint8))
        return admitted

    def _graph(self) -> Graph:
        def longs(grow: Grow) -> array:
            return array("l", grow.view.astype(np.int64).tobytes())
        graph = Graph(depth=longs(self.g_depth), parent=longs(self.g_parent), parent_action=longs(self.g_action),
                      src=longs(self.e_src), dst=longs(self.e_dst), owner=longs(self.e_owner),
                      action=longs(self.e_action), sent=longs(self.e_sent),
                      valid_end=bytearray(self.g_valid_end.view.tobytes()))
        graph.initial_ids = np.flatnonzero(self.g_parent.view < 0).tolist()
        graph.labels = {name: [bytearray(g.view.tobytes()) for g in grows] for name, grows in self.g_labels.items()}
        graph.marks = {name: bytearray(g.view.tobytes()) for name, g in self.e_marks.items()}
        return graph

    def _check(self, comps: Any, ids: Any) -> None:
        """The invariants on new states: the first state (in order) where some case fails, labelled with the
        first failing case, as the scalar explorer reports it."""
        if not len(ids):
            return
        for name, cases in self.cases:
            if name in self.found:
                continue
            oks = [(label, pred(comps)) for label, pred in cases]
            bad = np.zeros(len(ids), dtype=bool)
            for _label, ok in oks:
                bad |= ~ok
            if bad.any():
                at = int(np.argmax(bad))
                label = next(label for label, ok in oks if not ok[at])
                self.found[name] = Found(label, self._path(int(ids[at])))

    def _locate_fault(self, fps: Any, comps: Any, ids: Any, check: bool = False) -> StateError:
        """A model fault somewhere in a batch: find the first state, in search order, where the scalar system
        meets it (computing successors, or with `check` evaluating the properties), as the scalar explorer
        would have."""
        for fp, row, sid in zip(fps, comps, ids.tolist()):
            state = self.source.state(fp, row)
            try:
                if check:
                    for name, h in self.hooks:
                        if h.on_state is not None and name not in self.found:
                            h.on_state(state)
                else:
                    self.source.scalar.successors(state)
            except ModelFault as err:
                return StateError(err, self._path(sid))
        raise AssertionError("a model fault in a batch that no state of the batch shows")

    def _path(self, sid: int) -> Path:
        acts = []
        while self.parent[sid] >= 0:
            acts.append(int(self.via[sid]))
            sid = int(self.parent[sid])
        return Path(-1 - int(self.parent[sid]), tuple(reversed(acts)))
