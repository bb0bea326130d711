"""Where everything of a message-sequence chart goes: lanes, rows, boxes, arrows and their labels, in points.

Why wolf lays the chart out itself: Graphviz's `dot` engine keeps a grid of lanes and rows straight, but it
routes a `constraint=false` arrow that spans several rows through virtual nodes at the far edge of the
graph and puts its label there too, so a 20-step run becomes the tangle users hate in attack graphs. A
sequence chart needs little layout: lanes are columns, steps are rows, arrows are straight lines. So this
module computes every position and checker/output/render_msc.py hands Graphviz pinned positions: `dot` only draws.

What the chart shows (the issue that shaped it compared it with Scyther's attack graphs and SPIN's MSCs):
  * a lane per process, or per role instance ("run") of a security protocol, headed by who plays which role
    and whom it believes it talks to; the attacker, who also speaks for every compromised agent, last;
  * a box for every step of a run (receipts in process charts are the head of their arrow), with what the
    run learnt and the engine's notes (timestamps, why a time was accepted, the attacker's derivations);
  * a final row: the violated claim as a red box on the claiming run, or, for a process model, the values
    the property reads in the violating state;
  * messages as straight arrows; one never received points to its addressee and stops short of it;
  * a lasso's cycle on a band, with an arrow back to where it starts; a crashed lane ends in a cross.

Labels sit on their arrow, on a white ground, between two neighbouring lifelines (so no label crosses a
lifeline), at the spot that covers no box, label, marker or other arrow; lanes are spaced so every label has
such a gap, and when no spot is free the rows the arrow spans are spaced further apart and the placement runs
again. The layout is a pure function of the trace: tests check its geometry directly (`Layout`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from checker.output.textblock import Block, Line, TextRun, block_size, run_width, wrap_items, wrapped
from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE, Message, Step, Trace

# ------------------------------------------------------------------------------------------- colours

#: One colour per attacker capability; the active ones (those that inject) are red-ish, as design.md asks.
CAPABILITY_COLOURS: Mapping[str, str] = MappingProxyType({
    "eavesdrop": "#1f6fb4",   # blue: passive, it only copies
    "drop": "#6a3d9a",        # purple: a message disappears
    "modify": "#d62728",      # red
    "replay": "#e6550d",      # orange
    "masquerade": "#b0157a",  # crimson-magenta
})
#: What each capability does, for the legend.
CAPABILITY_WORDS: Mapping[str, str] = MappingProxyType({
    "eavesdrop": "the attacker copies a message in flight",
    "drop": "the attacker removes a message",
    "modify": "the attacker replaces a message in flight",
    "replay": "the attacker sends an earlier message again",
    "masquerade": "the attacker sends under another's name",
})
INJECTED_DEFAULT = "#d62728"
ATTACKER_RED = "#a01010"
CLAIM_RED = "#c81e1e"
LIFELINE = "#a0a0a0"
LOST = "#444444"
STATE_BLUE = "#35608a"
GREY = "#666666"
CYCLE_FILL = "#fff3dc"
CYCLE_BORDER = "#d08a20"
CYCLE_TEXT = "#8a5000"
#: Header fills, one per agent (the same agent's runs share a colour, so a reflection shows at a glance).
AGENT_FILLS = ("#dcebfa", "#e2f2dc", "#fcebd4", "#ece2f6", "#d9f1f0", "#f8e2ea", "#eeeeee")

NOTE_STYLE: Mapping[str, str] = MappingProxyType(
    {"shape": "note", "style": "filled", "fillcolor": "#fffbe6", "color": "#b0a060"})


# ------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Cell:
    """What sits on a lane at a row: a box of text, or a point when `lines` is empty."""

    lane: int
    row: int
    lines: Block = ()
    style: Mapping[str, str] = field(default_factory=dict)
    point: float = 0.01  # diameter in inches when drawn as a point

    @property
    def size(self) -> tuple[float, float]:
        """Estimated size in points (the box's text plus its margins)."""
        if not self.lines:
            return (self.point * 72, self.point * 72)
        w, h = block_size(self.lines)
        return (w + 12, h + 8)


@dataclass(frozen=True)
class Arrow:
    """One message, from a cell to a cell, or to its end marker when it never arrived.

    An undelivered message ends beside its receiver's lane, on the sender's side (`side` -1: left of it),
    `end_slot` = (k, n) spreading markers that share a place: at the row of the step that lost or dropped
    it, or (`between`) in the free band under the row it was sent in.
    """

    msg: Message
    tail: tuple[int, int]                 # (lane, row)
    head: tuple[int, int] | None          # None: the message never arrived
    towards: int                          # the receiver's lane, whether or not it arrived
    label: Block
    style: str                            # key of ARROW_STYLES: honest, or the injecting capability
    end_row: int = 0
    between: bool = False
    side: int = -1
    end_slot: tuple[int, int] = (0, 1)

    @property
    def end_kind(self) -> str | None:
        """The marker an undelivered message ends in: `lost`, `dropped` or `pending`."""
        if self.head is not None:
            return None
        return self.msg.fate if self.msg.fate in ("lost", "dropped") else "pending"


@dataclass(frozen=True)
class Link:
    """A dotted line between an attacker step and a message it acts on without receiving it: an
    eavesdrop taps the message's arrow at the step's row, a drop points at the message's cross."""

    name: str
    kind: str                             # eavesdrop | drop
    cell: tuple[int, int]                 # the attacker step's cell
    msg_id: int


@dataclass(frozen=True)
class Chart:
    """Everything the chart shows, placed on the grid but not yet measured out in points."""

    lanes: tuple[str, ...]
    rows: int                             # header row 0, [initial row], step rows, [final row], end row
    step_rows: Mapping[int, int]          # step index -> row
    cells: Mapping[tuple[int, int], Cell]
    arrows: tuple[Arrow, ...]
    links: tuple[Link, ...]
    margin: Mapping[int, Block]           # row -> step number and time
    cycle: tuple[int, int] | None         # first and last row of a lasso's cycle
    crashed: Mapping[int, int]            # lane -> the row of its crash (its lifeline ends there)


#: How arrows look, by style key; the legend's samples use the same attributes.
def arrow_attrs(style: str) -> dict[str, str]:
    """The DOT attributes of an arrow of this style (honest, or the capability that injected it)."""
    if style == "honest":
        return {"color": "black"}
    return {"color": CAPABILITY_COLOURS.get(style, INJECTED_DEFAULT), "style": "dashed", "penwidth": "1.4"}


def link_attrs(kind: str) -> dict[str, str]:
    """The dotted line of an eavesdrop (to the copy) or a drop (to the cross)."""
    return {"style": "dotted", "penwidth": "1.4", "color": CAPABILITY_COLOURS[kind]}


def chart_of(trace: Trace, show_state: bool) -> Chart:
    """Decide what goes where on the grid: columns, rows, cells, arrows, links and margin texts."""
    lanes = _lanes(trace)
    has_init = show_state and any(changes for lane, changes in trace.initial if lane in lanes)
    first = 2 if has_init else 1
    step_rows = {step.index: first + k for k, step in enumerate(trace.steps)}
    finals = _final_cells(trace, lanes, first + len(trace.steps))
    rows = first + len(trace.steps) + (1 if finals else 0) + 1
    cells: dict[tuple[int, int], Cell] = {}
    colours = _agent_colours(trace, lanes)
    for col, lane in enumerate(lanes):
        cells[(col, 0)] = _header_cell(trace, col, lane, colours)
        cells[(col, rows - 1)] = Cell(col, rows - 1)
    if has_init:
        for lane, changes in trace.initial:
            if lane in lanes and changes:
                items = [f"{c.name}={c.new}" for c in changes]
                cells[(lanes.index(lane), 1)] = Cell(lanes.index(lane), 1, _state_lines(items), NOTE_STYLE)
    boxed = bool(trace.runs) or ATTACKER_LANE in lanes
    for step in trace.steps:
        if step.actor in lanes:
            col, row = lanes.index(step.actor), step_rows[step.index]
            cells[(col, row)] = _step_cell(trace, col, row, step, show_state, boxed)
    for cell in finals:
        cells[(cell.lane, cell.row)] = cell
    crashed = {lanes.index(s.actor): step_rows[s.index] for s in trace.steps if s.kind == "crash"
               and s.actor in lanes}
    for col in crashed:
        del cells[(col, rows - 1)]  # its lifeline ends in the cross under the crash
    arrows = _spread_ends(tuple(_arrow(trace, lanes, step_rows, m, rows - 1) for m in trace.messages))
    for arrow in arrows:
        for end in (arrow.tail, arrow.head):
            if end is not None and end not in cells:
                cells[end] = Cell(*end)
    links = _links(trace, lanes, step_rows, arrows)
    margin: dict[int, Block] = {0: ()}
    margin |= {step_rows[s.index]: _margin_lines(s) for s in trace.steps}
    if has_init:
        margin[1] = ((TextRun("init", 9, italic=True, colour=GREY),),)
    if finals:
        margin[finals[0].row] = ((TextRun("end", 9, italic=True, colour=GREY),),)
    cycle = None
    if trace.loop_start is not None and trace.loop_start in step_rows:
        cycle = (step_rows[trace.loop_start], first + len(trace.steps) - 1)
    return Chart(lanes, rows, step_rows, cells, arrows, links, margin, cycle, crashed)


def _lanes(trace: Trace) -> tuple[str, ...]:
    """The trace's lanes in its order, any actor or receiver it forgot appended, the attacker last: a
    trace of runs already lists honest agents' runs, then servers', then the attacker (tracebuild.py)."""
    out = [lane for lane in trace.lanes if lane != ATTACKER_LANE]
    named = [s.actor for s in trace.steps if s.kind != "lose"] + [m.receiver for m in trace.messages]
    named += [_origin(trace, m) for m in trace.messages]
    for name in named:
        if name not in out and name != ATTACKER_LANE:
            out.append(name)
    if ATTACKER_LANE in named:
        out.append(ATTACKER_LANE)
    return tuple(out)


def _origin(trace: Trace, msg: Message) -> str:
    """The lane that really sent a message: the actor of its sending step (the attacker for a forgery),
    not the sender it claims to come from."""
    for step in trace.steps:
        if step.index == msg.sent_at:
            return step.actor
    return msg.sender


def _agent_colours(trace: Trace, lanes: tuple[str, ...]) -> dict[str, str]:
    """A header fill per agent, in the order agents first appear."""
    agents: list[str] = []
    for lane in lanes:
        run = trace.run(lane)
        agent = run.agent if run is not None else lane
        if agent not in agents and lane != ATTACKER_LANE:
            agents.append(agent)
    return {a: AGENT_FILLS[min(k, len(AGENT_FILLS) - 1)] for k, a in enumerate(agents)}


def _header_cell(trace: Trace, col: int, lane: str, colours: Mapping[str, str]) -> Cell:
    """The box at the top of a lane: the process; or the run with whom it believes it talks to; or the
    attacker, named with the compromised agents it speaks for."""
    style = {"shape": "box", "style": "rounded,filled", "color": "#555555", "id": f"lane{col}", "class": "lane",
             "tooltip": lane}
    run = trace.run(lane)
    if lane == ATTACKER_LANE:
        name = f"attacker ({', '.join(trace.attackers)})" if trace.attackers else "attacker"
        lines: Block = ((TextRun(name, 11, bold=True, colour=ATTACKER_RED),),)
        return Cell(col, 0, lines, style | {"fillcolor": "#fde8e8", "color": INJECTED_DEFAULT, "tooltip": name})
    if run is None:
        lines = ((TextRun(lane, 11, bold=True),),)
        if trace.runs:
            lines += ((TextRun("no run of its own", 9, italic=True, colour=GREY),),)
        return Cell(col, 0, lines, style | {"fillcolor": colours.get(lane, "#f2f2f2")})
    lines = ((TextRun(run.agent, 11, bold=True), TextRun(f" as {run.role}#{run.number}", 11)),)
    lines += _beliefs(run.partners, run.chosen)
    if any(who == run.agent for _role, who in run.partners):
        lines += ((TextRun("talks to itself", 9, bold=True, colour=CLAIM_RED),),)
    if run.server:
        lines += ((TextRun("server", 9, italic=True, colour=GREY),),)
    return Cell(col, 0, lines, style | {"fillcolor": colours.get(run.agent, "#f2f2f2")})


def _beliefs(partners: tuple[tuple[str, str | None], ...], chosen: tuple[str, ...]) -> Block:
    """`talking to eve` for partners a run chose, `believes: alice` for partners it learnt; with several
    partners each is named by its role (`B = bob`)."""
    def item(role: str, who: str | None) -> str:
        return (who or "?") if len(partners) == 1 else f"{role} = {who or '?'}"
    out: list[Line] = []
    for words, group in (("talking to ", [p for p in partners if p[0] in chosen]),
                         ("believes: ", [p for p in partners if p[0] not in chosen])):
        if group:
            items = [item(r, w) for r, w in group]
            out += [(TextRun(line, 9.5, colour="#333333"),) for line in wrap_items([words + items[0]] + items[1:], 30)]
    return tuple(out)


def _step_cell(trace: Trace, col: int, row: int, step: Step, show_state: bool, boxed: bool) -> Cell:
    """How a step looks on its lane.

    In a chart with runs or an attacker every step has a box: what the step did, what the run learnt, and
    the engine's notes. In a process chart a plain receipt is the head of its arrow (the arrow's label says
    what arrived); internal and send steps show their action, and with `show_state` what they changed.
    Attacker steps show their capability in its colour, a crash is black.
    """
    tip = _step_tooltip(step)
    style = {"shape": "box", "style": "rounded,filled", "fillcolor": "white", "color": "#555555",
             "id": f"step{step.index}", "tooltip": tip}
    if step.kind in ATTACKER_KINDS:
        colour = CAPABILITY_COLOURS.get(step.kind, INJECTED_DEFAULT)
        lines = _attacker_lines(trace, step, colour)
        return Cell(col, row, lines, style | {"color": colour, "fillcolor": tint(colour), "penwidth": "1.5"})
    if step.kind == "crash":
        more = wrapped(step.text, 30, colour="white") if step.text != "crashes" else ()
        lines = ((TextRun("crash", 10, bold=True, colour="white"),),) + more
        return Cell(col, row, lines, style | {"fillcolor": "#333333", "color": "black"})
    title: Block = ()
    if boxed or step.kind not in ("receive", "lose"):
        title = wrapped(step.text, 30)
    learnt = _learnt(trace, step) if boxed and not show_state else ()
    state = _state_lines([f"{c.name}={c.new}" for c in step.changes]) if show_state and step.changes else ()
    notes = wrapped(step.note, 40, size=9, italic=True, colour="#444444") if step.note else ()
    lines = title + learnt + state + notes
    if not lines:
        if step.kind == "receive":
            return Cell(col, row, (), {"color": "#333333", "tooltip": tip}, point=0.07)
        return Cell(col, row, (), {"tooltip": tip})
    if not title:
        style |= dict(NOTE_STYLE)
    return Cell(col, row, lines, style)


def _attacker_lines(trace: Trace, step: Step, colour: str) -> Block:
    """An attacker step: its capability, whose name it uses, and how it built what it sends."""
    lines: Block = ((TextRun(step.kind, 10, bold=True, colour=colour),),)
    sent = [trace.message(m) for m in step.sends if any(x.id == m for x in trace.messages)]
    if not sent:
        return lines + wrapped(step.text, 30)
    msg = sent[0]
    claimed = f"as {msg.sender}" if msg.sender != ATTACKER_LANE else ""
    lines += wrapped(" ".join(w for w in (claimed, f"to {_agent_of(trace, msg.receiver)}") if w), 30)
    if msg.derivation:
        lines += wrapped(msg.derivation, 40, size=9, italic=True, colour="#444444")
    if step.note:
        lines += wrapped(step.note, 40, size=9, italic=True, colour="#444444")
    return lines


def _agent_of(trace: Trace, lane: str) -> str:
    run = trace.run(lane)
    return run.agent if run is not None else lane


def _learnt(trace: Trace, step: Step) -> Block:
    """The values a run's step bound (`Nb = Nb#2`), not the partners its header already names."""
    run = trace.run(step.actor)
    roles = {run.role} | {r for r, _w in run.partners} if run is not None else set()
    items = [f"{c.name} = {c.new}" for c in step.changes if c.name not in roles and c.name != "status"]
    return tuple((TextRun(line, 9, colour=STATE_BLUE),) for line in wrap_items(items, 34))


def _state_lines(items: list[str]) -> Block:
    """`clock=2, queue={(1,0)}` in a small blue font, wrapped between items."""
    return tuple((TextRun(line, 9, colour=STATE_BLUE),) for line in wrap_items(items, 34))


def _step_tooltip(step: Step) -> str:
    """The full, unwrapped step for hovering in a browser."""
    parts = [f"step {step.index}: {step.actor} ({step.kind}) {step.text}"]
    parts += [f"{c.name}: {c.old} -> {c.new}" for c in step.changes]
    return "\n".join(parts + ([step.note] if step.note else []))


def _margin_lines(step: Step) -> Block:
    """The left margin of a step's row: its number, and its concrete time below it."""
    lines: Block = ((TextRun(str(step.index), 10, bold=True, colour="#555555"),),)
    if step.time:
        lines += ((TextRun(_time(step.time), 9, colour="#1f6fb4"),),)
    return lines


def _final_cells(trace: Trace, lanes: tuple[str, ...], row: int) -> list[Cell]:
    """The final row: the violated claim in a red box on its run's lane, or for a process model each lane's
    values that the property reads in the violating state (highlighted) beside its control state."""
    claim_style = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde2e2", "color": CLAIM_RED,
                   "penwidth": "2", "id": "claim"}
    if trace.claim is not None and trace.claim.lane in lanes:
        lines = wrapped(f"claim {trace.claim.text} fails", 34, size=10, bold=True, colour=CLAIM_RED)
        return [Cell(lanes.index(trace.claim.lane), row, lines, claim_style | {"tooltip": trace.reason})]
    if trace.runs:
        return []
    values = final_values(trace)
    crashed = {s.actor for s in trace.steps if s.kind == "crash"}
    out = []
    for col, lane in enumerate(lanes):
        now = values.get(lane, {})
        if not now or lane in crashed:
            continue
        read = read_variables(trace.formula or trace.reason, lane, now, lanes)
        shown = [n for n in now if n in read]
        if not shown:
            continue
        lines = tuple((TextRun(f"{n} = {now[n]}", 10, bold=True, colour=CLAIM_RED),) for n in shown)
        style = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde2e2", "color": CLAIM_RED,
                 "id": f"final{col}", "tooltip": f"{lane} in the last state"}
        out.append(Cell(col, row, lines, style))
    return out


def final_values(trace: Trace) -> dict[str, dict[str, str]]:
    """Every lane's variables at the end of the run: the initial values with each step's changes applied."""
    values = {lane: {c.name: c.new for c in changes} for lane, changes in trace.initial}
    for step in trace.steps:
        for c in step.changes:
            values.setdefault(step.actor, {})[c.name] = c.new
    return values


def read_variables(formula: str, lane: str, values: Mapping[str, str], lanes: tuple[str, ...]) -> set[str]:
    """The variables of a lane a property reads: none when the formula names processes and not this one's
    family; else those it names, and the control state (`state`) when it tests one (`p.critical`) or names
    no variable at all (a deadlock: everyone's state)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", formula))
    families = {name.split("[")[0] for name in lanes}
    if families & words and lane.split("[")[0] not in words:
        return set()
    tested = set(re.findall(r"\.([A-Za-z_][A-Za-z_0-9]*)", formula))
    read = {n for n in values if n in words and n != "state"}
    if "state" in values and (tested - set(values) or not read):
        read.add("state")
    return read


def _arrow(trace: Trace, lanes: tuple[str, ...], step_rows: Mapping[int, int], msg: Message,
           end_row: int) -> Arrow:
    """An honest message is solid black; an injected one dashed in its capability's colour.

    A message the attacker reads at once (one addressed to a compromised agent) reaches the attacker's
    lane a row below its send. A lost or dropped message stops at the step that lost or dropped it; a
    pending one, or one whose loss no step records, stops in the free band under its send. Either stops
    beside its receiver's lane, on the sender's side, never on a lane.
    """
    origin = _origin(trace, msg)
    sent = step_rows.get(msg.sent_at, min(step_rows.values(), default=1))
    tail, towards = (lanes.index(origin), sent), lanes.index(msg.receiver)
    style = msg.capability or "honest"
    arrow = Arrow(msg, tail, None, towards, _message_label(trace, msg), style)
    if msg.received_at is not None and msg.received_at in step_rows:
        row = step_rows[msg.received_at]
        if msg.received_at == msg.sent_at:
            row = min(row + 1, end_row)
        return replace(arrow, head=(towards, row))
    stop = next((step_rows[s.index] for s in trace.steps
                 if msg.id in s.receives and s.kind in ("lose", "drop") and s.index in step_rows), None)
    side = -1 if towards > tail[0] else 1
    if stop is None:
        return replace(arrow, end_row=sent, between=True, side=side)
    return replace(arrow, end_row=stop, side=side)


def _spread_ends(arrows: tuple[Arrow, ...]) -> tuple[Arrow, ...]:
    """Give end markers that share a place distinct slots, so no marker hides another."""
    def key(a: Arrow) -> tuple[int, int, bool, int]:
        return (a.towards, a.end_row, a.between, a.side)
    groups: dict[tuple[int, int, bool, int], list[int]] = {}
    for a in arrows:
        if a.head is None:
            groups.setdefault(key(a), []).append(a.msg.id)
    out = []
    for a in arrows:
        if a.head is None:
            ids = groups[key(a)]
            a = replace(a, end_slot=(ids.index(a.msg.id), len(ids)))
        out.append(a)
    return tuple(out)


def _message_label(trace: Trace, msg: Message) -> Block:
    """The term with its id in grey; to whom it was addressed when the attacker took it in that name; for
    a message that never arrived, its fate."""
    lines = list(wrapped(msg.text, 34))
    lines[-1] = lines[-1] + (TextRun(f" #{msg.id}", 9, colour="#777777"),)
    if msg.addressee and msg.receiver == ATTACKER_LANE:
        lines.append((TextRun(f"to {msg.addressee}", 9, italic=True, colour=GREY),))
    if msg.received_at is None and msg.fate != "delivered":
        lines.append((TextRun(fate_words(msg), 9, italic=True, colour=GREY),))
    return tuple(lines)


def _links(trace: Trace, lanes: tuple[str, ...], step_rows: Mapping[int, int],
           arrows: tuple[Arrow, ...]) -> tuple[Link, ...]:
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
                out.append(Link(f"{step.kind}{step.index}-{msg_id}", step.kind, here, msg_id))
    return tuple(out)


def fate_words(msg: Message) -> str:
    """How a message ended, in words."""
    return {"delivered": "delivered", "pending": "never received", "lost": "lost by the network",
            "dropped": "dropped by the attacker"}.get(msg.fate, msg.fate)


def tint(colour: str) -> str:
    """A very light version of a `#rrggbb` colour, for the fill of a box drawn in that colour."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(255 - (255 - v) // 8 for v in (r, g, b)))


def _time(time: str) -> str:
    """`t=12` whether the engine wrote `12` or already `t=12`."""
    return time if "=" in time else f"t={time}"


# ------------------------------------------------------------------------------------------ geometry

MIN_LANE_PITCH = 100.0     # lane centre to lane centre, in points
MIN_ROW_PITCH = 30.0
ROW_GAP = 14.0             # between the boxes of two consecutive rows
LABEL_PAD = 6.0            # between a label and the lifelines of its gap
SPREAD_STEP = 10.0         # extra space per round below rows whose labels found no free spot
MAX_SPREAD_ROUNDS = 30
MAX_SOFT_SPREAD = 80.0     # bound on the growth of a row gap for an arrow behind a box or a label on a line
WIDEN_STEP = 20.0          # extra width per round of a gap where a label could only sit on another line
MAX_WIDEN = 300.0
CYCLE_HEAD = 20.0          # room above a cycle for its band's title
SELF_LOOP = 45.0           # how far a message to oneself swings out to the right
END_OFFSET = 18.0          # how far before its receiver's lifeline an undelivered message stops
END_SPACING = 14.0         # between markers that share a place
CROSS_ROOM = 14.0          # room under a crash box for the cross that ends its lifeline


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle, y growing downwards."""

    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def around(x: float, y: float, w: float, h: float, pad: float = 0.0) -> "Rect":
        return Rect(x - w / 2 - pad, y - h / 2 - pad, x + w / 2 + pad, y + h / 2 + pad)

    def overlaps(self, other: "Rect") -> bool:
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


Point = tuple[float, float]
Segment = tuple[Point, Point]


@dataclass(frozen=True)
class Geometry:
    """Positions in points, y growing downwards: lane centres, row centres and heights."""

    lane_x: tuple[float, ...]
    row_y: tuple[float, ...]
    row_h: tuple[float, ...]
    right: float  # the right edge of the lanes' boxes

    def at(self, cell: tuple[int, int]) -> Point:
        """The centre of a cell."""
        return (self.lane_x[cell[0]], self.row_y[cell[1]])

    def band(self, row: int, room: float) -> float:
        """A height in the free band under a row's boxes (no box reaches into it): its middle, but never
        more than `room` points down, so that spreading the rows further apart bends other arrows away."""
        low = self.row_y[row] + self.row_h[row] / 2
        high = self.row_y[row + 1] - self.row_h[row + 1] / 2
        return low + min((high - low) / 2, room)

    def path(self, arrow: Arrow) -> tuple[Point, ...]:
        """The points an arrow passes: straight from tail to head, or to its end marker beside the
        receiver's lifeline; a message to oneself swings out to the right through a middle point."""
        start = self.at(arrow.tail)
        if arrow.head is None:
            k, n = arrow.end_slot
            y = self.band(arrow.end_row, 24 + block_size(arrow.label)[1]) if arrow.between else \
                self.row_y[arrow.end_row]
            if arrow.towards == arrow.tail[0]:
                return (start, (start[0] + SELF_LOOP + END_SPACING * k, y))
            x = self.lane_x[arrow.towards] + arrow.side * (END_OFFSET + END_SPACING * (n - 1 - k))
            return (start, (x, y))
        end = self.at(arrow.head)
        if arrow.head[0] == arrow.tail[0]:
            return (start, (start[0] + SELF_LOOP, (start[1] + end[1]) / 2), end)
        return (start, end)


def geometry_of(chart: Chart, extra: tuple[float, ...], wider: tuple[float, ...] = ()) -> Geometry:
    """Lay the grid out in points: lanes far enough apart for their boxes and for each arrow's label in one
    of the gaps it spans, plus `wider[k]` in gap k; rows far enough apart for their boxes, plus `extra[r]`
    between row r and r + 1 where labels were crowded."""
    widths = [max((c.size[0] for c in chart.cells.values() if c.lane == col), default=0.0)
              for col in range(len(chart.lanes))]
    pitch = [max(MIN_LANE_PITCH, widths[k] / 2 + widths[k + 1] / 2 + 28) for k in range(len(widths) - 1)]
    for arrow in sorted(chart.arrows, key=_span):
        gaps = _label_gaps(arrow, len(chart.lanes))
        if not gaps:
            continue
        need = block_size(arrow.label)[0] + 2 * LABEL_PAD + 8
        usable = [pitch[g] - _gap_loss(arrow, g) for g in gaps]
        if max(usable) < need:
            pitch[gaps[0]] += need - usable[0]  # the gap next to the sender: where one looks for a label
    pitch = [p + (wider[k] if k < len(wider) else 0.0) for k, p in enumerate(pitch)]
    margin_w = max((block_size(lines)[0] for lines in chart.margin.values()), default=0.0)
    lane_x = [margin_w / 2 + 18 + (widths[0] / 2 if widths else 0.0)]
    for p in pitch:
        lane_x.append(lane_x[-1] + p)
    heights = tuple(
        max([c.size[1] for c in chart.cells.values() if c.row == r] + [block_size(chart.margin.get(r, ()))[1]])
        for r in range(chart.rows))
    row_y = [0.0]
    for r in range(1, chart.rows):
        gap = max(MIN_ROW_PITCH, heights[r - 1] / 2 + heights[r] / 2 + ROW_GAP) + extra[r - 1]
        if r - 1 in chart.crashed.values():
            gap += CROSS_ROOM
        if chart.cycle is not None and r == chart.cycle[0]:
            gap += CYCLE_HEAD
        row_y.append(row_y[-1] + gap)
    right = lane_x[-1] + (widths[-1] / 2 if widths else 0.0)
    return Geometry(tuple(lane_x), tuple(row_y), heights, right)


def _label_gaps(arrow: Arrow, lanes: int) -> list[int]:
    """The gaps between neighbouring lanes that an arrow crosses, nearest its tail first (a message to
    oneself uses the gap right of its lane)."""
    a = arrow.tail[0]
    b = arrow.head[0] if arrow.head is not None else arrow.towards
    if a == b:
        return [a] if a + 1 < lanes else []
    return list(range(a, b)) if a < b else list(range(a - 1, b - 1, -1))


def _gap_loss(arrow: Arrow, gap: int) -> float:
    """How much of a gap an undelivered arrow does not reach: it stops before its receiver's lifeline."""
    if arrow.head is None and gap in (arrow.towards, arrow.towards - 1) and arrow.tail[0] != arrow.towards:
        return END_OFFSET + END_SPACING * (arrow.end_slot[1] - 1) + 6
    return 0.0


def _span(arrow: Arrow) -> tuple[int, int]:
    """Sort key: arrows between neighbouring lanes claim their space first."""
    return (abs(arrow.tail[0] - arrow.towards), arrow.msg.id)


# ---------------------------------------------------------------------------------- label placement

#: Where across its gap a label may sit, as fractions of the free width, best first: the middle, outwards.
_ACROSS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82, 0.1, 0.9, 0.04, 0.96, 0.0, 1.0)


@dataclass(frozen=True)
class Placement:
    """Where the labels went (centres), and where more room would help: below the rows in `hard` where a
    label could only cover a box or a label, and `occluded` where an arrow passes behind a box; across the
    gaps in `crossed` where a label could only sit on another line (flatter arrows leave it more room)."""

    labels: Mapping[int, Point]
    hard: frozenset[int]
    occluded: frozenset[int]
    crossed: frozenset[tuple[str, int]]  # ("gap", k) and ("row", r): where a label had to sit on a line
    score: tuple[int, ...] = ()          # labels covering something, on a line, beside their arrow; arrows behind boxes


@dataclass(frozen=True)
class _Surroundings:
    """What lies near one arrow, by how badly a label may cover it (see `_spot_cost`)."""

    boxes: tuple[Rect, ...]           # must not be covered at all
    segments: tuple[Segment, ...]     # other arrows, links, lifelines, the cycle's edges: must not be crossed


def place_labels(chart: Chart, geo: Geometry) -> Placement:
    """Put each message's label on its arrow, inside one gap between lifelines, where it hides nothing,
    leaving a visible stretch of the arrow on both sides of it (so it is clear which arrow it names).
    Labels are placed top to bottom, each one then an obstacle for the next.

    Where a label can only sit on another arrow, the rows that arrow spans beyond the label's own are
    spread (which bends the two apart) and the gap the label sits in widened (which flattens both); until
    that works, the label sits just beside its arrow if that is free."""
    boxes = obstacles(chart, geo)
    paths = {a.msg.id: geo.path(a) for a in chart.arrows}
    spans = {a.msg.id: _rows(a) for a in chart.arrows}
    # every line a label must not sit on: (segment, the arrow it belongs to or None, the rows it spans)
    lines: list[tuple[Segment, int | None, range]] = [
        (seg, i, spans[i]) for i, p in paths.items() for seg in zip(p, p[1:])]
    lines += [(link_points(l, geo, paths), None, spans[l.msg_id]) for l in chart.links]
    lines += [(seg, None, range(0)) for seg in list(lifelines(chart, geo).values()) + cycle_segments(chart, geo)]
    placed: dict[int, Point] = {}
    hard_rows: set[int] = set()
    occluded: set[int] = set()
    crossed: set[tuple[str, int]] = set()
    covering = sitting = beside = 0
    for arrow in sorted(chart.arrows, key=lambda a: (a.tail[1], a.msg.id)):
        w, h = block_size(arrow.label)
        path = paths[arrow.msg.id]
        region = Rect(min(p[0] for p in path) - w, min(p[1] for p in path) - h - 4,
                      max(p[0] for p in path) + w, max(p[1] for p in path) + h + 4)
        near_lines = [(seg, rows) for seg, owner, rows in lines
                      if owner != arrow.msg.id and region.crossed_by(*seg)]
        near = _Surroundings(tuple(r for r in boxes if r.overlaps(region)), tuple(seg for seg, _r in near_lines))
        ends = _end_rects(chart, geo, arrow)
        scored = [(_spot_cost(path, at, w, h, ends, near) + (not on, penalty), at, gap, on)
                  for at, penalty, gap, on in _spots(arrow, path, geo, w, h, len(chart.lanes))]
        on_cost, on_spot, on_gap, _on = min(c for c in scored if c[3])
        cost, spot, _gap, on = min(scored)
        placed[arrow.msg.id] = spot
        boxes.append(label_rect(spot, w, h))
        covering += cost[0] > 0
        sitting += cost[1] > 0
        beside += not on
        if cost[0]:
            hard_rows.update(spans[arrow.msg.id])
        elif on_cost[0] or on_cost[1]:  # it is not on its arrow, or sits on a line: make room for next round
            if on_gap is not None:
                crossed.add(("gap", on_gap))
            rect = label_rect(on_spot, w, h)
            crossed.update(("row", r) for r in spans[arrow.msg.id] if on_cost[0])
            for seg, rows in near_lines:
                if rect.crossed_by(*seg):
                    crossed.update(("row", r) for r in (set(rows) - set(spans[arrow.msg.id]) or spans[arrow.msg.id]))
        occluded.update(_occluding_gaps(chart, geo, arrow, path))
    return Placement(placed, frozenset(r for r in hard_rows if r >= 0), frozenset(occluded), frozenset(crossed),
                     (covering, sitting, beside, len(occluded)))


def _rows(arrow: Arrow) -> range:
    """The gaps between rows (gap r lies under row r) that an arrow spans vertically."""
    rows = (arrow.tail[1], arrow.head[1] if arrow.head else arrow.end_row + (1 if arrow.between else 0))
    return range(max(min(rows) - (1 if min(rows) == max(rows) else 0), 0), max(rows))


def label_rect(at: Point, w: float, h: float) -> Rect:
    """The area a label of text size w x h covers, its white ground included."""
    return Rect.around(*at, w + 6, h + 2)


def _spots(arrow: Arrow, path: tuple[Point, ...], geo: Geometry, w: float, h: float,
           lanes: int) -> list[tuple[Point, float, int | None, bool]]:
    """Candidate centres for a label, each with a small preference penalty and its gap: on its arrow inside
    each gap the arrow crosses (nearest its tail first), at several places across the gap; then, as second
    choices, just above or just below the arrow there (for arrows that run close together)."""
    out: list[tuple[Point, float, int | None, bool]] = []
    if len(path) == 3:  # a message to oneself: on the outer part of its loop
        for t in (0.5, 0.35, 0.65, 0.2, 0.8):
            out.append((_along(path, t), 20 * abs(t - 0.5), None, True))
        return out
    (px, py), (qx, qy) = path
    for rank, g in enumerate(_label_gaps(arrow, lanes)):
        lo = max(geo.lane_x[g] + LABEL_PAD + w / 2, min(px, qx))
        hi = min(geo.lane_x[g + 1] - LABEL_PAD - w / 2, max(px, qx))
        if hi < lo:  # too narrow (an arrow that stops short): its middle, the best there is
            lo = hi = min(max((geo.lane_x[g] + geo.lane_x[g + 1]) / 2, min(px, qx)), max(px, qx))
        for f in _ACROSS:
            x = lo + (hi - lo) * f
            if qx == px:
                continue
            t = (x - px) / (qx - px)
            if not 0 <= t <= 1:
                continue
            penalty = 3.0 * rank + 6.0 * abs(f - 0.5)
            out.append(((x, py + t * (qy - py)), penalty, g, True))
            left, right = (py + (x - w / 2 - 3 - px) / (qx - px) * (qy - py),
                           py + (x + w / 2 + 3 - px) / (qx - px) * (qy - py))
            out.append(((x, min(left, right) - h / 2 - 2), penalty, g, False))
            out.append(((x, max(left, right) + h / 2 + 2), penalty, g, False))
    if not any(on for *_rest, on in out):
        out.append((_along(path, 0.5), 0.0, None, True))
    return out


def _spot_cost(path: tuple[Point, ...], at: Point, w: float, h: float, ends: tuple[Rect, Rect],
               near: _Surroundings) -> tuple[int, int]:
    """How bad a label of size w x h centred at `at` would be: first how many boxes, labels or markers it
    covers (a label that hides its own arrow counts too), then how many lines it crosses (other arrows,
    links, lifelines, the cycle's edges)."""
    rect = label_rect(at, w, h)
    covers = sum(rect.overlaps(o) for o in near.boxes) + (not _leaves_arrow_visible(path, rect, ends))
    return covers, sum(rect.crossed_by(*seg) for seg in near.segments)


def _occluding_gaps(chart: Chart, geo: Geometry, arrow: Arrow, path: tuple[Point, ...]) -> set[int]:
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
        box = Rect.around(x, y, *cell.size, pad=3)
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


_MIN_VISIBLE = 12.0  # points of an arrow that must show between its label and either end


def _leaves_arrow_visible(path: tuple[Point, ...], rect: Rect, ends: tuple[Rect, Rect]) -> bool:
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


def _end_rects(chart: Chart, geo: Geometry, arrow: Arrow) -> tuple[Rect, Rect]:
    """The boxes an arrow leaves and enters (its end marker counts as a small box)."""
    path = geo.path(arrow)
    tail = chart.cells[arrow.tail]
    head_size = chart.cells[arrow.head].size if arrow.head is not None else (10.0, 10.0)
    return (Rect.around(*path[0], *tail.size), Rect.around(*path[-1], *head_size))


def _along(path: tuple[Point, ...], t: float) -> Point:
    """The point at fraction t of a path's length."""
    lengths = [((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in zip(path, path[1:])]
    goal = t * sum(lengths)
    for (a, b), length in zip(zip(path, path[1:]), lengths):
        if goal <= length and length > 0:
            f = goal / length
            return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        goal -= length
    return path[-1]


def margin_rect(chart: Chart, geo: Geometry, row: int) -> Rect:
    """Where the left margin's text of a row sits (step number and time)."""
    w, h = block_size(chart.margin.get(row, ()))
    return Rect.around(0.0, geo.row_y[row], w, h)


def cell_rect(chart: Chart, geo: Geometry, key: tuple[int, int]) -> Rect:
    cell = chart.cells[key]
    return Rect.around(*geo.at(key), *cell.size)


def obstacles(chart: Chart, geo: Geometry) -> list[Rect]:
    """What a label must not cover: boxes, arrow ends, end markers, crosses, margin texts, the cycle title."""
    out = []
    for cell in chart.cells.values():
        w, h = cell.size
        x, y = geo.at((cell.lane, cell.row))
        out.append(Rect.around(x, y, max(w, 10), max(h, 10), pad=2))
    for arrow in chart.arrows:
        end = geo.path(arrow)[-1]
        out.append(Rect.around(*end, 14, 14))
    for row, lines in chart.margin.items():
        if lines:
            out.append(Rect(*_padded(margin_rect(chart, geo, row), 2)))
    for lane, row in chart.crashed.items():
        out.append(Rect.around(*crash_cross(chart, geo, lane, row), 14, 14))
    if chart.cycle is not None:
        x, y, w, h = cycle_title_box(chart, geo)
        out.append(Rect.around(x, y, w, h, pad=2))
    return out


def _padded(r: Rect, pad: float) -> tuple[float, float, float, float]:
    return (r.x0 - pad, r.y0 - pad, r.x1 + pad, r.y1 + pad)


def lifelines(chart: Chart, geo: Geometry) -> dict[int, Segment]:
    """Each lane's lifeline, from its header to the end row, or to the cross under its crash."""
    out = {}
    for col in range(len(chart.lanes)):
        end = geo.row_y[-1]
        if col in chart.crashed:
            end = crash_cross(chart, geo, col, chart.crashed[col])[1]
        out[col] = ((geo.lane_x[col], geo.row_y[0]), (geo.lane_x[col], end))
    return out


def crash_cross(chart: Chart, geo: Geometry, lane: int, row: int) -> Point:
    """Where the cross that ends a crashed lane's lifeline sits: just under its crash box."""
    return (geo.lane_x[lane], geo.row_y[row] + chart.cells[(lane, row)].size[1] / 2 + CROSS_ROOM / 2 + 2)


def link_points(link: Link, geo: Geometry, paths: Mapping[int, tuple[Point, ...]]) -> Segment:
    """Where an attacker link starts and ends: an eavesdrop runs from its tap on the message's arrow to
    the attacker; a drop from the attacker to the message's cross."""
    here = geo.at(link.cell)
    path = paths[link.msg_id]
    if link.kind == "drop":
        return (here, path[-1])
    return (_tap(path, here[1]), here)


def _tap(path: tuple[Point, ...], y: float) -> Point:
    """The point of an arrow at height y (where an eavesdropper copies it in flight), or its start when
    the arrow does not pass that height (the copy was taken before or after the flight)."""
    for p, q in zip(path, path[1:]):
        if min(p[1], q[1]) < y < max(p[1], q[1]):
            f = (y - p[1]) / (q[1] - p[1])
            return (p[0] + f * (q[0] - p[0]), y)
    return path[0]


# --------------------------------------------------------------------------------------------- cycle

CYCLE_TITLE_SIZE = 9.5


def cycle_title(chart: Chart) -> Block:
    """`cycle: steps 4 to 9 repeat forever`, in the band's corner."""
    assert chart.cycle is not None
    steps = {row: index for index, row in chart.step_rows.items()}
    first, last = (steps[r] for r in chart.cycle)
    text = f"cycle: steps {first} to {last} repeat forever" if last != first else f"cycle: step {first} repeats forever"
    return ((TextRun(text, CYCLE_TITLE_SIZE, bold=True, colour=CYCLE_TEXT),),)


def cycle_bounds(chart: Chart, geo: Geometry) -> tuple[float, float, float, float]:
    """Left, top, right, bottom of the band behind a lasso's cycle, in points (y downwards); its right
    edge leaves room for the arrow back to the cycle's start."""
    assert chart.cycle is not None
    first, last = chart.cycle
    margin_w = max((block_size(lines)[0] for lines in chart.margin.values()), default=0.0)
    top = geo.row_y[first] - geo.row_h[first] / 2 - CYCLE_HEAD - 4
    bottom = geo.row_y[last] + geo.row_h[last] / 2 + 8
    return (-margin_w / 2 - 8, top, geo.right + 34, bottom)


def cycle_title_box(chart: Chart, geo: Geometry) -> tuple[float, float, float, float]:
    """Centre and size of the cycle band's title, in the band's top-left corner."""
    w, h = block_size(cycle_title(chart))
    left, top, _right, _bottom = cycle_bounds(chart, geo)
    return (left + 6 + w / 2, top + 4 + h / 2, w, h)


def cycle_back(chart: Chart, geo: Geometry) -> Segment:
    """The arrow back from the end of the cycle up to its first step, along the band's right edge."""
    assert chart.cycle is not None
    first, last = chart.cycle
    _left, _top, right, _bottom = cycle_bounds(chart, geo)
    return ((right - 14, geo.row_y[last]), (right - 14, geo.row_y[first]))


def cycle_segments(chart: Chart, geo: Geometry) -> list[Segment]:
    """The cycle band's horizontal edges and its back arrow: lines a label must not cross."""
    if chart.cycle is None:
        return []
    left, top, right, bottom = cycle_bounds(chart, geo)
    return [((left, top), (right, top)), ((left, bottom), (right, bottom)), cycle_back(chart, geo)]


# ---------------------------------------------------------------------------------------------- legend

_SAMPLE = 30.0  # length of a legend's sample arrow, in points


@dataclass(frozen=True)
class LegendItem:
    """One entry of the legend: a sample (an arrow of `style`, a link of `link`, an end `marker`) at
    (x, y) and its words to the right of it."""

    key: str
    text: str
    x: float
    y: float
    style: str | None = None
    link: str | None = None
    marker: str | None = None

    @property
    def text_box(self) -> Rect:
        w, h = block_size(((TextRun(self.text, 9),),))
        return Rect(self.x + _SAMPLE + 8, self.y - h / 2, self.x + _SAMPLE + 8 + w, self.y + h / 2)


def legend_entries(chart: Chart) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """(key, words, arrow style, link kind, end marker) of what the chart draws, nothing that it does not:
    the honest arrow only beside the attacker's, then each capability's arrow or link, then end markers."""
    styles = {a.style for a in chart.arrows}
    kinds = {l.kind for l in chart.links}
    markers = {a.end_kind for a in chart.arrows if a.end_kind}
    attacker = (styles - {"honest"}) or kinds or "dropped" in markers
    out: list[tuple[str, str, str | None, str | None, str | None]] = []
    if "honest" in styles and attacker:
        out.append(("honest", "honest message", "honest", None, None))
    for cap in ATTACKER_KINDS:
        if cap in styles:
            out.append((cap, f"{cap}: {CAPABILITY_WORDS[cap]}", cap, None, None))
        if cap == "eavesdrop" and cap in kinds:
            out.append(("eavesdrop-link", f"eavesdrop: {CAPABILITY_WORDS[cap]}", None, cap, None))
    for style in sorted(styles - {"honest"} - set(ATTACKER_KINDS)):
        out.append((style, f"{style}: injected by the attacker", style, None, None))
    words = {"dropped": "dropped by the attacker", "lost": "lost by the network", "pending": "never received"}
    for marker in ("dropped", "lost", "pending"):
        if marker in markers:
            out.append((marker, words[marker], "honest", "drop" if marker == "dropped" and "drop" in kinds
                        else None, marker))
    return out


def legend_layout(chart: Chart, geo: Geometry) -> tuple[list[LegendItem], Rect | None]:
    """The legend under the chart: samples side by side, wrapped at the chart's width, in a light frame."""
    entries = legend_entries(chart)
    if not entries:
        return [], None
    left = min(geo.lane_x[0] - 40, -20.0)
    limit = max(geo.right, left + 360)
    top = geo.row_y[-1] + 22
    x, y, right = left + 10, top + 14, left + 10
    items = []
    for key, text, style, link, marker in entries:
        width = _SAMPLE + 8 + run_width(TextRun(text, 9))
        if x + width > limit and x > left + 10:
            x, y = left + 10, y + 20
        items.append(LegendItem(key, text, x, y, style, link, marker))
        right = max(right, x + width)
        x += width + 22
    return items, Rect(left, top, right + 10, y + 12)


# ---------------------------------------------------------------------------------------------- layout

@dataclass(frozen=True)
class Layout:
    """A chart with every position computed: what render_msc.py draws and what the geometry tests read."""

    trace: Trace
    chart: Chart
    geo: Geometry
    labels: Mapping[int, Point]

    def label_box(self, msg_id: int) -> Rect:
        arrow = next(a for a in self.chart.arrows if a.msg.id == msg_id)
        return label_rect(self.labels[msg_id], *block_size(arrow.label))

    def text_boxes(self) -> list[tuple[str, Rect]]:
        """Every piece of text on the chart with the area it covers: boxes, labels, margins, the cycle's
        title and the legend's words (the verdict above the chart is Graphviz's graph label)."""
        out = [(f"cell{k}", cell_rect(self.chart, self.geo, k)) for k, c in self.chart.cells.items() if c.lines]
        out += [(f"label{a.msg.id}", self.label_box(a.msg.id)) for a in self.chart.arrows]
        out += [(f"margin{r}", margin_rect(self.chart, self.geo, r)) for r, l in self.chart.margin.items() if l]
        if self.chart.cycle is not None:
            x, y, w, h = cycle_title_box(self.chart, self.geo)
            out.append(("cycle-title", Rect.around(x, y, w, h)))
        items, _frame = legend_layout(self.chart, self.geo)
        out += [(f"legend-{i.key}", i.text_box) for i in items]
        return out

    def paths(self) -> dict[int, tuple[Point, ...]]:
        return {a.msg.id: self.geo.path(a) for a in self.chart.arrows}


def layout(trace: Trace, show_state: bool = False) -> Layout:
    """Measure the chart out: place labels, and spread rows apart where a label found no free spot (or an
    arrow passes behind a box), until everything fits or the rounds run out."""
    chart = chart_of(trace, show_state)
    extra: tuple[float, ...] = (0.0,) * chart.rows
    wider: tuple[float, ...] = (0.0,) * max(len(chart.lanes) - 1, 0)
    geo = geometry_of(chart, extra, wider)
    placement = place_labels(chart, geo)
    best = (placement.score, geo, placement)
    for _round in range(MAX_SPREAD_ROUNDS):
        soft = {r for r in placement.occluded if extra[r] < MAX_SOFT_SPREAD}
        soft |= {r for kind, r in placement.crossed if kind == "row" and extra[r] < 2 * MAX_SOFT_SPREAD}
        grow = placement.hard | soft
        widen = {g for kind, g in placement.crossed if kind == "gap" and wider[g] < MAX_WIDEN}
        if not grow and not widen:
            break
        extra = tuple(e + SPREAD_STEP if r in grow else e for r, e in enumerate(extra))
        wider = tuple(w + WIDEN_STEP if g in widen else w for g, w in enumerate(wider))
        geo = geometry_of(chart, extra, wider)
        placement = place_labels(chart, geo)
        if placement.score < best[0]:
            best = (placement.score, geo, placement)
    _score, geo, placement = best  # spreading is not monotone: keep the round that fitted best
    return Layout(trace, chart, geo, placement.labels)
