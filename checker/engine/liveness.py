"""Response properties under weak fairness, decided on the reachable graph with networkx SCCs.

`always (p -> eventually q)` fails exactly when some reachable p-state (that is not a q-state) starts a
fair infinite run that avoids q forever. Such runs end in a strongly connected component of the not-q
subgraph that is *weakly fair*: every process that is enabled in all of its states also takes a step inside
it (a cycle through all of the component's states and edges then satisfies every process's weak-fairness
obligation; if some process is enabled throughout and never steps there, no cycle inside it is fair). A
not-q state without any successor counts too: the run stops there, and stopping is fair. The counterexample
is a lasso: the shortest prefix to such a p-state, a path inside not-q to the component, and a cycle that
visits a witness for every process's fairness.

Only states that lie between cycles of the whole graph can be in a non-trivial component, so networkx sees
just that core (nothing at all for the acyclic graphs of bounded-round algorithms); everything else works
on flat arrays. networkx and numpy are imported only when a liveness property is judged: they are slow to
load.
"""
from __future__ import annotations

from typing import Any

from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run, StatePredicate
from checker.engine.run import Graph, Path
from checker.records import record


@record
class Response:
    """`always (p -> eventually q)` under weak fairness of the processes; `eventually q` when `from_init`.

    Cases come from free index variables, as for invariants: (binding label, p, q)."""

    name: str
    text: str
    cases: tuple[tuple[str, StatePredicate, StatePredicate], ...]
    from_init: bool = False
    p_text: str = "p"
    q_text: str = "q"

    def hooks(self, system: object) -> Hooks:
        return Hooks(labels=tuple(pred for _label, p, q in self.cases for pred in (p, q)), needs_graph=True)

    def judge(self, run: Run) -> Judgement:
        result = run.exploration
        if not result.complete or result.graph is None:
            return Judgement(UNKNOWN, "needs the complete state graph, but exploration stopped: "
                             + (result.stop_reason or "depth bound"))
        index = run.shared.get("graph_index")
        if index is None:
            index = run.shared["graph_index"] = GraphIndex(result.graph)
        for k in range(len(self.cases)):
            lasso = check_response(self, k, index)
            if lasso is None:
                continue
            where = f" ({lasso.case})" if lasso.case else ""
            ending = ("then the run reaches a state where no step is enabled" if lasso.loop_start is None
                      else f"the steps from {lasso.loop_start + 1} on repeat forever, fair to every process")
            if self.from_init:
                reason = f"{self.q_text} never holds on this run{where}: {ending}"
            else:
                after = f"after step {lasso.trigger}" if lasso.trigger else "in the initial state"
                reason = (f"{self.p_text} holds {after}{where}, but {self.q_text} never holds afterwards: "
                          f"{ending}")
            return Judgement(FAILS, reason, lasso.path, loop_start=lasso.loop_start, trigger=lasso.trigger)
        return Judgement(HOLDS, "holds on every weakly fair run")

    def confirm(self, system: object, states: list, judgement: Judgement) -> str | None:
        """The replayed lasso: p at the trigger, q nowhere from there on, and either a cycle back to its start
        that lets every process enabled throughout it take a step, or a last state without process steps."""
        trigger = judgement.trigger
        for label, p, q in self.cases:
            if self.from_init or p(states[trigger]):
                if not any(q(s) for s in states[trigger:]):
                    break
        else:
            return "no case of the property is violated along the replayed run"
        start = judgement.loop_start
        if start is None:
            if any(a.owner >= 0 for a, _t in system.successors(states[-1])):  # type: ignore[attr-defined]
                return "the replayed run ends in a state where a process can still step"
            return None
        if states[start] != states[-1]:
            return "the replayed cycle does not return to its first state"
        cycle = states[start:]
        enabled = [{a.owner for a, _t in system.successors(s)} - {-1} for s in cycle[:-1]]  # type: ignore[attr-defined]
        always = set.intersection(*enabled) if enabled else set()
        stepped = set()
        for s, t in zip(cycle, cycle[1:]):
            for a, u in system.successors(s):  # type: ignore[attr-defined]
                if u == t:
                    stepped.add(a.owner)
        if not always <= stepped:
            return "the replayed cycle is not weakly fair: a process enabled throughout it never steps"
        return None


@record
class Lasso:
    case: str
    path: Path  # prefix + cycle as successor indices
    loop_start: int | None  # index into path.actions where the cycle starts; None: the run stops
    trigger: int  # index into path.actions after which p holds (the obligation starts)


class GraphIndex:
    """Adjacency of a reachable graph in compressed rows (numpy), computed once for all response properties.
    Whole-graph passes (trimming to the cyclic core, the backward search to fair states) work a breadth-first
    wave at a time on arrays; networkx sees only the cyclic core."""

    def __init__(self, graph: Graph):
        import numpy as np

        from checker.engine.arrays import rows

        n = len(graph.depth)
        self.graph = graph
        self.n = n
        self.src = np.array(graph.src, dtype=np.int64)
        self.dst = np.array(graph.dst, dtype=np.int64)
        self.out_start, self.out_edges = rows(self.src, n)
        self.in_start, self.in_edges = rows(self.dst, n)
        self.core = self._cyclic_core()

    def out(self, v: int) -> Any:
        return self.out_edges[self.out_start[v]:self.out_start[v + 1]]

    def into(self, v: int) -> Any:
        return self.in_edges[self.in_start[v]:self.in_start[v + 1]]

    def _cyclic_core(self) -> set[int]:
        """States that can be reached from a cycle and can reach one (a superset of all cycle states):
        trim states without live predecessors, then states without live successors."""
        import numpy as np

        from checker.engine.arrays import edges_of

        n = self.n
        alive = np.ones(n, dtype=bool)
        for start, edges, ends, counted in ((self.out_start, self.out_edges, self.dst, self.dst),
                                            (self.in_start, self.in_edges, self.src, self.src)):
            live = np.flatnonzero(alive[self.src] & alive[self.dst])
            degree = np.bincount(counted[live], minlength=n) if n else np.zeros(0, dtype=np.int64)
            wave = np.flatnonzero(alive & (degree == 0))
            while wave.size:
                alive[wave] = False
                reached = ends[edges_of(wave, start, edges)]
                reached = reached[alive[reached]]
                degree -= np.bincount(reached, minlength=n)
                wave = np.unique(reached[degree[reached] == 0])
        return set(np.flatnonzero(alive).tolist())


def check_response(prop: Response, k: int, index: GraphIndex) -> Lasso | None:
    """The shortest fair counterexample for case k of a response property, or None if it holds."""
    import networkx as nx
    import numpy as np

    from checker.engine.arrays import edges_of

    graph = index.graph
    label = prop.cases[k][0]
    pbits = np.frombuffer(graph.labels[prop.name][2 * k], dtype=np.uint8).astype(bool)
    qbits = np.frombuffer(graph.labels[prop.name][2 * k + 1], dtype=np.uint8).astype(bool)
    core = nx.DiGraph()
    for v in index.core:
        if not qbits[v]:
            core.add_node(v)
    for v in core.nodes:
        for e in index.out(v).tolist():
            w = graph.dst[e]
            if w in core:
                if core.has_edge(v, w):
                    core[v][w]["owners"].add(graph.owner[e])
                else:
                    core.add_edge(v, w, owners={graph.owner[e]}, action=graph.action[e])
    stops = ~qbits & (index.out_start[1:] == index.out_start[:-1])
    components: list[set[int]] = []
    for comp in nx.strongly_connected_components(core):
        if _is_fair(comp, core, index):
            stops[list(comp)] = True
            components.append(comp)
    if not stops.any():
        return None
    # not-q states from which a fair component or stop is reachable inside not-q, with the next edge to take:
    # a backward breadth-first search, a wave at a time (-2: not reached)
    toward = np.full(index.n, -2, dtype=np.int64)
    wave = np.flatnonzero(stops)
    toward[wave] = -1
    while wave.size:
        edges = edges_of(wave, index.in_start, index.in_edges)
        sources = index.src[edges]
        fresh = (toward[sources] == -2) & ~qbits[sources]
        edges, sources = edges[fresh], sources[fresh]
        _, first = np.unique(sources, return_index=True)
        first.sort()  # in order of discovery, as a queue would take them
        wave = sources[first]
        toward[wave] = edges[first]
    reached = toward != -2
    if prop.from_init:
        initial = np.zeros(index.n, dtype=bool)
        initial[graph.initial_ids] = True
        candidates = np.flatnonzero(reached & initial)
    else:
        candidates = np.flatnonzero(reached & pbits)
    if not candidates.size:
        return None
    depth = np.array(graph.depth, dtype=np.int64)
    start = int(candidates[np.lexsort((candidates, depth[candidates]))[0]])
    prefix = graph.path_to(start)
    actions = list(prefix.actions)
    trigger = len(actions)
    v = start
    while toward[v] >= 0:  # follow the breadth-first tree: a shortest walk to the fair part
        e = int(toward[v])
        actions.append(graph.action[e])
        v = graph.dst[e]
    comp = next((c for c in components if v in c), None)
    if comp is None:
        return Lasso(label, Path(prefix.initial, tuple(actions)), None, trigger)
    cycle = _fair_cycle(v, comp, core, index)
    loop_start = len(actions)
    actions += [core[a][b]["action"] for a, b in zip(cycle, cycle[1:])]
    return Lasso(label, Path(prefix.initial, tuple(actions)), loop_start, trigger)


def _enabled(v: int, index: GraphIndex) -> set[int]:
    """The processes with a step in state v (environment steps, owner -1, carry no fairness)."""
    return {index.graph.owner[e] for e in index.out(v).tolist()} - {-1}


def _is_fair(comp: set[int], g: Any, index: GraphIndex) -> bool:
    if len(comp) == 1:
        (v,) = comp
        if not g.has_edge(v, v):
            return False
    taken: set[int] = set()
    for u in comp:
        for w, data in g[u].items():
            if w in comp:
                taken |= data["owners"]
    always_enabled = set.intersection(*(_enabled(v, index) for v in comp))
    return always_enabled <= taken


def _fair_cycle(entry: int, comp: set[int], g: Any, index: GraphIndex) -> list[int]:
    """A cycle from `entry` back to itself inside `comp` that takes a step of every process enabled
    throughout the component (so every weak-fairness obligation is met)."""
    import networkx as nx

    sub = g.subgraph(comp)
    always_enabled = set.intersection(*(_enabled(v, index) for v in comp))
    cycle = [entry]
    for owner in sorted(always_enabled):
        edge = next(((u, w) for u in sorted(comp) for w, d in sub[u].items() if owner in d["owners"]), None)
        if edge is None:
            continue
        u, w = edge
        cycle += nx.shortest_path(sub, cycle[-1], u)[1:] + [w]
    if len(cycle) == 1:  # no obligations: any cycle through the entry will do
        w = min(sub.successors(entry))
        cycle.append(w)
    if cycle[-1] != entry:
        cycle += nx.shortest_path(sub, cycle[-1], entry)[1:]
    return cycle
