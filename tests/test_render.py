"""Tests of the counterexample renderers: the text trace and the message-sequence chart (DOT and SVG).

The traces are built by hand so the renderers are tested without the explorer; each one exercises a
feature users rely on when reading a counterexample (state changes, attacker capabilities, lassos, messages
that never arrive, a long run, hostile names).
"""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from checker import render_msc
from checker.render_msc import RendererUnavailable, msc_dot, msc_svg
from checker.render_text import render_text
from checker.trace import ATTACKER_LANE, Change, Message, Step, Trace

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
