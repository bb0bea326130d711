"""Tests of the counterexample renderers: the text trace and the message-sequence chart (DOT and SVG).

The traces are built by hand so the renderers are tested without the explorer; each one exercises a
feature users rely on when reading a counterexample (state changes, attacker capabilities, lassos, messages
that never arrive, a long run, hostile names).
"""
from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from checker.output import render_msc
from checker.output.render_msc import RendererUnavailable, msc_dot, msc_svg
from checker.output.render_text import render_text
from checker.output.trace import ATTACKER_LANE, Change, Message, Step, Trace

SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


# ----------------------------------------------------------------------------------------------- traces


def _msg(
    id: int,
    sender: str,
    receiver: str,
    text: str,
    sent: int,
    received: int | None = None,
    fate: str = "delivered",
    capability: str | None = None,
    derivation: str | None = None,
) -> Message:
    """A message, with positional arguments in the order one reads an arrow."""
    return Message(id, sender, receiver, text, sent, received, fate, capability, derivation)


def _ch(*triples: tuple[str, str, str]) -> tuple[Change, ...]:
    """Changes from (name, old, new) triples."""
    return tuple(Change(*t) for t in triples)


def process_trace() -> Trace:
    """Three processes of a Lamport-style mutex: a broadcast, handlers that answer, state changes."""
    p0, p1, p2 = "P[0]", "P[1]", "P[2]"
    steps = (
        Step(1, p0, "send", "idle -> waiting", sends=(1, 2),
             changes=_ch(("clock", "0", "1"), ("queue", "{}", "{(1, 0)}"), ("state", "idle", "waiting"))),
        Step(2, p1, "receive", "on request(1, 0)", receives=(1,), sends=(3,),
             changes=_ch(("clock", "0", "2"), ("queue", "{}", "{(1, 0)}"))),
        Step(3, p2, "receive", "on request(1, 0)", receives=(2,), sends=(4,),
             changes=_ch(("clock", "0", "2"), ("queue", "{}", "{(1, 0)}"))),
        Step(4, p0, "receive", "on ack(2, 1)", receives=(3,), changes=_ch(("clock", "1", "3"))),
        Step(5, p0, "receive", "on ack(2, 2)", receives=(4,), changes=_ch(("clock", "3", "4"))),
        Step(6, p0, "internal", "waiting -> critical", changes=_ch(("state", "waiting", "critical"))),
    )
    messages = (
        _msg(1, p0, p1, "request(1, 0)", 1, 2),
        _msg(2, p0, p2, "request(1, 0)", 1, 3),
        _msg(3, p1, p0, "ack(2, 1)", 2, 4),
        _msg(4, p2, p0, "ack(2, 2)", 3, 5),
    )
    initial = tuple((p, _ch(("clock", "", "0"), ("queue", "", "{}"), ("state", "", "idle"))) for p in (p0, p1, p2))
    return Trace("LamportMutex", "no_starvation", "P[0] entered critical while P[1] waits (demo)",
                 (p0, p1, p2), steps, messages, initial=initial)


def attacker_trace() -> Trace:
    """Lowe's man-in-the-middle attack on Needham-Schroeder, with an eavesdrop and a replay added."""
    a, b = "alice as A#1", "bob as B#1"
    atk = ATTACKER_LANE
    steps = (
        Step(1, a, "send", "A -> B: {Na, A}pk(B)", sends=(1,), changes=_ch(("Na", "", "Na#1"))),
        Step(2, atk, "modify", "decrypt and re-encrypt for bob", receives=(1,), sends=(2,)),
        Step(3, b, "receive", "B <- A: {Na, A}pk(B)", receives=(2,), sends=(3,), changes=_ch(("Nb", "", "Nb#1"))),
        Step(4, atk, "eavesdrop", "learns {Na#1, Nb#1}pk(alice)", receives=(3,)),
        Step(5, a, "receive", "A <- B: {Na, Nb}pk(A)", receives=(3,), sends=(4,)),
        Step(6, atk, "modify", "decrypt and re-encrypt for bob", receives=(4,), sends=(5,)),
        Step(7, atk, "replay", "replay message #2", sends=(6,)),
        Step(8, b, "receive", "B <- A: {Nb}pk(B); commit", receives=(5,),
             changes=_ch(("state", "wait", "commit")), note="bob believes he talks to alice"),
    )
    messages = (
        _msg(1, a, atk, "{Na#1, alice}pk(eve)", 1, 2),
        _msg(2, "alice", b, "{Na#1, alice}pk(bob)", 2, 3, capability="modify",
             derivation="decrypt #1 with sk(eve) -> Na#1, alice; encrypt with pk(bob)"),
        _msg(3, b, a, "{Na#1, Nb#1}pk(alice)", 3, 5),
        _msg(4, a, atk, "{Nb#1}pk(eve)", 5, 6),
        _msg(5, "alice", b, "{Nb#1}pk(bob)", 6, 8, capability="modify",
             derivation="decrypt #4 with sk(eve) -> Nb#1; encrypt with pk(bob)"),
        _msg(6, "alice", b, "{Na#1, alice}pk(bob)", 7, None, fate="pending", capability="replay",
             derivation="copy of #2"),
    )
    return Trace("NSPK", "B agrees with A on Na, Nb",
                 "bob as B#1 committed to alice on (Na#1, Nb#1), but alice ran with eve",
                 (a, b), steps, messages, facts=("attacker knows Nb#1",))


def lasso_trace() -> Trace:
    """Two processes that pass a token back and forth forever without ever entering critical."""
    p, q = "P[0]", "P[1]"
    steps = (
        Step(1, p, "send", "idle -> waiting", sends=(1,), time="0"),
        Step(2, q, "receive", "on token", receives=(1,), sends=(2,), time="t=3", note="P[1] yields"),
        Step(3, p, "receive", "on token", receives=(2,), sends=(3,), time="t=5"),
        Step(4, q, "receive", "on token", receives=(3,), sends=(4,), time="t=7", note="back to step 2"),
    )
    messages = (
        _msg(1, p, q, "token", 1, 2),
        _msg(2, q, p, "token", 2, 3),
        _msg(3, p, q, "token", 3, 4),
        _msg(4, q, p, "token", 4, None, fate="pending"),
    )
    return Trace("TokenPass", "fair", "P[0] waits forever: the token circulates, nobody enters critical",
                 (p, q), steps, messages, loop_start=2)


def lossy_trace() -> Trace:
    """A message lost by the network, one dropped by the attacker, and one still in flight at the end."""
    p, q = "P[0]", "P[1]"
    steps = (
        Step(1, p, "send", "send ping", sends=(1, 2, 3)),
        Step(2, "network", "lose", "the network loses #1", receives=(1,)),
        Step(3, ATTACKER_LANE, "drop", "drop #2", receives=(2,)),
        Step(4, p, "crash", "P[0] crashes"),
    )
    messages = (
        _msg(1, p, q, "ping(1)", 1, fate="lost"),
        _msg(2, p, q, "ping(2)", 1, fate="dropped"),
        _msg(3, p, q, "ping(3)", 1, fate="pending"),
    )
    return Trace("Ping", "delivered", "no ping reached P[1]", (p, q), steps, messages)


def long_trace() -> Trace:
    """Twenty steps on four lanes, with crossing messages, as in a Lamport mutex run with four processes."""
    P = [f"P[{i}]" for i in range(4)]
    steps: list[Step] = []
    messages: list[Message] = []

    def broadcast(step: int, sender: int, text: str, first_id: int) -> tuple[int, ...]:
        ids = []
        for k, r in enumerate(j for j in range(4) if j != sender):
            messages.append(_msg(first_id + k, P[sender], P[r], text, step))
            ids.append(first_id + k)
        return tuple(ids)

    steps.append(Step(1, P[0], "send", "idle -> waiting", sends=broadcast(1, 0, "request(1, 0)", 1),
                      changes=_ch(("clock", "0", "1"))))                      # 1: ->P1, 2: ->P2, 3: ->P3
    steps.append(Step(2, P[2], "send", "idle -> waiting", sends=broadcast(2, 2, "request(1, 2)", 4),
                      changes=_ch(("clock", "0", "1"))))                      # 4: ->P0, 5: ->P1, 6: ->P3
    plan = [  # (step, receiver, message received, reply text or None, reply to)
        (3, 1, 1, "ack(2, 1)", 0), (4, 3, 3, "ack(2, 3)", 0), (5, 1, 5, "ack(3, 1)", 2),
        (6, 0, 4, "ack(3, 0)", 2), (7, 2, 2, "ack(3, 2)", 0), (8, 3, 6, "ack(3, 3)", 2),
    ]
    next_id = 7
    replies: dict[int, int] = {}
    for step, r, got, reply, to in plan:
        messages.append(_msg(next_id, P[r], P[to], reply, step))
        replies[step] = next_id
        steps.append(Step(step, P[r], "receive", f"on {_text(messages, got)}", receives=(got,), sends=(next_id,),
                          changes=_ch(("clock", str(step - 2), str(step)))))
        next_id += 1
    # deliveries of the acks: 7 (3->P0), 8 (4->P0), 9 (5->P2), 10 (6->P2), 11 (7->P0), 12 (8->P2)
    for step, got in ((9, 7), (10, 9), (11, 8), (12, 11), (13, 10), (14, 12)):
        steps.append(Step(step, _receiver(messages, got), "receive", f"on {_text(messages, got)}", receives=(got,),
                          changes=_ch(("clock", str(step - 1), str(step)))))
    steps.append(Step(15, P[0], "internal", "waiting -> critical"))
    steps.append(Step(16, P[1], "send", "idle -> waiting", sends=broadcast(16, 1, "request(9, 1)", 13)))
    steps.append(Step(17, P[3], "receive", "on request(9, 1)", receives=(15,), sends=(16,)))
    messages.append(_msg(16, P[3], P[1], "ack(17, 3)", 17))
    steps.append(Step(18, P[2], "internal", "waiting -> critical", note="min(queue) == (1, 2): stale entry"))
    steps.append(Step(19, P[0], "receive", "on request(9, 1)", receives=(13,)))
    steps.append(Step(20, P[1], "receive", "on ack(17, 3)", receives=(16,)))
    received = {r: s.index for s in steps for r in s.receives}
    final = tuple(
        Message(m.id, m.sender, m.receiver, m.text, m.sent_at, received.get(m.id),
                "delivered" if m.id in received else "pending")
        for m in messages
    )
    return Trace("LamportMutex4", "mutex", "P[0] and P[2] are both critical", tuple(P), tuple(steps), final)


def _text(messages: list[Message], msg_id: int) -> str:
    return next(m.text for m in messages if m.id == msg_id)


def _receiver(messages: list[Message], msg_id: int) -> str:
    return next(m.receiver for m in messages if m.id == msg_id)


def hostile_trace() -> Trace:
    """Every model-supplied string carries markup, quotes, backslashes and record-label syntax."""
    evil = '<script>alert(1)</script>'
    a, b = f"{evil} as A#1", 'a&b "q" \\N {x|y}'
    steps = (
        Step(1, a, "send", f"send {evil}\nsecond line", sends=(1,), changes=_ch(("v&", "<b>", "</svg>"))),
        Step(2, ATTACKER_LANE, "masquerade", "pose as a&b", sends=(2,), note=evil),
        Step(3, b, "receive", "on <msg>", receives=(1,), time="t=<1>"),
    )
    messages = (
        _msg(1, a, b, f"{evil} & {{x|y}} \\l", 1, 3),
        _msg(2, b, a, "<i>forged</i>", 2, None, fate="pending", capability="masquerade",
             derivation='pair("a&b", <script>)'),
    )
    return Trace(evil, f"secret({evil})", "a&b <learned> \"it\"", (a, b), steps, messages)


def empty_trace() -> Trace:
    """A deadlock in the initial state: no steps, no messages."""
    return Trace("Stuck", "deadlock_free", "no action is enabled initially", ("P[0]",), ())


def quirky_trace() -> Trace:
    """What a careless engine might hand over: a message to oneself, a lane missing from `lanes`, a
    receipt by a step the trace does not contain, and a step that sends an id no message has."""
    p = "P[0]"
    steps = (
        Step(1, p, "send", "note to self", sends=(1, 2, 99)),
        Step(2, p, "receive", "on self", receives=(1,)),
        Step(3, "Q", "internal", "unlisted lane"),
    )
    messages = (_msg(1, p, p, "self()", 1, 2), _msg(2, p, "Q", "ghost()", 1, 42))
    return Trace("Quirky", "p", "r", (p,), steps, messages)


def lonely_trace() -> Trace:
    """Messages to oneself with labels wider than the usual loop, one delivered and one never received
    at the last step, beside a neighbour: the loops must swing out far enough for their labels to clear their
    own lifeline, boxes and end marker."""
    p, q = "P[0]", "P[1]"
    steps = (
        Step(1, p, "send", "writes a long note to itself", sends=(1,)),
        Step(2, p, "receive", "reads it", receives=(1,)),
        Step(3, q, "internal", "idles"),
        Step(4, p, "send", "writes another and stops", sends=(2,), changes=_ch(("phase", "busy", "done"))),
    )
    messages = (_msg(1, p, p, "a_rather_long_reminder(42, 43, 44)", 1, 2),
                _msg(2, p, p, "another_long_reminder(45, 46, 47)", 4, None, "pending"))
    return Trace("Lonely", "p", "r", (p, q), steps, messages, formula="phase != done")


ALL_TRACES = (process_trace, attacker_trace, lasso_trace, lossy_trace, long_trace, hostile_trace, empty_trace,
              quirky_trace, lonely_trace)


# ------------------------------------------------------------------------------------------------- text


def test_text_numbers_steps_and_shows_receipts_changes_and_sends() -> None:
    text = render_text(process_trace())
    assert "  2. P[1]  on request(1, 0)  [receives #1 from P[0]]" in text
    assert "       clock: 0 -> 2\n" in text
    assert "       queue: {} -> {(1, 0)}\n" in text
    assert "       -> ack(2, 1) to P[0]  (#3)\n" in text
    assert "initial state:\n  P[0]: clock = 0, queue = {}, state = idle" in text
    assert text.rstrip().endswith("reason: P[0] entered critical while P[1] waits (demo)")
    assert "violated: no_starvation" in text


def test_text_without_state_omits_changes() -> None:
    text = render_text(process_trace(), show_state=False)
    assert "clock: 0 -> 2" not in text and "initial state" not in text
    assert "  6. P[0]  waiting -> critical" in text


def test_text_names_capabilities_injections_and_derivations() -> None:
    text = render_text(attacker_trace())
    assert "  2. attacker  MODIFY: decrypt and re-encrypt for bob  [intercepts #1" in text
    assert "EAVESDROP: learns {Na#1, Nb#1}pk(alice)  [overhears #3 {Na#1, Nb#1}pk(alice) from bob as B#1" in text
    assert "REPLAY: replay message #2" in text
    assert "-> {Na#1, alice}pk(bob) to bob as B#1  (#2, injected: modify, claims to be from alice)" in text
    assert "derivation: decrypt #1 with sk(eve) -> Na#1, alice; encrypt with pk(bob)" in text
    assert "[receives #5 from attacker posing as alice]" in text
    assert "note: bob believes he talks to alice" in text
    assert "facts:\n  attacker knows Nb#1" in text


def test_text_marks_the_cycle_times_and_notes() -> None:
    text = render_text(lasso_trace())
    lines = text.splitlines()
    marker = lines.index("  -- cycle: the steps below repeat forever --")
    assert lines[marker - 2].startswith("  1. P[0]  (t=0)") and lines[marker + 1].startswith("  2. P[1]  (t=3)")
    assert "note: P[1] yields" in text
    assert "  -- end of cycle: back to step 2 --" in text
    assert text.count("P[0] waits forever") == 1, "the reason once"


def test_text_reports_lost_dropped_pending_and_faults() -> None:
    text = render_text(lossy_trace())
    assert "-> ping(1) to P[1]  (#1, lost by the network)" in text
    assert "-> ping(2) to P[1]  (#2, dropped by the attacker)" in text
    assert "-> ping(3) to P[1]  (#3, never received)" in text
    assert "LOSE: the network loses #1  [loses #1 ping(1) from P[0] to P[1]]" in text
    assert "DROP: drop #2" in text and "CRASH: P[0] crashes" in text
    assert "in flight at the end:\n  #3 ping(3) from P[0] to P[1]" in text


def test_text_aligns_step_numbers_of_long_runs() -> None:
    lines = render_text(long_trace()).splitlines()
    assert "   9. P[0]  on ack(2, 1)  [receives #7 from P[1]]" in lines
    assert "  10. P[2]  on ack(3, 1)  [receives #9 from P[1]]" in lines


@pytest.mark.parametrize("make", ALL_TRACES)
def test_text_renders_every_trace(make) -> None:
    trace = make()
    text = render_text(trace)
    assert f"violated: {trace.property.splitlines()[0]}" in text
    assert all(f" {s.index}. " in text for s in trace.steps)


def test_text_keeps_multiline_model_text_inside_its_block() -> None:
    text = render_text(hostile_trace())
    assert "send <script>alert(1)</script>\n         second line" in text


# -------------------------------------------------------------------------------------------------- DOT


@pytest.mark.parametrize("make", ALL_TRACES)
def test_dot_is_a_deterministic_function_of_the_trace(make) -> None:
    assert msc_dot(make()) == msc_dot(make())
    assert msc_dot(make(), show_state=True) == msc_dot(make(), show_state=True)


@pytest.mark.parametrize("make", ALL_TRACES)
def test_dot_has_one_message_edge_per_message(make) -> None:
    trace = make()
    ids = [int(i) for i in re.findall(r'-> \S+ \[id="msg(\d+)"', msc_dot(trace))]
    assert sorted(ids) == sorted(m.id for m in trace.messages)


def test_dot_shows_state_only_when_asked() -> None:
    assert "clock=2, queue={(1, 0)}" in msc_dot(process_trace(), show_state=True)
    assert "clock=2" not in msc_dot(process_trace())


def test_dot_marks_the_cycle_with_an_arrow_back_and_only_for_lassos() -> None:
    lasso = msc_dot(lasso_trace())
    assert "cluster_cycle" in lasso and "cycle: steps 2 to 4 repeat forever" in lasso
    assert re.search(r'back_from -> back_to \[id="cycle-back"', lasso)
    assert "cluster_cycle" not in msc_dot(process_trace()) and "cycle-back" not in msc_dot(process_trace())


def test_the_reason_is_printed_once_and_the_verdict_heads_the_chart() -> None:
    dot = msc_dot(lasso_trace())
    assert dot.count("P[0] waits forever") == 1
    assert 'labelloc="t"' in dot


def test_a_crashed_lifeline_ends_in_a_cross_at_the_crash() -> None:
    dot = msc_dot(lossy_trace())
    assert re.search(r'c0_0 -> crash0 \[id="lifeline0"', dot)       # P[0] crashes at step 4
    assert re.search(r'c1_0 -> c1_\d+ \[id="lifeline1"', dot)        # P[1] lives to the end


def test_attacker_lane_appears_only_when_the_attacker_acts() -> None:
    assert ">attacker<" not in msc_dot(process_trace())
    assert ">attacker<" in msc_dot(attacker_trace())


def test_legend_lists_only_what_occurs() -> None:
    honest = msc_dot(process_trace())
    assert "cluster_legend" not in honest, "a chart of honest, delivered messages needs no legend"
    attack = msc_dot(attacker_trace())
    for shown in ("honest message", "eavesdrop: the attacker copies", "modify: the attacker replaces",
                  "replay: the attacker sends an earlier", "never received"):
        assert shown in attack, shown
    assert "masquerade:" not in attack and "dropped by the attacker" not in attack
    lossy = msc_dot(lossy_trace())
    assert "lost by the network" in lossy and "dropped by the attacker" in lossy and "never received" in lossy


# -------------------------------------------------------------------------------------------------- SVG


def _svg(trace: Trace, show_state: bool = False) -> ET.Element:
    return ET.fromstring(msc_svg(trace, show_state))


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def _bbox(group: ET.Element) -> tuple[float, float, float, float]:
    """The bounding box of a node's outline (its first polygon or path)."""
    shape = next(e for e in group.iter() if e.tag in (f"{SVG}polygon", f"{SVG}path"))
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", shape.get("points") or shape.get("d") or "")]
    xs, ys = numbers[0::2], numbers[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@needs_dot
@pytest.mark.parametrize("make, lanes", [(process_trace, 3), (attacker_trace, 3), (lasso_trace, 2),
                                         (lossy_trace, 3), (long_trace, 4), (hostile_trace, 3),
                                         (empty_trace, 1), (quirky_trace, 2)])
def test_svg_has_one_header_per_lane_and_one_arrow_per_message(make, lanes: int) -> None:
    trace = make()
    root = _svg(trace)
    assert len(_groups(root, "lane")) == lanes
    arrows = [g.get("id") for g in _groups(root, "edge") if re.fullmatch(r"msg\d+", g.get("id") or "")]
    assert sorted(arrows) == sorted(f"msg{m.id}" for m in trace.messages)


@needs_dot
def test_svg_lane_headers_follow_trace_order_with_the_attacker_last() -> None:
    root = _svg(attacker_trace())
    headers = sorted(_groups(root, "lane"), key=lambda g: _bbox(g)[0])
    assert ["".join(h.find(f".//{SVG}text").itertext()) for h in headers] == [
        "alice as A#1", "bob as B#1", ATTACKER_LANE]


@needs_dot
def test_svg_escapes_model_text() -> None:
    root = _svg(hostile_trace(), show_state=True)
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert not tags & {"script", "i", "msg"}                  # model text never becomes markup
    texts = _texts(root)
    assert any("<script>alert(1)</script>" in t for t in texts)
    assert 'a&b "q" \\N {x|y}' in texts                      # not expanded to a node name by Graphviz
    assert any("<i>forged</i>" in t for t in texts)
    titles = [el.get("{http://www.w3.org/1999/xlink}title") or "" for el in root.iter()]
    assert any('a&b "q" \\N {x|y}' in t for t in titles)


@needs_dot
@pytest.mark.parametrize("make", ALL_TRACES)
@pytest.mark.parametrize("show_state", [False, True])
def test_svg_labels_neither_overlap_nor_cover_boxes(make, show_state: bool) -> None:
    """The readability promise, checked on the SVG's own geometry (a 20-step, 4-lane run among them)."""
    root = _svg(make(), show_state)
    nodes = {g.get("id"): g for g in _groups(root, "node")}
    labels = [_bbox(g) for i, g in nodes.items() if i.startswith("label-msg")]
    boxes = [_bbox(g) for i, g in nodes.items() if re.fullmatch(r"step\d+|lane\d+", i)]
    assert len(labels) == len(make().messages)
    for k, a in enumerate(labels):
        assert not any(_overlap(a, b) for b in labels[k + 1:]), "two message labels overlap"
        assert not any(_overlap(a, b) for b in boxes), "a message label covers a step box"


@needs_dot
def test_svg_shows_times_notes_cycle_and_verdict() -> None:
    texts = _texts(_svg(lasso_trace()))
    for shown in ("t=0", "t=3", "P[1] yields", "cycle: steps 2 to 4 repeat forever", "violated:", "fair",
                  "P[0] waits forever: the token circulates, nobody enters critical"):
        assert any(shown in t for t in texts), shown


@needs_dot
def test_svg_draws_taps_crosses_and_stubs() -> None:
    root = _svg(attacker_trace())
    edges = {g.get("id"): g for g in _groups(root, "edge")}
    assert "eavesdrop4-3" in edges
    assert edges["msg2"].find(f".//{SVG}path").get("stroke-dasharray")        # injected: dashed
    assert not edges["msg1"].find(f".//{SVG}path").get("stroke-dasharray")    # honest: solid
    lossy = _svg(lossy_trace())
    assert _texts(lossy).count("×") == 5  # lost, dropped, the crash, and the legend's two samples
    assert "drop3-2" in {g.get("id") for g in _groups(lossy, "edge")}


def test_missing_dot_raises_renderer_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RendererUnavailable) as excinfo:
        msc_svg(process_trace())
    assert "apt-get install graphviz" in str(excinfo.value) and "brew install graphviz" in str(excinfo.value)


def test_only_the_msc_renderer_imports_graphviz() -> None:
    """design.md: one module imports graphviz; of the two renderers it is the chart's."""
    import ast
    import checker.output.render_text as text_module

    def imported(module) -> set[str]:
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    assert "graphviz" in imported(render_msc)
    assert "graphviz" not in imported(text_module)
