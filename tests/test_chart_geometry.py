"""The geometry of every chart of the library, measured on the layout the DOT is written from.

What a reader of an attack chart relies on, checked for every counterexample the bundled models produce
(tests/library_charts.py): no two pieces of text overlap; no label sits on another arrow, a link or a
lifeline; every arrow leaves its sender's lifeline at its send and ends on its receiver's (the attacker's
for a message to a compromised agent) or, never received, just before it on the sender's side; every run
has a header naming its agent, role, number and partners; the claim is on the claiming run's lane; and no
text is set below 9 pt (12 px at 100% zoom). tests/test_chart_browser.py measures the same charts again as
Chromium draws them.
"""
from __future__ import annotations

import re

import pytest

from checker.output.msc_layout import Layout, Rect, layout, lifelines, link_points
from checker.output.render_msc import msc_dot
from checker.output.trace import ATTACKER_LANE
from library_charts import LibraryChart, library_charts
from test_render import ALL_TRACES

CHARTS = library_charts()


def _ids(chart: LibraryChart) -> str:
    return chart.name


@pytest.fixture(params=CHARTS, ids=[_ids(c) for c in CHARTS], scope="module")
def chart(request) -> LibraryChart:
    return request.param


@pytest.fixture(scope="module")
def drawn(chart: LibraryChart) -> Layout:
    return layout(chart.trace)


#: Every chart the overlap tests measure: the library's, with and without state, and the hand-built
#: traces of tests/test_render.py (hostile names, a long crossing run, a message to oneself, ...).
LAYOUTS = [pytest.param((c.trace, False), id=c.name) for c in CHARTS]
LAYOUTS += [pytest.param((c.trace, True), id=f"{c.name}+state") for c in CHARTS]
LAYOUTS += [pytest.param((make(), state), id=f"{make.__name__}{'+state' if state else ''}")
            for make in ALL_TRACES for state in (False, True)]


@pytest.fixture(params=LAYOUTS, scope="module")
def any_drawn(request) -> Layout:
    trace, show_state = request.param
    return layout(trace, show_state)


def test_the_library_has_charts_of_every_kind():
    traces = [c.trace for c in CHARTS]
    assert any(t.runs for t in traces), "security attacks"
    assert any(t.loop_start is not None for t in traces), "lassos"
    assert any(any(s.kind == "crash" for s in t.steps) for t in traces), "crashes"
    assert any(not t.runs and ATTACKER_LANE not in t.lanes for t in traces), "plain process runs"


def test_no_two_pieces_of_text_overlap(any_drawn: Layout):
    boxes = any_drawn.text_boxes()
    clashes = [(a, b) for i, (a, ra) in enumerate(boxes) for b, rb in boxes[i + 1:] if _shrunk(ra).overlaps(_shrunk(rb))]
    assert clashes == []


def test_no_label_crosses_another_line(any_drawn: Layout):
    drawn = any_drawn
    paths = drawn.paths()
    segments: list[tuple[str, tuple]] = []
    for msg_id, path in paths.items():
        segments += [(f"msg{msg_id}", seg) for seg in zip(path, path[1:])]
    segments += [(link.name, link_points(link, drawn.geo, paths)) for link in drawn.chart.links]
    segments += [(f"lifeline{k}", seg) for k, seg in lifelines(drawn.chart, drawn.geo).items()]
    crossings = [(f"label{msg_id}", name) for msg_id in paths for name, seg in segments
                 if name != f"msg{msg_id}" and _shrunk(drawn.label_box(msg_id)).crossed_by(*seg)]
    assert crossings == []


def test_arrows_start_and_end_on_the_right_lifelines(chart: LibraryChart, drawn: Layout):
    trace, geo, lanes = chart.trace, drawn.geo, drawn.chart.lanes
    for arrow in drawn.chart.arrows:
        msg, path = arrow.msg, geo.path(arrow)
        sender = next(s.actor for s in trace.steps if s.index == msg.sent_at)
        assert path[0] == (geo.lane_x[lanes.index(sender)], geo.row_y[drawn.chart.step_rows[msg.sent_at]])
        receiver = lanes.index(msg.receiver)
        if msg.addressee in trace.attackers:
            assert msg.receiver == ATTACKER_LANE, f"#{msg.id} to {msg.addressee} must reach the attacker"
        if arrow.head is not None:
            assert path[-1][0] == geo.lane_x[receiver]
            continue
        # never received: it stops short of its receiver, on the sender's side, on no lane and in no box
        end_x, end_y = path[-1]
        towards = geo.lane_x[receiver] - geo.lane_x[lanes.index(sender)]
        offset = end_x - geo.lane_x[receiver]
        if towards:
            assert offset * towards < 0 and 8 <= abs(offset) < abs(towards), f"#{msg.id} ends at {end_x}"
        assert all(abs(end_x - x) >= 8 for x in geo.lane_x), f"#{msg.id} ends on a lifeline"
        marker = Rect.around(end_x, end_y, 8, 8)
        assert not any(marker.overlaps(box) for name, box in drawn.text_boxes() if name.startswith("cell")), \
            f"#{msg.id} ends inside a box"


def test_every_run_has_its_header_and_the_claim_its_lane(chart: LibraryChart, drawn: Layout):
    trace, cells = chart.trace, drawn.chart.cells
    headers = {lane: " ".join(r.text for line in cells[(k, 0)].lines for r in line)
               for k, lane in enumerate(drawn.chart.lanes)}
    for run in trace.runs:
        text = headers[run.lane].replace("\u00a0", " ")
        assert f"{run.agent} as {run.role}#{run.number}" in re.sub(r"\s+", " ", text)
        for _role, who in run.partners:
            assert (who or "?") in text
    if ATTACKER_LANE in headers and trace.attackers:
        assert headers[ATTACKER_LANE].startswith(f"attacker ({', '.join(trace.attackers)})")
    if trace.runs and ATTACKER_LANE in trace.lanes:
        assert trace.claim is not None, "an attack names the claim that fails"
    if trace.claim is not None:
        claim = [c for c in cells.values() if c.style.get("id") == "claim"]
        assert len(claim) == 1 and drawn.chart.lanes[claim[0].lane] == trace.claim.lane
        assert claim[0].row == drawn.chart.rows - 2, "the claim closes its lane, after the last step"
    assert all(any(c.lines for k, c in cells.items() if k[0] == col and k[1] > 0)
               or any(a.tail[0] == col or a.towards == col for a in drawn.chart.arrows)
               for col in range(len(drawn.chart.lanes))), "no empty lanes"


def test_text_is_at_least_9_points(chart: LibraryChart):
    dot = msc_dot(chart.trace)
    sizes = [float(s) for s in re.findall(r'(?:point-size|fontsize)="([\d.]+)"', dot)]
    assert sizes and min(sizes) >= 9


def test_legend_samples_look_exactly_like_the_arrows(chart: LibraryChart):
    dot = msc_dot(chart.trace)
    edges = dict(re.findall(r'\[id="((?:msg|legend-|eavesdrop|drop)[^"]*)", ([^\]]*)\]', dot))
    looks = {name: _looks(attrs) for name, attrs in edges.items()}
    arrows = {v for k, v in looks.items() if not k.startswith("legend-")}
    for name, look in looks.items():
        if name.startswith("legend-"):
            assert look in arrows, f"{name} {look} is drawn like no arrow of the chart"
    if ATTACKER_LANE not in chart.trace.lanes:
        assert "legend-honest" not in looks, "no 'honest message' entry in a chart without an attacker"


def _looks(attrs: str) -> tuple[str, ...]:
    """The attributes that make an edge look the way it does."""
    return tuple(sorted(a for a in re.findall(r'(?:color|style|penwidth)="[^"]*"', attrs)))


def _shrunk(r: Rect, by: float = 0.5) -> Rect:
    """Touching is fine, overlapping is not: rectangles shrunk by half a point before comparing."""
    return Rect(r.x0 + by, r.y0 + by, r.x1 - by, r.y1 - by)
