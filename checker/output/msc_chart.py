"""What a message-sequence chart shows and where on its grid: lanes, rows, boxes, arrows, links, margins.

What the chart shows (the issue that shaped it compared it with Scyther's attack graphs and SPIN's MSCs):
  * a lane per process, or per role instance ("run") of a security protocol, headed by who plays which role
    and whom it believes it talks to; the attacker, who also speaks for every compromised agent, last;
  * a box for every step of a run (receipts in process charts are the head of their arrow), with what the
    run learnt and the engine's notes (timestamps, why a time was accepted, the attacker's derivations);
  * a final row: the violated claim as a red box on the claiming run, or, for a process model, the values
    the property reads in the violating state;
  * messages as straight arrows; one never received points to its addressee and stops short of it;
  * a lasso's cycle on a band, with an arrow back to where it starts; a crashed lane ends in a cross.

This module decides the grid (which lane, which row); checker/output/msc_layout.py measures it out in points
and places the labels; checker/output/render_msc.py writes it for Graphviz. All pure functions of the trace.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

from checker.output.textblock import Block, Line, TextRun, block_size, wrap_items, wrapped
from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE, Message, Step, Trace
from checker.records import field, record, replace

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


@record
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


@record
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


@record
class Link:
    """A dotted line between an attacker step and a message it acts on without receiving it: an
    eavesdrop taps the message's arrow at the step's row, a drop points at the message's cross."""

    name: str
    kind: str                             # eavesdrop | drop
    cell: tuple[int, int]                 # the attacker step's cell
    msg_id: int


@record
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
