"""Message-sequence charts of counterexamples: DOT source (pure, golden-testable) and SVG (through `dot`).

Why wolf lays the chart out itself: Graphviz's `dot` engine keeps a grid of lanes and rows straight, but it
routes a `constraint=false` arrow that spans several rows through virtual nodes at the far edge of the
graph and puts its label there too, so a 20-step run becomes the tangle users hate in attack graphs. A
sequence chart needs little layout: lanes are columns, steps are rows, arrows are straight lines. So this
module computes every position (a grid of one node per (lane, row), lanes spaced so the labels fit, rows
spaced so they do not collide) and hands Graphviz pinned positions (`layout=nop2`, straight `splines=line`):
`dot` only draws, and the DOT stays a pure, deterministic function of the trace.

Labels sit on their arrow, on a white ground, at the first spot along it (from the middle outwards) that
covers no other label, box or arrow end; when no spot is free the rows the arrow spans are spaced further
apart and the placement runs again (rows are also spaced, a bounded amount, where an arrow would pass behind
a box or a label would have to sit on another arrow). Text widths are estimated from Helvetica's metrics, and the chart is set
in Arial, which has the same metrics: browsers have it, and Graphviz's Pango resolves it to the
metric-compatible Liberation Sans (its "Helvetica" becomes the wider DejaVu Sans).

Why HTML-like labels: every string that comes from a model (lane names, terms, notes) is untrusted;
XML-escaping it in one place (`_html`, which also doubles backslashes: Graphviz expands `\\N` even inside
HTML labels) is simpler to get right than DOT's record and escString rules, and the SVG then carries it as
text. Tooltips are the only plain strings holding model text, quoted by `_tooltip`.

This is the only module of wolf that imports `graphviz`.
"""
from __future__ import annotations

import html
import shutil
import textwrap
import unicodedata
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import graphviz

from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE, Message, Step, Trace

#: One colour per attacker capability; the active ones (those that inject) are red-ish, as design.md asks.
CAPABILITY_COLOURS: Mapping[str, str] = MappingProxyType({
    "eavesdrop": "#1f6fb4",   # blue: passive, it only copies
    "drop": "#6a3d9a",        # purple: a message disappears
    "modify": "#d62728",      # red
    "replay": "#e6550d",      # orange
    "masquerade": "#b0157a",  # crimson-magenta
})
_INJECTED_DEFAULT = "#d62728"
_LIFELINE = "#a0a0a0"
_LOST = "#444444"
_STATE = "#35608a"
_GREY = "#777777"
_CYCLE_FILL = "#fff3dc"
_CYCLE_BORDER = "#e0a040"
_CYCLE_TEXT = "#9a5a00"
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


def require_svg_renderer() -> None:
    """Raise `RendererUnavailable` now when `dot` is missing, so a command asked for SVG fails before it
    spends minutes exploring rather than after."""
    if shutil.which("dot") is None:
        raise RendererUnavailable(SVG_INSTALL_HINT)


def msc_dot(trace: Trace, show_state: bool = False) -> str:
    """The chart as DOT source with every position fixed: the same trace always gives the same text."""
    chart = _chart(trace, show_state)
    extra: tuple[float, ...] = (0.0,) * chart.rows
    geometry = _geometry(chart, extra)
    placement = _place_labels(chart, geometry)
    for round_ in range(_MAX_SPREAD_ROUNDS):
        wanted = placement.occluded | (placement.soft if round_ < _SOFT_SPREAD_ROUNDS else frozenset())
        grow = placement.hard | {r for r in wanted if extra[r] < _MAX_SPREAD}
        if not grow:
            break
        extra = tuple(e + _SPREAD_STEP if r in grow else e for r, e in enumerate(extra))
        geometry = _geometry(chart, extra)
        placement = _place_labels(chart, geometry)
    return _emit(trace, chart, geometry, placement.labels)


# ------------------------------------------------------------------------------------- text and sizes

#: Helvetica advance widths (1/1000 em) of the printable ASCII characters, space to tilde.
_HELVETICA = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015,
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
    722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
    556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)


@dataclass(frozen=True)
class _Run:
    """A piece of text in one style; lines of runs are both measured and rendered, so they agree."""

    text: str
    size: float = 10.0
    bold: bool = False
    italic: bool = False
    colour: str | None = None


_Line = tuple[_Run, ...]


def _char_width(ch: str) -> float:
    """Advance width of a character in em, Helvetica for ASCII, a safe guess for the rest."""
    code = ord(ch)
    if 32 <= code < 127:
        return _HELVETICA[code - 32] / 1000
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62


def _run_width(run: _Run) -> float:
    """Estimated width of a run in points (bold is about 8% wider; 5% to spare for rounding)."""
    return sum(_char_width(c) for c in run.text) * run.size * (1.08 if run.bold else 1.0) * 1.05


def _block_size(lines: tuple[_Line, ...]) -> tuple[float, float]:
    """Width and height in points of a block of lines, as Graphviz will typeset it."""
    width = max((sum(_run_width(r) for r in line) for line in lines), default=0.0)
    height = sum(1.2 * max((r.size for r in line), default=10.0) for line in lines)
    return width, height


def _block_html(lines: tuple[_Line, ...], left: bool = False) -> str:
    """A block of lines as an HTML-like label; every run's text escaped."""
    brk = '<br align="left"/>' if left else "<br/>"
    return brk.join("".join(_run_html(r) for r in line) for line in lines) + (brk if left else "")


def _run_html(run: _Run) -> str:
    text = _html(run.text)
    if run.bold:
        text = f"<b>{text}</b>"
    if run.italic:
        text = f"<i>{text}</i>"
    attrs = f' point-size="{run.size:g}"' if run.size != 10.0 else ""
    attrs += f' color="{run.colour}"' if run.colour else ""
    return f"<font{attrs}>{text}</font>" if attrs else text


def _wrapped(text: str, width: int, **style: object) -> tuple[_Line, ...]:
    """Model text as lines of one style, wrapped at spaces only (a term is never cut inside a word)."""
    return tuple((_Run(line, **style),) for line in _wrap(text, width))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- the chart


@dataclass(frozen=True)
class _Cell:
    """What sits on a lane at a row: a box of text, or a point when `lines` is empty."""

    lane: int
    row: int
    lines: tuple[_Line, ...] = ()
    style: Mapping[str, str] = field(default_factory=dict)
    point: float = 0.01  # diameter in inches when drawn as a point

    @property
    def size(self) -> tuple[float, float]:
        """Estimated size in points (the box's text plus its margins)."""
        if not self.lines:
            return (self.point * 72, self.point * 72)
        w, h = _block_size(self.lines)
        return (w + 12, h + 8)


@dataclass(frozen=True)
class _Arrow:
    """One message: from a cell to a cell, or to its end marker (a cross or a stub) between two lanes.

    A message that never arrived ends in the gap `end_gap` (gap k lies between lanes k and k + 1; -1 for a
    message to oneself, which ends right of its lane) at `end_row`, in slot `end_slot` = (k, n): the k-th
    of n markers that share that gap and row, spread evenly across it.
    """

    msg: Message
    tail: tuple[int, int]                 # (lane, row)
    head: tuple[int, int] | None          # None: the message never arrived
    towards: int                          # the receiver's lane, whether or not it arrived
    label: tuple[_Line, ...]
    colour: str
    dashed: bool
    end_row: int = 0
    end_gap: int = -1
    end_slot: tuple[int, int] = (0, 1)


@dataclass(frozen=True)
class _Link:
    """A dotted line between an attacker step and a message it acts on without receiving it: an
    eavesdrop taps the message's arrow at the step's row, a drop points at the message's cross."""

    name: str
    kind: str                             # eavesdrop | drop
    cell: tuple[int, int]                 # the attacker step's cell
    msg_id: int


@dataclass(frozen=True)
class _Chart:
    """Everything the chart shows, placed on the grid but not yet measured out in points."""

    lanes: tuple[str, ...]
    rows: int                             # header row 0, [initial row], step rows, end row
    step_rows: Mapping[int, int]          # step index -> row
    cells: Mapping[tuple[int, int], _Cell]
    arrows: tuple[_Arrow, ...]
    links: tuple[_Link, ...]
    margin: Mapping[int, tuple[_Line, ...]]   # row -> step number and time
    notes: Mapping[int, tuple[_Line, ...]]    # row -> the engine's note
    cycle: tuple[int, int] | None             # first and last row of a lasso's cycle


def _chart(trace: Trace, show_state: bool) -> _Chart:
    """Decide what goes where on the grid: columns, rows, cells, arrows, links and margin texts."""
    lanes = _lanes(trace)
    has_init = show_state and any(changes for _, changes in trace.initial)
    first = 2 if has_init else 1
    step_rows = {step.index: first + k for k, step in enumerate(trace.steps)}
    rows = first + len(trace.steps) + 1
    cells: dict[tuple[int, int], _Cell] = {}
    for col, lane in enumerate(lanes):
        cells[(col, 0)] = _header_cell(col, lane)
        cells[(col, rows - 1)] = _Cell(col, rows - 1)
    if has_init:
        for lane, changes in trace.initial:
            if lane in lanes and changes:
                items = [f"{c.name}={c.new}" for c in changes]
                cells[(lanes.index(lane), 1)] = _Cell(lanes.index(lane), 1, _state_lines(items), _NOTE_STYLE)
    for step in trace.steps:
        if step.actor in lanes:
            col, row = lanes.index(step.actor), step_rows[step.index]
            cells[(col, row)] = _step_cell(col, row, step, show_state)
    arrows = _spread_ends(tuple(_arrow(trace, lanes, step_rows, m, rows - 1) for m in trace.messages))
    for arrow in arrows:
        for end in (arrow.tail, arrow.head):
            if end is not None and end not in cells:
                cells[end] = _Cell(*end)
    links = _links(trace, lanes, step_rows, arrows)
    margin = {0: ()} | {step_rows[s.index]: _margin_lines(s) for s in trace.steps}
    if has_init:
        margin[1] = ((_Run("init", 9, italic=True, colour=_GREY),),)
    notes = {step_rows[s.index]: _wrapped(s.note, 44, size=9, italic=True, colour="#555555")
             for s in trace.steps if s.note}
    cycle = None
    if trace.loop_start is not None and trace.loop_start in step_rows:
        cycle = (step_rows[trace.loop_start], rows - 2)
    return _Chart(lanes, rows, step_rows, cells, arrows, links, margin, notes, cycle)


def _lanes(trace: Trace) -> tuple[str, ...]:
    """The trace's lanes in order, any actor or receiver it forgot appended, the attacker in the middle.

    The attacker sits between the two halves of the honest lanes (between A and B in a two-role protocol),
    which keeps its arrows short; it appears only when it acts or receives, as the design asks.
    """
    honest = [lane for lane in trace.lanes if lane != ATTACKER_LANE]
    named = [s.actor for s in trace.steps if s.kind != "lose"] + [m.receiver for m in trace.messages]
    named += [_origin(trace, m) for m in trace.messages]
    for name in named:
        if name not in honest and name != ATTACKER_LANE:
            honest.append(name)
    if ATTACKER_LANE in named:
        honest.insert((len(honest) + 1) // 2, ATTACKER_LANE)
    return tuple(honest)


def _origin(trace: Trace, msg: Message) -> str:
    """The lane that really sent a message: the actor of its sending step (the attacker for a forgery),
    not the sender it claims to come from."""
    for step in trace.steps:
        if step.index == msg.sent_at:
            return step.actor
    return msg.sender


_NOTE_STYLE: Mapping[str, str] = MappingProxyType(
    {"shape": "note", "style": "filled", "fillcolor": "#fffbe6", "color": "#b0a060"})


def _header_cell(col: int, lane: str) -> _Cell:
    """The box at the top of a lane with its name; the attacker's is red."""
    attacker = lane == ATTACKER_LANE
    colour = "#a01010" if attacker else None
    style = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde8e8" if attacker else "#f2f2f2",
             "color": _INJECTED_DEFAULT if attacker else "#555555", "id": f"lane{col}", "class": "lane",
             "tooltip": lane}
    return _Cell(col, 0, tuple((_Run(line, 10, bold=True, colour=colour),) for line in _wrap(lane, 28)), style)


def _step_cell(col: int, row: int, step: Step, show_state: bool) -> _Cell:
    """How a step looks on its lane.

    Receipts are the head of their arrow and need no box (the arrow's label already says what arrived);
    internal and send steps show their action; attacker steps their capability in its colour; a crash is
    black. With `show_state` the new values of what the step changed are added in a smaller font.
    """
    title = _step_title(step)
    state = _state_lines([f"{c.name}={c.new}" for c in step.changes]) if show_state and step.changes else ()
    tip = _step_tooltip(step)
    if not title and not state:
        if step.kind == "receive":
            return _Cell(col, row, (), {"color": "#333333", "tooltip": tip}, point=0.07)
        return _Cell(col, row, (), {"tooltip": tip})
    style = {"shape": "box", "style": "rounded,filled", "fillcolor": "white", "color": "#555555",
             "id": f"step{step.index}", "tooltip": tip}
    if step.kind in ATTACKER_KINDS:
        colour = CAPABILITY_COLOURS.get(step.kind, _INJECTED_DEFAULT)
        style |= {"color": colour, "fillcolor": _tint(colour), "penwidth": "1.5"}
    elif step.kind == "crash":
        style |= {"fillcolor": "#333333", "color": "black"}
    elif not title:
        style |= dict(_NOTE_STYLE)
    return _Cell(col, row, title + state, style)


def _step_title(step: Step) -> tuple[_Line, ...]:
    """The text lines of a step box; none for receipts and losses (their arrow tells it)."""
    if step.kind in ATTACKER_KINDS:
        colour = CAPABILITY_COLOURS.get(step.kind, _INJECTED_DEFAULT)
        return ((_Run(step.kind, 10, bold=True, colour=colour),),) + _wrapped(step.text, 30)
    if step.kind in ("receive", "lose"):
        return ()
    if step.kind == "crash":
        return ((_Run("crash", 10, bold=True, colour="white"),),) + _wrapped(step.text, 30, colour="white")
    return _wrapped(step.text, 30)


def _state_lines(items: list[str]) -> tuple[_Line, ...]:
    """`clock=2, queue={(1,0)}` in a small blue font, wrapped between items."""
    return tuple((_Run(line, 9, colour=_STATE),) for line in wrap_items(items, 34))


def _step_tooltip(step: Step) -> str:
    """The full, unwrapped step for hovering in a browser."""
    parts = [f"step {step.index}: {step.actor} ({step.kind}) {step.text}"]
    parts += [f"{c.name}: {c.old} -> {c.new}" for c in step.changes]
    return "\n".join(parts + ([step.note] if step.note else []))


def _margin_lines(step: Step) -> tuple[_Line, ...]:
    """The left margin of a step's row: its number, and its concrete time below it."""
    lines: tuple[_Line, ...] = ((_Run(str(step.index), 10, bold=True, colour="#555555"),),)
    if step.time:
        lines += ((_Run(_time(step.time), 9, colour="#1f6fb4"),),)
    return lines


def _arrow(trace: Trace, lanes: tuple[str, ...], step_rows: Mapping[int, int], msg: Message,
           end_row: int) -> _Arrow:
    """An honest message is solid black; an injected one dashed in its capability's colour.

    A lost or dropped message stops at the step that lost or dropped it; a pending one, or one whose loss
    no step records, is a short stub that stops one row below its send (a long arrow to the bottom would
    cross the whole chart to say only "never arrived"). Either ends in the gap next to its receiver on the
    way there, never on a lane.
    """
    origin = _origin(trace, msg)
    sent = step_rows.get(msg.sent_at, min(step_rows.values(), default=1))
    tail, towards = (lanes.index(origin), sent), lanes.index(msg.receiver)
    colour = CAPABILITY_COLOURS.get(msg.capability, _INJECTED_DEFAULT) if msg.capability else "black"
    arrow = _Arrow(msg, tail, None, towards, _message_label(trace, msg), colour, msg.capability is not None)
    if msg.received_at is not None and msg.received_at in step_rows:
        return replace(arrow, head=(towards, step_rows[msg.received_at]))
    stop = next((step_rows[s.index] for s in trace.steps
                 if msg.id in s.receives and s.kind in ("lose", "drop") and s.index in step_rows), None)
    if stop is None:
        stop = min(sent + 1, end_row)
    if towards == tail[0]:
        gap = -1
    else:
        gaps = range(min(tail[0], towards), max(tail[0], towards))
        gap = gaps[len(gaps) // 2] if tail[0] < towards else gaps[(len(gaps) - 1) // 2]
    return replace(arrow, end_row=stop, end_gap=gap)


def _spread_ends(arrows: tuple[_Arrow, ...]) -> tuple[_Arrow, ...]:
    """Give end markers that share a gap and a row distinct slots, so no cross hides another."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for a in arrows:
        if a.head is None:
            key = (a.end_gap, a.end_row, a.tail[0] if a.end_gap == -1 else 0)
            groups.setdefault(key, []).append(a.msg.id)
    out = []
    for a in arrows:
        if a.head is None:
            ids = groups[(a.end_gap, a.end_row, a.tail[0] if a.end_gap == -1 else 0)]
            a = replace(a, end_slot=(ids.index(a.msg.id), len(ids)))
        out.append(a)
    return tuple(out)


def _message_label(trace: Trace, msg: Message) -> tuple[_Line, ...]:
    """The term with its id in grey; for an injection the capability, a claimed sender that differs from
    the real one and the derivation; for a message that never arrived, its fate."""
    lines = list(_wrapped(msg.text, 34))
    lines[-1] = lines[-1] + (_Run(f" #{msg.id}", 8, colour="#888888"),)
    if msg.capability:
        colour = CAPABILITY_COLOURS.get(msg.capability, _INJECTED_DEFAULT)
        claim = f" (sent as {msg.sender})" if msg.sender != _origin(trace, msg) else ""
        lines.append((_Run(msg.capability, 9, bold=True, colour=colour), _Run(claim, 9, colour=colour)))
    if msg.derivation:
        lines += _wrapped(msg.derivation, 40, size=8, colour="#555555")
    if msg.received_at is None and msg.fate != "delivered":
        lines.append((_Run(_fate(msg), 8, italic=True, colour="#555555"),))
    return tuple(lines)


def _links(trace: Trace, lanes: tuple[str, ...], step_rows: Mapping[int, int],
           arrows: tuple[_Arrow, ...]) -> tuple[_Link, ...]:
    """Dotted lines that tie an attacker step to a message it does not itself receive: an eavesdrop's
    copy (from the message's arrow to the attacker) and a drop (from the attacker to the cross)."""
    by_id = {a.msg.id: a for a in arrows}
    out = []
    for step in trace.steps:
        if step.kind not in ("eavesdrop", "drop") or step.actor not in lanes:
            continue
        here = (lanes.index(step.actor), step_rows[step.index])
        for msg_id in step.receives:
            arrow = by_id.get(msg_id)
            if arrow is None or arrow.msg.received_at == step.index:
                continue
            if step.kind == "eavesdrop" or arrow.head is None:
                out.append(_Link(f"{step.kind}{step.index}-{msg_id}", step.kind, here, msg_id))
    return tuple(out)


# ------------------------------------------------------------------------------------------ geometry

_MIN_LANE_PITCH = 90.0     # lane centre to lane centre, in points
_MIN_ROW_PITCH = 30.0
_ROW_GAP = 12.0            # between the boxes of two consecutive rows
_LABEL_PAD = 14.0          # around a label between two lifelines
_SPREAD_STEP = 10.0        # extra space per round below rows whose labels found no free spot
_MAX_SPREAD_ROUNDS = 24
_MAX_SPREAD = 60.0         # bound on the growth of a gap for anything but a label that found no free spot
_SOFT_SPREAD_ROUNDS = 3    # rounds that also spread rows where a label had to sit on another arrow
_CYCLE_HEAD = 18.0         # room above a cycle for its band's title
_SELF_LOOP = 45.0          # how far a message to oneself swings out to the right


@dataclass(frozen=True)
class _Geometry:
    """Positions in points, y growing downwards: lane centres, row centres and heights, the notes column."""

    lane_x: tuple[float, ...]
    row_y: tuple[float, ...]
    row_h: tuple[float, ...]
    notes_left: float

    def at(self, cell: tuple[int, int]) -> tuple[float, float]:
        """The centre of a cell."""
        return (self.lane_x[cell[0]], self.row_y[cell[1]])

    def path(self, arrow: _Arrow) -> tuple[tuple[float, float], ...]:
        """The points an arrow passes: straight from tail to head (or to its end marker halfway to the
        receiver); a message to oneself swings out to the right through a middle point."""
        start = self.at(arrow.tail)
        if arrow.head is None:
            k, n = arrow.end_slot
            if arrow.end_gap == -1:
                x = start[0] + _SELF_LOOP * (k + 1)
            else:
                left, right = self.lane_x[arrow.end_gap], self.lane_x[arrow.end_gap + 1]
                x = left + (right - left) * (k + 1) / (n + 1)
            return (start, (x, self.row_y[arrow.end_row]))
        end = self.at(arrow.head)
        if arrow.head[0] == arrow.tail[0]:
            return (start, (start[0] + _SELF_LOOP, (start[1] + end[1]) / 2), end)
        return (start, end)


def _geometry(chart: _Chart, extra: tuple[float, ...]) -> _Geometry:
    """Lay the grid out in points: lanes far enough apart for their boxes and their arrows' labels, rows
    far enough apart for their boxes, plus `extra[r]` between row r and r + 1 where labels were crowded."""
    widths = [max((c.size[0] for c in chart.cells.values() if c.lane == col), default=0.0)
              for col in range(len(chart.lanes))]
    pitch = [max(_MIN_LANE_PITCH, widths[k] / 2 + widths[k + 1] / 2 + 24) for k in range(len(widths) - 1)]
    for arrow in sorted(chart.arrows, key=_span):
        weights = _gap_weights(arrow)
        need = _block_size(arrow.label)[0] + 2 * _LABEL_PAD
        have = sum(pitch[k] * w for k, w in weights.items())
        if weights and have < need:
            for k in weights:
                pitch[k] += (need - have) / sum(weights.values())
    margin_w = max((_block_size(lines)[0] for lines in chart.margin.values()), default=0.0)
    lane_x = [margin_w / 2 + 16 + (widths[0] / 2 if widths else 0.0)]
    for p in pitch:
        lane_x.append(lane_x[-1] + p)
    heights = tuple(
        max([c.size[1] for c in chart.cells.values() if c.row == r]
            + [_block_size(chart.notes.get(r, ()))[1], _block_size(chart.margin.get(r, ()))[1]])
        for r in range(chart.rows))
    row_y = [0.0]
    for r in range(1, chart.rows):
        gap = max(_MIN_ROW_PITCH, heights[r - 1] / 2 + heights[r] / 2 + _ROW_GAP) + extra[r - 1]
        if chart.cycle is not None and r == chart.cycle[0]:
            gap += _CYCLE_HEAD
        row_y.append(row_y[-1] + gap)
    notes_left = lane_x[-1] + (widths[-1] / 2 if widths else 0.0) + 24
    return _Geometry(tuple(lane_x), tuple(row_y), heights, notes_left)


def _gap_weights(arrow: _Arrow) -> dict[int, float]:
    """How much of each gap between lanes an arrow spans horizontally: whole gaps, and half of the gap
    where an undelivered message ends."""
    if arrow.head is not None:
        a, b = sorted((arrow.tail[0], arrow.head[0]))
        return {k: 1.0 for k in range(a, b)}
    if arrow.end_gap == -1:
        return {}
    a, b = sorted((arrow.tail[0], arrow.end_gap if arrow.tail[0] > arrow.end_gap else arrow.end_gap + 1))
    return {k: 0.5 if k == arrow.end_gap else 1.0 for k in range(a, b)}


def _span(arrow: _Arrow) -> tuple[int, int]:
    """Sort key: arrows between neighbouring lanes claim their space first."""
    return (abs(arrow.tail[0] - arrow.towards), arrow.msg.id)


# ---------------------------------------------------------------------------------- label placement


@dataclass(frozen=True)
class _Rect:
    """An axis-aligned rectangle, y growing downwards."""

    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def around(x: float, y: float, w: float, h: float, pad: float = 0.0) -> "_Rect":
        return _Rect(x - w / 2 - pad, y - h / 2 - pad, x + w / 2 + pad, y + h / 2 + pad)

    def overlaps(self, other: "_Rect") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def clip(self, p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float] | None:
        """The stretch (t0, t1) of the segment p-q inside the rectangle, or None (Liang-Barsky)."""
        t0, t1 = 0.0, 1.0
        dx, dy = q[0] - p[0], q[1] - p[1]
        for d, lo, hi in ((dx, self.x0 - p[0], self.x1 - p[0]), (dy, self.y0 - p[1], self.y1 - p[1])):
            if d == 0:
                if lo > 0 or hi < 0:
                    return None
                continue
            a, b = sorted((lo / d, hi / d))
            t0, t1 = max(t0, a), min(t1, b)
            if t0 > t1:
                return None
        return (t0, t1)

    def crossed_by(self, p: tuple[float, float], q: tuple[float, float]) -> bool:
        """Whether the segment p-q passes through the rectangle."""
        return self.clip(p, q) is not None


_Segment = tuple[tuple[float, float], tuple[float, float]]

#: Where along its arrow a label may go, best first: the middle, then outwards.
_SPOTS = (0.5, 0.44, 0.56, 0.38, 0.62, 0.32, 0.68, 0.26, 0.74, 0.2, 0.8, 0.15, 0.85)


@dataclass(frozen=True)
class _Placement:
    """Where the labels went, and the rows below which more room would help: `hard` where a label could
    only cover something (grown until it fits), `soft` where it had to sit on another arrow and `occluded`
    where an arrow passes behind a box (both grown a bounded amount)."""

    labels: Mapping[int, tuple[float, float]]
    hard: frozenset[int]
    soft: frozenset[int]
    occluded: frozenset[int]


@dataclass(frozen=True)
class _Surroundings:
    """What lies near one arrow, by how badly a label may cover it (see `_spot_cost`)."""

    boxes: tuple[_Rect, ...]          # must not be covered at all
    arrows: tuple[_Segment, ...]      # other arrows and the cycle band's edges: better not
    links: tuple[_Segment, ...]       # the attacker's dotted links
    lifelines: tuple[_Segment, ...]   # cheap to cover, but free spots are preferred


def _place_labels(chart: _Chart, geo: _Geometry) -> _Placement:
    """Put each message's label on its arrow where it hides nothing, leaving a visible stretch of the arrow
    on both sides of it (so it is clear which arrow it names). Labels are placed top to bottom, each one
    then an obstacle for the next."""
    boxes = _obstacles(chart, geo)
    paths = {a.msg.id: geo.path(a) for a in chart.arrows}
    links = tuple(_link_points(l, geo, paths) for l in chart.links)
    lifelines = tuple(((x, geo.row_y[0]), (x, geo.row_y[-1])) for x in geo.lane_x)
    borders: tuple[_Segment, ...] = ()
    if chart.cycle is not None:
        left, top, right, bottom = _cycle_bounds(chart, geo)
        borders = (((left, top), (right, top)), ((left, bottom), (right, bottom)))
    placed: dict[int, tuple[float, float]] = {}
    hard_rows: set[int] = set()
    soft_rows: set[int] = set()
    occluded: set[int] = set()
    for arrow in sorted(chart.arrows, key=lambda a: (a.tail[1], a.msg.id)):
        w, h = _block_size(arrow.label)
        path = paths[arrow.msg.id]
        region = _Rect(min(p[0] for p in path) - w, min(p[1] for p in path) - h,
                       max(p[0] for p in path) + w, max(p[1] for p in path) + h)
        others = [seg for i, p in paths.items() if i != arrow.msg.id for seg in zip(p, p[1:])]
        near = _Surroundings(_near_rects(region, boxes), _near_segments(region, others + list(borders)),
                             _near_segments(region, list(links)), _near_segments(region, list(lifelines)))
        ends = _end_rects(chart, geo, arrow)
        cost, spot = min((_spot_cost(path, t, w, h, ends, near), k) for k, t in enumerate(_SPOTS))
        placed[arrow.msg.id] = _along(path, _SPOTS[spot])
        boxes.append(_Rect.around(*placed[arrow.msg.id], w + 6, h + 2))
        rows = (arrow.tail[1], arrow.head[1] if arrow.head else arrow.end_row)
        if cost >= 1000:
            hard_rows.update(range(min(rows), max(rows)))
        elif cost >= 25:
            soft_rows.update(range(min(rows), max(rows)))
        occluded.update(_occluding_gaps(chart, geo, arrow, path))
    return _Placement(placed, frozenset(hard_rows), frozenset(soft_rows), frozenset(occluded))


def _spot_cost(path: tuple[tuple[float, float], ...], t: float, w: float, h: float,
               ends: tuple[_Rect, _Rect], near: _Surroundings) -> float:
    """How bad a label of size w x h would be at fraction t of its arrow: 1000 per box it covers (or if it
    hides its own arrow), 25 per other arrow under it, 10 per attacker link, 4 per lifeline, and a little
    for leaving the middle."""
    rect = _Rect.around(*_along(path, t), w + 6, h + 2)
    cost = 1000.0 * (sum(rect.overlaps(o) for o in near.boxes) + (not _leaves_arrow_visible(path, rect, ends)))
    cost += 25.0 * sum(rect.crossed_by(*seg) for seg in near.arrows)
    cost += 10.0 * sum(rect.crossed_by(*seg) for seg in near.links)
    return cost + 4.0 * sum(rect.crossed_by(*seg) for seg in near.lifelines) + 20.0 * abs(t - 0.5)


def _near_rects(region: _Rect, rects: list[_Rect]) -> tuple[_Rect, ...]:
    """The rectangles that touch a region (a cheap filter before the spot-by-spot tests)."""
    return tuple(r for r in rects if r.overlaps(region))


def _near_segments(region: _Rect, segments: list[_Segment]) -> tuple[_Segment, ...]:
    """The segments that pass through a region."""
    return tuple(seg for seg in segments if region.crossed_by(*seg))


def _occluding_gaps(chart: _Chart, geo: _Geometry, arrow: _Arrow,
                    path: tuple[tuple[float, float], ...]) -> set[int]:
    """The gaps between rows to widen so that an arrow stops passing behind a box it does not touch.

    An arrow from row a to row b crosses a box's lane at a fraction f of its way across. Widening a gap
    above the box (but below a) moves the box down and the crossing by only f of that, so the crossing
    rises past the box at rate 1 - f; widening a gap at or below the box moves the crossing down at rate
    f. The cheaper of the two, in the distance to the box's near edge, decides which gap grows.
    """
    out: set[int] = set()
    if len(path) != 2 or arrow.head is None:
        return out
    (px, py), (qx, qy) = path
    top_row, bottom_row = sorted((arrow.tail[1], arrow.head[1]))
    for key, cell in chart.cells.items():
        if not cell.lines or key in (arrow.tail, arrow.head) or not top_row <= key[1] <= bottom_row:
            continue
        x, y = geo.at(key)
        box = _Rect.around(x, y, *cell.size, pad=3)
        if box.clip((px, py), (qx, qy)) is None or qx == px:
            continue
        f = (x - px) / (qx - px)
        crossing = py + f * (qy - py)
        up = (crossing - box.y0) / (1 - f) if key[1] > top_row and f < 1 else float("inf")
        down = (box.y1 - crossing) / f if key[1] < bottom_row and f > 0 else float("inf")
        if up <= down and up < float("inf"):
            out.add(key[1] - 1)
        elif down < float("inf"):
            out.add(key[1])
    return out


_MIN_VISIBLE = 14.0  # points of an arrow that must show between its label and either end


def _leaves_arrow_visible(path: tuple[tuple[float, float], ...], rect: _Rect, ends: tuple[_Rect, _Rect]) -> bool:
    """Whether a straight arrow shows at least `_MIN_VISIBLE` points between its tail's box and the label
    and between the label and its head's box (a label that swallows its arrow names nothing)."""
    if len(path) != 2:
        return True
    p, q = path
    length = ((q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2) ** 0.5
    inside = rect.clip(p, q)
    if inside is None or length == 0:
        return True
    tail = ends[0].clip(p, q)
    head = ends[1].clip(p, q)
    leave = tail[1] if tail is not None else 0.0
    enter = head[0] if head is not None else 1.0
    return (inside[0] - leave) * length >= _MIN_VISIBLE and (enter - inside[1]) * length >= _MIN_VISIBLE


def _end_rects(chart: _Chart, geo: _Geometry, arrow: _Arrow) -> tuple[_Rect, _Rect]:
    """The boxes an arrow leaves and enters (its end marker counts as a small box)."""
    path = geo.path(arrow)
    tail = chart.cells[arrow.tail]
    head_size = chart.cells[arrow.head].size if arrow.head is not None else (10.0, 10.0)
    return (_Rect.around(*path[0], *tail.size), _Rect.around(*path[-1], *head_size))


def _along(path: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    """The point at fraction t of a path's length."""
    lengths = [((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in zip(path, path[1:])]
    goal = t * sum(lengths)
    for (a, b), length in zip(zip(path, path[1:]), lengths):
        if goal <= length and length > 0:
            f = goal / length
            return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        goal -= length
    return path[-1]


def _obstacles(chart: _Chart, geo: _Geometry) -> list[_Rect]:
    """What a label must not cover: boxes, arrow ends, end markers, margin texts, notes, the cycle title."""
    out = []
    for cell in chart.cells.values():
        w, h = cell.size
        x, y = geo.at((cell.lane, cell.row))
        out.append(_Rect.around(x, y, max(w, 10), max(h, 10), pad=2))
    for arrow in chart.arrows:
        end = geo.path(arrow)[-1]
        out.append(_Rect.around(*end, 14, 14))
    for row, lines in chart.margin.items():
        w, h = _block_size(lines)
        out.append(_Rect.around(0.0, geo.row_y[row], w, h, pad=2))
    for row, lines in chart.notes.items():
        w, h = _block_size(lines)
        out.append(_Rect(geo.notes_left, geo.row_y[row] - h / 2, geo.notes_left + w, geo.row_y[row] + h / 2))
    if chart.cycle is not None:
        x, y, w, h = _cycle_title_box(chart, geo)
        out.append(_Rect.around(x, y, w, h, pad=2))
    return out


def _link_points(link: _Link, geo: _Geometry, paths: Mapping[int, tuple[tuple[float, float], ...]]) -> _Segment:
    """Where an attacker link starts and ends: an eavesdrop runs from its tap on the message's arrow to
    the attacker; a drop from the attacker to the message's cross."""
    here = geo.at(link.cell)
    path = paths[link.msg_id]
    if link.kind == "drop":
        return (here, path[-1])
    return (_tap(path, here[1]), here)


def _tap(path: tuple[tuple[float, float], ...], y: float) -> tuple[float, float]:
    """The point of an arrow at height y (where an eavesdropper copies it in flight), or its start when
    the arrow does not pass that height (the copy was taken before or after the flight)."""
    for p, q in zip(path, path[1:]):
        if min(p[1], q[1]) < y < max(p[1], q[1]):
            f = (y - p[1]) / (q[1] - p[1])
            return (p[0] + f * (q[0] - p[0]), y)
    return path[0]


# ------------------------------------------------------------------------------------------ emitting


def _emit(trace: Trace, chart: _Chart, geo: _Geometry, labels: Mapping[int, tuple[float, float]]) -> str:
    """The DOT text: graph settings, the cycle band, lanes, cells, arrows, labels, legend, in that order
    (edges are drawn first, so boxes and labels lie on top of the lines they interrupt)."""
    lines = [
        "digraph msc {",
        "  " + _stmt("graph", {
            "layout": "nop2", "splines": "line", "outputorder": "edgesfirst", "bgcolor": "white",
            "pad": "0.25", "fontname": _FONT, "fontsize": "11", "labelloc": "b", "labeljust": "l",
            "label": _Html(_footer_html(trace)), "tooltip": f"{trace.model}: {trace.property}"}),
        "  " + _stmt("node", {"fontname": _FONT, "fontsize": "10", "shape": "point", "width": "0.01",
                              "height": "0.01", "label": "", "color": _LIFELINE}),
        "  " + _stmt("edge", {"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7"}),
    ]
    body = _cycle_band(chart, geo) + _lanes_and_cells(chart, geo) + _margins(chart, geo)
    body += _arrows(chart, geo, labels) + _link_edges(chart, geo) + _legend(trace, chart, geo)
    lines += ["  " + line for line in body]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _pos(x: float, y: float) -> str:
    """A Graphviz position in points (Graphviz's y grows upwards)."""
    return f"{x + 0.0:.1f},{0.0 - y:.1f}"  # + 0.0: never print "-0.0"


def _cell_name(cell: tuple[int, int]) -> str:
    return f"c{cell[0]}_{cell[1]}"


def _lanes_and_cells(chart: _Chart, geo: _Geometry) -> list[str]:
    """Every cell as a node at its place, then each lane's lifeline from its header to its end."""
    out = []
    for key in sorted(chart.cells):
        cell = chart.cells[key]
        attrs = {"pos": _pos(*geo.at(key))} | dict(cell.style)
        if cell.lines:
            attrs |= {"label": _Html(_block_html(cell.lines)), "margin": "0.08,0.04", "width": "0.1",
                      "height": "0.1"}
        else:
            attrs |= {"width": f"{cell.point:g}", "height": f"{cell.point:g}"}
        out.append(_stmt(_cell_name(key), attrs))
    last = chart.rows - 1
    out += [f"{_cell_name((col, 0))} -> {_cell_name((col, last))} "
            + _attrs({"id": f"lifeline{col}", "arrowhead": "none", "color": _LIFELINE}) + ";"
            for col in range(len(chart.lanes))]
    return out


def _margins(chart: _Chart, geo: _Geometry) -> list[str]:
    """Step numbers and times on the left, the engine's notes on the right, aligned with their rows."""
    out = [_stmt(f"m{row}", {"shape": "plaintext", "pos": _pos(0.0, geo.row_y[row]), "margin": "0",
                             "width": "0", "height": "0", "label": _Html(_block_html(lines))})
           for row, lines in sorted(chart.margin.items()) if lines]
    for row, lines in sorted(chart.notes.items()):
        w, _h = _block_size(lines)
        out.append(_stmt(f"n{row}", {"shape": "plaintext", "pos": _pos(geo.notes_left + w / 2, geo.row_y[row]),
                                     "margin": "0", "width": "0", "height": "0",
                                     "label": _Html(_block_html(lines, left=True))}))
    return out


def _arrows(chart: _Chart, geo: _Geometry, labels: Mapping[int, tuple[float, float]]) -> list[str]:
    """Exactly one edge with `id="msgN"` per message (scripts and tests find it in the SVG), its end
    marker when it never arrived, a bend point for a message to oneself, and its label."""
    out = []
    for arrow in chart.arrows:
        msg = arrow.msg
        path = geo.path(arrow)
        tail = _cell_name(arrow.tail)
        attrs = {"id": f"msg{msg.id}", "color": arrow.colour, "tooltip": _message_tooltip(msg)}
        if arrow.dashed:
            attrs |= {"style": "dashed", "penwidth": "1.4"}
        if arrow.head is None:
            head = f"end{msg.id}"
            out.append(_stmt(head, {"pos": _pos(*path[-1])} | _end_marker(msg)))
            attrs["arrowhead"] = "none" if msg.fate in ("lost", "dropped") else "empty"
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
        out.append(_stmt(f"label{msg.id}", {
            "shape": "plaintext", "pos": _pos(*labels[msg.id]), "style": "filled", "fillcolor": ground,
            "color": ground, "margin": "0.03,0.01", "width": "0", "height": "0", "id": f"label-msg{msg.id}",
            "label": _Html(_block_html(arrow.label)), "tooltip": attrs["tooltip"]}))
    return out


def _ground(chart: _Chart, geo: _Geometry, at: tuple[float, float]) -> str:
    """The colour under a point: the cycle band's inside the band, else white (labels blend in)."""
    if chart.cycle is not None:
        left, top, right, bottom = _cycle_bounds(chart, geo)
        if left < at[0] < right and top < at[1] < bottom:
            return _CYCLE_FILL
    return "white"


def _end_marker(msg: Message) -> dict[str, str]:
    """A cross where a lost or dropped message dies; a small open circle where a pending one waits."""
    if msg.fate in ("lost", "dropped"):
        colour = CAPABILITY_COLOURS["drop"] if msg.fate == "dropped" else _LOST
        return {"shape": "plaintext", "margin": "0", "width": "0", "height": "0",
                "label": _Html(f'<font point-size="16" color="{colour}"><b>&#215;</b></font>')}
    return {"shape": "circle", "width": "0.09", "height": "0.09", "fixedsize": "true", "color": _GREY,
            "style": "filled", "fillcolor": "white"}


def _message_tooltip(msg: Message) -> str:
    """Everything about a message, unwrapped, for hovering in a browser."""
    parts = [f"#{msg.id} {msg.text}", f"to {msg.receiver} ({_fate(msg)})"]
    if msg.capability:
        parts.append(f"injected by {msg.capability}, claimed sender {msg.sender}")
    if msg.derivation:
        parts.append(f"derivation: {msg.derivation}")
    return "\n".join(parts)


def _link_edges(chart: _Chart, geo: _Geometry) -> list[str]:
    """The attacker's dotted links: from a small dot on the tapped arrow to the eavesdropper, and from
    the attacker to the cross of the message it dropped."""
    paths = {a.msg.id: geo.path(a) for a in chart.arrows}
    out = []
    for link in chart.links:
        colour = CAPABILITY_COLOURS[link.kind]
        style = {"id": link.name, "style": "dotted", "penwidth": "1.4", "color": colour,
                 "tooltip": f"{link.kind} #{link.msg_id}"}
        if link.kind == "eavesdrop":
            tap = f"tap{link.cell[1]}_{link.msg_id}"
            out.append(_stmt(tap, {"pos": _pos(*_link_points(link, geo, paths)[0]), "shape": "point",
                                   "width": "0.06", "height": "0.06", "color": colour}))
            out.append(f"{tap} -> {_cell_name(link.cell)} {_attrs(style | {'arrowhead': 'normal'})};")
        else:
            out.append(f"{_cell_name(link.cell)} -> end{link.msg_id} {_attrs(style | {'arrowhead': 'none'})};")
    return out


def _cycle_title_box(chart: _Chart, geo: _Geometry) -> tuple[float, float, float, float]:
    """Centre and size of the cycle band's title, in the band's top-left corner."""
    assert chart.cycle is not None
    w, h = _block_size(_CYCLE_TITLE)
    left, top, _right, _bottom = _cycle_bounds(chart, geo)
    return (left + 6 + w / 2, top + 4 + h / 2, w, h)


_CYCLE_TITLE: tuple[_Line, ...] = ((_Run("cycle: the steps below repeat forever", 9, bold=True, colour=_CYCLE_TEXT),),)


def _cycle_bounds(chart: _Chart, geo: _Geometry) -> tuple[float, float, float, float]:
    """Left, top, right, bottom of the band behind a lasso's cycle, in points (y downwards)."""
    assert chart.cycle is not None
    first, last = chart.cycle
    margin_w = max((_block_size(lines)[0] for lines in chart.margin.values()), default=0.0)
    notes_w = max((_block_size(lines)[0] for lines in chart.notes.values()), default=-24.0)
    right = max(geo.notes_left + notes_w, geo.lane_x[-1] + 40)
    top = geo.row_y[first] - geo.row_h[first] / 2 - _CYCLE_HEAD - 4
    bottom = geo.row_y[last] + geo.row_h[last] / 2 + 6
    return (-margin_w / 2 - 8, top, right + 8, bottom)


def _cycle_band(chart: _Chart, geo: _Geometry) -> list[str]:
    """A coloured band behind the rows of a lasso's cycle (a cluster: Graphviz draws it below everything),
    titled in its corner; two invisible corner points keep it inside the drawing."""
    if chart.cycle is None:
        return []
    left, top, right, bottom = _cycle_bounds(chart, geo)
    x, y, _w, _h = _cycle_title_box(chart, geo)
    bb = f"{left:.1f},{-bottom:.1f},{right:.1f},{-top:.1f}"
    return [
        "subgraph cluster_cycle {",
        "  " + _stmt("graph", {"bb": bb, "style": "filled", "fillcolor": _CYCLE_FILL, "color": _CYCLE_BORDER,
                               "penwidth": "1.2", "label": "", "id": "cycle"}),
        "}",
        _stmt("cycle_tl", {"pos": _pos(left, top), "style": "invis"}),
        _stmt("cycle_br", {"pos": _pos(right, bottom), "style": "invis"}),
        _stmt("cycle_title", {"shape": "plaintext", "pos": _pos(x, y), "margin": "0", "width": "0",
                              "height": "0", "label": _Html(_block_html(_CYCLE_TITLE))}),
    ]


# ---------------------------------------------------------------------------------- legend and footer


def _legend_items(trace: Trace, chart: _Chart) -> list[tuple[str, str]]:
    """(kind, text) of what the chart uses, nothing that does not occur: arrow styles, then one coloured
    box per attacker capability."""
    items = []
    if any(m.capability is None for m in trace.messages):
        items.append(("honest", "honest message"))
    if any(m.capability for m in trace.messages):
        items.append(("injected", "injected by the attacker"))
    if any(l.kind == "eavesdrop" for l in chart.links):
        items.append(("copy", "eavesdropped copy"))
    if any(a.head is None and a.msg.fate in ("lost", "dropped") for a in chart.arrows):
        items.append(("cross", "lost or dropped"))
    if any(a.head is None and a.msg.fate not in ("lost", "dropped") for a in chart.arrows):
        items.append(("stub", "never received"))
    items += [("capability", cap) for cap in _capabilities(trace)]
    return items


def _capabilities(trace: Trace) -> list[str]:
    """Attacker capabilities the trace uses, in the canonical order of `ATTACKER_KINDS`."""
    used = {s.kind for s in trace.steps if s.kind in ATTACKER_KINDS}
    used |= {m.capability for m in trace.messages if m.capability}
    return [k for k in ATTACKER_KINDS if k in used] + sorted(used - set(ATTACKER_KINDS))


_SAMPLE = 28.0  # length of a legend's sample arrow, in points


def _legend(trace: Trace, chart: _Chart, geo: _Geometry) -> list[str]:
    """A legend under the chart: samples side by side, wrapped at the chart's width, in a light frame."""
    items = _legend_items(trace, chart)
    if not items:
        return []
    left = geo.lane_x[0] - 30
    limit = max(geo.notes_left - 24, left + 320)
    top = geo.row_y[-1] + 20
    x, y, right = left + 10, top + 14, left + 10
    out: list[str] = []
    for k, (kind, text) in enumerate(items):
        text_w = _run_width(_Run(text, 9, bold=kind == "capability"))
        width = text_w + 12 if kind == "capability" else _SAMPLE + 10 + text_w
        if x + width > limit and x > left + 10:
            x, y = left + 10, y + 20
        out += _legend_item(k, kind, text, x, y, text_w)
        right = max(right, x + width)
        x += width + 20
    bb = f"{left:.1f},{-(y + 12):.1f},{right + 10:.1f},{-top:.1f}"
    frame = ["subgraph cluster_legend {",
             "  " + _stmt("graph", {"bb": bb, "style": "rounded", "color": "#cccccc", "label": "",
                                    "id": "legend"}), "}"]
    return frame + out


def _legend_item(k: int, kind: str, text: str, x: float, y: float, text_w: float) -> list[str]:
    """One sample with its meaning: a short arrow in the chart's style, or a capability's coloured box."""
    if kind == "capability":
        colour = CAPABILITY_COLOURS.get(text, _INJECTED_DEFAULT)
        return [_stmt(f"legend{k}", {
            "pos": _pos(x + (text_w + 12) / 2, y), "shape": "box", "style": "rounded,filled", "color": colour,
            "fillcolor": _tint(colour), "fontsize": "9", "margin": "0.05,0.02", "width": "0", "height": "0",
            "label": _Html(f'<font color="{colour}"><b>{_html(text)}</b></font>')})]
    a, b = f"legend{k}a", f"legend{k}b"
    style = {"id": f"legend{k}-sample"} | dict(_LEGEND_STYLES.get(kind, {"color": "black"}))
    end: dict[str, str] = {"style": "invis"}
    if kind in ("cross", "stub"):
        end = _end_marker(Message(0, "", "", "", 0, fate="lost" if kind == "cross" else "pending"))
    return [
        _stmt(a, {"pos": _pos(x, y), "style": "invis"}),
        _stmt(b, {"pos": _pos(x + _SAMPLE, y)} | end),
        f"{a} -> {b} {_attrs(style)};",
        _stmt(f"legend{k}t", {"shape": "plaintext", "pos": _pos(x + _SAMPLE + 10 + text_w / 2, y), "margin": "0",
                              "width": "0", "height": "0", "fontsize": "9", "label": _Html(_html(text))}),
    ]


_LEGEND_STYLES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "honest": MappingProxyType({"color": "black"}),
    "injected": MappingProxyType({"color": _INJECTED_DEFAULT, "style": "dashed", "penwidth": "1.4"}),
    "copy": MappingProxyType({"color": CAPABILITY_COLOURS["eavesdrop"], "style": "dotted", "penwidth": "1.4"}),
    "cross": MappingProxyType({"color": "black", "arrowhead": "none"}),
    "stub": MappingProxyType({"color": "black", "arrowhead": "empty"}),
})


def _footer_html(trace: Trace) -> str:
    """The verdict under the chart: the violated property and the reason, and what a lasso means."""
    rows = [f'<tr><td align="left"><font color="#a01010"><b>violated:</b></font> {_html(trace.property)}'
            f'   <font color="#888888">({_html(trace.model)})</font></td></tr>']
    rows += [f'<tr><td align="left">{_html(line)}</td></tr>' for line in _wrap(trace.reason, 100)]
    if trace.loop_start is not None:
        rows.append(f'<tr><td align="left"><i>the steps from {trace.loop_start} on repeat forever</i></td></tr>')
    return '<table border="0" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>"


def _fate(msg: Message) -> str:
    """How a message ended, in words."""
    return {"delivered": "delivered", "pending": "never received", "lost": "lost by the network",
            "dropped": "dropped by the attacker"}.get(msg.fate, msg.fate)


# ------------------------------------------------------------------------------------------- helpers


class _Html(str):
    """A value already in Graphviz's HTML-like label syntax: emitted between `<` and `>`, never quoted."""


def _html(text: str) -> str:
    """Model text made safe inside an HTML-like label: XML-escaped, control characters dropped, newlines
    turned into line breaks, and backslashes doubled (Graphviz expands `\\N`, `\\G`, ... even there)."""
    lines = _clean(text).split("\n")
    return "<br/>".join(html.escape(line, quote=True).replace("\\", "\\\\") for line in lines)


def _tooltip(text: str) -> str:
    """Model text for a tooltip, a plain DOT string that Graphviz unescapes twice and scans for `\\N`-style
    escapes and XML entities: `&` pre-escaped, backslashes quadrupled, newlines as `\\n`."""
    cleaned = _clean(text).replace("&", "&amp;").replace("\\", "\\\\\\\\")
    return cleaned.replace('"', '\\"').replace("\n", "\\n")


def _clean(text: str) -> str:
    """Drop control characters other than newline (XML 1.0 cannot carry them, so the SVG would break) and
    make invisible format characters visible."""
    text = visible(text.replace("\r\n", "\n").replace("\t", " "))
    return "".join(ch for ch in text if ch == "\n" or ch >= " ")


def visible(text: str) -> str:
    """Text from a model or a file name as charts and pages show it: invisible format characters
    (bidirectional overrides, zero-width spaces and joiners) become U+FFFD, so nothing can reorder or hide
    what a chart or page says ("Trojan Source" spoofing)."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cf" else ch for ch in text)


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
    return '"' + _clean(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stmt(name: str, attrs: Mapping[str, str]) -> str:
    """One node statement (or a `graph`/`node`/`edge` default)."""
    return f"{name} {_attrs(attrs)};"


def _wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces only (terms like `{Na, A}pk(B)` must not be cut in the middle of a word)."""
    out: list[str] = []
    for line in _clean(text).split("\n"):
        out += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
    return out


def wrap_items(items: list[str], width: int) -> list[str]:
    """Join `name=value` items with `, `, starting a new line before an item that would overflow."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return lines


def _tint(colour: str) -> str:
    """A very light version of a `#rrggbb` colour, for the fill of a box drawn in that colour."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(255 - (255 - v) // 8 for v in (r, g, b)))


def _time(time: str) -> str:
    """`t=12` whether the engine wrote `12` or already `t=12`."""
    return time if "=" in time else f"t={time}"
