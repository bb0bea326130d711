"""The reachable state graph of a small model, drawn as DOT: every state, every transition, and in red the
shortest run to a violation.

A sequence chart shows one run; the state graph shows them all, which is what one wants when learning why a
small algorithm works (or where its runs fork into a bad state). It only pays off for small graphs: past a
few hundred states Graphviz draws an unreadable hairball, so `explore_graph` refuses them and says how to
get a smaller instance.

What a node says comes from the same `Trace` the other renderers read (a replay of the BFS path to the
state): each lane's control state, the variables that differ from the initial state, and the messages in
flight. Each edge is replayed the same way, as the last step of a trace, so it reads like that step in a
chart (who acted, what it did, and a capability only where the attacker really injected). The DOT is a pure
function of the `StateGraph`; SVG goes through `render_msc.render_svg`, the one door to Graphviz.
"""
from __future__ import annotations

import html
import re
import textwrap
import xml.etree.ElementTree as ET
from typing import Any, Sequence

from checker.engine.budget import Bounds, Budget
from checker.engine.explorer import Explorer
from checker.engine.run import Exploration, Found, Graph, Path, replay
from checker.records import record
from checker.security.goals import Executable
from checker.output.textblock import visible, wrap_items
from checker.output.trace import ATTACKER_KINDS, Trace
from checker.output.tracebuild import build_trace

DEFAULT_MAX_NODES = 300

_RED = "#c81e1e"
_DEADLOCK_FILL = "#ffe2b8"
_VIOLATION_FILL = "#fde2e2"
_GREY = "#777777"
_FONT = "Arial"
_SPACE = "&#160;"  # Graphviz drops a plain space at the start of a text run after a <b> or <font>


class GraphTooLarge(Exception):
    """The reachable graph has more states than can be drawn legibly."""


class GraphUnfinished(Exception):
    """A bound other than the node limit (time, memory, an interruption) stopped the exploration of the graph."""


@record
class Node:
    """One reachable state: `lanes` holds (lane, control state or "", changed variables) for every lane
    that has something to say; `violates` names every property that is false in it (`ends_path`: the
    highlighted run ends here)."""

    id: int
    lanes: tuple[tuple[str, str, tuple[str, ...]], ...]
    in_flight: tuple[str, ...]
    initial: bool
    deadlock: bool
    final: bool
    on_path: bool
    violates: tuple[str, ...] = ()
    ends_path: bool = False


@record
class Edge:
    src: int
    dst: int
    actor: str
    text: str
    capability: str | None
    on_path: bool


@record
class StateGraph:
    model: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    violation: str | None  # the property whose shortest counterexample is highlighted
    violation_steps: int = 0


def explore_graph(system: Any, props: Sequence[Any], max_nodes: int = DEFAULT_MAX_NODES,
                  budget: Budget | None = None) -> Exploration:
    """Explore the whole reachable graph, or raise GraphTooLarge as soon as it exceeds `max_nodes` states
    (GraphUnfinished if the `budget`'s time or memory bound stops it first).

    The state bound stops a million-state model right after `max_nodes + 1` states, so refusing is as quick
    as drawing. Security goals are invariants and are checked;
    `executable` explores a different system and has no place in this graph.
    """
    checked = [p for p in props if not isinstance(p, Executable)]
    result = Explorer(system, checked, Bounds(max_states=max_nodes + 1), graph_mode=True, budget=budget).run()
    if not result.complete and result.stats.states <= max_nodes:
        raise GraphUnfinished(f"the state graph is unfinished: {result.stop_reason} after "
                              f"{result.stats.states:,} states")
    if not result.complete or result.stats.states > max_nodes:
        size = f"{result.stats.states:,} states" if result.complete else f"more than {max_nodes} states"
        raise GraphTooLarge(f"the state graph has {size}, too many to draw legibly (the limit is {max_nodes}): "
                            f"draw a smaller instance (fewer processes, rounds or sessions, e.g. -D N=2) or "
                            f"raise --max-nodes")
    return result


def build_state_graph(system: Any, result: Exploration, props: Sequence[Any] = ()) -> StateGraph:
    """Nodes and edges of a complete exploration, with the shortest violation's run marked and every state
    that violates one of `props` (a property checked state by state: invariants, security goals) marked."""
    graph = result.graph
    assert graph is not None and result.complete
    shortest = _shortest(result.found)
    prop, found = shortest if shortest is not None else (None, None)
    path_nodes, path_edges = _highlight(graph, found)
    count = len(graph.depth)
    out_degree = [0] * count
    for s in graph.src:
        out_degree[s] += 1
    checks = [(p.name, hook) for p in props if not isinstance(p, Executable)
              if (hook := p.hooks(system).on_state) is not None]
    nodes = []
    for sid in range(count):
        path = graph.path_to(sid)
        lanes, in_flight = _summary(build_trace(system, path, system.name, "", ""))
        state = replay(system, path)[-1][0]
        ends = found is not None and sid == path_nodes[-1]
        violates = tuple(name for name, hook in checks if hook(state) is not None)
        if ends and prop not in violates:
            violates = (prop,) + violates  # the highlighted violation (a deadlock) first
        nodes.append(Node(sid, lanes, in_flight, initial=graph.parent[sid] < 0,
                          deadlock=out_degree[sid] == 0 and not graph.valid_end[sid],
                          final=bool(graph.valid_end[sid]), on_path=sid in path_nodes, violates=violates,
                          ends_path=ends))
    edges = tuple(_edge(system, graph, k, k in path_edges) for k in range(len(graph.src)))
    steps = len(found.path.actions) if found is not None else 0
    return StateGraph(system.name, tuple(nodes), edges, prop, steps)


def _edge(system: Any, graph: Graph, k: int, on_path: bool) -> Edge:
    """Edge k as the sequence charts would tell its step: replayed as the last step of a trace, so that a
    message the attacker merely forwards reads as a delivery, and only real injections carry a capability."""
    src, dst, idx = graph.src[k], graph.dst[k], graph.action[k]
    base = graph.path_to(src)
    trace = build_trace(system, Path(base.initial, base.actions + (idx,)), system.name, "", "")
    step = trace.steps[-1]
    injected = [trace.message(m).capability for m in step.receives if trace.message(m).capability]
    capability = step.kind if step.kind in ATTACKER_KINDS else (injected[0] if injected else None)
    actor = "network" if step.kind == "lose" else step.actor
    return Edge(src, dst, actor, step.text, capability, on_path)


def _shortest(found: dict[str, Found]) -> tuple[str, Found] | None:
    """The violation reached in the fewest steps (the first one found on ties), with its property's name: the
    one to highlight."""
    return min(found.items(), key=lambda item: len(item[1].path.actions), default=None)


def _highlight(graph: Graph, found: Found | None) -> tuple[list[int], set[int]]:
    """The node ids and edge numbers of a violation's path, followed edge by edge through the graph."""
    if found is None:
        return [], set()
    out: dict[int, dict[int, tuple[int, int]]] = {}
    for k, (src, dst, idx) in enumerate(zip(graph.src, graph.dst, graph.action)):
        out.setdefault(src, {})[idx] = (k, dst)
    here = graph.initial_ids[found.path.initial]
    nodes, edges = [here], set()
    for idx in found.path.actions:
        k, here = out[here][idx]
        nodes.append(here)
        edges.add(k)
    return nodes, edges


def _summary(trace: Trace) -> tuple[tuple[tuple[str, str, tuple[str, ...]], ...], tuple[str, ...]]:
    """What a node shows, from the run that reaches it: per lane the control state (`state`) and every
    other value that differs from the initial one; then the messages still in flight."""
    initial = {lane: {c.name: c.new for c in changes} for lane, changes in trace.initial}
    current = {lane: dict(values) for lane, values in initial.items()}
    for step in trace.steps:
        for c in step.changes:
            current.setdefault(step.actor, {})[c.name] = c.new
    lanes = []
    for lane in trace.lanes:
        now, then = current.get(lane, {}), initial.get(lane, {})
        changed = tuple(f"{n}={v}" for n, v in now.items() if n != "state" and then.get(n) != v)
        control = now.get("state", "")
        if control or changed:
            lanes.append((lane, control, changed))
    in_flight = tuple(f"{m.text} to {m.receiver}" for m in trace.messages if m.fate == "pending")
    return tuple(lanes), in_flight


# --------------------------------------------------------------------------------------------- DOT


def state_graph_dot(g: StateGraph) -> str:
    """The graph as DOT, laid out top-down by `dot` (the BFS depth becomes the rank)."""
    lines = [
        "digraph states {",
        "  " + _stmt("graph", {"rankdir": "TB", "fontname": _FONT, "fontsize": "11", "labelloc": "t",
                               "labeljust": "l", "nodesep": "0.3", "ranksep": "0.45", "bgcolor": "white",
                               "pad": "0.2", "label": _Html(_title(g))}),
        "  " + _stmt("node", {"shape": "box", "style": "rounded,filled", "fillcolor": "white",
                              "color": "#555555", "fontname": _FONT, "fontsize": "10", "margin": "0.08,0.04"}),
        "  " + _stmt("edge", {"fontname": _FONT, "fontsize": "9", "color": "#555555", "arrowsize": "0.6"}),
        "  " + _stmt("start", {"shape": "point", "width": "0.08", "style": "filled", "fillcolor": "black",
                               "color": "black", "label": ""}),
    ]
    lines += ["  " + _stmt(f"s{n.id}", _node_attrs(n)) for n in g.nodes]
    lines += [f"  start -> s{n.id} [id=\"start{n.id}\", penwidth=\"1.5\"];" for n in g.nodes if n.initial]
    lines += [f"  s{e.src} -> s{e.dst} {_attrs(_edge_attrs(e, k))};" for k, e in enumerate(g.edges)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title(g: StateGraph) -> str:
    """Heading and key: what the colours and borders mean, only for what this graph contains."""
    count = f"{len(g.nodes):,} states, {len(g.edges):,} transitions"
    rows = [f'<b>{_html(g.model)}</b>: reachable state graph, {count}']
    if g.violation is not None:
        plural = "s" if g.violation_steps != 1 else ""
        rows.append(f'<font color="{_RED}">red: the shortest run that violates {_html(g.violation)} '
                    f'({g.violation_steps} step{plural})</font>')  # one run: no gap to lose between runs
    key = ["thick border: initial state"]
    violating = sum(1 for n in g.nodes if n.violates)
    if violating:
        key.append(f"pink: violates a property ({violating:,} state{'s' if violating != 1 else ''})")
    if any(n.final for n in g.nodes):
        key.append("double border: every process finished")
    if any(n.deadlock for n in g.nodes):
        key.append("orange: deadlock (stuck, not finished)")
    rows.append(f'<font color="{_GREY}" point-size="9">{"; ".join(key)}</font>')
    rows.append(f'<font color="{_GREY}" point-size="9">in a browser: the wheel zooms, dragging pans, 0 shows '
                f'the whole graph, r the red run, a double click switches between them</font>')
    return '<table border="0" cellpadding="1" cellspacing="0">' + "".join(
        f'<tr><td align="left">{r}</td></tr>' for r in rows) + "</table>"


def _node_attrs(n: Node) -> dict[str, str]:
    lines = [f'<font color="{_GREY}" point-size="9">s{n.id}</font>']
    for lane, control, changed in n.lanes:
        text = f"<b>{_html(lane)}</b>"
        if control:
            text += f"{_SPACE}{_html(control)}"
        body = wrap_items(list(changed), 40)
        if body:
            text += f'{_SPACE}{_SPACE}<font color="#35608a">{_html(body[0])}</font>'
            text += "".join(f'<br align="left"/>    <font color="#35608a">{_html(b)}</font>' for b in body[1:])
        lines.append(text)
    for m in n.in_flight:
        wrapped = _wrap(f"in flight: {m}", 60)
        lines.append(f'<font color="{_GREY}">{_html(wrapped[0])}</font>')
        lines += [f'<font color="{_GREY}">    {_html(more)}</font>' for more in wrapped[1:]]
    if n.deadlock:
        lines.append("<b>deadlock</b>")
    if n.violates:
        lines.append(f'<font color="{_RED}"><b>violates {_html(", ".join(n.violates))}</b></font>')
    left = '<br align="left"/>'
    attrs = {"id": f"s{n.id}", "class": "state", "label": _Html(left.join(lines) + left)}
    if n.initial:
        attrs["penwidth"] = "2.2"
    if n.final:
        attrs["peripheries"] = "2"
    if n.deadlock:
        attrs["fillcolor"] = _DEADLOCK_FILL
    if n.on_path:
        attrs["color"] = _RED
        attrs["penwidth"] = "2.2"
    if n.violates:
        attrs["fillcolor"] = _VIOLATION_FILL
        attrs["class"] = "state violates"
    return attrs


def _edge_attrs(e: Edge, k: int) -> dict[str, str]:
    label = f"<b>{_html(e.actor)}</b>{_SPACE}" + '<br/>'.join(_html(line) for line in _wrap(e.text, 30))
    if e.capability:
        label = f'<font color="{_RED}"><b>{_html(e.capability)}</b></font><br/>' + label
    attrs = {"id": f"e{k}", "label": _Html(label)}
    if e.on_path:
        attrs |= {"color": _RED, "penwidth": "2.4", "fontcolor": _RED, "class": "path"}
    return attrs


# ------------------------------------------------------------------------------------------ helpers


class _Html(str):
    """A value already in Graphviz's HTML-like label syntax: emitted between `<` and `>`."""


def _html(text: str) -> str:
    """Model text made safe in an HTML-like label: control characters dropped, XML-escaped, backslashes
    doubled (Graphviz expands `\\N` and friends even there)."""
    clean = "".join(ch for ch in visible(text) if ch >= " ")
    return html.escape(clean, quote=True).replace("\\", "\\\\")


def _attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={_value(v)}" for k, v in attrs.items()) + "]"


def _value(v: str) -> str:
    """Our own attribute values are plain; only labels (always `_Html`) carry model text."""
    return f"<{v}>" if isinstance(v, _Html) else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stmt(name: str, attrs: dict[str, str]) -> str:
    return f"{name} {_attrs(attrs)};"


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces only: a term must not be cut in the middle."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


# ------------------------------------------------------------------------------------- in a browser


def red_run(g: StateGraph) -> list[str]:
    """The SVG ids of the highlighted run's states and transitions (what the view centres on)."""
    return [f"s{n.id}" for n in g.nodes if n.on_path] + [f"e{k}" for k, e in enumerate(g.edges) if e.on_path]


def interactive_svg(svg: str, focus: Sequence[str] = ()) -> str:
    """The drawn graph made to open well in a browser: fitted to the window (width and height 100%), centred
    on the elements with the ids in `focus` (the red run) while still showing the whole graph, and with a
    small script for zooming (wheel), panning (drag) and going back (`0` or a double click). The script is
    wolf's own text; the model's text in the SVG stays escaped as Graphviz wrote it."""
    root = ET.fromstring(svg)
    box = _focus_box(root, set(focus))
    view = [float(v) for v in (root.get("viewBox") or "0 0 100 100").split()]
    x, y, w, h = view
    if box is not None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half_w, half_h = max(cx - x, x + w - cx), max(cy - y, y + h - cy)
        x, y, w, h = cx - half_w, cy - half_h, 2 * half_w, 2 * half_h
    head = svg[:svg.index(">", svg.index("<svg")) + 1]
    new_head = re.sub(r'\swidth="[^"]*"', ' width="100%"', head, count=1)
    new_head = re.sub(r'\sheight="[^"]*"', ' height="100%"', new_head, count=1)
    new_head = re.sub(r'\sviewBox="[^"]*"', f' viewBox="{x:.2f} {y:.2f} {w:.2f} {h:.2f}"', new_head, count=1)
    focus_attr = f' data-focus="{box[0]:.2f} {box[1]:.2f} {box[2] - box[0]:.2f} {box[3] - box[1]:.2f}"' if box else ""
    new_head = new_head[:-1] + f' preserveAspectRatio="xMidYMid meet" style="cursor:grab"{focus_attr}>'
    body = svg[len(head):]
    end = body.rindex("</svg>")
    return new_head + body[:end] + _PAN_ZOOM + body[end:]


def _focus_box(root: ET.Element, ids: set[str]) -> tuple[float, float, float, float] | None:
    """The bounding box, in viewBox units, of the shapes of the elements with these ids."""
    graph = next((g for g in root.iter(f"{_SVG}g") if g.get("class") == "graph"), None)
    if graph is None or not ids:
        return None
    move = re.search(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", graph.get("transform") or "")
    dx, dy = (float(move.group(1)), float(move.group(2))) if move else (0.0, 0.0)
    xs: list[float] = []
    ys: list[float] = []
    for g in graph.iter(f"{_SVG}g"):
        if g.get("id") not in ids:
            continue
        for shape in g.iter():
            numbers = re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d") or "")
            xs += [float(n) + dx for n in numbers[0::2]]
            ys += [float(n) + dy for n in numbers[1::2]]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


_SVG = "{http://www.w3.org/2000/svg}"
_PAN_ZOOM = """<script type="text/javascript"><![CDATA[
(function () {
  var svg = document.documentElement, vb = svg.viewBox.baseVal;
  var whole = [vb.x, vb.y, vb.width, vb.height], drag = null, home = whole;
  function set(a) { vb.x = a[0]; vb.y = a[1]; vb.width = a[2]; vb.height = a[3]; }
  var focus = (svg.getAttribute("data-focus") || "").split(" ").map(Number);
  var fitted = Math.min(svg.clientWidth / vb.width, svg.clientHeight / vb.height);
  if (focus.length === 4 && fitted < 0.75) {  /* too small to read whole: open on the red run, readable */
    var w = Math.max(focus[2] * 1.2, svg.clientWidth / 0.9), h = Math.max(focus[3] * 1.1, svg.clientHeight / 0.9);
    var k = Math.max(w / svg.clientWidth, h / svg.clientHeight);
    w = svg.clientWidth * k; h = svg.clientHeight * k;
    home = [focus[0] + focus[2] / 2 - w / 2, focus[1] + focus[3] / 2 - h / 2, w, h];
    set(home);
  }
  function at(e) { var p = svg.createSVGPoint(); p.x = e.clientX; p.y = e.clientY;
                   return p.matrixTransform(svg.getScreenCTM().inverse()); }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = at(e), k = e.deltaY < 0 ? 0.8 : 1.25;
    set([p.x - (p.x - vb.x) * k, p.y - (p.y - vb.y) * k, vb.width * k, vb.height * k]);
  }, {passive: false});
  svg.addEventListener("mousedown", function (e) { drag = at(e); svg.style.cursor = "grabbing"; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var p = at(e); set([vb.x - (p.x - drag.x), vb.y - (p.y - drag.y), vb.width, vb.height]);
  });
  window.addEventListener("mouseup", function () { drag = null; svg.style.cursor = "grab"; });
  svg.addEventListener("dblclick", function () { set(vb.width === home[2] ? whole : home); });
  window.addEventListener("keydown", function (e) {
    if (e.key === "0") set(whole);
    if (e.key === "r") set(home);
  });
})();
]]></script>
"""
