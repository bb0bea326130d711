"""Process models as a transition system: the runtime of compiled `process` declarations.

A global state is `(procs, net)`: `procs[g]` is instance g's tuple `(control, var1, var2, ...)` (control -1
once crashed) and `net` the network strategy's state. The behaviour comes from closures compiled by
dsl/lower.py; nothing here knows the syntax. Successors are produced in a fixed order (instances in order;
per instance its guarded transitions, then deliveries; then crashes and losses), which makes breadth-first
counterexamples repeatable.

An action is a small tuple `(owner, sent, kind, a, b, c)`: `owner` is the instance whose weak-fairness
obligation the step discharges (-1 for environment steps such as crashes and losses), `sent` how many
messages it sends (for message statistics), and `kind`/`a`/`b`/`c` what to replay for a trace.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from checker.process.network import Network
from checker.process.values import Renderer

State = tuple  # (procs, net)
Action = tuple  # (owner, sent, kind, a, b, c)

CRASHED = -1


class ModelRuntimeError(Exception):
    """A model did something undefined while running (an index out of range, `min` of an empty set...).

    Carries the source span so the CLI can point at the line; the run ends with exit code 2.
    """

    def __init__(self, message: str, span: Any = None):
        super().__init__(message)
        self.span = span


class Ctx:
    """Scratch space for executing one step; never stored in a state."""

    __slots__ = ("locs", "frame", "me", "gid", "out", "procs")

    def __init__(self, locs, frame, me: int, gid: int, procs):
        self.locs = locs
        self.frame = frame
        self.me = me
        self.gid = gid
        self.out: list[tuple[int, int, Any]] = []
        self.procs = procs


Guard = Callable[[Ctx], Any]
Body = Callable[[Ctx], None]


@dataclass(frozen=True)
class TransitionSpec:
    source: int
    target: int
    text: str
    guard: Guard | None
    body: Body | None


@dataclass(frozen=True)
class HandlerSpec:
    message: int
    states: frozenset[int] | None
    guard: Guard | None
    body: Body | None
    sender_slot: int | None


@dataclass(frozen=True)
class MessageSpec:
    name: str
    param_renderers: tuple[Renderer, ...]

    def render(self, msg: tuple) -> str:
        args = ", ".join(r(v) for r, v in zip(self.param_renderers, msg[1:]))
        return f"{self.name}({args})"


@dataclass(frozen=True)
class FamilySpec:
    name: str
    offset: int
    size: int
    indexed: bool
    states: tuple[str, ...]
    finals: frozenset[int]
    var_names: tuple[str, ...]
    var_renderers: tuple[Renderer, ...]
    initial: tuple[tuple, ...]  # one local tuple per member
    transitions: tuple[TransitionSpec, ...]
    handlers: dict[int, tuple[HandlerSpec, ...]]
    frame_size: int
    crashable: frozenset[int] = field(default=frozenset())

    def lane(self, member: int) -> str:
        return f"{self.name}[{member}]" if self.indexed else self.name


@dataclass(frozen=True)
class StepInfo:
    """What one action did, for traces: who, what, which messages moved."""

    actor: int  # gid, or -1 for the network
    kind: str  # internal | receive | crash | lose
    text: str
    sent: tuple[tuple[int, int, Any], ...]
    received: tuple[int, int, Any] | None  # (src, dst, msg)
    lost: tuple[int, int, Any] | None
    # Attacker steps (checker/security/secsys.py). `capability` names it (a drop has kind `drop`); for a message the
    # attacker hands the actor, `injected` is (claimed src, dst, msg), `derivation` how it was built and
    # `intercepted` the in-flight message it replaced (modify). `note` is the engine's explanation.
    capability: str | None = None
    injected: tuple[int, int, Any] | None = None
    derivation: str | None = None
    intercepted: tuple[int, int, Any] | None = None
    note: str | None = None


class ProcessSystem:
    """The transition system of a process model under a network strategy."""

    def __init__(self, name: str, families: tuple[FamilySpec, ...], messages: tuple[MessageSpec, ...],
                 network: Network):
        self.name = name
        self.families = families
        self.messages = messages
        self.network = network
        self.instances: tuple[tuple[FamilySpec, int], ...] = tuple(
            (fam, m) for fam in families for m in range(fam.size))
        self.crashable = tuple(g for g, (fam, m) in enumerate(self.instances) if m in fam.crashable)
        # per instance, per control state: the guarded transitions leaving it, with their indices
        self._leaving = tuple(
            tuple(tuple(k for k, t in enumerate(fam.transitions) if t.source == ctrl)
                  for ctrl in range(len(fam.states)))
            for fam, _m in self.instances)
        # Canonical copies of local-state tuples: successors share them instead of holding equal copies
        # (the idea of SPIN's COLLAPSE compression). A cache only; it never changes what a state means.
        self._canonical: dict[tuple, tuple] = {}
        self._effects: dict[tuple, Any] = {}  # memoised step effects, see _transition_effect

    # ------------------------------------------------------------------ the TransitionSystem interface
    def initial_states(self) -> list[State]:
        procs = tuple(fam.initial[m] for fam, m in self.instances)
        return [(procs, self.network.empty())]

    def successors(self, state: State) -> list[tuple[Action, State]]:
        procs, net = state
        out: list[tuple[Action, State]] = []
        network, canonical, n = self.network, self._canonical, len(procs)
        for gid in range(n):
            ps = procs[gid]
            ctrl = ps[0]
            if ctrl == CRASHED:
                continue
            for t_idx in self._leaving[gid][ctrl]:
                effect = self._transition_effect(gid, ps, t_idx)
                if effect is not None:
                    new_ps, sends = effect
                    nxt = (procs[:gid] + (new_ps,) + procs[gid + 1:], network.update(net, None, sends, canonical))
                    out.append(((gid, len(sends), "T", gid, t_idx, 0), nxt))
            for src, pos, msg in network.pending(net, gid):
                effect = self._delivery_effect(gid, ps, src, msg)
                if effect is not None:
                    h_idx, new_ps, sends = effect
                    slot = src * n + gid
                    nxt = (procs[:gid] + (new_ps,) + procs[gid + 1:],
                           network.update(net, (slot, pos), sends, canonical))
                    out.append(((gid, len(sends), "D", slot, pos, h_idx), nxt))
        for gid in self.crashable:
            if procs[gid][0] != CRASHED:
                crashed = procs[:gid] + ((CRASHED,) + procs[gid][1:],) + procs[gid + 1:]
                out.append(((-1, 0, "C", gid, 0, 0), (crashed, net)))
        for src, dst, pos, _msg in network.losses(net):
            out.append(((-1, 0, "L", src * n + dst, pos, 0), (procs, network.take(net, src, dst, pos))))
        if network.attacker:
            out.extend(self._attacks(procs, net))
        return out

    def _attacks(self, procs: tuple, net: tuple) -> list[tuple[Action, State]]:
        """The attacker's steps (environment steps, never fair): drop an in-flight message; hand a process a
        message seen earlier, under its original sender (replay) or any sender (masquerade), or in place of
        an intercepted one (modify). Action fields: kind, then slot/dst, position/known index, claimed sender."""
        network, canonical, n = self.network, self._canonical, len(procs)
        caps = network.attacker
        out: list[tuple[Action, State]] = []
        if "drop" in caps:
            for src, dst, pos, _msg in network.in_transit(net):
                out.append(((-1, 0, "X", src * n + dst, pos, 0), (procs, network.take(net, src, dst, pos))))
        known = network.known(net)
        if not known:
            return out

        def handed(dst: int, claimed: int, msg: tuple, taken: tuple[int, int] | None, action: Action) -> None:
            effect = self._delivery_effect(dst, procs[dst], claimed, msg)
            if effect is not None:
                _h, new_ps, sends = effect
                spent = network.update(network.injected(net), taken, sends, canonical)
                out.append(((-1, len(sends)) + action, (procs[:dst] + (new_ps,) + procs[dst + 1:], spent)))

        for dst in range(n):
            if procs[dst][0] == CRASHED:
                continue
            for k, (src, msg) in enumerate(known):
                if "replay" in caps:
                    handed(dst, src, msg, None, ("R", dst, k, src))
                if "masquerade" in caps:
                    for claimed in range(n):
                        if claimed != dst and not (claimed == src and "replay" in caps):
                            handed(dst, claimed, msg, None, ("M", dst, k, claimed))
            if "modify" in caps:
                for src, pos, old in network.pending(net, dst):
                    for k, (_s, msg) in enumerate(known):
                        if msg != old:
                            handed(dst, src, msg, (src * n + dst, pos), ("Y", src * n + dst, pos, k))
        return out

    def is_valid_end(self, state: State) -> bool:
        """Every instance is crashed or in a final state: stopping here is not a deadlock."""
        for ps, (fam, _m) in zip(state[0], self.instances):
            if ps[0] != CRASHED and ps[0] not in fam.finals:
                return False
        return True

    # ------------------------------------------------------------------ execution
    # A step of instance g depends only on g's own locals and, for a delivery, the message and its sender:
    # process bodies cannot read other processes (dsl/lower.py rejects it). So each step's effect is computed
    # once per (instance, locals, action) and shared by every global state in which it recurs.
    def _transition_effect(self, gid: int, ps: tuple, t_idx: int) -> tuple[tuple, tuple] | None:
        """(new locals, sends) of guarded transition t_idx from locals ps, or None when its guard is false."""
        key = (gid, t_idx, ps)
        try:
            return self._effects[key]
        except KeyError:
            pass
        fam, member = self.instances[gid]
        t = fam.transitions[t_idx]
        frame = [None] * fam.frame_size
        effect = None
        if t.guard is None or t.guard(Ctx(ps, frame, member, gid, None)):
            locs = list(ps)
            locs[0] = t.target
            effect = self._finish(Ctx(locs, frame, member, gid, None), t.body)
        self._effects[key] = effect
        return effect

    def _delivery_effect(self, gid: int, ps: tuple, src: int, msg: tuple) -> tuple[int, tuple, tuple] | None:
        """(handler index, new locals, sends) when instance gid takes `msg` from src now, else None (the
        message waits). The first handler whose states and guard admit the message takes it."""
        key = (gid, src, msg, ps)
        try:
            return self._effects[key]
        except KeyError:
            pass
        fam, member = self.instances[gid]
        effect = None
        for h_idx, h in enumerate(fam.handlers.get(msg[0], ())):
            if h.states is not None and ps[0] not in h.states:
                continue
            frame = [None] * fam.frame_size
            frame[: len(msg) - 1] = msg[1:]
            if h.sender_slot is not None:
                frame[h.sender_slot] = self.instances[src][1]
            if h.guard is not None and not h.guard(Ctx(ps, frame, member, gid, None)):
                continue
            effect = (h_idx,) + self._finish(Ctx(list(ps), frame, member, gid, None), h.body)
            break
        self._effects[key] = effect
        return effect

    def _finish(self, ctx: Ctx, body: Body | None) -> tuple[tuple, tuple]:
        if body is not None:
            body(ctx)
        ps = tuple(ctx.locs)
        return self._canonical.setdefault(ps, ps), tuple(ctx.out)

    # ------------------------------------------------------------------ traces
    def lane(self, gid: int) -> str:
        fam, m = self.instances[gid]
        return fam.lane(m)

    def lanes(self) -> tuple[str, ...]:
        return tuple(self.lane(g) for g in range(len(self.instances)))

    def render_message(self, msg: tuple) -> str:
        return self.messages[msg[0]].render(msg)

    def describe(self, state: State, action: Action) -> StepInfo:
        """Replay one action of `state` and say what it did (the successor must be computed separately)."""
        _owner, _sent, kind, a, b, c = action
        procs, net = state
        n = len(procs)
        if kind == "T":
            t = self.instances[a][0].transitions[b]
            _new, sends = self._transition_effect(a, procs[a], b)
            return StepInfo(a, "internal", t.text, sends, None, None)
        if kind == "D":
            src, dst = divmod(a, n)
            msg = self._message_at(net, src, dst, b)
            _h, _new, sends = self._delivery_effect(dst, procs[dst], src, msg)
            text = f"on {self.render_message(msg)} from {self.lane(src)}"
            return StepInfo(dst, "receive", text, sends, (src, dst, msg), None)
        if kind == "C":
            return StepInfo(a, "crash", "crashes", (), None, None)
        if kind in ("R", "M", "Y"):
            return self._describe_attack(state, action)
        src, dst = divmod(a, n)
        msg = self._message_at(net, src, dst, b)
        if kind == "X":
            return StepInfo(-1, "drop", f"drops {self.render_message(msg)}", (), None, (src, dst, msg),
                            capability="drop")
        return StepInfo(-1, "lose", f"loses {self.render_message(msg)}", (), None, (src, dst, msg))

    def _describe_attack(self, state: State, action: Action) -> StepInfo:
        _owner, _sent, kind, a, b, c = action
        procs, net = state
        n = len(procs)
        known = self.network.known(net)
        if kind == "Y":
            src, dst = divmod(a, n)
            claimed, msg = src, known[c][1]
            intercepted = (src, dst, self._message_at(net, src, dst, b))
        else:
            dst, msg, claimed, intercepted = a, known[b][1], c, None
        _h, _new, sends = self._delivery_effect(dst, procs[dst], claimed, msg)
        capability = {"R": "replay", "M": "masquerade", "Y": "modify"}[kind]
        return StepInfo(dst, "receive", f"on {self.render_message(msg)} from {self.lane(claimed)}", sends, None,
                        None, capability=capability, injected=(claimed, dst, msg),
                        derivation="a message the attacker saw earlier", intercepted=intercepted)

    def _message_at(self, net, src: int, dst: int, pos: int) -> tuple:
        return net[src * len(self.instances) + dst][pos]

    def changes(self, before: State, after: State, gid: int) -> list[tuple[str, str, str]]:
        """The variables (and control state) of instance gid that differ between two states."""
        fam, _m = self.instances[gid]
        old, new = before[0][gid], after[0][gid]
        out = []
        if old[0] != new[0]:
            out.append(("state", self._ctrl(fam, old[0]), self._ctrl(fam, new[0])))
        for k, (name, render) in enumerate(zip(fam.var_names, fam.var_renderers), start=1):
            if old[k] != new[k]:
                out.append((name, render(old[k]), render(new[k])))
        return out

    def initial_values(self, state: State, gid: int) -> list[tuple[str, str]]:
        fam, _m = self.instances[gid]
        ps = state[0][gid]
        return [("state", self._ctrl(fam, ps[0]))] + [
            (name, render(ps[k])) for k, (name, render) in enumerate(zip(fam.var_names, fam.var_renderers), 1)]

    @staticmethod
    def _ctrl(fam: FamilySpec, ctrl: int) -> str:
        return "crashed" if ctrl == CRASHED else fam.states[ctrl]
