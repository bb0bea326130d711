"""Message statistics over complete runs: messages sent per entry into a control state.

A complete run goes from an initial state to a valid end state (no successor, every process in a final
state); runs that deadlock are not complete and are not measured. On an acyclic reachable graph
(bounded rounds) a dynamic programme in topological order gives, for every final state, the fewest and most
messages and entries over all runs that reach it, and a parent edge for each extreme so the run that
attains it can be shown. With cycles, runs are unbounded and the count is reported as not measurable.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from checker.engine.explorer import Graph, Path
from checker.engine.properties import MessagesPer


@dataclass(frozen=True)
class Measurement:
    prop: MessagesPer
    low: float | None  # fewest messages per entry over complete runs
    high: float | None  # most messages per entry over complete runs
    runs_ending: int  # distinct final states with at least one entry
    note: str
    witness: Path | None = None  # a complete run attaining the violating extreme


def measure(prop: MessagesPer, bit: int, graph: Graph) -> Measurement:
    n = len(graph.depth)
    m = len(graph.src)
    out_edges: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for e in range(m):
        out_edges[graph.src[e]].append(e)
        indeg[graph.dst[e]] += 1
    order = []
    queue = deque(v for v in range(n) if indeg[v] == 0)
    while queue:
        v = queue.popleft()
        order.append(v)
        for e in out_edges[v]:
            w = graph.dst[e]
            indeg[w] -= 1
            if indeg[w] == 0:
                queue.append(w)
    if len(order) < n:
        return Measurement(prop, None, None, 0,
                           "not measurable: the state graph has cycles, so runs are unbounded "
                           "(bound the number of rounds with a constant)")
    inf = float("inf")
    lo_msgs, hi_msgs = [inf] * n, [-1] * n
    lo_ent, hi_ent = [inf] * n, [-1] * n
    lo_edge, hi_edge = [-1] * n, [-1] * n
    for v in graph.initial_ids:
        lo_msgs[v] = hi_msgs[v] = lo_ent[v] = hi_ent[v] = 0
    for v in order:
        for e in out_edges[v]:
            w = graph.dst[e]
            sent = graph.sent[e]
            ent = (graph.entered[e] >> bit) & 1
            if lo_msgs[v] + sent < lo_msgs[w]:
                lo_msgs[w], lo_edge[w] = lo_msgs[v] + sent, e
            if hi_msgs[v] + sent > hi_msgs[w]:
                hi_msgs[w], hi_edge[w] = hi_msgs[v] + sent, e
            lo_ent[w] = min(lo_ent[w], lo_ent[v] + ent)
            hi_ent[w] = max(hi_ent[w], hi_ent[v] + ent)
    finals = [v for v in range(n) if graph.valid_end[v] and hi_ent[v] > 0]
    if not finals:
        return Measurement(prop, None, None, 0, f"no complete run enters {prop.family}.{prop.state}")
    lows = {v: lo_msgs[v] / hi_ent[v] for v in finals}
    highs = {v: hi_msgs[v] / max(lo_ent[v], 1) for v in finals}
    low, high = min(lows.values()), max(highs.values())
    exact = all(lo_ent[v] == hi_ent[v] for v in finals)
    states = "state" if len(finals) == 1 else "states"
    note = f"over {len(finals):,} distinct final {states}" + ("" if exact else
                                                            "; entries vary between runs, so these are bounds")
    witness = None
    if not prop.holds_for(high):
        v = max(finals, key=lambda x: (highs[x], -x))
        witness = _path(graph, v, hi_edge)
    elif not prop.holds_for(low):
        v = min(finals, key=lambda x: (lows[x], x))
        witness = _path(graph, v, lo_edge)
    return Measurement(prop, low, high, len(finals), note, witness)


def _path(graph: Graph, v: int, via: list[int]) -> Path:
    acts = []
    while via[v] >= 0:
        e = via[v]
        acts.append(graph.action[e])
        v = graph.src[e]
    return Path(graph.initial_ids.index(v), tuple(reversed(acts)))
