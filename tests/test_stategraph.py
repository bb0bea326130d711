"""The state graph: every reachable state and transition drawn once, the shortest violation in red, deadlocks
and valid end states marked, big graphs refused quickly, model text escaped, and `wolf graph` end to end."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.cli import main
from checker.output.render_msc import render_svg
from checker.output.stategraph import GraphTooLarge, StateGraph, build_state_graph, explore_graph, state_graph_dot
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


def graph_of(path: str | Path, **defines) -> StateGraph:
    system, props = load_model(str(path), defines)
    return build_state_graph(system, explore_graph(system, props), props)


def svg_groups(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def test_counter_graph_is_a_chain_ending_in_a_valid_end_state():
    g = graph_of(ROOT / "tests/data/counter.wolf")
    assert len(g.nodes) == 5 and len(g.edges) == 4
    assert [n.initial for n in g.nodes] == [True, False, False, False, False]
    assert [n.id for n in g.nodes if n.final] == [4]
    assert not any(n.deadlock for n in g.nodes)
    assert g.violation is None and not any(e.on_path for e in g.edges)
    assert [(e.actor, e.text) for e in g.edges] == [("C", "inc")] * 3 + [("C", "run -> done")]
    assert [n.lanes for n in g.nodes[:2]] == [(("C", "run", ()),), (("C", "run", ("x=1",)),)]


def test_violation_path_runs_from_the_initial_state_to_the_violating_state():
    g = graph_of(ROOT / "models/mutex/ricart_agrawala_no_priority.wolf", N=2)
    assert g.violation == "mutex"
    path = [e for e in g.edges if e.on_path]
    assert len(path) == g.violation_steps == 8
    here = next(n.id for n in g.nodes if n.initial)
    for _ in path:  # follow the red edges: a chain, one out of each node
        step = [e for e in path if e.src == here]
        assert len(step) == 1
        here = step[0].dst
    end = g.nodes[here]
    assert end.violates == ("mutex",) and end.on_path and end.ends_path
    assert sum(n.ends_path for n in g.nodes) == 1


def test_every_state_that_violates_a_property_is_marked():
    """Not only where the red run ends: each of the three states with both processes critical."""
    g = graph_of(ROOT / "models/mutex/ricart_agrawala_no_priority.wolf", N=2)
    violating = [n for n in g.nodes if n.violates]
    assert len(violating) == 3 and all(n.violates == ("mutex",) for n in violating)
    for n in violating:
        assert [control for _lane, control, _changed in n.lanes] == ["critical", "critical"]
    assert all(not any(c == "critical" for _l, c, _v in n.lanes[1:]) or not n.lanes[0][1] == "critical"
               for n in g.nodes if not n.violates)


@needs_dot
def test_the_graph_opens_fitted_and_centred_on_the_red_run(tmp_path):
    """The SVG fills the window and its view is centred on the red run, with the whole graph inside; a
    script of wolf's own (no model text) lets one zoom and pan."""
    out = tmp_path / "ra.svg"
    assert main(["graph", str(ROOT / "models/mutex/ricart_agrawala_no_priority.wolf"), "-D", "N=2",
                 "--svg", str(out)]) == 0
    root = ET.parse(out).getroot()
    assert root.get("width") == "100%" and root.get("height") == "100%"
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    fx, fy, fw, fh = (float(v) for v in root.get("data-focus").split())
    assert abs((x + w / 2) - (fx + fw / 2)) < 1 and abs((y + h / 2) - (fy + fh / 2)) < 1
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    polygon = graph.find(f"{SVG}polygon")  # Graphviz's background: the whole drawing
    numbers = [float(n) for n in polygon.get("points").replace(",", " ").split()]
    tx, ty = (float(v) for v in graph.get("transform").split("translate(")[1].rstrip(")").split())
    xs, ys = [n + tx for n in numbers[0::2]], [n + ty for n in numbers[1::2]]
    assert x <= min(xs) + 0.5 and max(xs) <= x + w + 0.5 and y <= min(ys) + 0.5 and max(ys) <= y + h + 0.5
    scripts = list(root.iter(f"{SVG}script"))
    assert len(scripts) == 1 and "wheel" in scripts[0].text and "P[0]" not in scripts[0].text


def test_deadlocks_are_marked():
    g = graph_of(ROOT / "models/mutex/central.wolf", N=2, CRASH=True)
    stuck = [n for n in g.nodes if n.deadlock]
    assert stuck and all(not n.final for n in stuck)
    out_degree = {n.id: 0 for n in g.nodes}
    for e in g.edges:
        out_degree[e.src] += 1
    assert all(out_degree[n.id] == 0 for n in stuck)
    assert g.violation == "deadlock_free"
    assert next(n for n in g.nodes if n.violates).deadlock


def test_security_edges_name_only_real_injections():
    """The attacker is the network: a message it merely forwards is a delivery, as in the charts."""
    g = graph_of(ROOT / "models/security/slides_procedure1.wolf")
    path = [(e.actor, e.text, e.capability) for e in g.edges if e.on_path]
    assert path == [("alice as A#1", "sends message 1, finishes", None),
                    ("bob as B#1", "receives message 1, finishes", None),
                    ("bob as B#2", "receives message 1, finishes", "replay")]
    assert {e.capability for e in g.edges if e.actor == "attacker"} == {"drop"}


def test_big_graphs_are_refused_quickly():
    system, props = load_model(str(ROOT / "models/mutex/lamport.wolf"), {"N": 3})  # over a million states
    with pytest.raises(GraphTooLarge, match="more than 300 states"):
        explore_graph(system, props)  # stops after 301 states instead of exploring a million
    small, small_props = load_model(str(ROOT / "models/mutex/lamport.wolf"), {"N": 2})
    with pytest.raises(GraphTooLarge, match="--max-nodes"):
        explore_graph(small, small_props, max_nodes=50)


def test_model_text_is_escaped_in_the_dot(tmp_path):
    model = tmp_path / "hostile.wolf"
    model.write_text('model Hostile\nprocess P {\n  var note = "start"\n  state a, b\n  final b\n'
                     '  a -> b { note = "<script>alert(1)</script> & \\\\N" }\n}\n')
    dot = state_graph_dot(graph_of(model))
    assert "<script>" not in dot and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in dot
    assert "\\\\N" in dot  # Graphviz would expand a lone \N into the node's name


@needs_dot
def test_svg_has_one_node_per_state_and_one_edge_per_transition():
    g = graph_of(ROOT / "models/mutex/ricart_agrawala_no_priority.wolf", N=2)
    svg = render_svg(state_graph_dot(g))
    assert len(svg_groups(svg, "state")) == len(g.nodes) == 80
    edges = svg_groups(svg, "edge")
    assert len(edges) == len(g.edges) + 1  # and the arrow into the initial state
    assert len(svg_groups(svg, "path")) == g.violation_steps


@needs_dot
def test_graph_command_writes_svg_and_dot(tmp_path, capsys):
    out = tmp_path / "sub" / "counter.svg"
    code = main(["graph", str(ROOT / "tests/data/counter.wolf"), "--svg", str(out), "--dot"])
    text = capsys.readouterr().out
    assert code == 0
    assert f"wrote {out}" in text and f"wrote {out.with_suffix('.dot')}" in text
    ET.parse(out)
    assert "digraph states" in out.with_suffix(".dot").read_text()


@needs_dot
def test_graph_command_into_a_directory(tmp_path, capsys):
    code = main(["graph", str(ROOT / "models/mutex/central.wolf"), "-D", "N=2", "--svg", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "central.states.svg").exists()


@pytest.mark.parametrize("argv,message", [
    (["models/mutex/lamport.wolf"], "more than 300 states"),
    (["tests/data/counter.wolf", "--max-nodes", "0"], "--max-nodes must be positive"),
    (["tests/data/type_error.wolf"], "error[E301]"),
    (["tests/data/counter.wolf", "-D", "X"], "NAME=VALUE"),
])
def test_graph_command_bad_input_exits_2_without_traceback(argv, message, tmp_path, capsys):
    code = main(["graph", *[str(ROOT / a) if a.endswith(".wolf") else a for a in argv],
                 "--svg", str(tmp_path / "g.svg")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "g.svg").exists()
