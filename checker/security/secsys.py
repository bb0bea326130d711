"""Security protocols as a transition system: role instances on a network the attacker controls.

A state is the tuple `(insts, knowledge, net, traffic, events, revealed, violated, clock)`:
  * `insts[i]` is instance i's `(pc, values)`: the next step and one value (or None) per role slot;
  * `knowledge` the attacker's `Knowledge`;
  * `net` the messages in flight, a multiset as a frozenset of `((sender, addressee, term), count)`;
  * `traffic` every message sent so far (kept only when `replay` is enabled);
  * `events` the running/commit signals of agreement goals, a multiset like `net`;
  * `revealed` the session values handed to the attacker by `reveal` (secrecy does not cover them);
  * `violated` the agreement goals some commit has broken, as (goal name, explanation) pairs.
  * `clock` the time part (`timing.Clock`: zone, counters, replay caches), None for untimed protocols.
Multisets are frozensets of (item, count) so that states do not depend on the order things happened in;
whenever an order is needed (successors, traces) items are sorted by `terms.sort_key`.

A role step is atomic (receive, check, create fresh values, send up to the next receive): the usual step
semantics of protocol checkers, which only removes interleavings of purely local work. Instances of one role
with the same preset bindings are interchangeable, so instance k may only start once instance k-1 has
(symmetry reduction); generated sessions are cast in order, session k before session k+1. An action is
`(owner, sent, kind, instance, delivery, sends, note, values)`, values being the instance's slots afterwards
(for traces); the owner is the instance, or -1 for the attacker's drop.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from checker.security.attacker import Attacker, Delivery, Entry
from checker.security.knowledge import Knowledge, derivable, explain
from checker.engine.fingerprint import fingerprint
from checker.engine.system import ClaimInfo, RunInfo, StepInfo
from checker.security.roles import AgreementGoal, Instance, RoleSpec, SecretGoal, StepSpec
from checker.timed.timing import Clock, Timing
from checker.security.terms import Atom, Term, atoms, instantiate, is_ground, pretty, pretty_enclosed, substitute

State = tuple


class SecAction(NamedTuple):
    """One step: an instance's role step (`kind` "step") or the attacker's drop of an in-flight message."""

    owner: int  # the instance, or -1 for the attacker
    sent: int
    kind: str  # step | drop
    instance: int
    delivery: Any  # the Delivery that fed a receive (or the dropped entry), None for a first send
    sends: tuple
    note: str | None
    values: tuple | None  # the instance's slots afterwards (for traces)


@dataclass(frozen=True)
class Scenario:
    honest: tuple[Atom, ...]
    compromised: tuple[Atom, ...]
    instances: tuple[Instance, ...]
    sessions: str  # how the bound reads in verdicts: "2 sessions", "the 3 runs of the scenario"
    dedicated: tuple[tuple[Atom, ...] | None, ...] = ()  # per role: the only agents that may play it

    def cast_pools(self, role: int, starter: bool) -> tuple[tuple[Atom, ...], ...]:
        """The agents a generated session may cast in a role: honest ones first, then compromised ones (not
        for the role that starts the session). Agents dedicated to a role play no other."""
        own = self.dedicated[role] if self.dedicated else None
        taken = {a for d in self.dedicated if d for a in d}
        allowed = (lambda a: a in own) if own is not None else (lambda a: a not in taken)
        pools = (self.honest,) if starter else (self.honest, self.compromised)
        return tuple(tuple(a for a in pool if allowed(a)) for pool in pools)


class SecuritySystem:
    """The transition system of a compiled protocol under an attacker (see module doc)."""

    def __init__(self, name: str, roles: tuple[RoleSpec, ...], scenario: Scenario, attacker: Attacker,
                 initial_knowledge: Knowledge, secrets: tuple[SecretGoal, ...],
                 agreements: tuple[AgreementGoal, ...], timing: Timing | None = None,
                 cached_roles: frozenset[int] = frozenset()):
        self.name = name
        self.roles = roles
        self.scenario = scenario
        self.instances = scenario.instances
        self.attacker = attacker
        self.initial_knowledge = initial_knowledge
        self.secrets = secrets
        self.agreements = agreements
        self.agents = scenario.honest + scenario.compromised
        self.honest = frozenset(scenario.honest)
        self.compromised = frozenset(scenario.compromised)
        self.labels = tuple(inst.label(roles[inst.role]) for inst in self.instances)
        self.network = _NetworkName("attacker: " + (", ".join(sorted(attacker.capabilities)) or "none")
                                    + ("" if attacker.typed else ", untyped"))
        self.waits_for = tuple(self._predecessor(i) for i in range(len(self.instances)))
        self.sessions: dict[int, tuple[int, ...]] = {}
        for j, inst in enumerate(self.instances):
            if inst.session is not None:
                self.sessions[inst.session] = self.sessions.get(inst.session, ()) + (j,)
        # With eavesdrop and masquerade the attacker *is* the network: every message sent is known and any
        # known message can be delivered, so in-flight messages and recorded traffic add nothing but states
        # (drop, modify and replay are subsumed). Traces still show forwarded messages as deliveries.
        self.network_free = attacker.has("eavesdrop") and attacker.has("masquerade")
        self._atoms: dict[Term, frozenset[Atom]] = {}  # caches: pure functions of their keys
        self._learnt: dict[tuple[Knowledge, frozenset], Knowledge] = {}
        self.timing = timing  # clocks, counters and symbolic values (checker/timed/timing.py); None: untimed
        self.cached_roles = cached_roles  # roles whose agents keep a replay cache

    def _predecessor(self, i: int) -> int | None:
        """The previous instance identical to i before it starts (same role, same preset, no session)."""
        inst = self.instances[i]
        if inst.session is not None:
            return None
        for j in range(i - 1, -1, -1):
            other = self.instances[j]
            if other.role == inst.role and other.preset == inst.preset:
                return j
        return None

    @property
    def capabilities(self) -> frozenset[str]:
        return self.attacker.capabilities

    # ------------------------------------------------------------------ the TransitionSystem interface
    def initial_states(self) -> list[State]:
        insts = []
        for inst in self.instances:
            role = self.roles[inst.role]
            vals = [None] * len(role.slots)
            for slot, agent in inst.preset:
                vals[slot] = agent
            insts.append((0, tuple(vals)))
        return [(tuple(insts), self.initial_knowledge, frozenset(), frozenset(), frozenset(), frozenset(),
                 frozenset(), self.timing.initial() if self.timing is not None else None)]

    def successors(self, state: State) -> list[tuple[tuple, State]]:
        insts, know, net, traffic = state[0], state[1], state[2], state[3]
        out: dict[State, tuple] = {}
        attacker = self.attacker
        net_list = attacker.order([e for e, _n in net])
        traffic_list = attacker.order(traffic) if traffic else []
        for i, inst in enumerate(self.instances):
            pc, vals = insts[i]
            role = self.roles[inst.role]
            if pc < 0 or pc >= len(role.steps):
                continue
            if pc == 0:
                w = self.waits_for[i]
                if w is not None and insts[w][0] == 0:
                    continue
                if inst.session is not None and vals[0] is None:
                    if inst.session > 1 and not self._assigned(insts, inst.session - 1):
                        continue
                    for assigned in self._assign(insts, i):
                        self._step((assigned,) + state[1:], i, role, assigned[i][1], 0, net_list, traffic_list, out)
                    continue
            self._step(state, i, role, vals, pc, net_list, traffic_list, out)
        if attacker.has("drop") and not self.network_free:
            for entry in net_list:
                nxt = (insts, know, _take(net, entry)) + state[3:]
                if nxt not in out:
                    out[nxt] = SecAction(-1, 0, "drop", -1, entry, (), None, None)
        return [(a, s) for s, a in out.items()]

    def _step(self, state: State, i: int, role: RoleSpec, vals: tuple, pc: int, net_list: list, traffic_list: list,
              out: dict[State, tuple]) -> None:
        """Every way instance i can take its next step: each start choice, then each delivery."""
        step = role.steps[pc]
        for b in self._starts(role, vals, pc, state[0]):
            if step.receive is None:
                self._fire(state, i, role, step, b, None, out)
                continue
            pattern = instantiate(step.receive, b)
            for d in self.attacker.deliveries(state[1], net_list, traffic_list, pattern, b, b[role.slots[0]]):
                if all(substitute(lhs, d.bindings) == substitute(rhs, d.bindings) for lhs, rhs in step.checks):
                    self._fire(state, i, role, step, d.bindings, d, out)

    def _assigned(self, insts: tuple, session: int) -> bool:
        return all(insts[j][0] < 0 or insts[j][1][0] is not None for j in self.sessions[session])

    def _assign(self, insts: tuple, starter: int):
        """Each way to cast a session when instance `starter` starts it: distinct agents for the roles, the
        starter's honest; roles cast to compromised agents are played by the attacker (instance absent).
        Agents not yet in use are interchangeable, so only the first unused of each kind is tried."""
        members = self.sessions[self.instances[starter].session]
        used = self._used_agents(insts)
        names = [r.name for r in self.roles]
        starter_role = self.instances[starter].role

        def cast(r: int, chosen: list[Atom], used: set[Atom]):
            if r == len(names):
                yield chosen
                return
            for pool in self.scenario.cast_pools(r, r == starter_role):
                tried_fresh = False
                for agent in pool:
                    if agent in chosen:
                        continue
                    if agent not in used:
                        if tried_fresh:
                            continue
                        tried_fresh = True
                    yield from cast(r + 1, chosen + [agent], used | {agent})

        for chosen in cast(0, [], used):
            cast_of = dict(zip(names, chosen))
            new = list(insts)
            for j in members:
                role = self.roles[self.instances[j].role]
                vals = list(insts[j][1])
                for s in role.role_slots:
                    vals[s] = cast_of[role.slots[s]]
                new[j] = (-1 if vals[0] in self.compromised else 0, tuple(vals))
            yield tuple(new)

    def fingerprint(self, state: State) -> int:
        return fingerprint(state)

    def exact_key(self, state: State) -> State:
        return state

    def is_valid_end(self, state: State) -> bool:
        return True

    # ------------------------------------------------------------------ execution
    def _starts(self, role: RoleSpec, vals: tuple, pc: int, insts: tuple):
        """Bindings to run the step with; at the first step, every choice of the agents not yet preset.

        Agents are interchangeable until something mentions them (honest ones among themselves, compromised
        ones likewise: same initial knowledge up to renaming), so a choice ranges over the agents already in
        use plus the first unused honest and the first unused compromised one. An agent does not run a
        session with itself."""
        base = {role.slots[k]: v for k, v in enumerate(vals) if v is not None}
        if pc > 0:
            yield base
            return
        free = [s for s in role.params if vals[s] is None]
        if not free:
            yield base
            return
        yield from self._choose(role, free, base, self._used_agents(insts))

    def _choose(self, role: RoleSpec, free: list[int], b: dict[str, Term], used: set[Atom]):
        if not free:
            yield b
            return
        slot, rest = free[0], free[1:]
        pools = (self.scenario.honest,) if slot == 0 else (self.scenario.honest, self.scenario.compromised)
        taken = set(b.values())
        for pool in pools:
            fresh_taken = False
            for agent in pool:
                if agent in taken and role.slots[slot] != role.slots[0]:
                    continue
                if agent not in used:
                    if fresh_taken:
                        continue
                    fresh_taken = True
                yield from self._choose(role, rest, {**b, role.slots[slot]: agent}, used | {agent})

    def _used_agents(self, insts: tuple) -> set[Atom]:
        used: set[Atom] = set()
        cache = self._atoms
        for _pc, vals in insts:
            for v in vals:
                if v is None:
                    continue
                found = cache.get(v)
                if found is None:
                    found = frozenset(a for a in atoms(v) if a.sort == "agent")
                    cache[v] = found
                used |= found
        return used

    def _fire(self, state: State, i: int, role: RoleSpec, step: StepSpec, b: dict[str, Term],
              delivery: Delivery | None, out: dict[State, tuple]) -> None:
        insts, know, net, traffic, events, revealed, violated, clock = state
        inst = self.instances[i]
        b = dict(b)
        for slot, sort in step.fresh:
            name = role.slots[slot]
            if name not in b:
                b[name] = Atom(f"{name}#{inst.number}", sort)
        me = b[role.slots[0]]
        if self.timing is not None:
            timed = self._time_step(clock, i, role, step, b, delivery, me)
            if timed is None:
                return  # no schedule allows this step (or a replay cache refuses it)
            clock, b, delivery = timed
        if delivery is not None and delivery.taken is not None:
            net = _take(net, delivery.taken)
        sends: list[Entry] = []
        for s in step.sends:
            sends.append((me, b[role.slots[s.to_slot]], substitute(s.recipe, b)))
        learn: list[Term] = []
        attacker = self.attacker
        if sends and self.network_free:
            learn.extend(e[2] for e in sends)
        elif sends:
            added = []
            for entry in sends:
                if entry[1] in self.compromised:
                    learn.append(entry[2])  # addressed to the attacker's own identity
                else:
                    added.append(entry)
                    if attacker.has("eavesdrop"):
                        learn.append(entry[2])
            net = _add(net, added)
            if attacker.has("replay"):
                traffic = traffic | frozenset(sends)
        pc = state[0][i][0] + 1
        vals = tuple(b.get(n) for n in role.slots)
        insts = insts[:i] + ((pc, vals),) + insts[i + 1:]
        note = None
        if pc == len(role.steps):
            values = self._reveals(insts, revealed)
            if values:
                learn.extend(values)
                revealed = revealed | frozenset(values)
                note = "the session is over: " + ", ".join(pretty(v) for v in values) + " revealed to the attacker"
        if step.signals:
            events, violated, why = self._signals(state, step, role, b, events, violated)
            if why:
                note = why if note is None else f"{note}; {why}"
        if learn and attacker.active:
            key = (know, frozenset(learn))
            grown = self._learnt.get(key)
            if grown is None:
                if len(self._learnt) > 100_000:
                    self._learnt.clear()
                grown = self._learnt[key] = know.add_all(learn)
            know = grown
        if self.timing is not None:
            vals_now = [v for _pc, vs in insts for v in vs if v is not None]
            clock = self.timing.settle(clock, [know, *vals_now, *(e[2] for e, _n in net),
                                               *(e[2] for e in traffic)])
        nxt = (insts, know, net, traffic, events, revealed, violated, clock)
        if nxt not in out:
            out[nxt] = SecAction(i, len(sends), "step", i, delivery, tuple(sends), note, vals)

    def _time_step(self, clock: Clock, i: int, role: RoleSpec, step: StepSpec, b: dict[str, Term],
                   delivery: Delivery | None, me: Atom) -> tuple[Clock, dict[str, Term], Delivery | None] | None:
        """The step's clock readings, counters and guards on the zone; values the attacker made up for this
        delivery become fresh symbolic atoms first. None when no schedule allows the step."""
        assert self.timing is not None
        if delivery is not None and delivery.capability in ("modify", "masquerade"):
            b, term, clock = self.timing.mint(clock, b, delivery.term, self.attacker.fresh)
            if term is not delivery.term:
                delivery = replace(delivery, term=term, bindings=b)
        found = self.timing.effects(clock, me, step.timing, b, self.instances[i].role in self.cached_roles)
        if found is None:
            return None
        effects, clock = found
        if not effects and not self.timing.pace:
            return clock, b, delivery
        applied = self.timing.apply(clock, me, effects)
        return None if applied is None else (applied, b, delivery)

    def timed_step(self, state: State, action: tuple) -> tuple[Atom, Any, dict[str, Term], bool] | None:
        """For `Timing.schedule`: who acted in `action` from `state`, its step's timing and its bindings after
        the step (minted values included), and whether its replay cache applies; None for the attacker's drops."""
        _owner, _sent, kind, i, _delivery, _sends, _note, vals = action
        if kind != "step":
            return None
        inst = self.instances[i]
        role = self.roles[inst.role]
        step = role.steps[state[0][i][0]]
        b = {role.slots[k]: v for k, v in enumerate(vals) if v is not None}
        return vals[0], step.timing, b, inst.role in self.cached_roles

    def _reveals(self, insts: tuple, revealed: frozenset) -> list[Term]:
        """The `reveal` values handed out when an instance finishes: those of every session all of whose
        members have finished (an instance of an explicit `run` is a session of its own), and only at a quiet
        moment, when no instance is half-way through its run. Old keys are compromised after the fact, not
        while some session may still use them (sessions mix: the server of session 2 may answer the
        initiator of session 1, and a timestamp window or key lifetime is only meaningful this way)."""
        if any(0 < pc < len(self.roles[self.instances[j].role].steps) for j, (pc, _v) in enumerate(insts)):
            return []
        groups = list(self.sessions.values()) + [(j,) for j, inst in enumerate(self.instances) if inst.session is None]
        values: list[Term] = []
        for members in groups:
            found: list[Term] = []
            for j in members:
                pc, vals = insts[j]
                role = self.roles[self.instances[j].role]
                if 0 <= pc < len(role.steps):
                    break
                if pc >= 0:
                    found.extend(v for v in (vals[s] for s in role.reveal) if v is not None)
            else:
                values.extend(v for v in found if v not in values and v not in revealed)
        return values

    def _signals(self, state: State, step: StepSpec, role: RoleSpec, b: dict[str, Term], events: frozenset,
                 violated: frozenset) -> tuple[frozenset, frozenset, str | None]:
        why = None
        counts = dict(events)
        for sig in step.signals:
            goal = self.agreements[sig.goal]
            me, peer = b[role.slots[sig.me]], b[role.slots[sig.peer]]
            data = tuple(substitute(d, b) for d in sig.data)
            if sig.kind == "running":
                key = ("R", sig.goal, me, peer, data)
                counts[key] = counts.get(key, 0) + 1
                continue
            if peer not in self.honest or any(n == goal.name for n, _w in violated):
                continue
            if goal.kind == "alive":
                ok = any(pc > 0 and vals[0] == peer for pc, vals in state[0])
            else:
                ran = counts.get(("R", sig.goal, peer, me, data), 0)
                ok = ran > 0
                if goal.kind == "agree":
                    key = ("C", sig.goal, me, peer, data)
                    counts[key] = counts.get(key, 0) + 1
                    ok = ran >= counts[key]
            if not ok:
                what = ", ".join(pretty(d) for d in data)
                on = f" on {what}" if data else ""
                if goal.kind == "alive":
                    reason = f"{peer} has not run the protocol at all"
                elif goal.kind == "agree" and ran > 0:
                    reason = (f"{peer} ran it only {ran} time{'' if ran == 1 else 's'} with these values: an earlier "
                              f"commit already used that run")
                else:
                    reason = f"{peer} never ran it with {me}{on}"
                why = f"{me} finishes believing it ran the protocol with {peer}{on}, but {reason}"
                violated = violated | {(goal.name, why)}
        return frozenset(counts.items()), violated, why

    # ------------------------------------------------------------------ goals as state predicates
    def secret_leak(self, goal: SecretGoal, state: State) -> str | None:
        """Why `goal` fails in `state` (the instance and the value the attacker derives), or None."""
        found = self._leaking_run(goal, state)
        if found is None:
            return None
        i, value = found
        role, vals = self.roles[self.instances[i].role], state[0][i][1]
        partners = ", ".join(f"{role.slots[s]}={vals[s]}" for s in role.role_slots if vals[s] is not None)
        how = explain(state[1], value, self.attacker.fresh)
        return (f"the attacker knows {pretty_enclosed(value)}, the value of {goal.text[7:-1]} in "
                f"{self.labels[i]} ({partners}, all honest): {how}")

    def _leaking_run(self, goal: SecretGoal, state: State) -> tuple[int, Term] | None:
        """The first finished instance, all of whose partners are honest, whose value of `goal` the attacker
        derives in `state`, with that value."""
        insts, know, revealed = state[0], state[1], state[5]
        for i, (pc, vals) in enumerate(insts):
            role = self.roles[self.instances[i].role]
            if pc < len(role.steps):  # the claim is made when the role finishes (and holds ever after)
                continue
            recipe = goal.per_role[self.instances[i].role]
            if recipe is None:
                continue
            if any(vals[s] is not None and vals[s] not in self.honest for s in role.role_slots):
                continue
            b = {role.slots[k]: v for k, v in enumerate(vals) if v is not None}
            value = instantiate(recipe, b)
            if not is_ground(value) or value in revealed:
                continue
            if derivable(know, value):
                return i, value
        return None

    def secret_holds(self, goal: SecretGoal, state: State) -> bool:
        return self.secret_leak(goal, state) is None

    def session_completed(self, state: State) -> bool:
        """Some session ran to the end: one finished instance per role, all agreeing on who plays which role,
        every one of them honest."""
        finished: list[list[dict[str, Atom]]] = [[] for _ in self.roles]
        for i, (pc, vals) in enumerate(state[0]):
            inst = self.instances[i]
            role = self.roles[inst.role]
            if pc < len(role.steps):
                continue
            agents = {role.slots[s]: vals[s] for s in role.role_slots}
            if all(a in self.honest for a in agents.values()):
                finished[inst.role].append(agents)
        if not all(finished):
            return False
        for combo in itertools.product(*finished):
            merged: dict[str, Atom] = {}
            if all(merged.setdefault(r, a) == a for agents in combo for r, a in agents.items()):
                return True
        return False

    # ------------------------------------------------------------------ traces
    def run_info(self, state: State) -> tuple[RunInfo, ...]:
        """Each instance as a run for the charts (checker/engine/system.py `RunSource`): its agent, role,
        number and partners as it knows them in `state`."""
        out = []
        for i, inst in enumerate(self.instances):
            role = self.roles[inst.role]
            vals = state[0][i][1]
            own = role.slots[0]
            partners = tuple((role.slots[s], None if vals[s] is None else pretty(vals[s]))
                             for s in role.role_slots if role.slots[s] != own)
            chosen = tuple(role.slots[s] for s in role.role_slots if role.slots[s] != own
                           and (s in role.params or inst.session is not None))
            server = bool(self.scenario.dedicated) and self.scenario.dedicated[inst.role] is not None
            out.append(RunInfo("" if vals[0] is None else pretty(vals[0]), role.name, inst.number, partners,
                               chosen, server))
        return tuple(out)

    def attacker_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.scenario.compromised)

    def claim(self, prop: str, state: State) -> ClaimInfo | None:
        """The claim of goal `prop`: a secrecy claim is made by the run whose value leaked; an agreement's by
        the run whose commit failed, the trace's last step (None here)."""
        for goal in self.secrets:
            if goal.name == prop:
                found = self._leaking_run(goal, state)
                return ClaimInfo(goal.text, found[0] if found is not None else None)
        for agreement in self.agreements:
            if agreement.name == prop:
                return ClaimInfo(agreement.text)
        return None

    def lane(self, g: int) -> str:
        return self.agents[g].name

    def lanes(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.agents)

    def render_message(self, term: Term) -> str:
        return pretty_enclosed(term)

    def describe(self, state: State, action: tuple) -> StepInfo:
        _owner, _sent, kind, i, delivery, sends, note, after_vals = action
        lane = {a: g for g, a in enumerate(self.agents)}
        if kind == "drop":
            src, dst, term = delivery
            return StepInfo(-1, "drop", f"drops {pretty(term)}", (), None, (lane[src], lane[dst], term),
                            capability="drop")
        inst = self.instances[i]
        role = self.roles[inst.role]
        pc = state[0][i][0]
        step = role.steps[pc]
        me = after_vals[0]
        parts = []
        if step.receive is not None:
            parts.append(f"receives message {step.receive_number}")
        if sends:
            parts.append("sends message " + ", ".join(str(s.number) for s in step.sends))
        if pc + 1 == len(role.steps):
            parts.append("finishes")
        text = ", ".join(parts)
        sent = tuple((lane[s], lane[d], t) for s, d, t in sends)
        if delivery is None:
            return StepInfo(lane[me], "send", text, sent, None, None, note=note, run=i)
        if delivery.capability is None:
            src, dst, term = delivery.taken
            return StepInfo(lane[me], "receive", text, sent, (lane[src], lane[dst], term), None, note=note, run=i)
        claimed = delivery.claimed
        if claimed is None and step.sender_slot is not None:
            claimed = delivery.bindings.get(role.slots[step.sender_slot])
        if claimed is None or claimed not in lane:
            claimed = self.scenario.compromised[0] if self.scenario.compromised else me
        derivation = None
        if delivery.capability in ("modify", "masquerade"):
            derivation = explain(state[1], delivery.term, self.attacker.fresh)
        intercepted = None
        if delivery.taken is not None:
            src, dst, term = delivery.taken
            intercepted = (lane[src], lane[dst], term)
        return StepInfo(lane[me], "receive", text, sent, None, None, capability=delivery.capability,
                        injected=(lane[claimed], lane[me], delivery.term), derivation=derivation,
                        intercepted=intercepted, note=note, run=i)

    def changes(self, before: State, after: State, g: int) -> list[tuple[str, str, str]]:
        out = []
        agent = self.agents[g]
        for i, ((pc0, v0), (pc1, v1)) in enumerate(zip(before[0], after[0])):
            if (pc0, v0) == (pc1, v1) or v1[0] != agent:
                continue
            role = self.roles[self.instances[i].role]
            for k, name in enumerate(role.slots):
                if v0[k] != v1[k] and not name.startswith("_"):
                    out.append((f"{self.labels[i]}.{name}", _show(v0[k]), _show(v1[k])))
            if pc1 == len(role.steps):
                out.append((self.labels[i], "running", "finished"))
        return out

    def initial_values(self, state: State, g: int) -> list[tuple[str, str]]:
        agent = self.agents[g]
        out = []
        for i, (pc, vals) in enumerate(state[0]):
            if vals[0] == agent:
                role = self.roles[self.instances[i].role]
                bound = ", ".join(f"{role.slots[s]}={vals[s]}" for s in role.role_slots if vals[s] is not None)
                out.append((self.labels[i], bound))
        return out


@dataclass(frozen=True)
class _NetworkName:
    """What analysis.py reports as the network of a security model."""

    name: str


def _show(v: Term | None) -> str:
    return "" if v is None else pretty_enclosed(v)


def _take(net: frozenset, entry: Entry) -> frozenset:
    counts = dict(net)
    n = counts.pop(entry)
    if n > 1:
        counts[entry] = n - 1
    return frozenset(counts.items())


def _add(net: frozenset, entries: list[Entry]) -> frozenset:
    if not entries:
        return net
    counts = dict(net)
    for e in entries:
        counts[e] = counts.get(e, 0) + 1
    return frozenset(counts.items())
