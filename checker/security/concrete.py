"""The concrete semantics of a protocol run, used to replay and check every attack before it is reported.

The symbolic search (checker/security/secsys.py) finds attacks with variables in them; checker/security/witness.py
turns one into a *script*: for each step, which instance acts, what it receives (a ground term), how the
attacker got it there (honest delivery, replay, modify, masquerade, drop), and which values the instance holds
afterwards. `ConcreteRun` executes that script with plain, ground semantics that share no code with the
solver: matching (`terms.match_all`) instead of unification, the Dolev-Yao closure of knowledge.py instead of
constraints. Every step is checked: the capability is enabled, a forged message is derivable from what the
attacker holds plus the fresh constants it invents (`knowledge.derivable`, the definition `explain` uses too),
the receiver's pattern matches with exactly the scripted values, its checks hold, the clocks allow it. A
script that fails a check raises `ReplayError`; the attack is then not reported (an engine bug).

`ConcreteRun` is a transition system with one successor per state (the next scripted step), and a
`TraceSource`: the traces of security attacks are built from it, with the attacker's derivation of every
forged message.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from checker.engine.fingerprint import fingerprint
from checker.engine.system import ClaimInfo, RunInfo, StepInfo
from checker.records import record
from checker.security.knowledge import Knowledge, derivable, explain
from checker.security.roles import SecretGoal
from checker.security.secsys import (Entry, Run, _add, _changes, _initial_values, _run_infos, _sent, _step_text,
                                     _take)
from checker.security.terms import Atom, Pattern, Term, instantiate, is_ground, match_all, pretty, pretty_enclosed, substitute


class ReplayError(Exception):
    """A scripted step is not possible in the concrete semantics (the symbolic search erred)."""


class ScriptStep(NamedTuple):
    kind: str  # step | drop
    instance: int
    capability: str | None
    claimed: Atom | None
    term: Term | None  # what the instance receives
    taken: Entry | None  # the in-flight message removed
    values: tuple[Term | None, ...]  # the instance's values after the step


class CState(NamedTuple):
    pos: int  # script steps done
    runs: tuple[Run, ...]
    knowledge: Knowledge
    net: frozenset
    traffic: frozenset
    events: frozenset
    revealed: frozenset
    violated: tuple[tuple[str, str], ...]  # (goal name, why), in order of occurrence
    clock: Any


class CAction(NamedTuple):
    owner: int
    sent: int
    step: ScriptStep
    sends: tuple[Entry, ...]
    note: str | None


@record(frozen=False)
class ConcreteRun:
    """The scripted concrete run of an attack (see the module doc). `fresh` are the constants the attacker
    invents in it (one per variable the search left open, and the time values it chose)."""

    system: Any  # the SecuritySystem whose roles, scenario and goals this replays
    script: tuple[ScriptStep, ...]
    fresh: tuple[Atom, ...]

    def __post_init__(self) -> None:
        s = self.system
        self.name = s.name
        self.capabilities = s.capabilities
        self.timing = s.timing
        self.network = s.network
        self.agents = s.agents
        self.roles = s.roles
        self.instances = s.instances
        self.labels = s.labels
        self.scenario = s.scenario
        self._knowledge0 = Knowledge.initial(list(s.initial_terms) + list(s.own) + list(self.fresh))

    # ------------------------------------------------------------------ TransitionSystem
    def initial_states(self) -> list[CState]:
        sym = self.system.initial_states()[0]
        runs = tuple(Run(r.pc, r.values) for r in sym.runs)
        return [CState(0, runs, self._knowledge0, frozenset(), frozenset(), frozenset(), frozenset(), (),
                       sym.clock)]

    def successors(self, state: CState) -> list[tuple[CAction, CState]]:
        if state.pos >= len(self.script):
            return []
        return [self.step(state)]

    def is_valid_end(self, state: CState) -> bool:
        return True

    def fingerprint(self, state: CState) -> int:
        return fingerprint((state.pos, state.runs))

    def exact_key(self, state: CState) -> Any:
        return (state.pos, state.runs)

    # ------------------------------------------------------------------ one scripted step
    def step(self, state: CState) -> tuple[CAction, CState]:
        return self.apply(state, self.script[state.pos])

    def apply(self, state: CState, s: ScriptStep) -> tuple[CAction, CState]:
        """One step `s` of the concrete semantics from `state`; raises ReplayError when it is not possible."""
        caps = self.capabilities
        sys = self.system
        if s.kind == "drop":
            if "drop" not in caps or s.taken not in dict(state.net):
                raise ReplayError(f"step {state.pos + 1}: the dropped message is not in flight")
            assert s.taken is not None
            return CAction(-1, 0, s, (), None), state._replace(pos=state.pos + 1, net=_take(state.net, s.taken))
        i = s.instance
        inst = sys.instances[i]
        role = sys.roles[inst.role]
        run = state.runs[i]
        if run.pc >= len(role.steps):
            raise ReplayError(f"step {state.pos + 1}: {sys.labels[i]} has finished")
        step = role.steps[run.pc]
        want = s.values
        b: dict[str, Pattern] = {role.slots[k]: v for k, v in enumerate(run.values) if v is not None}
        if run.pc == 0 and run.values[0] is None:
            me0 = want[0]
            if not isinstance(me0, Atom) or me0 not in sys.honest or not sys.scenario.allowed(inst.role, me0):
                raise ReplayError(f"step {state.pos + 1}: {sys.labels[i]} cannot be played by {me0}")
            b[role.slots[0]] = me0
        me = b[role.slots[0]]
        assert isinstance(me, Atom)
        net, traffic, knowledge = state.net, state.traffic, state.knowledge
        if step.receive is not None:
            term = s.term
            if term is None or not is_ground(term):
                raise ReplayError(f"step {state.pos + 1}: no ground message to receive")
            self._available(state, s, me, term)
            if s.taken is not None:
                net = _take(net, s.taken)
            pattern = sys.patterns[inst.role][run.pc]
            fits = [m for m in match_all(pattern, term, b, True)
                    if all(want[role.slots.index(n)] == v for n, v in m.items())]
            if not fits:
                raise ReplayError(f"step {state.pos + 1}: {sys.labels[i]} does not accept {pretty(term)}")
            b = fits[0]
            for lhs, rhs in step.checks:
                if substitute(lhs, b) != substitute(rhs, b):
                    raise ReplayError(f"step {state.pos + 1}: the check {pretty(lhs)} = {pretty(rhs)} fails")
        for k in role.role_slots:  # partners cast at this step
            name = role.slots[k]
            if name not in b and want[k] is not None:
                agent = want[k]
                target = sys.role_index.get(name)
                if not isinstance(agent, Atom) or agent not in sys.agents or \
                        (target is not None and not sys.scenario.allowed(target, agent)):
                    raise ReplayError(f"step {state.pos + 1}: {agent} cannot play {name}")
                b[name] = agent
        for slot, sort in step.fresh:
            name = role.slots[slot]
            if name not in b:
                b[name] = Atom(f"{name}#{inst.number}", sort)
        values = tuple(b.get(n) for n in role.slots)
        if values != tuple(want):
            raise ReplayError(f"step {state.pos + 1}: {sys.labels[i]} ends with other values than the search found")
        clock = state.clock
        if self.timing is not None:
            found = self.timing.effects(clock, me, step.timing, b, inst.role in sys.cached_roles)
            if found is None:
                raise ReplayError(f"step {state.pos + 1}: a replay cache refuses it")
            effects, clock = found
            if effects or self.timing.pace:
                clock = self.timing.apply(clock, me, effects)
                if clock is None:
                    raise ReplayError(f"step {state.pos + 1}: no schedule allows it")
        sends: list[Entry] = []
        for snd in step.sends:
            to = b[role.slots[snd.to_slot]]
            assert isinstance(to, Atom)
            sends.append((me, to, substitute(snd.recipe, b)))
        learn: list[Pattern] = []
        if sends and sys.network_free:
            learn.extend(e[2] for e in sends)
        elif sends:
            added = []
            for entry in sends:
                if entry[1] in sys.compromised:
                    learn.append(entry[2])
                else:
                    added.append(entry)
                    if "eavesdrop" in caps:
                        learn.append(entry[2])
            net = _add(net, added)
            if "replay" in caps:
                traffic = traffic | frozenset(sends)
        runs = list(state.runs)
        runs[i] = Run(run.pc + 1, values)
        note = None
        revealed = state.revealed
        if runs[i].pc == len(role.steps):
            shown = sys._reveals(runs, revealed)
            if shown:
                learn.extend(shown)
                revealed = revealed | frozenset(shown)
                note = "the session is over: " + ", ".join(pretty(v) for v in shown) + " revealed to the attacker"
        events, violated = state.events, state.violated
        if step.signals:
            events, violated, why = self._signals(runs, i, step, b, events, violated)
            if why:
                note = why if note is None else f"{note}; {why}"
        if learn:
            knowledge = knowledge.add_all(learn)
        if clock is not None:
            clock = self.timing.settle(clock, [*knowledge.terms, *(v for r in runs for v in r.values if v is not None),
                                               *(e[2] for e, _n in net), *(e[2] for e in traffic)])
        nxt = CState(state.pos + 1, tuple(runs), knowledge, net, traffic, events, revealed, violated, clock)
        return CAction(i, len(sends), s, tuple(sends), note), nxt

    def _available(self, state: CState, s: ScriptStep, me: Atom, term: Term) -> None:
        """The scripted capability is enabled and can hand `term` to `me` (see the module doc)."""
        caps, sys = self.capabilities, self.system
        where = f"step {state.pos + 1}"
        if s.capability is None:
            if s.taken is None or s.taken not in dict(state.net) or s.taken[1] != me or s.taken[2] != term:
                raise ReplayError(f"{where}: {pretty(term)} is not in flight to {me}")
        elif s.capability not in caps:
            raise ReplayError(f"{where}: the attacker may not {s.capability}")
        elif s.capability == "replay":
            if not any(e[2] == term for e in state.traffic):
                raise ReplayError(f"{where}: {pretty(term)} was never sent")
        else:
            if s.capability == "modify" and (s.taken is None or s.taken not in dict(state.net) or s.taken[1] != me):
                raise ReplayError(f"{where}: nothing in flight to {me} to modify")
            if s.capability == "masquerade" and s.taken is not None:
                raise ReplayError(f"{where}: a masquerade intercepts nothing")
            if not derivable(state.knowledge, term, ()):
                raise ReplayError(f"{where}: the attacker cannot derive {pretty(term)}")
        if sys.network_free and s.capability is None:
            raise ReplayError(f"{where}: the attacker is the network, so nothing is delivered honestly")

    def _signals(self, runs: list[Run], i: int, step: Any, b: dict[str, Pattern], events: frozenset,
                 violated: tuple) -> tuple[frozenset, tuple, str | None]:
        """Lowe's agreement on ground values, counting (injective agreement), for runs whose partners are all
        honest."""
        sys = self.system
        why = None
        counts = dict(events)
        role = sys.roles[sys.instances[i].role]
        values = runs[i].values
        for sig in step.signals:
            goal = sys.agreements[sig.goal]
            me, peer = b[role.slots[sig.me]], b[role.slots[sig.peer]]
            data = tuple(substitute(d, b) for d in sig.data)
            if sig.kind == "running":
                key = ("R", sig.goal, me, peer, data)
                counts[key] = counts.get(key, 0) + 1
                continue
            if not all(values[s] in sys.honest for s in role.role_slots if values[s] is not None):
                continue
            ckey = ("C", sig.goal, me, peer, data)
            counts[ckey] = counts.get(ckey, 0) + 1
            if any(n == goal.name for n, _w in violated):
                continue
            ran = counts.get(("R", sig.goal, peer, me, data), 0)
            if goal.kind == "alive":
                ok = any(r.pc > 0 and r.values[0] == peer for r in runs)
                reason = f"{peer} has not run the protocol at all"
            elif goal.kind == "wagree":
                ok = any(k[0] == "R" and k[1] == sig.goal and k[2] == peer and k[3] == me for k in counts)
                reason = f"{peer} never ran it with {me}"
            elif goal.kind == "niagree":
                ok = ran > 0
                reason = f"{peer} never ran it with {me} on these values"
            else:
                ok = ran >= counts[ckey]
                reason = (f"{peer} ran it only {ran} time{'' if ran == 1 else 's'} with these values: an earlier commit "
                          f"already used that run") if ran else f"{peer} never ran it with {me} on these values"
            if not ok:
                what = ", ".join(pretty(d) for d in data)
                on = f" on {what}" if data else ""
                why = f"{me} finishes believing it ran the protocol with {peer}{on}, but {reason}"
                violated = violated + ((goal.name, why),)
        return frozenset(counts.items()), violated, why

    # ------------------------------------------------------------------ the goals on the final state
    def secret_leak(self, goal: SecretGoal, state: CState) -> str | None:
        """Why `goal` fails in `state`: the run, its partners and the attacker's derivation; or None."""
        i = self._leaking_run(goal, state)
        if i is None:
            return None
        sys = self.system
        run = state.runs[i]
        role = sys.roles[sys.instances[i].role]
        value = instantiate(goal.per_role[sys.instances[i].role],
                            {role.slots[k]: v for k, v in enumerate(run.values) if v is not None})
        partners = ", ".join(f"{role.slots[s]}={run.values[s]}" for s in role.role_slots if run.values[s] is not None)
        how = explain(state.knowledge, value, self.fresh)
        return (f"the attacker knows {pretty_enclosed(value)}, the value of {goal.text[7:-1]} in {sys.labels[i]} "
                f"({partners}, all honest): {how}")

    def _leaking_run(self, goal: SecretGoal, state: CState) -> int | None:
        """The first finished run, all partners honest, whose value of `goal` the attacker derives."""
        sys = self.system
        for i, run in enumerate(state.runs):
            role = sys.roles[sys.instances[i].role]
            if run.pc < len(role.steps):
                continue
            recipe = goal.per_role[sys.instances[i].role]
            if recipe is None:
                continue
            if any(run.values[s] not in sys.honest for s in role.role_slots if run.values[s] is not None):
                continue
            b = {role.slots[k]: v for k, v in enumerate(run.values) if v is not None}
            value = instantiate(recipe, b)
            if not is_ground(value) or value in state.revealed:
                continue
            if derivable(state.knowledge, value):
                return i
        return None

    def agreement_broken(self, name: str, state: CState) -> str | None:
        return next((w for n, w in state.violated if n == name), None)

    # ------------------------------------------------------------------ TraceSource
    def lane(self, g: int) -> str:
        return self.agents[g].name

    def lanes(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.agents)

    def render_message(self, term: Term) -> str:
        return pretty_enclosed(term)

    def describe(self, state: CState, action: CAction) -> StepInfo:
        sys = self.system
        lane = {a: g for g, a in enumerate(self.agents)}
        s = action.step
        if s.kind == "drop":
            assert s.taken is not None
            src, dst, term = s.taken
            return StepInfo(-1, "drop", f"drops {pretty(term)}", (), None, (lane[src], lane[dst], term),
                            capability="drop")
        i = s.instance
        step = sys.roles[sys.instances[i].role].steps[state.runs[i].pc]
        me = s.values[0]
        assert isinstance(me, Atom)
        text = _step_text(self, state.runs, i, bool(action.sends))
        sent, numbers = _sent(lane, step, action.sends)
        if s.term is None:
            return StepInfo(lane[me], "send", text, sent, None, None, note=action.note, run=i, numbers=numbers)
        if s.capability is None:
            assert s.taken is not None
            src, dst, term = s.taken
            return StepInfo(lane[me], "receive", text, sent, (lane[src], lane[dst], term), None, note=action.note,
                            run=i, numbers=numbers)
        claimed = s.claimed
        if claimed is None and step.sender_slot is not None:
            v = s.values[step.sender_slot]
            claimed = v if isinstance(v, Atom) else None
        if claimed is None or claimed not in lane:
            claimed = sys.scenario.compromised[0] if sys.scenario.compromised else me
        derivation = None
        if s.capability in ("modify", "masquerade"):
            derivation = explain(state.knowledge, s.term, self.fresh)
        intercepted = None
        if s.taken is not None:
            src, dst, term = s.taken
            intercepted = (lane[src], lane[dst], term)
        return StepInfo(lane[me], "receive", text, sent, None, None, capability=s.capability,
                        injected=(lane[claimed], lane[me], s.term), derivation=derivation,
                        intercepted=intercepted, note=action.note, run=i, numbers=numbers)

    def changes(self, before: CState, after: CState, g: int) -> list[tuple[str, str, str]]:
        return _changes(self, before.runs, after.runs, g)

    def initial_values(self, state: CState, g: int) -> list[tuple[str, str]]:
        return _initial_values(self, state.runs, g)

    def run_info(self, state: CState) -> tuple[RunInfo, ...]:
        return _run_infos(self, state.runs)

    def attacker_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.system.scenario.compromised)

    def claim(self, prop: str, state: CState) -> ClaimInfo | None:
        """The claim of goal `prop`: a secrecy claim by the run whose value leaked, an agreement's by the run of
        the trace's last step (None here)."""
        for goal in self.system.secrets:
            if goal.name == prop:
                return ClaimInfo(goal.text, self._leaking_run(goal, state))
        return next((ClaimInfo(a.text) for a in self.system.agreements if a.name == prop), None)

    def timed_step(self, state: CState, action: CAction) -> tuple[Atom, Any, dict[str, Pattern], bool, Any] | None:
        """For `Timing.schedule`: who acted, its step's timing, its values after the step, whether its replay
        cache applies, and the clock before the step; None for drops."""
        s = action.step
        if s.kind != "step":
            return None
        sys = self.system
        inst = sys.instances[s.instance]
        role = sys.roles[inst.role]
        step = role.steps[state.runs[s.instance].pc]
        b = {role.slots[k]: v for k, v in enumerate(s.values) if v is not None}
        return s.values[0], step.timing, b, inst.role in sys.cached_roles, state.clock  # type: ignore[return-value]


def run_script(run: ConcreteRun) -> list[CState]:
    """Execute the whole script; raises ReplayError at the first impossible step."""
    states = [run.initial_states()[0]]
    for _ in run.script:
        _a, nxt = run.step(states[-1])
        states.append(nxt)
    return states

