"""Message-sequence charts of counterexamples: DOT source (pure, golden-testable) and SVG, PNG or PDF
through `dot`.

checker/output/msc_chart.py decides what goes on the grid and checker/output/msc_layout.py every position; this module writes it down for Graphviz with pinned
positions (`layout=nop2`, straight `splines=line`), so `dot` only draws and the DOT stays a pure,
deterministic function of the trace. The verdict heads the chart; the legend closes it.

Why HTML-like labels: every string that comes from a model (lane names, terms, notes) is untrusted;
XML-escaping it in one place (`_html`, which also doubles backslashes: Graphviz expands `\\N` even inside
HTML labels) is simpler to get right than DOT's record and escString rules, and the SVG then carries it as
text. Tooltips are the only plain strings holding model text, quoted by `_tooltip`.

This is the only module of wolf that imports `graphviz`.
"""
from __future__ import annotations

import html
import shutil
from typing import Mapping

import graphviz

from checker.output.msc_chart import (
    ATTACKER_RED, CAPABILITY_COLOURS, CYCLE_BORDER, CYCLE_FILL, GREY, LIFELINE, LOST, Chart, arrow_attrs, fate_words,
    link_attrs,
)
from checker.output.msc_layout import (
    Geometry, Layout, cycle_back, cycle_bounds, cycle_title, cycle_title_box, label_rect, layout, legend_layout,
    lifelines, link_points,
)
from checker.output.textblock import Block, TextRun, block_size, clean, wrap
from checker.output.trace import Message, Trace

_FONT = "Arial"

SVG_INSTALL_HINT = (
    "the `dot` program from Graphviz is needed for SVG output: install it with "
    "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz`"
)


class RendererUnavailable(RuntimeError):
    """A renderer cannot run on this machine (for SVG: Graphviz's `dot` is not installed)."""


# ------------------------------------------------------------------------------------------- public API


def msc_svg(trace: Trace, show_state: bool = False) -> str:
    """The chart as SVG text, drawn by Graphviz's `dot`; raises `RendererUnavailable` without it."""
    return render_svg(msc_dot(trace, show_state))


def render_svg(dot_source: str) -> str:
    """Any DOT source (a chart, a state graph) as SVG text through `dot`; raises `RendererUnavailable`
    without it. Shared so that this stays the only module that talks to Graphviz."""
    try:
        return graphviz.pipe_string("dot", "svg", dot_source, encoding="utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise RendererUnavailable(SVG_INSTALL_HINT) from exc


def render_binary(dot_source: str, fmt: str) -> bytes:
    """DOT source as PNG or PDF bytes through `dot` (96 dpi for PNG, the size a browser shows the SVG at)."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"unknown chart format {fmt}")
    source = dot_source.replace("digraph msc {", 'digraph msc {\n  graph [dpi="96"];', 1) if fmt == "png" \
        else dot_source
    try:
        return graphviz.pipe("dot", fmt, source.encode("utf-8"))
    except graphviz.ExecutableNotFound as exc:
        raise RendererUnavailable(SVG_INSTALL_HINT) from exc


def require_svg_renderer() -> None:
    """Raise `RendererUnavailable` now when `dot` is missing, so a command asked for SVG fails before it
    spends minutes exploring rather than after."""
    if shutil.which("dot") is None:
        raise RendererUnavailable(SVG_INSTALL_HINT)


def msc_dot(trace: Trace, show_state: bool = False) -> str:
    """The chart as DOT source with every position fixed: the same trace always gives the same text."""
    return _emit(layout(trace, show_state))


# ------------------------------------------------------------------------------------------ emitting


def _emit(lay: Layout) -> str:
    """The DOT text: graph settings with the verdict on top, the cycle band, lanes, cells, arrows, labels,
    the legend, in that order (edges are drawn first, so boxes and labels lie on top of their lines)."""
    trace, chart, geo = lay.trace, lay.chart, lay.geo
    lines = [
        "digraph msc {",
        "  " + _stmt("graph", {
            "layout": "nop2", "splines": "line", "outputorder": "edgesfirst", "bgcolor": "white",
            "pad": "0.25", "fontname": _FONT, "fontsize": "11", "labelloc": "t", "labeljust": "l",
            "label": _Html(_title_html(trace)), "tooltip": f"{trace.model}: {trace.property}"}),
        "  " + _stmt("node", {"fontname": _FONT, "fontsize": "10", "shape": "point", "width": "0.01",
                              "height": "0.01", "label": "", "color": LIFELINE}),
        "  " + _stmt("edge", {"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7"}),
    ]
    body = _cycle_band(chart, geo) + _lanes_and_cells(chart, geo) + _margins(chart, geo)
    body += _arrows(chart, geo, lay.labels) + _link_edges(chart, geo) + _legend(chart, geo)
    lines += ["  " + line for line in body]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title_html(trace: Trace) -> str:
    """The verdict above the chart: the violated property, its formula, the model, and the reason, once."""
    formula = f" &#8212; {_html(trace.formula)}" if trace.formula and trace.formula != trace.property else ""
    rows = [f'<tr><td align="left"><font point-size="13" color="{ATTACKER_RED}"><b>violated:</b></font>'
            f'<font point-size="13"> <b>{_html(trace.property)}</b>{formula}</font>'
            f'<font color="{GREY}">   ({_html(trace.model)})</font></td></tr>']
    rows += [f'<tr><td align="left">{_html(line)}</td></tr>' for line in wrap(trace.reason, 110)]
    return '<table border="0" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>"


def _pos(x: float, y: float) -> str:
    """A Graphviz position in points (Graphviz's y grows upwards)."""
    return f"{x + 0.0:.1f},{0.0 - y:.1f}"  # + 0.0: never print "-0.0"


def _inches(points: float) -> str:
    return f"{points / 72:.3f}"


def _cell_name(cell: tuple[int, int]) -> str:
    return f"c{cell[0]}_{cell[1]}"


def _lanes_and_cells(chart: Chart, geo: Geometry) -> list[str]:
    """Every cell as a node at its place, then each lane's lifeline from its header to its end (or to the
    cross under its crash)."""
    out = []
    for key in sorted(chart.cells):
        cell = chart.cells[key]
        attrs = {"pos": _pos(*geo.at(key))} | dict(cell.style)
        if cell.lines:  # sized as the layout measured it, so the box is where the layout thinks it is
            w, h = cell.size
            attrs |= {"label": _Html(_block_html(cell.lines)), "width": _inches(w), "height": _inches(h),
                      "fixedsize": "true"}
        else:
            attrs |= {"width": f"{cell.point:g}", "height": f"{cell.point:g}"}
        out.append(_stmt(_cell_name(key), attrs))
    last = chart.rows - 1
    for col, (_top, bottom) in lifelines(chart, geo).items():
        end = _cell_name((col, last))
        if col in chart.crashed:
            end = f"crash{col}"
            out.append(_stmt(end, {"pos": _pos(*bottom), "shape": "plaintext", "margin": "0", "width": "0",
                                   "height": "0", "id": f"crash{col}",
                                   "label": _Html('<font point-size="18" color="black"><b>&#215;</b></font>')}))
        out.append(f"{_cell_name((col, 0))} -> {end} "
                   + _attrs({"id": f"lifeline{col}", "arrowhead": "none", "color": LIFELINE}) + ";")
    return out


def _margins(chart: Chart, geo: Geometry) -> list[str]:
    """Step numbers and times on the left, aligned with their rows."""
    return [_stmt(f"m{row}", {"shape": "plaintext", "pos": _pos(0.0, geo.row_y[row]), "margin": "0",
                              "width": "0", "height": "0", "label": _Html(_block_html(lines))})
            for row, lines in sorted(chart.margin.items()) if lines]


def _arrows(chart: Chart, geo: Geometry, labels: Mapping[int, tuple[float, float]]) -> list[str]:
    """Exactly one edge with `id="msgN"` per message (scripts and tests find it in the SVG), its end
    marker when it never arrived, a bend point for a message to oneself, and its label."""
    out = []
    for arrow in chart.arrows:
        msg = arrow.msg
        path = geo.path(arrow)
        tail = _cell_name(arrow.tail)
        attrs = {"id": f"msg{msg.id}"} | arrow_attrs(arrow.style) | {"tooltip": _message_tooltip(msg)}
        if arrow.head is None:
            head = f"end{msg.id}"
            out.append(_stmt(head, {"pos": _pos(*path[-1]), "id": f"end{msg.id}"} | _end_marker(arrow.end_kind)))
            attrs["arrowhead"] = "none" if arrow.end_kind in ("lost", "dropped") else "empty"
        else:
            head = _cell_name(arrow.head)
        if len(path) == 3:
            via = f"via{msg.id}"
            out.append(_stmt(via, {"pos": _pos(*path[1]), "style": "invis"}))
            bend = {k: v for k, v in attrs.items() if k != "id"} | {"arrowhead": "none", "id": f"bend{msg.id}"}
            out.append(f"{tail} -> {via} {_attrs(bend)};")
            tail = via
        out.append(f"{tail} -> {head} {_attrs(attrs)};")
        ground = _ground(chart, geo, labels[msg.id])
        box = label_rect(labels[msg.id], *block_size(arrow.label))
        out.append(_stmt(f"label{msg.id}", {
            "shape": "box", "pos": _pos(*labels[msg.id]), "style": "filled", "fillcolor": ground,
            "color": ground, "penwidth": "0", "width": _inches(box.x1 - box.x0), "height": _inches(box.y1 - box.y0),
            "fixedsize": "true", "id": f"label-msg{msg.id}", "label": _Html(_block_html(arrow.label)),
            "tooltip": attrs["tooltip"]}))
    return out


def _ground(chart: Chart, geo: Geometry, at: tuple[float, float]) -> str:
    """The colour under a point: the cycle band's inside the band, else white (labels blend in)."""
    if chart.cycle is not None:
        left, top, right, bottom = cycle_bounds(chart, geo)
        if left < at[0] < right and top < at[1] < bottom:
            return CYCLE_FILL
    return "white"


def _end_marker(kind: str | None) -> dict[str, str]:
    """A cross where a lost or dropped message dies; a small open circle where a pending one waits."""
    if kind in ("lost", "dropped"):
        colour = CAPABILITY_COLOURS["drop"] if kind == "dropped" else LOST
        return {"shape": "plaintext", "margin": "0", "width": "0", "height": "0",
                "label": _Html(f'<font point-size="16" color="{colour}"><b>&#215;</b></font>')}
    return {"shape": "circle", "width": "0.09", "height": "0.09", "fixedsize": "true", "color": "black",
            "style": "filled", "fillcolor": "white"}


def _message_tooltip(msg: Message) -> str:
    """Everything about a message, unwrapped, for hovering in a browser."""
    parts = [f"#{msg.id} {msg.text}", f"to {msg.addressee or msg.receiver} ({fate_words(msg)})"]
    if msg.capability:
        parts.append(f"injected by {msg.capability}, claimed sender {msg.sender}")
    if msg.derivation:
        parts.append(f"derivation: {msg.derivation}")
    return "\n".join(parts)


def _link_edges(chart: Chart, geo: Geometry) -> list[str]:
    """The attacker's dotted links: from a small dot on the tapped arrow to the eavesdropper, and from
    the attacker to the cross of the message it dropped."""
    paths = {a.msg.id: geo.path(a) for a in chart.arrows}
    out = []
    for link in chart.links:
        style = {"id": link.name} | link_attrs(link.kind) | {"tooltip": f"{link.kind} #{link.msg_id}"}
        if link.kind == "eavesdrop":
            tap = f"tap{link.cell[1]}_{link.msg_id}"
            out.append(_stmt(tap, {"pos": _pos(*link_points(link, geo, paths)[0]), "shape": "point",
                                   "width": "0.06", "height": "0.06", "color": style["color"]}))
            out.append(f"{tap} -> {_cell_name(link.cell)} {_attrs(style | {'arrowhead': 'normal'})};")
        else:
            out.append(f"{_cell_name(link.cell)} -> end{link.msg_id} {_attrs(style | {'arrowhead': 'none'})};")
    return out


def _cycle_band(chart: Chart, geo: Geometry) -> list[str]:
    """A coloured band behind the rows of a lasso's cycle (a cluster: Graphviz draws it below everything),
    titled in its corner, with an arrow up its right edge back to the cycle's first step; two invisible
    corner points keep it inside the drawing."""
    if chart.cycle is None:
        return []
    left, top, right, bottom = cycle_bounds(chart, geo)
    x, y, _w, _h = cycle_title_box(chart, geo)
    (bx, by0), (_bx, by1) = cycle_back(chart, geo)
    bb = f"{left:.1f},{-bottom:.1f},{right:.1f},{-top:.1f}"
    first = next(s for s, r in chart.step_rows.items() if r == chart.cycle[0])
    return [
        "subgraph cluster_cycle {",
        "  " + _stmt("graph", {"bb": bb, "style": "filled", "fillcolor": CYCLE_FILL, "color": CYCLE_BORDER,
                               "penwidth": "1.2", "label": "", "id": "cycle"}),
        "}",
        _stmt("cycle_tl", {"pos": _pos(left, top), "style": "invis"}),
        _stmt("cycle_br", {"pos": _pos(right, bottom), "style": "invis"}),
        _stmt("cycle_title", {"shape": "plaintext", "pos": _pos(x, y), "margin": "0", "width": "0",
                              "height": "0", "label": _Html(_block_html(cycle_title(chart)))}),
        _stmt("back_from", {"pos": _pos(bx, by0), "style": "invis"}),
        _stmt("back_to", {"pos": _pos(bx, by1), "style": "invis"}),
        "back_from -> back_to " + _attrs({"id": "cycle-back", "color": CYCLE_BORDER, "penwidth": "1.8",
                                          "arrowsize": "0.9", "tooltip": f"back to step {first}"}) + ";",
    ]


def _legend(chart: Chart, geo: Geometry) -> list[str]:
    """The legend under the chart: each sample drawn with the very attributes of what it explains."""
    items, frame = legend_layout(chart, geo)
    if frame is None:
        return []
    bb = f"{frame.x0:.1f},{-frame.y1:.1f},{frame.x1:.1f},{-frame.y0:.1f}"
    out = ["subgraph cluster_legend {",
           "  " + _stmt("graph", {"bb": bb, "style": "rounded", "color": "#cccccc", "label": "", "id": "legend"}),
           "}"]
    for k, item in enumerate(items):
        a, b = f"legend{k}a", f"legend{k}b"
        end: dict[str, str] = {"style": "invis"}
        if item.marker is not None:
            end = _end_marker(item.marker)
        style = arrow_attrs(item.style) if item.style is not None else link_attrs(item.link or "eavesdrop")
        if item.marker in ("lost", "dropped"):
            style = style | {"arrowhead": "none"}
        elif item.marker == "pending":
            style = style | {"arrowhead": "empty"}
        box = item.text_box
        out += [
            _stmt(a, {"pos": _pos(item.x, item.y), "style": "invis"}),
            _stmt(b, {"pos": _pos(item.x + 30, item.y)} | end),
            f"{a} -> {b} {_attrs({'id': f'legend-{item.key}'} | style)};",
            _stmt(f"legend{k}t", {"shape": "plaintext", "pos": _pos((box.x0 + box.x1) / 2, item.y), "margin": "0",
                                  "width": "0", "height": "0", "fontsize": "9", "label": _Html(_html(item.text))}),
        ]
    return out


# ------------------------------------------------------------------------------------------- helpers


class _Html(str):
    """A value already in Graphviz's HTML-like label syntax: emitted between `<` and `>`, never quoted."""


def _block_html(lines: Block) -> str:
    """A block of lines as an HTML-like label; every run's text escaped."""
    return "<br/>".join("".join(_run_html(r) for r in line) for line in lines)


def _run_html(run: TextRun) -> str:
    text = _html(run.text)
    if text.startswith(" "):  # Graphviz drops a plain space at the start of a run after <b> or <font>
        text = "&#160;" + text[1:]
    if run.bold:
        text = f"<b>{text}</b>"
    if run.italic:
        text = f"<i>{text}</i>"
    attrs = f' point-size="{run.size:g}"' if run.size != 10.0 else ""
    attrs += f' color="{run.colour}"' if run.colour else ""
    return f"<font{attrs}>{text}</font>" if attrs else text


def _html(text: str) -> str:
    """Model text made safe inside an HTML-like label: XML-escaped, control characters dropped, newlines
    turned into line breaks, and backslashes doubled (Graphviz expands `\\N`, `\\G`, ... even there)."""
    lines = clean(text).split("\n")
    return "<br/>".join(html.escape(line, quote=True).replace("\\", "\\\\") for line in lines)


def _tooltip(text: str) -> str:
    """Model text for a tooltip, a plain DOT string that Graphviz unescapes twice and scans for `\\N`-style
    escapes and XML entities: `&` pre-escaped, backslashes quadrupled, newlines as `\\n`."""
    cleaned = clean(text).replace("&", "&amp;").replace("\\", "\\\\\\\\")
    return cleaned.replace('"', '\\"').replace("\n", "\\n")


def _attrs(attrs: Mapping[str, str]) -> str:
    """`[key="value", ...]` in the order given (insertion order keeps the DOT deterministic)."""
    return "[" + ", ".join(f"{k}={_value(k, v)}" for k, v in attrs.items()) + "]"


def _value(key: str, value: str) -> str:
    """An attribute value in DOT syntax: HTML-like labels between `<>`, tooltips (which may hold model
    text) through `_tooltip`, anything else as a quoted string with quotes and backslashes escaped."""
    if isinstance(value, _Html):
        return f"<{value}>"
    if key == "tooltip":
        return f'"{_tooltip(value)}"'
    return '"' + clean(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stmt(name: str, attrs: Mapping[str, str]) -> str:
    """One node statement (or a `graph`/`node`/`edge` default)."""
    return f"{name} {_attrs(attrs)};"

