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
from typing import Any

from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run
from checker.engine.run import Graph, Path


@dataclass(frozen=True)
class MessagesPer:
    """The number of messages sent per entry into a control state, over all complete runs, compared
    with a bound (`messages per P.critical == 3 * (N - 1)`). An entry is a step of one of `gids` (the family's
    instances) into control state `state_index`; the system says which control state an instance is in."""

    name: str
    text: str
    family: str
    state: str
    gids: tuple[int, ...]
    state_index: int
    op: str
    bound: int

    def holds_for(self, value: float) -> bool:
        return {"==": value == self.bound, "<=": value <= self.bound, ">=": value >= self.bound,
                "<": value < self.bound, ">": value > self.bound}[self.op]

    def hooks(self, system: Any) -> Hooks:
        gids, index = frozenset(self.gids), self.state_index

        def entered(s: Any, action: Any, t: Any) -> bool:
            g = action.owner
            return g in gids and system.control(t, g) == index and system.control(s, g) != index
        return Hooks(edge_mark=entered, needs_graph=True)

    def judge(self, run: Run) -> Judgement:
        result = run.exploration
        if not result.complete or result.graph is None:
            return Judgement(UNKNOWN, "needs the complete state graph, but exploration stopped: "
                             + (result.stop_reason or "depth bound"))
        m = measure(self, result.graph)
        if m.low is None or m.high is None:
            return Judgement(UNKNOWN, m.note)
        value = f"{_num(m.low)}" if m.low == m.high else f"{_num(m.low)}..{_num(m.high)}"
        figure = f"{value} messages per entry into {self.family}.{self.state} ({m.note})"
        if self.holds_for(m.low) and self.holds_for(m.high):
            return Judgement(HOLDS, figure, value=value)
        return Judgement(FAILS, figure, m.witness, value=value)

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        """The witness is a complete run: it ends in a state where the system may stop."""
        last = states[-1]
        if system.successors(last) or not system.is_valid_end(last):
            return "the replayed run is not complete (it does not end in a valid end state)"
        return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


@dataclass(frozen=True)
class Measurement:
    prop: MessagesPer
    low: float | None  # fewest messages per entry over complete runs
    high: float | None  # most messages per entry over complete runs
    runs_ending: int  # distinct final states with at least one entry
    note: str
    witness: Path | None = None  # a complete run attaining the violating extreme


def measure(prop: MessagesPer, graph: Graph) -> Measurement:
    marks = graph.marks[prop.name]
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
            ent = marks[e]
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
