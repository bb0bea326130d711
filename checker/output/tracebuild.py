"""Turn a path of action indices into a `Trace` by replaying it on the transition system.

Replaying is also the check that the counterexample is real: every step is recomputed from the initial
state, and message identities are tracked by following each channel's contents as the run unfolds (the
explorer's states do not number messages).

Systems made of role instances (`RunSource`, the security protocols) get a lane per run rather than per
agent, as Scyther draws them: `alice as A#1`. A message goes to the run that received it; one addressed to a
compromised agent goes to the attacker, who reads it at once; one never received points at a run of its
addressee that could receive it (whose role receives that message number, never the sender's own run;
preferably one that believes it talks to the sender), or at the agent's own lane when no run of it could.
"""
from __future__ import annotations

from typing import Any, Sequence

from checker.engine.run import Path, replay
from checker.engine.system import RunInfo, RunSource
from checker.output.trace import ATTACKER_LANE, Change, Claim, Message, Run, Step, Trace
from checker.records import replace


def build_trace(system: Any, path: Path, model: str, prop: str, reason: str,
                loop_start: int | None = None,
                schedule: Sequence[tuple[str | None, str | None]] | None = None) -> Trace:
    """`schedule` gives, per action of the path, its time (`t=12`) and the engine's explanation of its time
    checks (checker/timed/timing.py); an attacker step inserted before a receive shares the receive's time."""
    run = replay(system, path)
    runs = _RunLanes(system, run[-1][0]) if isinstance(system, RunSource) else None
    messages: dict[int, dict[str, Any]] = {}
    numbers: dict[int, int] = {}  # message id -> its narration number, where the system gives one
    in_flight: dict[tuple[int, int], list[tuple[int, Any]]] = {}
    steps: list[Step] = []
    used_lanes: set[str] = set()
    next_id = 1
    index = 0  # step numbers: an attacker injection adds its own step before the receiver's
    step_of_action: dict[int, int] = {}
    for k in range(1, len(run)):
        before = run[k - 1][0]
        after, action, _idx = run[k]
        info = system.describe(before, action)
        actor = _actor(system, info, runs)
        used_lanes.add(actor)
        receives: list[int] = []
        forwarded = _forwarded(info, in_flight)
        if forwarded is not None:
            index += 1
            messages[forwarded]["received_at"] = index
            receives.append(forwarded)
        elif info.injected is not None:
            index += 1
            used_lanes.add(ATTACKER_LANE)
            mid, attacker_step = _injection(system, info, index, next_id, messages, in_flight)
            next_id += 1
            if schedule is not None:
                attacker_step = replace(attacker_step, time=schedule[k - 1][0])
            steps.append(attacker_step)
            messages[mid]["received_at"] = index + 1
            receives.append(mid)
            index += 1
        else:
            index += 1
        step_of_action[k] = index
        if info.received is not None:
            src, dst, msg = info.received
            got = _take(in_flight, src, dst, msg)
            if got is not None:
                messages[got]["received_at"] = index
                receives.append(got)
        if runs is not None:
            for got in receives:
                messages[got]["receiver"] = actor
        if info.lost is not None:
            src, dst, msg = info.lost
            gone = _take(in_flight, src, dst, msg)
            if gone is not None:
                messages[gone]["fate"] = "dropped" if info.kind == "drop" else "lost"
                receives.append(gone)
        sends = []
        for src, dst, msg in info.sent:
            mid = next_id
            next_id += 1
            messages[mid] = dict(id=mid, sender=actor if runs is not None else system.lane(src),
                                 receiver=system.lane(dst), text=system.render_message(msg), sent_at=index,
                                 received_at=None, fate="pending")
            sends.append(mid)
            if runs is not None:
                messages[mid]["addressee"] = system.lane(dst)
                if system.lane(dst) in runs.attackers:  # the attacker's own identity: it reads it at once
                    messages[mid] |= dict(receiver=ATTACKER_LANE, received_at=index)
                    used_lanes.add(ATTACKER_LANE)
                    continue
            in_flight.setdefault((src, dst), []).append((mid, msg))
        numbers.update(zip(sends, info.numbers))
        changes: tuple[Change, ...] = ()
        if info.actor >= 0:
            found = system.changes(before, after, info.actor)
            changes = tuple(Change(n, o, v) for n, o, v in (runs.own(info.run, found) if runs else found))
        when, note = (schedule[k - 1] if schedule is not None else (None, None))
        if info.note:
            note = f"{note}; {info.note}" if note else info.note
        steps.append(Step(index=index, actor=actor, kind=info.kind, text=info.text, sends=tuple(sends),
                          receives=tuple(receives), changes=changes, time=when, note=note))
    for m in messages.values():
        if m["received_at"] is not None and m["fate"] == "pending":
            m["fate"] = "delivered"
    initial_state = run[0][0]
    initial = tuple((system.lane(g), tuple(Change(n, "", v) for n, v in system.initial_values(initial_state, g)))
                    for g in range(len(system.lanes())))
    loop = None if loop_start is None else step_of_action.get(loop_start + 1, loop_start + 1)
    trace = Trace(model=model, property=prop, reason=reason, lanes=(), steps=tuple(steps),
                  messages=tuple(Message(**m) for m in sorted(messages.values(), key=lambda m: m["id"])),
                  loop_start=loop, initial=initial)
    if runs is None:
        lanes = tuple(system.lanes())
        if ATTACKER_LANE in used_lanes and ATTACKER_LANE not in lanes:
            lanes = lanes + (ATTACKER_LANE,)
        return replace(trace, lanes=lanes)
    return runs.finish(trace, system, prop, run[-1][0], numbers)


def _actor(system: Any, info: Any, runs: "_RunLanes | None") -> str:
    """The lane a step belongs to: its run's, its process's, or the attacker's."""
    if runs is not None and info.run is not None:
        return runs.runs[info.run].lane
    return system.lane(info.actor) if info.actor >= 0 else ATTACKER_LANE


class _RunLanes:
    """The runs of a `RunSource` system as they stand at the end of the trace, and how lanes are made of them."""

    def __init__(self, system: Any, final: Any):
        infos = system.run_info(final)
        self.runs = tuple(_run(info) for info in infos)
        self.receives = {run.lane: info.receives for run, info in zip(self.runs, infos)}
        self.attackers = tuple(system.attacker_names())

    def own(self, run: int | None, changes: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """The acting run's changes, named without the run's label (its lane says it): `Na`, `status`."""
        if run is None:
            return changes
        label = f"{self.runs[run].role}#{self.runs[run].number}"
        out = []
        for name, old, new in changes:
            if name == label:
                out.append(("status", old, new))
            elif name.startswith(label + "."):
                out.append((name[len(label) + 1:], old, new))
        return out

    def finish(self, trace: Trace, system: Any, prop: str, final: Any, numbers: dict[int, int]) -> Trace:
        """Receivers for messages never received (`numbers`: messages' narration numbers), the lanes in chart
        order (honest agents' runs, servers' runs, agents without a run, the attacker), the runs that have
        lanes and the failing claim."""
        lane_of = {r.lane: r for r in self.runs}
        acting = {s.actor for s in trace.steps} | {m.receiver for m in trace.messages}
        messages = []
        for m in trace.messages:
            if m.fate == "pending" and m.receiver not in lane_of and m.receiver != ATTACKER_LANE:
                m = replace(m, receiver=self._addressee_lane(m, numbers.get(m.id), acting))
            messages.append(m)
        used = {s.actor for s in trace.steps} | {m.receiver for m in messages}
        agents = [a for a in system.lanes() if a not in self.attackers]
        runs = [r for r in self.runs if r.lane in used]
        ordered = [r.lane for server in (False, True) for a in agents for r in runs
                   if r.agent == a and r.server == server]
        ordered += [r.lane for r in runs if r.lane not in ordered]
        ordered += [a for a in agents if a in used]
        if ATTACKER_LANE in used:
            ordered.append(ATTACKER_LANE)
        claim = None
        found = system.claim(prop, final)
        if found is not None:
            lane = self.runs[found.run].lane if found.run is not None else (
                trace.steps[-1].actor if trace.steps else None)
            if lane in ordered:
                claim = Claim(lane, found.text)
        return replace(trace, lanes=tuple(ordered), messages=tuple(messages), claim=claim,
                       runs=tuple(r for r in runs if r.lane in ordered), attackers=self.attackers)

    def _addressee_lane(self, msg: Message, number: int | None, acting: set[str]) -> str:
        """Where a message that nobody received points (its receiver is still the agent it is addressed to): a
        run of that agent already in the chart whose role receives message `number`, preferably one that
        believes it talks to the sender; the agent itself when it has none. Never the sender's own run: an
        agent playing several roles must not seem to send a message to itself."""
        agent = msg.receiver
        sender = next((r.agent for r in self.runs if r.lane == msg.sender), msg.sender)
        able = [r for r in self.runs if r.agent == agent and r.lane in acting and r.lane != msg.sender
                and number in self.receives[r.lane]]
        believing = [r for r in able if any(who == sender for _role, who in r.partners)]
        chosen = (believing or able)[:1]
        return chosen[0].lane if chosen else agent


def _run(info: RunInfo) -> Run:
    label = f"{info.role}#{info.number}"
    return Run(f"{info.agent} as {label}" if info.agent else label, info.agent, info.role, info.number,
               info.partners, info.chosen, info.server)


def _take(in_flight: dict[tuple[int, int], list[tuple[int, Any]]], src: int, dst: int, msg: Any) -> int | None:
    """The earliest-sent message on src->dst equal to `msg` (FIFO order, and a fair choice for unordered)."""
    queue = in_flight.get((src, dst), [])
    for pos, (mid, m) in enumerate(queue):
        if m == msg:
            del queue[pos]
            return mid
    return None


def _injection(system: Any, info: Any, index: int, mid: int, messages: dict[int, dict[str, Any]],
               in_flight: dict[tuple[int, int], list[tuple[int, Any]]]) -> tuple[int, Step]:
    """The attacker's step that hands the actor a message: the new message (with its capability and
    derivation; a replay names the message it copies) and, for modify, the intercepted one."""
    src, dst, msg = info.injected
    text = system.render_message(msg)
    derivation = info.derivation
    capability = info.capability
    if capability == "masquerade" and "replay" in getattr(system, "capabilities", ()) and any(
            m["text"] == text and m.get("capability") is None for m in messages.values()):
        capability = "replay"  # forging a copy of an earlier message is a replay, and reads better as one
    if capability == "replay":
        original = next((m["id"] for m in messages.values() if m["text"] == text and m.get("capability") is None),
                        None)
        derivation = f"a copy of message #{original}" if original is not None else "a copy of an earlier message"
    taken: list[int] = []
    if info.intercepted is not None:
        isrc, idst, imsg = info.intercepted
        old = _take(in_flight, isrc, idst, imsg)
        if old is not None:
            messages[old]["fate"] = "dropped"
            messages[old]["received_at"] = None
            taken.append(old)
    messages[mid] = dict(id=mid, sender=system.lane(src), receiver=system.lane(dst), text=text, sent_at=index,
                         received_at=None, fate="delivered", capability=capability, derivation=derivation)
    verb = {"replay": "replays", "modify": "replaces it with", "masquerade": "sends"}.get(capability, capability)
    what = f"{verb} {text} as {system.lane(src)} to {system.lane(dst)}"
    step = Step(index=index, actor=ATTACKER_LANE, kind=capability, text=what, sends=(mid,),
                receives=tuple(taken))
    return mid, step


def _forwarded(info: Any, in_flight: dict[tuple[int, int], list[tuple[int, Any]]]) -> int | None:
    """A masquerade that hands the receiver exactly a message still in flight to it is that message's delivery
    (the attacker-as-network forwarding it), shown as such; returns its id, taken out of the network."""
    if info.injected is None or info.capability != "masquerade":
        return None
    _src, dst, msg = info.injected
    best = None
    for (s, d), queue in in_flight.items():
        if d == dst:
            for mid, m in queue:
                if m == msg and (best is None or mid < best[0]):
                    best = (mid, s)
    if best is None:
        return None
    return _take(in_flight, best[1], dst, msg)
