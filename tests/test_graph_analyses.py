"""The whole-graph analyses (messages per entry, response under fairness) work a wave at a time with numpy; a
plain queue-based version of each, kept here as the oracle, must give the same figures, witnesses and lassos on
random graphs."""
from __future__ import annotations

from array import array
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from checker.engine.liveness import GraphIndex, Response, check_response
from checker.engine.measures import MessagesPer, measure
from checker.engine.run import Graph, Path


def build(n: int, edges: list[tuple[int, int, int, int, int]], labels: dict | None = None,
          marks: list[int] | None = None) -> Graph:
    """A graph of n states (state 0 initial; BFS-like parents from the first edge into each state) and edges
    (src, dst, owner, sent, action index)."""
    g = Graph()
    parent = [-1] * n
    action = [0] * n
    for s, d, _o, _sent, a in edges:
        if d != 0 and parent[d] < 0 and d != s:
            parent[d], action[d] = s, a
    depth = [0] * n
    for v in range(n):
        u, k = v, 0
        while parent[u] >= 0 and k <= n:
            u, k = parent[u], k + 1
        depth[v] = k
    g.depth, g.parent, g.parent_action = array("l", depth), array("l", parent), array("l", action)
    g.initial_ids = [0]
    for s, d, o, sent, a in edges:
        g.src.append(s)
        g.dst.append(d)
        g.owner.append(o)
        g.sent.append(sent)
        g.action.append(a)
    outs = {s for s, *_ in edges}
    g.valid_end = bytearray(1 if v not in outs else 0 for v in range(n))
    g.labels = labels or {}
    g.marks = {"m": bytearray(marks or [0] * len(edges))}
    return g


def reachable(n: int, edges: list) -> bool:
    seen, queue = {0}, deque([0])
    while queue:
        v = queue.popleft()
        for s, d, *_ in edges:
            if s == v and d not in seen:
                seen.add(d)
                queue.append(d)
    return len(seen) == n


# ---------------------------------------------------------------------------------------------------- oracles
def oracle_measure(prop: MessagesPer, graph: Graph) -> tuple:
    marks = graph.marks[prop.name]
    n, m = len(graph.depth), len(graph.src)
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
        return (None, None, 0, None)
    inf = float("inf")
    lo_msgs, hi_msgs, lo_ent, hi_ent = [inf] * n, [-1] * n, [inf] * n, [-1] * n
    lo_edge, hi_edge = [-1] * n, [-1] * n
    for v in graph.initial_ids:
        lo_msgs[v] = hi_msgs[v] = lo_ent[v] = hi_ent[v] = 0
    for v in order:
        for e in out_edges[v]:
            w, sent, ent = graph.dst[e], graph.sent[e], marks[e]
            if lo_msgs[v] + sent < lo_msgs[w]:
                lo_msgs[w], lo_edge[w] = lo_msgs[v] + sent, e
            if hi_msgs[v] + sent > hi_msgs[w]:
                hi_msgs[w], hi_edge[w] = hi_msgs[v] + sent, e
            lo_ent[w] = min(lo_ent[w], lo_ent[v] + ent)
            hi_ent[w] = max(hi_ent[w], hi_ent[v] + ent)
    finals = [v for v in range(n) if graph.valid_end[v] and hi_ent[v] > 0]
    if not finals:
        return (None, None, 0, None)
    lows = {v: lo_msgs[v] / hi_ent[v] for v in finals}
    highs = {v: hi_msgs[v] / max(lo_ent[v], 1) for v in finals}
    low, high = min(lows.values()), max(highs.values())
    witness = None
    if not prop.holds_for(high):
        witness = _walk(graph, max(finals, key=lambda x: (highs[x], -x)), hi_edge)
    elif not prop.holds_for(low):
        witness = _walk(graph, min(finals, key=lambda x: (lows[x], x)), lo_edge)
    return (low, high, len(finals), witness)


def _walk(graph: Graph, v: int, via: list[int]) -> Path:
    acts = []
    while via[v] >= 0:
        acts.append(graph.action[via[v]])
        v = graph.src[via[v]]
    return Path(graph.initial_ids.index(v), tuple(reversed(acts)))


def oracle_toward(graph: Graph, q: bytearray, stops: set[int]) -> dict[int, int]:
    """The backward breadth-first search of check_response, with a queue."""
    into: dict[int, list[int]] = {}
    for e in range(len(graph.src)):
        into.setdefault(graph.dst[e], []).append(e)
    toward = {v: -1 for v in stops}
    queue = deque(sorted(stops))
    while queue:
        v = queue.popleft()
        for e in into.get(v, []):
            u = graph.src[e]
            if u not in toward and not q[u]:
                toward[u] = e
                queue.append(u)
    return toward


# ------------------------------------------------------------------------------------------------------ tests
@st.composite
def dags(draw):
    n = draw(st.integers(2, 12))
    edges = []
    for d in range(1, n):
        s = draw(st.integers(0, d - 1))
        edges.append((s, d, draw(st.integers(0, 2)), draw(st.integers(0, 3)), 0))
    for _ in range(draw(st.integers(0, 2 * n))):
        s = draw(st.integers(0, n - 2))
        d = draw(st.integers(s + 1, n - 1))
        edges.append((s, d, draw(st.integers(0, 2)), draw(st.integers(0, 3)), 0))
    numbered, count = [], {}
    for s, d, o, sent, _a in edges:
        numbered.append((s, d, o, sent, count.get(s, 0)))
        count[s] = count.get(s, 0) + 1
    marks = draw(st.lists(st.integers(0, 1), min_size=len(edges), max_size=len(edges)))
    return n, numbered, marks


@settings(max_examples=300, deadline=None)
@given(dags(), st.sampled_from(["==", "<=", ">="]), st.integers(0, 6))
def test_messages_per_entry_matches_the_queue_based_programme(case, op, bound):
    n, edges, marks = case
    graph = build(n, edges, marks=marks)
    prop = MessagesPer("m", "", "P", "s", (0,), 1, op, bound)
    got = measure(prop, graph)
    assert (got.low, got.high, got.runs_ending, got.witness) == oracle_measure(prop, graph)


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 25))
    edges = []
    for d in range(1, n):
        edges.append((draw(st.integers(0, d - 1)), d))
    for _ in range(draw(st.integers(0, 2 * n))):
        edges.append((draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    numbered, count = [], {}
    for s, d in edges:
        numbered.append((s, d, draw(st.integers(-1, 2)), 0, count.get(s, 0)))
        count[s] = count.get(s, 0) + 1
    p = bytearray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    q = bytearray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return n, numbered, p, q


@settings(max_examples=800, deadline=None)
@given(graphs())
def test_response_lassos_follow_the_queue_based_search(case):
    n, edges, p, q = case
    graph = build(n, edges, labels={"r": [p, q]})
    index = GraphIndex(graph)
    prop = Response("r", "", (("", lambda s: True, lambda s: True),))
    lasso = check_response(prop, 0, index)
    # the oracle: the same search with a queue, from the states where the run may stop or cycle fairly
    stops = {v for v in range(n) if not q[v] and index.out_start[v] == index.out_start[v + 1]}
    if lasso is None:
        toward = oracle_toward(graph, q, stops)
        assert not any(p[v] for v in toward) or index.core  # a cycle may make the difference: see below
        return
    assert all(not q[v] for v in _states(graph, lasso.path)[lasso.trigger:])
    assert p[_states(graph, lasso.path)[lasso.trigger]]
    if not index.core:  # acyclic: the lasso ends where the run stops, found by the same search as the oracle's
        toward = oracle_toward(graph, q, stops)
        starts = [v for v in toward if p[v]]
        start = min(starts, key=lambda v: (graph.depth[v], v))
        assert _states(graph, lasso.path)[lasso.trigger] == start
        walk, v = [], start
        while toward[v] >= 0:
            walk.append(graph.action[toward[v]])
            v = graph.dst[toward[v]]
        assert list(lasso.path.actions[lasso.trigger:]) == walk


def _states(graph: Graph, path: Path) -> list[int]:
    v = graph.initial_ids[path.initial]
    out = [v]
    for idx in path.actions:
        e = next(e for e in range(len(graph.src)) if graph.src[e] == v and graph.action[e] == idx)
        v = graph.dst[e]
        out.append(v)
    return out
