"""Turn a path of action indices into a `Trace` by replaying it on the transition system.

Replaying is also the check that the counterexample is real: every step is recomputed from the initial
state, and message identities are tracked by following each channel's contents as the run unfolds (the
explorer's states do not number messages).
"""
from __future__ import annotations

from typing import Any

from .explorer import Path, replay
from .trace import ATTACKER_LANE, Change, Message, Step, Trace


def build_trace(system: Any, path: Path, model: str, prop: str, reason: str,
                loop_start: int | None = None) -> Trace:
    run = replay(system, path)
    messages: dict[int, dict[str, Any]] = {}
    in_flight: dict[tuple[int, int], list[tuple[int, Any]]] = {}
    steps: list[Step] = []
    used_lanes: set[str] = set()
    next_id = 1
    for k in range(1, len(run)):
        before = run[k - 1][0]
        after, action, _idx = run[k]
        info = system.describe(before, action)
        actor = system.lane(info.actor) if info.actor >= 0 else ATTACKER_LANE
        used_lanes.add(actor)
        receives: list[int] = []
        if info.received is not None:
            src, dst, msg = info.received
            mid = _take(in_flight, src, dst, msg)
            if mid is not None:
                messages[mid]["received_at"] = k
                receives.append(mid)
        if info.lost is not None:
            src, dst, msg = info.lost
            mid = _take(in_flight, src, dst, msg)
            if mid is not None:
                messages[mid]["fate"] = "lost"
                receives.append(mid)
        sends = []
        for src, dst, msg in info.sent:
            mid = next_id
            next_id += 1
            messages[mid] = dict(id=mid, sender=system.lane(src), receiver=system.lane(dst),
                                 text=system.render_message(msg), sent_at=k, received_at=None, fate="pending")
            in_flight.setdefault((src, dst), []).append((mid, msg))
            sends.append(mid)
        changes = ()
        if info.actor >= 0:
            changes = tuple(Change(n, o, v) for n, o, v in system.changes(before, after, info.actor))
        steps.append(Step(index=k, actor=actor, kind=info.kind, text=info.text, sends=tuple(sends),
                          receives=tuple(receives), changes=changes))
    for m in messages.values():
        if m["received_at"] is not None:
            m["fate"] = "delivered"
    lanes = tuple(system.lanes())
    if ATTACKER_LANE in used_lanes and ATTACKER_LANE not in lanes:
        lanes = lanes + (ATTACKER_LANE,)
    initial_state = run[0][0]
    initial = tuple((system.lane(g), tuple(Change(n, "", v) for n, v in system.initial_values(initial_state, g)))
                    for g in range(len(system.lanes())))
    loop = None if loop_start is None else loop_start + 1
    return Trace(model=model, property=prop, reason=reason, lanes=lanes, steps=tuple(steps),
                 messages=tuple(Message(**m) for m in sorted(messages.values(), key=lambda m: m["id"])),
                 loop_start=loop, initial=initial)


def _take(in_flight: dict[tuple[int, int], list[tuple[int, Any]]], src: int, dst: int, msg: Any) -> int | None:
    """The earliest-sent message on src->dst equal to `msg` (FIFO order, and a fair choice for unordered)."""
    queue = in_flight.get((src, dst), [])
    for pos, (mid, m) in enumerate(queue):
        if m == msg:
            del queue[pos]
            return mid
    return None
