"""Response properties under weak fairness, decided on the reachable graph with networkx SCCs.

`always (p -> eventually q)` fails exactly when some reachable p-state (that is not a q-state) starts a
fair infinite run that avoids q forever. Such runs end in a strongly connected component of the not-q
subgraph that is *weakly fair*: every process that is enabled in all of its states also takes a step inside
it (a cycle through all of the component's states and edges then satisfies every process's weak-fairness
obligation; if some process is enabled throughout and never steps there, no cycle inside it is fair). A
not-q state without any successor counts too: the run stops there, and stopping is fair. The counterexample
is a lasso: the shortest prefix to such a p-state, a path inside not-q to the component, and a cycle that
visits a witness for every process's fairness.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx

from .explorer import Graph, Path
from .properties import Response


@dataclass(frozen=True)
class Lasso:
    case: str
    path: Path  # prefix + cycle as successor indices
    loop_start: int  # index into path.actions where the cycle starts
    reason: str


def check_response(prop: Response, k: int, graph: Graph) -> Lasso | None:
    """The shortest fair counterexample for case k of a response property, or None if it holds."""
    label, _p, _q = prop.cases[k]
    pbits = graph.labels[f"{prop.name}#{k}:p"]
    qbits = graph.labels[f"{prop.name}#{k}:q"]
    n = len(graph.depth)
    notq = nx.DiGraph()
    notq.add_nodes_from(v for v in range(n) if not qbits[v])
    out_degree = [0] * n
    enabled: list[set[int]] = [set() for _ in range(n)]
    for e in range(len(graph.src)):
        u, w, owner = graph.src[e], graph.dst[e], graph.owner[e]
        out_degree[u] += 1
        if owner >= 0:
            enabled[u].add(owner)
        if not qbits[u] and not qbits[w]:
            if notq.has_edge(u, w):
                notq[u][w]["owners"].add(owner)
            else:
                notq.add_edge(u, w, owners={owner}, action=graph.action[e])
    fair_members: set[int] = set()
    components: list[set[int]] = []
    for comp in nx.strongly_connected_components(notq):
        if _is_fair(comp, notq, enabled, out_degree):
            fair_members |= comp
            components.append(comp)
    if not fair_members:
        return None
    # not-q states from which a fair component is reachable inside not-q
    doomed = set(fair_members)
    queue = deque(fair_members)
    while queue:
        v = queue.popleft()
        for u in notq.predecessors(v):
            if u not in doomed:
                doomed.add(u)
                queue.append(u)
    starts = [v for v in doomed if (v in graph.initial_ids if prop.from_init else pbits[v])]
    if not starts:
        return None
    start = min(starts, key=lambda v: (graph.depth[v], v))
    prefix = graph.path_to(start)
    to_comp = nx.single_source_shortest_path(notq, start)
    target = min((v for v in fair_members if v in to_comp), key=lambda v: (len(to_comp[v]), v))
    walk = to_comp[target]
    comp = next(c for c in components if target in c)
    cycle = _fair_cycle(target, comp, notq, enabled)
    actions = list(prefix.actions)
    actions += [notq[u][w]["action"] for u, w in zip(walk, walk[1:])]
    loop_start = len(actions)
    actions += [notq[u][w]["action"] for u, w in zip(cycle, cycle[1:])]
    stuck = len(cycle) <= 1
    reason = ("after the prefix the system reaches a state where no step is enabled, and q never holds"
              if stuck else "the marked steps repeat forever under weak fairness and q never holds")
    return Lasso(label, Path(prefix.initial, tuple(actions)), loop_start, reason)


def _is_fair(comp: set[int], g: nx.DiGraph, enabled: list[set[int]], out_degree: list[int]) -> bool:
    if len(comp) == 1:
        (v,) = comp
        if out_degree[v] == 0:
            return True  # the run stops here
        if not g.has_edge(v, v):
            return False
    taken: set[int] = set()
    for u in comp:
        for w, data in g[u].items():
            if w in comp:
                taken |= data["owners"]
    always_enabled = set.intersection(*(enabled[v] for v in comp))
    return always_enabled <= taken


def _fair_cycle(entry: int, comp: set[int], g: nx.DiGraph, enabled: list[set[int]]) -> list[int]:
    """A cycle from `entry` back to itself inside `comp` that takes a step of every process enabled
    throughout the component (so every weak-fairness obligation is met)."""
    if len(comp) == 1 and not g.has_edge(entry, entry):
        return [entry]
    sub = g.subgraph(comp)
    always_enabled = set.intersection(*(enabled[v] for v in comp))
    cycle = [entry]
    for owner in sorted(always_enabled):
        edge = next(((u, w) for u in sorted(comp) for w, d in sub[u].items() if owner in d["owners"]), None)
        if edge is None:
            continue
        u, w = edge
        cycle += nx.shortest_path(sub, cycle[-1], u)[1:] + [w]
    back = nx.shortest_path(sub, cycle[-1], entry)[1:] if cycle[-1] != entry or len(cycle) == 1 else []
    if len(cycle) == 1 and not back:  # a self-loop or a cycle with no fairness obligations
        w = min(sub.successors(entry))
        back = [w] + (nx.shortest_path(sub, w, entry)[1:] if w != entry else [])
    return cycle + back
