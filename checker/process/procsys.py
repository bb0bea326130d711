"""Process models as a transition system: the runtime of compiled `process` declarations.

State vectors. A state is a flat tuple of small integers: `(fingerprint, local_0, ..., local_{n-1}, channel_0,
..., channel_{n*n-1}[, seen][, injected])`. Each entry after the fingerprint is the id of a component value in
an intern table: an instance's local tuple `(control, var1, var2, ...)` (control -1 once crashed), a channel's
contents (`src * n + dst`), the set of (sender, message) pairs an eavesdropping attacker has seen, the number of
messages it injected. Equal components get equal ids, so equal states are equal tuples (an exact key), and a
state costs a few machine words however large its values are (the idea of SPIN's COLLAPSE compression).

Fingerprints. The first entry is the state's 64-bit fingerprint: the sum, modulo 2^64, of one digest per
(position, component value), each a BLAKE2b digest of the position and the value's canonical encoding
(checker/engine/fingerprint.py). It depends on the values only, never on ids or on Python's `hash()`, so it is
the same in every process; a step changes the sum by the digests of the components it changed, so it costs a
few additions (Zobrist hashing). Two different states collide with chance 2^-64, as for any 64-bit digest.

Steps. The behaviour comes from closures compiled by dsl/lower.py; nothing here knows the syntax. A step of an
instance depends only on its own locals and, for a delivery, the message and its sender (process bodies cannot
read other processes), so each step's effect is computed once per (instance, locals, action) and reused in
every state where it recurs. Successors come in a fixed order: instances in order, per instance its guarded
transitions, then deliveries; then crashes, losses and the attacker's steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from checker.engine.budget import BoundHit
from checker.engine.fingerprint import MASK64, digest64, encode
from checker.engine.system import ModelFault, StepInfo
from checker.process.network import Channel, Network, distinct, without
from checker.process.values import FrozenMap, Renderer, vkey

State = tuple  # (fingerprint, component ids...), see the module doc

CRASHED = -1

#: Values a step may produce: beyond these sizes a run stops as a bound (a model whose values grow without end,
#: `x = x * x` in a loop, would otherwise outrun every time bound inside a single arithmetic operation).
MAX_INT_BITS = 1024
MAX_COLLECTION = 10_000


class ProcAction(NamedTuple):
    """One step. `owner` is the instance whose weak-fairness obligation the step discharges (-1 for steps of the
    environment: crashes, losses, the attacker), `sent` how many messages it sends. `kind` and the operands say
    what to replay for a trace:
      T: guarded transition `b` of instance `a`;  D: delivery from channel `a`, position `b`, handler `c`;
      C: crash of instance `a`;  L / X: loss / attacker drop of the message at channel `a`, position `b`;
      R / M: the attacker hands instance `a` the `b`-th message it saw, under sender `c` (replay / masquerade);
      Y: modify: the message at channel `a`, position `b` is replaced by the `c`-th message the attacker saw."""

    owner: int
    sent: int
    kind: str
    a: int
    b: int
    c: int


class Ctx:
    """Scratch space for executing one step or evaluating one predicate; never stored in a state."""

    __slots__ = ("locs", "frame", "me", "gid", "out", "procs")

    def __init__(self, locs: Any, frame: list[Any], me: int, gid: int, procs: Any):
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


class Table:
    """An intern table: equal values get one id and one shared copy. A table holds values of one type layout
    (one family's locals, channels, ...), so Python's `1 == True` cannot mix two values up."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def intern(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


#: Effect of a step on its own instance: (new locals id, sends as (channel slot, message id), message count).
Effect = tuple[int, tuple[tuple[int, int], ...], int]


class ProcessSystem:
    """The transition system of a process model under a network strategy (see the module doc)."""

    def __init__(self, name: str, families: tuple[FamilySpec, ...], messages: tuple[MessageSpec, ...],
                 network: Network):
        self.name = name
        self.families = families
        self.messages = messages
        self.network = network
        self.instances: tuple[tuple[FamilySpec, int], ...] = tuple(
            (fam, m) for fam in families for m in range(fam.size))
        n = self.n = len(self.instances)
        self.crashable = tuple(g for g, (fam, m) in enumerate(self.instances) if m in fam.crashable)
        # per instance, per control state: the guarded transitions leaving it, with their indices
        self._leaving = tuple(
            tuple(tuple(k for k, t in enumerate(fam.transitions) if t.source == ctrl)
                  for ctrl in range(len(fam.states)))
            for fam, _m in self.instances)
        family_tables = {fam.name: Table() for fam in families}
        self._locals = tuple(family_tables[fam.name] for fam, _m in self.instances)
        self._channels = Table()
        self._messages = Table()
        self._seen = Table()
        self._counts = Table()
        self.empty_channel = self._channels.intern(())
        # positions in the state vector
        self.chan0 = 1 + n
        self.seen_pos = 1 + n + n * n if network.observes else -1
        self.count_pos = 1 + n + n * n + (1 if network.observes else 0) if network.limit is not None else -1
        self._tables: tuple[Table, ...] = (  # by position in the state vector, minus one (0 is the fingerprint)
            self._locals + (self._channels,) * (n * n)
            + ((self._seen,) if network.observes else ()) + ((self._counts,) if network.limit is not None else ()))
        self._digests: list[dict[int, int]] = [{} for _ in range(len(self._tables) + 1)]
        # caches: pure functions of their keys
        self._moves: list[dict[int, list[tuple[int, Effect]]]] = [{} for _ in range(n)]
        self._deliveries: list[dict[tuple[int, int, int], tuple[int, Effect] | None]] = [{} for _ in range(n)]
        self._heads: dict[int, list[tuple[int, int, int]]] = {}
        self._appends: dict[tuple[int, int], int] = {}
        self._preds: dict[Any, dict[tuple, bool]] = {}

    # ------------------------------------------------------------------ the TransitionSystem interface
    def initial_states(self) -> list[State]:
        ids = [self._locals[g].intern(fam.initial[m]) for g, (fam, m) in enumerate(self.instances)]
        for g, (fam, m) in enumerate(self.instances):
            self._check_size(fam.initial[m], g)
        ids += [self.empty_channel] * (self.n * self.n)
        if self.network.observes:
            ids.append(self._seen.intern(frozenset()))
        if self.network.limit is not None:
            ids.append(self._counts.intern(0))
        fp = 0
        for pos, v in enumerate(ids, start=1):
            fp += self._digest(pos, v)
        return [(fp & MASK64, *ids)]

    def fingerprint(self, state: State) -> int:
        return state[0]

    def exact_key(self, state: State) -> State:
        return state

    def successors(self, state: State) -> list[tuple[ProcAction, State]]:
        out: list[tuple[ProcAction, State]] = []
        n, chan0, network = self.n, self.chan0, self.network
        empty = self.empty_channel
        for g in range(n):
            lid = state[1 + g]
            if self._locals[g].values[lid][0] == CRASHED:
                continue
            moves = self._moves[g].get(lid)
            if moves is None:
                moves = self._compute_moves(g, lid)
            for t_idx, effect in moves:
                out.append((ProcAction(g, effect[2], "T", g, t_idx, 0), self._apply(state, g, effect, -1, 0)))
            for src in range(n):
                slot = chan0 + src * n + g
                cid = state[slot]
                if cid == empty:
                    continue
                heads = self._heads.get(cid)
                if heads is None:
                    heads = self._compute_heads(cid)
                for pos, mid, rest in heads:
                    found = self._delivery(g, lid, src, mid)
                    if found is not None:
                        h_idx, effect = found
                        out.append((ProcAction(g, effect[2], "D", src * n + g, pos, h_idx),
                                    self._apply(state, g, effect, slot, rest)))
        if self.crashable:
            self._crashes(state, out)
        if network.lossy:
            for slot, pos, rest in self._in_transit(state):
                out.append((ProcAction(-1, 0, "L", slot - chan0, pos, 0), self._replace(state, {slot: rest})))
        if network.attacker:
            self._attacks(state, out)
        return out

    def is_valid_end(self, state: State) -> bool:
        """Every instance is crashed or in a final state: stopping here is not a deadlock."""
        for g, (fam, _m) in enumerate(self.instances):
            ctrl = self._locals[g].values[state[1 + g]][0]
            if ctrl != CRASHED and ctrl not in fam.finals:
                return False
        return True

    # ------------------------------------------------------------------ state access for properties and traces
    def procs(self, state: State) -> tuple[tuple, ...]:
        """The local tuples of every instance."""
        return tuple(self._locals[g].values[state[1 + g]] for g in range(self.n))

    def control(self, state: State, g: int) -> int:
        """The control state index of instance g (CRASHED once crashed)."""
        return self._locals[g].values[state[1 + g]][0]

    def channel(self, state: State, src: int, dst: int) -> Channel:
        return self._channels.values[state[self.chan0 + src * self.n + dst]]

    def seen(self, state: State) -> list[tuple[int, Any]]:
        """What the attacker may inject now: the (sender, message) pairs it has seen, in a deterministic order,
        or nothing once its limit is spent."""
        if self.seen_pos < 0:
            return []
        limit = self.network.limit
        if limit is not None and self._counts.values[state[self.count_pos]] >= limit:
            return []
        return sorted(self._seen.values[state[self.seen_pos]], key=vkey)

    def lift(self, pred: Callable[[tuple[tuple, ...]], bool]) -> Callable[[State], bool]:
        """A predicate over the instances' locals as a predicate over states, memoised on the locals' ids (the
        properties of process models read only process variables, never channels)."""
        memo: dict[tuple, bool] = {}
        n = self.n

        def on_state(state: State) -> bool:
            key = state[1:1 + n]
            found = memo.get(key)
            if found is None:
                if len(memo) > 1_000_000:
                    memo.clear()
                found = memo[key] = pred(self.procs(state))
            return found
        return on_state

    # ------------------------------------------------------------------ building states
    def _digest(self, pos: int, vid: int) -> int:
        """The digest of the component with id `vid` at position `pos` of the state vector."""
        table = self._digests[pos]
        d = table.get(vid)
        if d is None:
            d = table[vid] = digest64(pos.to_bytes(4, "little") + encode(self._tables[pos - 1].values[vid]))
        return d

    def _apply(self, state: State, g: int, effect: Effect, taken: int, rest: int) -> State:
        """`state` after instance g's step with `effect`; `taken`: the channel slot a delivered message left
        (its contents now `rest`), or -1."""
        new = list(state)
        lid, sends, _count = effect
        fp = state[0]
        pos = 1 + g
        if lid != state[pos]:
            new[pos] = lid
            fp += self._digest(pos, lid) - self._digest(pos, state[pos])
        if taken >= 0:
            new[taken] = rest
            fp += self._digest(taken, rest) - self._digest(taken, state[taken])
        if sends:
            appends = self._appends
            for slot, mid in sends:
                old = new[slot]
                key = (old, mid)
                cid = appends.get(key)
                if cid is None:
                    cid = appends[key] = self._channels.intern(
                        self.network.append(self._channels.values[old], self._messages.values[mid]))
                new[slot] = cid
                fp += self._digest(slot, cid) - self._digest(slot, old)
            if self.seen_pos >= 0:
                seen = self._seen.values[new[self.seen_pos]]
                src = g
                grown = seen | {(src, self._messages.values[mid]) for _slot, mid in sends}
                if grown != seen:
                    sid = self._seen.intern(grown)
                    fp += self._digest(self.seen_pos, sid) - self._digest(self.seen_pos, new[self.seen_pos])
                    new[self.seen_pos] = sid
        new[0] = fp & MASK64
        return tuple(new)

    def _replace(self, state: State, changes: dict[int, int]) -> State:
        """`state` with the components at the given positions replaced by the given ids."""
        new = list(state)
        fp = state[0]
        for pos, vid in changes.items():
            fp += self._digest(pos, vid) - self._digest(pos, state[pos])
            new[pos] = vid
        new[0] = fp & MASK64
        return tuple(new)

    # ------------------------------------------------------------------ execution (memoised)
    def _compute_moves(self, g: int, lid: int) -> list[tuple[int, Effect]]:
        """The guarded transitions instance g can take from locals `lid`, with their effects."""
        ps = self._locals[g].values[lid]
        fam, member = self.instances[g]
        moves: list[tuple[int, Effect]] = []
        if ps[0] != CRASHED:
            for t_idx in self._leaving[g][ps[0]]:
                t = fam.transitions[t_idx]
                frame = [None] * fam.frame_size
                if t.guard is None or t.guard(Ctx(ps, frame, member, g, None)):
                    locs = list(ps)
                    locs[0] = t.target
                    moves.append((t_idx, self._finish(g, Ctx(locs, frame, member, g, None), t.body)))
        self._moves[g][lid] = moves
        return moves

    def _delivery(self, g: int, lid: int, src: int, mid: int) -> tuple[int, Effect] | None:
        """(handler index, effect) when instance g takes message `mid` from src now, else None (it waits). The
        first handler whose states and guard admit the message takes it."""
        key = (lid, src, mid)
        memo = self._deliveries[g]
        if key in memo:
            return memo[key]
        ps = self._locals[g].values[lid]
        msg = self._messages.values[mid]
        fam, member = self.instances[g]
        found = None
        if ps[0] != CRASHED:
            for h_idx, h in enumerate(fam.handlers.get(msg[0], ())):
                if h.states is not None and ps[0] not in h.states:
                    continue
                frame: list[Any] = [None] * fam.frame_size
                frame[: len(msg) - 1] = msg[1:]
                if h.sender_slot is not None:
                    frame[h.sender_slot] = self.instances[src][1]
                if h.guard is not None and not h.guard(Ctx(ps, frame, member, g, None)):
                    continue
                found = (h_idx, self._finish(g, Ctx(list(ps), frame, member, g, None), h.body))
                break
        memo[key] = found
        return found

    def _finish(self, g: int, ctx: Ctx, body: Body | None) -> Effect:
        if body is not None:
            body(ctx)
        ps = tuple(ctx.locs)
        self._check_size(ps, g)
        n, chan0 = self.n, self.chan0
        sends = []
        for src, dst, msg in ctx.out:
            self._check_size(msg, g)
            sends.append((chan0 + src * n + dst, self._messages.intern(msg)))
        return self._locals[g].intern(ps), tuple(sends), len(sends)

    def _compute_heads(self, cid: int) -> list[tuple[int, int, int]]:
        """The deliverable messages of channel `cid`: (position, message id, contents id afterwards)."""
        ch = self._channels.values[cid]
        heads = [(pos, self._messages.intern(msg), self._channels.intern(without(ch, pos)))
                 for pos, msg in self.network.heads(ch)]
        self._heads[cid] = heads
        return heads

    def _check_size(self, value: Any, g: int) -> None:
        """Stop the run (as a bound) when a step made a value larger than the documented limits."""
        problem = _oversized(value)
        if problem is not None:
            raise BoundHit(f"a value of {self.lane(g)} grew past the size limit ({problem}); wolf stops runs "
                           f"whose integers exceed {MAX_INT_BITS} bits or whose collections exceed "
                           f"{MAX_COLLECTION:,} elements")

    # ------------------------------------------------------------------ the environment
    def _crashes(self, state: State, out: list[tuple[ProcAction, State]]) -> None:
        for g in self.crashable:
            ps = self._locals[g].values[state[1 + g]]
            if ps[0] != CRASHED:
                lid = self._locals[g].intern((CRASHED,) + ps[1:])
                out.append((ProcAction(-1, 0, "C", g, 0, 0), self._replace(state, {1 + g: lid})))

    def _in_transit(self, state: State) -> list[tuple[int, int, int]]:
        """Every in-flight message, one per distinct (channel, message): (slot, position, contents after)."""
        out = []
        for slot in range(self.chan0, self.chan0 + self.n * self.n):
            cid = state[slot]
            if cid != self.empty_channel:
                ch = self._channels.values[cid]
                for pos, _msg in distinct(ch):
                    out.append((slot, pos, self._channels.intern(without(ch, pos))))
        return out

    def _attacks(self, state: State, out: list[tuple[ProcAction, State]]) -> None:
        """The attacker's steps (environment steps, never fair): drop an in-flight message; hand a process a
        message seen earlier, under its original sender (replay) or any sender (masquerade), or in place of
        an intercepted one (modify)."""
        caps, n, chan0 = self.network.attacker, self.n, self.chan0
        if "drop" in caps:
            for slot, pos, rest in self._in_transit(state):
                out.append((ProcAction(-1, 0, "X", slot - chan0, pos, 0), self._replace(state, {slot: rest})))
        known = self.seen(state)
        if not known:
            return

        def handed(dst: int, claimed: int, msg: tuple, taken: tuple[int, int] | None, kind: str, a: int,
                   b: int, c: int) -> None:
            lid = state[1 + dst]
            found = self._delivery(dst, lid, claimed, self._messages.intern(msg))
            if found is None:
                return
            _h, effect = found
            changes = {}
            if self.count_pos >= 0:
                count = self._counts.values[state[self.count_pos]]
                changes[self.count_pos] = self._counts.intern(count + 1)
            if taken is not None:
                slot, pos = taken
                changes[slot] = self._channels.intern(without(self._channels.values[state[slot]], pos))
            base = self._replace(state, changes) if changes else state
            out.append((ProcAction(-1, effect[2], kind, a, b, c), self._apply(base, dst, effect, -1, 0)))

        for dst in range(n):
            if self.control(state, dst) == CRASHED:
                continue
            for k, (src, msg) in enumerate(known):
                if "replay" in caps:
                    handed(dst, src, msg, None, "R", dst, k, src)
                if "masquerade" in caps:
                    for claimed in range(n):
                        if claimed != dst and not (claimed == src and "replay" in caps):
                            handed(dst, claimed, msg, None, "M", dst, k, claimed)
            if "modify" in caps:
                for src in range(n):
                    slot = chan0 + src * n + dst
                    ch = self._channels.values[state[slot]]
                    for pos, old in self.network.heads(ch):
                        for k, (_s, msg) in enumerate(known):
                            if msg != old:
                                handed(dst, src, msg, (slot, pos), "Y", src * n + dst, pos, k)

    # ------------------------------------------------------------------ traces
    def lane(self, g: int) -> str:
        fam, m = self.instances[g]
        return fam.lane(m)

    def lanes(self) -> tuple[str, ...]:
        return tuple(self.lane(g) for g in range(self.n))

    def render_message(self, msg: tuple) -> str:
        return self.messages[msg[0]].render(msg)

    def describe(self, state: State, action: ProcAction) -> StepInfo:
        """Replay one action of `state` and say what it did (the successor must be computed separately)."""
        kind, a, b = action.kind, action.a, action.b
        n = self.n
        if kind == "T":
            t = self.instances[a][0].transitions[b]
            effect = next(e for i, e in self._compute_moves(a, state[1 + a]) if i == b)
            return StepInfo(a, "internal", t.text, self._sent(a, effect), None, None)
        if kind == "D":
            src, dst = divmod(a, n)
            msg = self.channel(state, src, dst)[b]
            found = self._delivery(dst, state[1 + dst], src, self._messages.intern(msg))
            assert found is not None
            text = f"on {self.render_message(msg)} from {self.lane(src)}"
            return StepInfo(dst, "receive", text, self._sent(dst, found[1]), (src, dst, msg), None)
        if kind == "C":
            return StepInfo(a, "crash", "crashes", (), None, None)
        if kind in ("R", "M", "Y"):
            return self._describe_attack(state, action)
        src, dst = divmod(a, n)
        msg = self.channel(state, src, dst)[b]
        if kind == "X":
            return StepInfo(-1, "drop", f"drops {self.render_message(msg)}", (), None, (src, dst, msg),
                            capability="drop")
        return StepInfo(-1, "lose", f"loses {self.render_message(msg)}", (), None, (src, dst, msg))

    def _sent(self, g: int, effect: Effect) -> tuple[tuple[int, int, Any], ...]:
        n, chan0 = self.n, self.chan0
        return tuple((g, (slot - chan0) % n, self._messages.values[mid]) for slot, mid in effect[1])

    def _describe_attack(self, state: State, action: ProcAction) -> StepInfo:
        kind, a, b, c = action.kind, action.a, action.b, action.c
        n = self.n
        known = self.seen(state)
        intercepted = None
        if kind == "Y":
            src, dst = divmod(a, n)
            claimed, msg = src, known[c][1]
            intercepted = (src, dst, self.channel(state, src, dst)[b])
        else:
            dst, msg, claimed = a, known[b][1], c
        found = self._delivery(dst, state[1 + dst], claimed, self._messages.intern(msg))
        assert found is not None
        capability = {"R": "replay", "M": "masquerade", "Y": "modify"}[kind]
        return StepInfo(dst, "receive", f"on {self.render_message(msg)} from {self.lane(claimed)}",
                        self._sent(dst, found[1]), None, None, capability=capability, injected=(claimed, dst, msg),
                        derivation="a message the attacker saw earlier", intercepted=intercepted)

    def changes(self, before: State, after: State, g: int) -> list[tuple[str, str, str]]:
        """The variables (and control state) of instance g that differ between two states."""
        fam, _m = self.instances[g]
        old, new = self._locals[g].values[before[1 + g]], self._locals[g].values[after[1 + g]]
        out = []
        if old[0] != new[0]:
            out.append(("state", self._ctrl(fam, old[0]), self._ctrl(fam, new[0])))
        for k, (name, render) in enumerate(zip(fam.var_names, fam.var_renderers), start=1):
            if old[k] != new[k]:
                out.append((name, render(old[k]), render(new[k])))
        return out

    def initial_values(self, state: State, g: int) -> list[tuple[str, str]]:
        fam, _m = self.instances[g]
        ps = self._locals[g].values[state[1 + g]]
        return [("state", self._ctrl(fam, ps[0]))] + [
            (name, render(ps[k])) for k, (name, render) in enumerate(zip(fam.var_names, fam.var_renderers), 1)]

    @staticmethod
    def _ctrl(fam: FamilySpec, ctrl: int) -> str:
        return "crashed" if ctrl == CRASHED else fam.states[ctrl]


def _oversized(value: Any) -> str | None:
    """What makes `value` exceed the size limits (an integer over MAX_INT_BITS bits, a collection over
    MAX_COLLECTION elements), or None."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return f"an integer of {value.bit_length():,} bits" if value.bit_length() > MAX_INT_BITS else None
    if isinstance(value, (tuple, frozenset, FrozenMap)):
        if len(value) > MAX_COLLECTION:
            return f"a collection of {len(value):,} elements"
        items = value.items() if isinstance(value, FrozenMap) else value
        for item in items:
            problem = _oversized(item)
            if problem is not None:
                return problem
    return None
