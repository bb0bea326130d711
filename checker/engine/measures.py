"""Message statistics over complete runs: messages sent per entry into a control state.

A complete run goes from an initial state to a valid end state (no successor, every process in a final
state); runs that deadlock are not complete and are not measured. On an acyclic reachable graph
(bounded rounds) a dynamic programme in topological order gives, for every final state, the fewest and most
messages and entries over all runs that reach it, and a parent edge for each extreme so the run that
attains it can be shown. With cycles, runs are unbounded and the count is reported as not measurable.
"""
from __future__ import annotations

from typing import Any

from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run
from checker.engine.run import Graph, Path
from checker.records import record


@record
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
        return Hooks(edge_mark=entered, needs_graph=True, entry=(gids, index))

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


@record
class Measurement:
    prop: MessagesPer
    low: float | None  # fewest messages per entry over complete runs
    high: float | None  # most messages per entry over complete runs
    runs_ending: int  # distinct final states with at least one entry
    note: str
    witness: Path | None = None  # a complete run attaining the violating extreme


def measure(prop: MessagesPer, graph: Graph) -> Measurement:
    """The dynamic programme of the module doc, in topological order a wave at a time (Kahn's algorithm:
    a wave is the states whose predecessors are all done), with numpy. Ties between equally good edges go to
    the first in the order a queue would have visited them, so witnesses are deterministic."""
    import numpy as np

    from checker.engine.arrays import edges_of, rows

    n = len(graph.depth)
    src, dst = np.array(graph.src, dtype=np.int64), np.array(graph.dst, dtype=np.int64)
    sent = np.array(graph.sent, dtype=np.int64)
    marks = np.frombuffer(bytes(graph.marks[prop.name]), dtype=np.uint8).astype(np.int64)
    out_start, out_edges = rows(src, n)
    indeg = np.bincount(dst, minlength=n) if n else np.zeros(0, dtype=np.int64)
    lo_msgs, hi_msgs = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    lo_ent, hi_ent = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    lo_edge, hi_edge = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    initial = np.array(graph.initial_ids, dtype=np.int64)
    lo_msgs[initial] = hi_msgs[initial] = lo_ent[initial] = hi_ent[initial] = 0
    wave = np.flatnonzero(indeg == 0)
    done = 0
    while wave.size:
        done += wave.size
        es = edges_of(wave, out_start, out_edges)
        v, w, position = src[es], dst[es], np.arange(len(es))
        for values, best, via, smaller in ((lo_msgs[v] + sent[es], lo_msgs, lo_edge, True),
                                          (hi_msgs[v] + sent[es], hi_msgs, hi_edge, False)):
            order = np.lexsort((position, values if smaller else -values, w))
            _, first = np.unique(w[order], return_index=True)
            pick = order[first]
            target, value = w[pick], values[pick]
            better = value < best[target] if smaller else value > best[target]
            best[target[better]] = value[better]
            via[target[better]] = es[pick[better]]
        np.minimum.at(lo_ent, w, lo_ent[v] + marks[es])
        np.maximum.at(hi_ent, w, hi_ent[v] + marks[es])
        indeg -= np.bincount(w, minlength=n)
        zero = np.flatnonzero(indeg[w] == 0)  # their last predecessor was in this wave: the next wave, in the
        nodes, last = np.unique(w[zero][::-1], return_index=True)  # order their last edge was taken
        wave = nodes[np.argsort(zero[::-1][last])]
    if done < n:
        return Measurement(prop, None, None, 0,
                           "not measurable: the state graph has cycles, so runs are unbounded "
                           "(bound the number of rounds with a constant)")
    ends = np.frombuffer(bytes(graph.valid_end), dtype=np.uint8).astype(bool) if n else np.zeros(0, dtype=bool)
    finals = np.flatnonzero(ends & (hi_ent > 0))
    if not finals.size:
        return Measurement(prop, None, None, 0, f"no complete run enters {prop.family}.{prop.state}")
    lows = lo_msgs[finals] / hi_ent[finals]
    highs = hi_msgs[finals] / np.maximum(lo_ent[finals], 1)
    low, high = float(lows.min()), float(highs.max())
    exact = bool((lo_ent[finals] == hi_ent[finals]).all())
    states = "state" if len(finals) == 1 else "states"
    note = f"over {len(finals):,} distinct final {states}" + ("" if exact else
                                                            "; entries vary between runs, so these are bounds")
    witness = None
    if not prop.holds_for(high):
        v_end = int(finals[np.lexsort((finals, -highs))[0]])
        witness = _path(graph, v_end, hi_edge.tolist())
    elif not prop.holds_for(low):
        v_end = int(finals[np.lexsort((finals, lows))[0]])
        witness = _path(graph, v_end, lo_edge.tolist())
    return Measurement(prop, low, high, len(finals), note, witness)


def _path(graph: Graph, v: int, via: list[int]) -> Path:
    acts = []
    while via[v] >= 0:
        e = via[v]
        acts.append(graph.action[e])
        v = graph.src[e]
    return Path(graph.initial_ids.index(v), tuple(reversed(acts)))
