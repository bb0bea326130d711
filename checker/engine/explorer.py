"""Breadth-first exploration of any transition system, with bounds and shortest counterexamples.

The explorer sees a system only through checker/engine/system.py and properties only through their `Hooks`
(checker/engine/properties.py). It keeps, per state, a key in the store (the state's 64-bit fingerprint, or with
`exact` the whole state) and a parent link (parent id, successor index); counterexamples are rebuilt by
replaying successor indices from the initial state (checker/engine/run.py). Breadth-first order makes every
counterexample a shortest one. In graph mode (liveness, message statistics) it also records every edge in flat
integer arrays. Systems that compute successors a batch at a time (process models) are handed to
checker/engine/batch.py, the same search with numpy, which gives the same states, paths and graph.

Partial-order reduction. When the system offers ample sets (`Reducible`) and no property needs the whole graph,
a state may be expanded with an ample subset of its successors. The system guarantees conditions C0-C2
(non-empty, persistent, invisible to the properties); the explorer adds the cycle proviso C3 in the form that is
correct for breadth-first search: the ample set is used only if none of its successors was already found at
the same or a smaller depth. Along any cycle of the reduced graph the discovery depth cannot grow at every step,
so some state of the cycle met an earlier-found successor and was fully expanded: no transition is ignored for
ever, and invariant violations and deadlocks are preserved.

Zone inclusion. When states are a discrete part and a zone whose successors grow with it (`Subsuming`, the
timed security protocols), a state is not admitted when a state with the same discrete part and a zone that
includes its zone was found: everything it reaches, the other reaches (UPPAAL's inclusion check). Found
breadth-first, the other is no deeper, so counterexamples stay shortest. Not in graph mode, which wants every
state, and not together with the partial-order reduction; `reduce=False` switches it off too.
"""
from __future__ import annotations

import time
from array import array
from typing import Any, Callable, Hashable, Sequence

from checker.engine.budget import Bounds, BoundHit, Budget, active_budget
from checker.engine.fingerprint import collision_probability
from checker.engine.properties import Property
from checker.engine.run import Exploration, Found, Graph, Path, StateError, Stats, stop_reason
from checker.engine.store import ExactStore, FingerprintStore, Frontier, PackedFrontier
from checker.engine.system import Focusing, ModelFault, Reducible, Subsuming
from checker.records import record


CHUNK = 512  # frontier states expanded per batch: the clock and the memory are looked at between batches
#: Failing cases of one property that its `confirm` may reject before the first of them is taken as its case,
#: at least; more while they are fewer than the states explored so far over REJECTION_COST (see `_record`).
MAX_REJECTED = 10
#: About how many state expansions one rejected confirmation costs (a security replay: 2.6 ms against 0.8 ms).
REJECTION_COST = 4


@record
class SearchOptions:
    """How to search, as opposed to what to look for. `exact` stores whole states (no fingerprint collision can
    hide a state); `reduce` allows partial-order reduction where the system offers it."""

    exact: bool = False
    reduce: bool = True
    batches: bool = True  # let systems that compute successors a batch at a time do so (tests compare both)


class Explorer:
    def __init__(self, system: Any, props: Sequence[Property], bounds: Bounds = Bounds(),
                 progress: Callable[[Stats], None] | None = None, graph_mode: bool | None = None,
                 options: SearchOptions = SearchOptions(), budget: Budget | None = None):
        self.system = system
        self.bounds = bounds
        self.progress = progress
        self.options = options
        self.budget = budget if budget is not None else active_budget()
        self.hooks = hooks = [(p.name, p.hooks(system)) for p in props]
        self.graph_mode = any(h.needs_graph for _n, h in hooks) if graph_mode is None else graph_mode
        self.on_state = [(n, h.on_state) for n, h in hooks if h.on_state is not None]
        self.on_expand = [(n, h.on_expand) for n, h in hooks if h.on_expand is not None]
        self.on_step = [(n, h.on_step) for n, h in hooks if h.on_step is not None]
        self.confirms = {n: h.confirm for n, h in hooks if h.confirm is not None}
        self.labels = [(n, h.labels) for n, h in hooks if h.labels]
        self.marks = [(n, h.edge_mark) for n, h in hooks if h.edge_mark is not None]
        # The search may stop early once these have all failed, unless the whole graph is wanted.
        self.searched = {n for n, h in hooks if h.needs_search}
        self.stoppable = not self.graph_mode
        reads = [h.reads for _n, h in hooks if h.on_state is not None]
        self.visible: frozenset[Any] = frozenset().union(*(r for r in reads if r is not None))
        known = all(r is not None for r in reads)
        self.reducer = system if (options.reduce and known and not self.graph_mode
                                  and isinstance(system, Reducible)) else None
        # Inclusion of zones (module doc), a reduction too, needs neither every state (graph mode) nor the
        # store's ids (the cycle proviso of the partial-order reduction).
        self.subsuming = system if (options.reduce and not self.graph_mode and self.reducer is None
                                    and isinstance(system, Subsuming)) else None

    # ------------------------------------------------------------------ main loop
    def run(self) -> Exploration:
        """Explore breadth-first until done or a bound is hit. A bound, Ctrl-C and running out of memory all
        end the run with the statistics so far and inconclusive verdicts, never a traceback. Systems that
        compute successors a batch at a time are searched by checker/engine/batch.py when every property can
        be evaluated there."""
        batched = self._batch_explorer()
        if batched is not None:
            from checker.engine.batch import BatchLimit
            try:
                return batched.run()
            except BatchLimit:
                pass
        system = self.system
        self.stats = stats = Stats()
        self.found: dict[str, Found] = {}
        self.rejected: dict[str, tuple[Found, int]] = {}  # the first case `confirm` rejected, and how many
        self.graph = graph = Graph() if self.graph_mode else None
        if graph is not None:
            for name, preds in self.labels:
                graph.labels[name] = [bytearray() for _ in preds]
            for name, _mark in self.marks:
                graph.marks[name] = bytearray()
        self.key: Callable[[Any], Hashable] = system.exact_key if self.options.exact else system.fingerprint
        self.store: ExactStore | FingerprintStore = ExactStore() if self.options.exact else FingerprintStore()
        self.zones: dict[Hashable, list[Any]] = {}  # per discrete part: the zones of states found (`_unsubsumed`)
        self.want_ids = graph is not None or self.reducer is not None
        self.parent = array("l")  # per state id: parent id, or -1 - k for the k-th initial state
        self.via = array("H")  # per state id: index of the successor that led to it (widened when needed)
        self.stop_reason: str | None = None
        start = time.perf_counter()
        self.next_report = start + 1.0
        cut = settled = False
        depth = 0
        width = getattr(system, "state_width", None)
        new_frontier: Callable[[], Frontier] = (lambda: PackedFrontier(width)) if width else Frontier
        frontier = new_frontier()
        # A system that can forget what decided properties read (engine/system.py `Focusing`) is told when
        # properties get their verdicts; graphs keep whole states.
        focusing = system if isinstance(system, Focusing) and not self.graph_mode else None
        decided = 0
        try:
            if self.budget is not None:
                self.budget.check()  # a search begun after the bound struck (a second search) stops at once
            initial = list(system.initial_states())
            origins = [-1 - k for k in range(len(initial))]
            if self.subsuming is not None and all(self.subsuming.split(s, False) is None for s in initial):
                self.subsuming = None  # no zones (an untimed protocol): nothing to check on the hot path
            if self.subsuming is not None:
                initial, origins, _none, _keys = self._unsubsumed(initial, origins, [0] * len(initial))
            self._admit(initial, origins, [0] * len(initial), 0, frontier)
            max_depth = self.bounds.max_depth
            while frontier and not self.stop_reason:
                if max_depth is not None and depth >= max_depth:
                    cut = any(system.successors(s) for s in frontier.states())
                    if cut:
                        self.stop_reason = f"depth bound {max_depth} reached"
                    break
                nxt = new_frontier()
                self.level_start = len(self.parent)
                for chunk in frontier.chunks(CHUNK):
                    self._expand(chunk, depth, nxt, start)
                    if focusing is not None and len(self.found) != decided:
                        decided = len(self.found)
                        focusing.forget(frozenset(self.found))
                    settled = self.stoppable and bool(self.searched) and self.searched <= self.found.keys()
                    if self.stop_reason or settled:
                        break
                stats.frontier = len(nxt)
                if self.stop_reason or settled:
                    break
                if nxt:
                    depth += 1
                frontier = nxt
        except (BoundHit, KeyboardInterrupt, MemoryError) as err:
            self.stop_reason = stop_reason(err)
        finally:
            if focusing is not None:
                focusing.forget(frozenset())
        for name, (first, _count) in self.rejected.items():
            self.found.setdefault(name, first)
        stats.depth = depth
        stats.seconds = time.perf_counter() - start
        if not self.options.exact:
            stats.collision_probability = collision_probability(stats.states, stats.transitions + stats.states)
        complete = self.stop_reason is None and not cut and not settled
        return Exploration(stats, self.found, complete, self.stop_reason, graph, reduced=stats.reduced > 0,
                           settled=settled)

    def _expand(self, chunk: list[tuple[Any, int]], depth: int, nxt: Frontier, start: float) -> None:
        """Expand a chunk of the frontier: compute successors (ample sets where allowed), run the expansion
        hooks, then store the successors as one batch and admit the new ones."""
        system, stats, found = self.system, self.stats, self.found
        targets: list[Any] = []
        parents: list[int] = []
        indices: list[int] = []
        actions: list[Any] = []  # graph mode only
        sources: list[Any] = []  # graph mode only
        reduced: list[tuple[Any, int, int, int, frozenset[int]]] = []  # (state, id, first, end, ample indices)
        graph = self.graph
        for s, sid in chunk:
            try:
                numbered = self.reducer.ample(s, self.visible) if self.reducer is not None else None
                succ = system.successors(s) if numbered is None else [(a, t) for _i, a, t in numbered]
            except ModelFault as err:
                raise StateError(err, self._path(sid)) from err
            for name, check in self.on_expand:
                if name not in found:
                    case = check(s, succ)
                    if case is not None:
                        self._record(name, Found(case, self._path(sid)))
            for name, step_check in self.on_step:
                if name not in found:
                    self._check_steps(name, step_check, s, sid, succ, numbered)
            first = len(targets)
            if numbered is None:
                targets.extend(t for _a, t in succ)
                indices.extend(range(len(succ)))
            else:
                targets.extend(t for _i, _a, t in numbered)
                indices.extend(i for i, _a, _t in numbered)
                reduced.append((s, sid, first, len(targets), frozenset(i for i, _a, _t in numbered)))
            parents.extend([sid] * len(succ))
            if graph is not None:
                actions.extend(a for a, _t in succ)
                sources.extend([s] * len(succ))
                if not succ and system.is_valid_end(s):
                    graph.valid_end[sid] = 1
        transitions = len(targets)
        if self.subsuming is not None:  # never with a reduction (`__init__`)
            targets, parents, indices, keys = self._unsubsumed(targets, parents, indices)
        else:
            keys = [self.key(t) for t in targets]
        ids = self.store.add(keys, self.want_ids)
        if reduced:
            made = len(targets)
            self._proviso(reduced, targets, parents, indices, ids)
            transitions += len(targets) - made
        stats.transitions += transitions
        stats.reduced += len(reduced)
        self._admit(targets, parents, indices, depth + 1, nxt, ids)
        if graph is not None:
            for j, tid in enumerate(ids):
                if tid < len(self.parent):  # admitted (a state bound may have stopped the batch)
                    self._edge(graph, parents[j], tid, indices[j], actions[j], sources[j], targets[j])
        now = time.perf_counter()
        if self.budget is not None:
            self.budget.check()
        if self.progress is not None and now >= self.next_report:
            stats.seconds, stats.depth, stats.frontier = now - start, depth, len(nxt)
            self.progress(stats)
            self.next_report = now + 1.0

    def _proviso(self, reduced: list[tuple[Any, int, int, int, frozenset[int]]], targets: list[Any],
                 parents: list[int], indices: list[int], ids: list[int]) -> None:
        """The cycle proviso (module doc): a state whose ample set reached a state found at an earlier depth is
        expanded fully; its other successors join the batch."""
        level_start = self.level_start
        for s, sid, first, end, ample in reduced:
            if not any(0 <= ids[j] < level_start for j in range(first, end)):
                continue
            self.stats.reduced -= 1
            self.stats.fully_expanded_by_proviso += 1
            extra = [(i, t) for i, (_a, t) in enumerate(self.system.successors(s)) if i not in ample]
            targets.extend(t for _i, t in extra)
            indices.extend(i for i, _t in extra)
            parents.extend([sid] * len(extra))
            ids.extend(self.store.add([self.key(t) for _i, t in extra], self.want_ids))

    def _unsubsumed(self, targets: list[Any], parents: list[int],
                    indices: list[int]) -> tuple[list[Any], list[int], list[int], list[Hashable]]:
        """The batch without the states whose zone is included in the zone of a state found with the same
        discrete part (`Subsuming`): they reach nothing new. Breadth-first, the including state was found at the
        same or a smaller depth, so shortest counterexamples stay shortest. Each kept zone is recorded at once,
        so the rest of the batch is checked against it too, and zones it includes are dropped from the record
        (their states were found already; only later checks get cheaper). Also the store keys of those kept."""
        assert self.subsuming is not None
        split, exact, zones = self.subsuming.split, self.options.exact, self.zones
        keep: list[int] = []
        keys: list[Hashable] = []
        for j, t in enumerate(targets):
            found = split(t, exact)
            assert found is not None  # a system's states all have a zone or none (`Subsuming`)
            part, zone, whole = found
            known = zones.get(part)
            if known is None:
                zones[part] = [zone]
            elif any(z.includes(zone) for z in known):
                continue
            else:
                known[:] = [z for z in known if not zone.includes(z)]
                known.append(zone)
            keys.append(whole)
            keep.append(j)
        if len(keep) == len(targets):
            return targets, parents, indices, keys
        return [targets[j] for j in keep], [parents[j] for j in keep], [indices[j] for j in keep], keys

    def _admit(self, targets: list[Any], parents: list[int], indices: list[int], depth: int,
               nxt: Frontier, ids: list[int] | None = None) -> None:
        """Record the new states of a batch (in batch order: the first occurrence of each new id) with their
        parent links, check them, and queue them for the next level."""
        if ids is None:
            ids = self.store.add([self.key(t) for t in targets], self.want_ids)
        stats, parent, via, graph = self.stats, self.parent, self.via, self.graph
        max_states = self.bounds.max_states
        expected = len(parent)
        on_state = self.on_state
        for j, tid in enumerate(ids):
            if tid != expected:
                continue
            expected += 1
            t = targets[j]
            parent.append(parents[j])
            if indices[j] > 0xFFFF and via.typecode == "H":
                self.via = via = array("L", via)  # a state with more than 65,536 successors
            via.append(indices[j])
            if graph is not None:
                self._register(graph, parents[j], indices[j], depth, t)
            nxt.append(t, tid)
            stats.states += 1
            if on_state:
                self._check_state(t, tid)
            if stats.states == max_states:
                self.stop_reason = f"state bound {max_states:,} reached"
                break

    def _batch_explorer(self) -> Any:
        batches = getattr(self.system, "batches", None)
        if batches is None or not self.options.batches or self.options.exact:
            return None
        from checker.engine.batch import BatchExplorer, NotBatchable, batchable
        if not batchable(self.hooks):
            return None
        source = batches()
        if source is None:
            return None
        try:
            return BatchExplorer(source, self.hooks, self.bounds, self.progress, self.budget,
                                 self.visible if self.reducer is not None else None, self.graph_mode)
        except NotBatchable:
            return None

    # ------------------------------------------------------------------ helpers
    def _check_state(self, s: Any, sid: int) -> None:
        found = self.found
        for name, check in self.on_state:
            if name not in found:
                try:
                    case = check(s)
                except ModelFault as err:  # a property the model cannot evaluate in this state
                    raise StateError(err, self._path(sid)) from err
                if case is not None:
                    self._record(name, Found(case, self._path(sid)))

    def _record(self, name: str, found: Found) -> None:
        """A failing case of property `name`: its verdict, unless the property's `confirm` rejects it (see
        `Hooks`). The search goes on looking for one that is confirmed while the rejections are at most
        MAX_REJECTED or fewer than the states explored over REJECTION_COST (so looking costs at most about as
        much as the search itself); then the first rejected case is taken. A count, not a clock, so that the
        case reported does not depend on the machine's speed."""
        confirm = self.confirms.get(name)
        if confirm is None or confirm(found.path):
            self.found[name] = found
            return
        first, count = self.rejected.get(name, (found, 0))
        self.rejected[name] = (first, count + 1)
        if count + 1 >= max(MAX_REJECTED, self.stats.states // REJECTION_COST):
            self.found[name] = first

    def _check_steps(self, name: str, check: Callable[[Any, Any], str | None], s: Any, sid: int,
                     succ: Sequence[tuple[Any, Any]], numbered: Sequence[tuple[int, Any, Any]] | None) -> None:
        """Property `name`'s check of each transition out of state `sid`; the first failing one (that `confirm`
        accepts) ends its path."""
        for j, (action, _t) in enumerate(succ):
            case = check(s, action)
            if case is not None:
                path = self._path(sid)
                index = j if numbered is None else numbered[j][0]
                self._record(name, Found(case, Path(path.initial, path.actions + (index,))))
                if name in self.found:
                    return

    def _path(self, sid: int) -> Path:
        parent, via = self.parent, self.via
        acts = []
        while parent[sid] >= 0:
            acts.append(via[sid])
            sid = parent[sid]
        return Path(-1 - parent[sid], tuple(reversed(acts)))

    def _register(self, graph: Graph, parent: int, action: int, depth: int, state: Any) -> None:
        sid = len(graph.depth)
        if parent < 0:
            parent = -1
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

