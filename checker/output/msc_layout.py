"""Where everything of a message-sequence chart goes, in points: lanes, rows, and the arrows' labels.

Why wolf lays the chart out itself: Graphviz's `dot` engine keeps a grid of lanes and rows straight, but it
routes a `constraint=false` arrow that spans several rows through virtual nodes at the far edge of the
graph and puts its label there too, so a 20-step run becomes the tangle users hate in attack graphs. A
sequence chart needs little layout: lanes are columns, steps are rows, arrows are straight lines. So this
module computes every position of the grid checker/output/msc_chart.py decided, and
checker/output/render_msc.py hands Graphviz pinned positions: `dot` only draws.

Labels sit on their arrow, on a white ground, between two neighbouring lifelines (so no label crosses a
lifeline), at the spot that covers no box, label, marker or other arrow; lanes are spaced so every label has
such a gap, and when no spot is free the rows the arrow spans are spaced further apart, the gap widened, and
the placement runs again (the round that fitted best is kept). Tests check the resulting geometry (`Layout`).
"""
from __future__ import annotations

from typing import Mapping

from checker.output.msc_chart import CAPABILITY_WORDS, CYCLE_TEXT, Arrow, Chart, Link, chart_of
from checker.output.textblock import Block, TextRun, block_size, run_width
from checker.output.trace import ATTACKER_KINDS, Trace
from checker.records import field, record


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
SELF_LOOP = 45.0           # how far a message to oneself swings out to the right, at least
END_OFFSET = 18.0          # how far before its receiver's lifeline an undelivered message stops
END_SPACING = 14.0         # between markers that share a place
CROSS_ROOM = 14.0          # room under a crash box for the cross that ends its lifeline


@record
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


@record
class Geometry:
    """Positions in points, y growing downwards: lane centres, row centres and heights."""

    lane_x: tuple[float, ...]
    row_y: tuple[float, ...]
    row_h: tuple[float, ...]
    right: float  # the right edge of the lanes' boxes
    loops: Mapping[int, float] = field(default_factory=dict)  # message id -> how far its self-message swings out

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
        reach = self.loops.get(arrow.msg.id, SELF_LOOP)
        if arrow.head is None:
            k, n = arrow.end_slot
            y = self.band(arrow.end_row, 24 + block_size(arrow.label)[1]) if arrow.between else \
                self.row_y[arrow.end_row]
            if arrow.towards == arrow.tail[0]:
                return (start, (start[0] + reach + END_SPACING * k, y))
            x = self.lane_x[arrow.towards] + arrow.side * (END_OFFSET + END_SPACING * (n - 1 - k))
            return (start, (x, y))
        end = self.at(arrow.head)
        if arrow.head[0] == arrow.tail[0]:
            return (start, (start[0] + reach, (start[1] + end[1]) / 2), end)
        return (start, end)


def geometry_of(chart: Chart, extra: tuple[float, ...], wider: tuple[float, ...] = ()) -> Geometry:
    """Lay the grid out in points: lanes far enough apart for their boxes and for each arrow's label in one
    of the gaps it spans, plus `wider[k]` in gap k; rows far enough apart for their boxes, plus `extra[r]`
    between row r and r + 1 where labels were crowded."""
    widths = [max((c.size[0] for c in chart.cells.values() if c.lane == col), default=0.0)
              for col in range(len(chart.lanes))]
    pitch = [max(MIN_LANE_PITCH, widths[k] / 2 + widths[k + 1] / 2 + 28) for k in range(len(widths) - 1)]
    loops = {a.msg.id: _loop_reach(chart, a) for a in chart.arrows if a.towards == a.tail[0]}
    for arrow in sorted(chart.arrows, key=_span):
        gaps = _label_gaps(arrow, len(chart.lanes))
        if not gaps:
            continue
        need = block_size(arrow.label)[0] + 2 * LABEL_PAD + 8
        if arrow.msg.id in loops:  # its label sits out at the loop's far end, not across the whole gap
            need = loops[arrow.msg.id] + block_size(arrow.label)[0] / 2 + LABEL_PAD + 8
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
    return Geometry(tuple(lane_x), tuple(row_y), heights, right, loops)


def _loop_reach(chart: Chart, arrow: Arrow) -> float:
    """How far right of its lifeline a message to oneself swings out: far enough that its label fits on it
    clear of its own boxes and lifeline. A delivered one's label sits on the loop's far corner, beside the
    boxes it leaves and enters; a never-received one's sits on its stub, which must also leave its arrow
    visible on both sides of the label (see `_leaves_arrow_visible`) before the end marker."""
    w = block_size(arrow.label)[0] + 6  # with the label's white ground
    boxes = [chart.cells[arrow.tail]] + ([chart.cells[arrow.head]] if arrow.head is not None else [])
    half = max(max(c.size[0], 10) / 2 for c in boxes) + 2  # as `obstacles` pads them
    if arrow.head is not None:
        return max(SELF_LOOP, half + w / 2 + 4)
    return max(SELF_LOOP, half + 2 * _MIN_VISIBLE + w + 12)


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


@record
class Placement:
    """Where the labels went (centres), and where more room would help: below the rows in `hard` where a
    label could only cover a box or a label, and `occluded` where an arrow passes behind a box; across the
    gaps in `crossed` where a label could only sit on another line (flatter arrows leave it more room)."""

    labels: Mapping[int, Point]
    hard: frozenset[int]
    occluded: frozenset[int]
    crossed: frozenset[tuple[str, int]]  # ("gap", k) and ("row", r): where a label had to sit on a line
    score: tuple[int, ...] = ()          # labels covering something, on a line, beside their arrow; arrows behind boxes


@record
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


@record
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

@record
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
