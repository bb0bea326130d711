"""Process models as a transition system: the runtime of compiled `process` declarations.

State vectors. A state is a flat tuple of small integers: `(fingerprint, local_0, ..., local_{n-1}, channel_0,
..., channel_{n*n-1}[, seen][, injected])`. Each entry after the fingerprint is the id of a component value in
an intern table: an instance's local tuple `(control, var1, var2, ...)` (control -1 once crashed), a channel's
contents (`src * n + dst`), the set of (sender, message) pairs an eavesdropping attacker has seen, the number of
messages it injected. Equal components get equal ids, so equal states are equal tuples (an exact key), and a
state costs a few machine words however large its values are (the idea of SPIN's COLLAPSE compression).

Fingerprints. The first entry is the state's 64-bit fingerprint: the sum, modulo 2^64, of one digest per
(position, component value), each a BLAKE2b digest of the position and the value's canonical encoding (sets
sorted, written by `marshal`: `values.canonical`). It depends on the values only, never on ids or on Python's `hash()`, so it is
the same in every process; a step changes the sum by the digests of the components it changed, so it costs a
few additions (Zobrist hashing). Two different states collide with chance 2^-64, as for any 64-bit digest.

Steps. The behaviour comes from closures compiled by dsl/lower.py; nothing here knows the syntax. A step of an
instance depends only on its own locals and, for a delivery, the message and its sender (process bodies cannot
read other processes), so each step's effect is computed once per (instance, locals, action) and reused in
every state where it recurs. Successors come in a fixed order: instances in order, per instance its guarded
transitions, then deliveries; then crashes, losses and the attacker's steps.
"""
from __future__ import annotations

import marshal
from typing import Any, Callable, NamedTuple

from checker.engine.budget import BoundHit
from checker.engine.fingerprint import MASK64, digest64
from checker.engine.system import ModelFault, StepInfo
from checker.process.network import Channel, Network, distinct, without
from checker.process.values import FrozenMap, Renderer, canonical, vkey
from checker.records import field, record

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


@record
class TransitionSpec:
    source: int
    target: int
    text: str
    guard: Guard | None
    body: Body | None


@record
class HandlerSpec:
    message: int
    states: frozenset[int] | None
    guard: Guard | None
    body: Body | None
    sender_slot: int | None


@record
class MessageSpec:
    name: str
    param_renderers: tuple[Renderer, ...]

    def render(self, msg: tuple) -> str:
        args = ", ".join(r(v) for r, v in zip(self.param_renderers, msg[1:]))
        return f"{self.name}({args})"


@record
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
    sends: frozenset[tuple[int, str]] = field(default=frozenset())  # (message id, target family) it may send

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
#: A guarded transition ready to apply: (action, new locals id, fingerprint change of the locals, sends).
Step = tuple["ProcAction", int, int, tuple[tuple[int, int], ...]]
#: A delivery ready to apply: (action, new locals id, channel contents id afterwards, fingerprint change of locals
#: and channel, sends).
Receipt = tuple["ProcAction", int, int, int, tuple[tuple[int, int], ...]]

_new_action = tuple.__new__


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
        self.state_width = 1 + len(self._locals) + n * n + (network.observes + (network.limit is not None))
        self._tables: tuple[Table, ...] = (  # by position in the state vector, minus one (0 is the fingerprint)
            self._locals + (self._channels,) * (n * n)
            + ((self._seen,) if network.observes else ()) + ((self._counts,) if network.limit is not None else ()))
        self._digests: list[dict[int, int]] = [{} for _ in range(len(self._tables) + 1)]
        self._encodings: dict[int, dict[int, bytes]] = {id(table): {} for table in self._tables}
        self._field_codes: dict[int, list[dict[Any, bytes]]] = {id(table): [] for table in self._locals}
        self._message_codes: dict[Any, bytes] = {}
        self._incoming = tuple(tuple((src, self.chan0 + src * n + g) for src in range(n)) for g in range(n))
        # Caches, pure functions of their keys. Effects per (instance, locals, action); ready-made steps per
        # instance: guarded transitions per locals id, deliveries per (locals id, channel slot, channel id), each
        # with its action, new ids and fingerprint change, so that a step costs a few lookups.
        self._effects: list[dict[tuple[int, int, int], tuple[int, Effect] | None]] = [{} for _ in range(n)]
        self._moves: list[dict[int, list[Step]]] = [{} for _ in range(n)]
        self._receipts: list[dict[tuple[int, int, int], list[Receipt]]] = [{} for _ in range(n)]
        self._appends: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._senders: dict[tuple[int, int], tuple[int, ...]] = {}
        self._environment = bool(self.crashable or network.lossy or network.attacker)
        self._vector: Any = None
        # Set by the compiler: the symmetric family (checker/process/symmetry.py), or why there is none.
        self.symmetry: Any = None
        self.asymmetry = ""

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
        return state[0]  # kept up to date by every step (see the module doc)

    def exact_key(self, state: State) -> State:
        return state

    def successors(self, state: State) -> list[tuple[ProcAction, State]]:
        out: list[tuple[ProcAction, State]] = []
        empty, appends, observes = self.empty_channel, self._appends, self.seen_pos >= 0
        fp = state[0]
        for g in range(self.n):
            pos = 1 + g
            lid = state[pos]
            moves = self._moves[g].get(lid)
            if moves is None:
                moves = self._compute_moves(g, lid)
                if moves is None:
                    continue  # crashed
            steps: list[tuple[ProcAction, int, int, int, int, tuple[tuple[int, int], ...]]] = [
                (action, new, -1, 0, delta, sends) for action, new, delta, sends in moves]
            receipts = self._receipts[g]
            for src, slot in self._incoming[g]:
                cid = state[slot]
                if cid != empty:
                    found = receipts.get((lid, slot, cid))
                    if found is None:
                        found = self._compute_receipts(g, lid, src, slot, cid)
                    for action, new, rest, delta, sends in found:
                        steps.append((action, new, slot, rest, delta, sends))
            # Apply each step (the hot loop of the whole checker: kept inline).
            for action, new, taken, rest, delta, sends in steps:
                vec = list(state)
                vec[pos] = new
                if taken >= 0:
                    vec[taken] = rest
                h = fp + delta
                for slot, mid in sends:
                    old = vec[slot]
                    appended = appends.get((slot, old, mid))
                    if appended is None:
                        appended = self._append(slot, old, mid)
                    vec[slot] = appended[0]
                    h += appended[1]
                if observes and sends:
                    h += self._observe(vec, g, sends)
                vec[0] = h & MASK64
                out.append((action, tuple(vec)))
        network = self.network
        if self.crashable:
            self._crashes(state, out)
        if network.lossy:
            for slot, pos, rest in self._in_transit(state):
                out.append((ProcAction(-1, 0, "L", slot - self.chan0, pos, 0), self._replace(state, {slot: rest})))
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

    def lift(self, pred: Callable[[tuple[tuple, ...]], bool]) -> LiftedPredicate:
        """A predicate over the instances' locals as a predicate over states (see `LiftedPredicate`)."""
        return LiftedPredicate(self, pred)

    def batches(self) -> Any:
        """Successors of many states at once (checker/process/vector.py), for models without environment
        steps; None otherwise. Imported on demand: it needs numpy."""
        from checker.process.vector import VectorProcesses
        if not VectorProcesses.supports(self):
            return None
        if self._vector is None:
            self._vector = VectorProcesses(self)
        return self._vector

    def symmetric(self) -> Any:
        """This system up to permutations of its symmetric family (checker/process/symmetry.py), when the
        compiler found one and the model has no environment steps; None otherwise."""
        if self.symmetry is None or self._environment:
            return None
        from checker.process.symmetry import SymmetricSystem
        return SymmetricSystem(self, self.symmetry)

    # ------------------------------------------------------------------ partial-order reduction
    def ample(self, state: State, visible: frozenset[Any]) -> list[tuple[int, ProcAction, State]] | None:
        """The steps of one instance g, when they form an ample set (checker/engine/system.py, `Reducible`).

        Steps of different instances are independent: they touch disjoint locals, and on a channel one only
        appends while the other takes from the front. So g's enabled steps are persistent as long as nothing the
        others do can give g a new step: no crash, loss or attacker in the model, and every instance that may
        send g a message kind g listens to in its current control state has already a message waiting on its
        FIFO channel to g (what it sends next queues behind it). Steps that change a local the properties read
        (`visible`, (family, slot) pairs) are visible and rule g out. Among the instances that qualify, the one
        with the fewest steps is taken; None when none qualifies or one instance owns every step."""
        if self._environment:
            return None
        succ = self.successors(state)
        ranges: dict[int, list[int]] = {}
        for i, (action, _t) in enumerate(succ):
            ranges.setdefault(action.owner, []).append(i)
        if len(ranges) < 2:
            return None
        best: list[int] | None = None
        for g, indices in ranges.items():
            if best is not None and len(indices) >= len(best):
                continue
            if not self._quiet_senders(state, g) or self._visible_step(state, g, visible, succ, indices):
                continue
            best = indices
        if best is None:
            return None
        return [(i, succ[i][0], succ[i][1]) for i in best]

    def _quiet_senders(self, state: State, g: int) -> bool:
        """No other instance can give g a new step: each that may send g something g accepts now has a message
        waiting on its FIFO channel to g."""
        ctrl = self.control(state, g)
        key = (g, ctrl)
        slots = self._senders.get(key)
        if slots is None:
            slots = self._senders[key] = self._senders_of(g, ctrl)
        if slots and not self.network.fifo:
            return False
        empty = self.empty_channel
        return all(state[slot] != empty for slot in slots)

    def _senders_of(self, g: int, ctrl: int) -> tuple[int, ...]:
        """The channel slots h -> g of every instance h != g whose family may send a message kind that one of g's
        handlers takes in control state `ctrl` (its guard aside)."""
        fam = self.instances[g][0]
        kinds = {k for k, handlers in fam.handlers.items()
                 if any(h.states is None or ctrl in h.states for h in handlers)}
        slots = []
        for h, (other, _m) in enumerate(self.instances):
            if h != g and any(k in kinds and target == fam.name for k, target in other.sends):
                slots.append(self.chan0 + h * self.n + g)
        return tuple(slots)

    def _visible_step(self, state: State, g: int, visible: frozenset[Any], succ: list[tuple[ProcAction, State]],
                      indices: list[int]) -> bool:
        """Some step of g (the successors at `indices`) changes a local of g that a property reads."""
        fam = self.instances[g][0]
        slots = [slot for family, slot in visible if family == fam.name]
        if not slots:
            return False
        old = self._locals[g].values[state[1 + g]]
        for i in indices:
            new = self._locals[g].values[succ[i][1][1 + g]]
            if any(old[k] != new[k] for k in slots):
                return True
        return False

    # ------------------------------------------------------------------ building states
    def _digest(self, pos: int, vid: int) -> int:
        """The digest of the component with id `vid` at position `pos` of the state vector."""
        digests = self._digests[pos]
        d = digests.get(vid)
        if d is None:
            table = self._tables[pos - 1]
            encodings = self._encodings[id(table)]
            data = encodings.get(vid)
            if data is None:  # instances of one family share their table: encode each value once
                data = encodings[vid] = self._encode(table, table.values[vid])
            d = digests[vid] = digest64(pos.to_bytes(4, "little") + data)
        return d

    def _encode(self, table: Table, value: Any) -> bytes:
        """The canonical bytes of a component: the marshal bytes of its fields (of a local tuple) or messages (of
        a channel), each self-delimiting and memoised. A field of a local tuple has one static type, and a
        message kind fixes its fields' types, so memoising by value cannot mix up `1` and `True`."""
        if table is self._channels:
            parts = [self._field(self._message_codes, msg) for msg in value]
        elif table in self._locals:
            fields = self._field_codes[id(table)]
            while len(fields) < len(value):
                fields.append({})
            parts = [self._field(fields[k], v) for k, v in enumerate(value)]
        else:
            return marshal.dumps(canonical(value), 2)
        return len(parts).to_bytes(4, "little") + b"".join(parts)

    @staticmethod
    def _field(codes: dict[Any, bytes], value: Any) -> bytes:
        code = codes.get(value)
        if code is None:
            code = codes[value] = marshal.dumps(canonical(value), 2)
        return code

    def _apply(self, state: State, pos: int, new_lid: int, delta: int, taken: int, rest: int,
               sends: tuple[tuple[int, int], ...]) -> State:
        """`state` after a step of the instance at position `pos` that leaves it with locals `new_lid`; `taken`
        is the channel slot a delivered message left (its contents now `rest`), or -1; `delta` the fingerprint
        change of those two; `sends` the (slot, message id) pairs appended."""
        new = list(state)
        new[pos] = new_lid
        if taken >= 0:
            new[taken] = rest
        fp = state[0] + delta
        if sends:
            appends = self._appends
            for slot, mid in sends:
                old = new[slot]
                found = appends.get((slot, old, mid))
                if found is None:
                    found = self._append(slot, old, mid)
                new[slot], change = found
                fp += change
            if self.seen_pos >= 0:
                fp += self._observe(new, pos - 1, sends)
        new[0] = fp & MASK64
        return tuple(new)

    def _append(self, slot: int, old: int, mid: int) -> tuple[int, int]:
        """(contents id, fingerprint change) of channel `slot` with contents `old` after message `mid` was sent."""
        cid = self._channels.intern(self.network.append(self._channels.values[old], self._messages.values[mid]))
        found = self._appends[(slot, old, mid)] = (cid, self._digest(slot, cid) - self._digest(slot, old))
        return found

    def _observe(self, new: list[int], g: int, sends: tuple[tuple[int, int], ...]) -> int:
        """Add what instance g sent to the eavesdropper's set in `new`; the fingerprint change."""
        pos = self.seen_pos
        seen = self._seen.values[new[pos]]
        grown = seen | {(g, self._messages.values[mid]) for _slot, mid in sends}
        if grown == seen:
            return 0
        sid = self._seen.intern(grown)
        change = self._digest(pos, sid) - self._digest(pos, new[pos])
        new[pos] = sid
        return change

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
    def _compute_moves(self, g: int, lid: int, keep: bool = True) -> list[Step] | None:
        """The guarded transitions instance g can take from locals `lid`, ready to apply; None once crashed.
        `keep`: memoise them (the batch search keeps its own tables and does not)."""
        ps = self._locals[g].values[lid]
        if ps[0] == CRASHED:
            return None
        moves: list[Step] = []
        for t_idx in self._leaving[g][ps[0]]:
            effect = self._transition(g, lid, t_idx)
            if effect is not None:
                new, sends, count = effect
                action = _new_action(ProcAction, (g, count, "T", g, t_idx, 0))
                moves.append((action, new, self._digest(1 + g, new) - self._digest(1 + g, lid), sends))
        if keep:
            self._moves[g][lid] = moves
        return moves

    def _transition(self, g: int, lid: int, t_idx: int) -> Effect | None:
        """The effect of guarded transition t_idx of instance g from locals `lid`, or None when its guard is
        false."""
        ps = self._locals[g].values[lid]
        fam, member = self.instances[g]
        t = fam.transitions[t_idx]
        frame: list[Any] = [None] * fam.frame_size
        if t.guard is not None and not t.guard(Ctx(ps, frame, member, g, None)):
            return None
        locs = list(ps)
        locs[0] = t.target
        return self._finish(g, Ctx(locs, frame, member, g, None), t.body)

    def _compute_receipts(self, g: int, lid: int, src: int, slot: int, cid: int, keep: bool = True) -> list[Receipt]:
        """The messages of channel `slot` (contents `cid`) instance g takes now from locals `lid`, ready to
        apply; `keep`: memoise them (the batch search keeps its own tables and does not)."""
        ch = self._channels.values[cid]
        receipts: list[Receipt] = []
        for pos, msg in self.network.heads(ch):
            found = self._delivery(g, lid, src, self._messages.intern(msg))
            if found is None:
                continue
            h_idx, (new, sends, count) = found
            rest = self._channels.intern(without(ch, pos))
            delta = (self._digest(1 + g, new) - self._digest(1 + g, lid)
                     + self._digest(slot, rest) - self._digest(slot, cid))
            action = _new_action(ProcAction, (g, count, "D", slot - self.chan0, pos, h_idx))
            receipts.append((action, new, rest, delta, sends))
        if keep:
            self._receipts[g][(lid, slot, cid)] = receipts
        return receipts

    def _delivery(self, g: int, lid: int, src: int, mid: int) -> tuple[int, Effect] | None:
        """(handler index, effect) when instance g takes message `mid` from src now, else None (it waits). The
        first handler whose states and guard admit the message takes it."""
        key = (lid, src, mid)
        memo = self._effects[g]
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
        n, chan0 = self.n, self.chan0
        sends = []
        for src, dst, msg in ctx.out:
            known = len(self._messages.values)
            mid = self._messages.intern(msg)
            if mid == known:  # a new value: within the size limits?
                self._check_size(msg, g)
            sends.append((chan0 + src * n + dst, mid))
        table = self._locals[g]
        known = len(table.values)
        lid = table.intern(ps)
        if lid == known:
            self._check_size(ps, g)
        return lid, tuple(sends), len(sends)

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
            _h, (new, sends, count) = found
            changes = {}
            if self.count_pos >= 0:
                count = self._counts.values[state[self.count_pos]]
                changes[self.count_pos] = self._counts.intern(count + 1)
            if taken is not None:
                slot, pos = taken
                changes[slot] = self._channels.intern(without(self._channels.values[state[slot]], pos))
            changes[1 + dst] = new
            base = self._replace(state, changes)
            out.append((ProcAction(-1, count, kind, a, b, c), self._apply(base, 1 + dst, new, 0, -1, 0, sends)))

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
            effect = self._transition(a, state[1 + a], b)
            assert effect is not None
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


class LiftedPredicate:
    """A predicate over the instances' locals as a predicate over states. Properties of process models read
    only process variables, never channels; when the predicate says which (`reads`: (family, slot) pairs, slot 0
    the control state), it is memoised on just those, so `always count(...) <= 1` over control states is
    evaluated once per combination of control states, not once per state. `reads` also tells partial-order
    reduction which steps are visible."""

    def __init__(self, system: ProcessSystem, pred: Callable[[tuple[tuple, ...]], bool]):
        self.system = system
        self.pred = pred
        self.reads: frozenset[tuple[str, int]] | None = getattr(pred, "reads", None)
        self.slots = [tuple(range(len(fam.initial[m]))) if self.reads is None else
                      tuple(sorted(slot for family, slot in self.reads if family == fam.name))
                      for fam, m in system.instances]
        self.projections: list[dict[int, tuple]] = [{} for _ in system.instances]  # locals id -> read values
        self.memo: dict[tuple, bool] = {}

    def __call__(self, state: State) -> bool:
        n = self.system.n
        try:
            key = tuple(map(dict.__getitem__, self.projections, state[1:1 + n]))
        except KeyError:
            key = self._project(state)
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) > 1_000_000:
                self.memo.clear()
            found = self.memo[key] = self.pred(self.system.procs(state))
        return found

    def _project(self, state: State) -> tuple:
        system = self.system
        for g in range(system.n):
            lid = state[1 + g]
            if lid not in self.projections[g]:
                ps = system._locals[g].values[lid]
                self.projections[g][lid] = tuple(ps[k] for k in self.slots[g])
        return tuple(map(dict.__getitem__, self.projections, state[1:1 + system.n]))


_INT_LIMIT = 1 << MAX_INT_BITS


def _oversized(value: Any) -> str | None:
    """What makes `value` exceed the size limits (an integer over MAX_INT_BITS bits, a collection over
    MAX_COLLECTION elements), or None. Called once per new value, on the runtime's own value types."""
    kind = type(value)
    if kind is int:
        return None if -_INT_LIMIT < value < _INT_LIMIT else f"an integer of {value.bit_length():,} bits"
    if kind is tuple or kind is frozenset or kind is FrozenMap:
        if len(value) > MAX_COLLECTION:
            return f"a collection of {len(value):,} elements"
        for item in (tuple.__iter__(value) if kind is FrozenMap else value):
            inner = type(item)
            if inner is int:
                if not -_INT_LIMIT < item < _INT_LIMIT:
                    return f"an integer of {item.bit_length():,} bits"
            elif inner is not bool and inner is not str:
                problem = _oversized(item)
                if problem is not None:
                    return problem
    return None
