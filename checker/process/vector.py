"""Successors of many process-model states at once, with numpy.

The scalar runtime (checker/process/procsys.py) already reduces a step to table lookups: a state is a vector of
component ids, and what an instance can do depends only on its locals id and the ids of its incoming channels,
memoised with the step's new ids and fingerprint change. Here those memos become flat arrays and hash maps
(checker/engine/intmap.py), so that the successors of a whole chunk of states are computed by array operations:
per instance, the guarded transitions of every state's locals, then the deliveries from each incoming channel,
then the messages they send, appended through a map of (channel, contents, message) to new contents; then
crashes and losses. Only what
no state has needed before is computed by the scalar runtime, once; the arrays grow with it.

Successors come out in exactly the scalar order (state by state; per state instance by instance, transitions
before deliveries, channels in sender order), with their index in the scalar successor list, so paths found here
replay on the scalar system and counterexamples are the same as the scalar explorer's.

A batch of states is `(fps, comps)`: their fingerprints (uint64) and a matrix of component ids (uint32), one
row per state, the columns being the scalar state vector without its fingerprint. Models with an attacker or
more than 15 instances use the scalar explorer.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from checker.engine.fingerprint import MASK64
from checker.engine.arrays import Grow
from checker.engine.batch import BatchLimit
from checker.engine.intmap import IntMap
from checker.process.network import distinct, without
from checker.process.procsys import CRASHED, LiftedPredicate, ProcessSystem
from checker.records import record

MAX_INSTANCES = 15  # column numbers must fit 8 bits in the packed keys of the append map
ID_LIMIT = 1 << 28  # channel and message ids in packed keys


@record(frozen=False)
class Successors:
    """The successors of a batch, state-major in scalar order: the parent's row in the batch, the successor's
    index in its parent's scalar successor list, the instance that moved (-1: a crash or a loss), how many
    messages it sent, and the successor states."""

    rows: Any
    via: Any
    owner: Any
    sent: Any
    fps: Any
    comps: Any
    steps: Any  # per parent row: how many of its successors are steps of processes (deadlock freedom)
    total: Any  # per parent row: how many successors it has


class _Steps:
    """Flat records of ready-to-apply steps (the scalar runtime's memo entries): new locals id, the channel
    contents id a delivery leaves (or 0), the fingerprint change, the sends (a range of the send table).
    Records are collected in lists and moved into the arrays a block at a time (`flush`)."""

    def __init__(self) -> None:
        self.new = Grow(np.uint32)
        self.rest = Grow(np.uint32)
        self.delta = Grow(np.uint64)
        self.send_first = Grow(np.int64)
        self.send_count = Grow(np.int32)
        self.pending: list[tuple[int, int, int, int, int]] = []

    @property
    def size(self) -> int:
        return self.new.n + len(self.pending)

    def flush(self) -> None:
        if self.pending:
            new, rest, delta, first, count = zip(*self.pending)
            self.new.extend(new)
            self.rest.extend(rest)
            self.delta.extend(delta)
            self.send_first.extend(first)
            self.send_count.extend(count)
            self.pending = []


class VectorProcesses:
    """Batch successors of a ProcessSystem without an attacker (see the module doc)."""

    def __init__(self, system: ProcessSystem):
        self.sys = system
        n = self.n = system.n
        self.cols = system.state_width - 1
        self.empty = np.uint32(system.empty_channel)
        self.moves = _Steps()
        self.receipts = _Steps()
        self.send_col = Grow(np.int64)
        self.send_mid = Grow(np.uint64)
        self.sends_pending: list[tuple[int, int]] = []
        # per instance, dense by locals id: first move record and count (-1: not computed yet)
        self.move_first = [Grow(np.int64, -1) for _ in range(n)]
        self.move_count = [Grow(np.int64, -1) for _ in range(n)]
        # per (instance, sender): (locals id << 32 | channel id) -> group of receipt records
        self.receipt_groups = [[IntMap() for _src in range(n)] for _g in range(n)]
        self.group_first = Grow(np.int64)
        self.group_count = Grow(np.int64)
        # (column << 56 | contents id << 28 | message id) -> append record
        self.append_map = IntMap()
        self.append_new = Grow(np.uint32)
        self.append_delta = Grow(np.uint64)
        self.final = [Grow(np.int8, -1) for _ in range(n)]  # per instance, dense by locals id: 1 final, 0 not
        self._projections: dict[tuple[int, tuple[int, ...]], Callable[[Any], Any]] = {}
        self._controls = [Grow(np.int64, -2) for _ in range(n)]  # per instance, dense by locals id (-2: unknown)
        # environment steps: per crashable instance, dense by locals id, the crashed locals (-1: crashed already,
        # -2: not computed) and the fingerprint change; per channel slot, contents id -> group of loss records
        self.crash_new = {g: Grow(np.int64, -2) for g in system.crashable}
        self.crash_delta = {g: Grow(np.uint64) for g in system.crashable}
        self.loss_groups = [IntMap() for _ in range(n * n)] if system.network.lossy else []
        self.loss_first, self.loss_count = Grow(np.int64), Grow(np.int64)
        self.loss_rest, self.loss_delta = Grow(np.uint32), Grow(np.uint64)

    @staticmethod
    def supports(system: Any) -> bool:
        return isinstance(system, ProcessSystem) and not system.network.attacker and system.n <= MAX_INSTANCES

    # ------------------------------------------------------------------ batches
    def initial(self) -> tuple[Any, Any]:
        states = self.sys.initial_states()
        return self.pack(states)

    def pack(self, states: list[tuple]) -> tuple[Any, Any]:
        fps = np.array([s[0] for s in states], dtype=np.uint64)
        comps = np.array([s[1:] for s in states], dtype=np.uint32).reshape(len(states), self.cols)
        return fps, comps

    @staticmethod
    def state(fp: Any, row: Any) -> tuple:
        """The scalar state of a batch row."""
        return (int(fp), *(int(x) for x in row))

    @property
    def scalar(self) -> ProcessSystem:
        return self.sys

    # ------------------------------------------------------------------ successors
    def expand(self, fps: Any, comps: Any) -> Successors:
        m, n = len(fps), self.n
        groups = n * (1 + n)
        counts = np.zeros((m, groups), dtype=np.int64)
        parts: list[tuple[Any, int, Any, Any, Any, Any, Any]] = []  # rows, group, k, owner, sent, fps, comps
        for g in range(n):
            lids = comps[:, g].astype(np.int64)
            self._ensure_moves(g, lids)
            first = self.move_first[g].view[lids]
            cnt = self.move_count[g].view[lids]
            counts[:, g * (1 + n)] = cnt
            self._emit(parts, g, g * (1 + n), np.arange(m), first, cnt, self.moves, fps, comps, None)
            for src in range(n):
                col = n + src * n + g
                cids = comps[:, col]
                nz = np.flatnonzero(cids != self.empty)
                if not nz.size:
                    continue
                keys = (lids[nz].astype(np.uint64) << np.uint64(32)) | cids[nz].astype(np.uint64)
                grp = self.receipt_groups[g][src].get(keys)
                if (grp < 0).any():
                    self._ensure_receipts(g, src, col, lids[nz], cids[nz], keys, grp)
                    grp = self.receipt_groups[g][src].get(keys)
                cnt = self.group_count.view[grp]
                counts[nz, g * (1 + n) + 1 + src] = cnt
                self._emit(parts, g, g * (1 + n) + 1 + src, nz, self.group_first.view[grp], cnt, self.receipts,
                           fps, comps, col)
        steps = counts.sum(axis=1)
        counts = np.hstack([counts, self._environment(parts, groups, fps, comps)])
        offsets = np.cumsum(counts, axis=1) - counts
        total = counts.sum(axis=1)
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Successors(empty, empty, empty, empty, np.zeros(0, dtype=np.uint64),
                              np.zeros((0, self.cols), dtype=np.uint32), steps, total)
        # Each successor's place in scalar order: its parent's first place plus its index in the parent's list.
        rows = np.concatenate([p[0] for p in parts])
        via = np.concatenate([offsets[p[0], p[1]] + p[2] for p in parts])
        place = (np.cumsum(total) - total)[rows] + via
        order = np.empty(len(rows), dtype=np.int64)
        order[place] = np.arange(len(rows))
        return Successors(rows[order], via[order], np.concatenate([p[3] for p in parts])[order],
                          np.concatenate([p[4] for p in parts])[order],
                          np.concatenate([p[5] for p in parts])[order],
                          np.concatenate([p[6] for p in parts])[order], steps, total)

    def _environment(self, parts: list, first_group: int, fps: Any, comps: Any) -> Any:
        """Crashes, then losses, as the scalar runtime orders them (after every process step); their counts per
        row, one column per crashable instance and, on a lossy network, per channel."""
        m, n = len(fps), self.n
        crashable = self.sys.crashable
        counts = np.zeros((m, len(crashable) + len(self.loss_groups)), dtype=np.int64)
        for k, g in enumerate(crashable):
            lids = comps[:, g].astype(np.int64)
            new, delta = self._crashes(g, lids)
            rows = np.flatnonzero(new >= 0)
            counts[rows, k] = 1
            if rows.size:
                succ = comps[rows]
                succ[:, g] = new[rows]
                parts.append((rows, first_group + k, np.zeros(len(rows), dtype=np.int64),
                              np.full(len(rows), -1, dtype=np.int64), np.zeros(len(rows), dtype=np.int64),
                              fps[rows] + delta[rows], succ))
        for s, groups in enumerate(self.loss_groups):
            col = n + s
            cids = comps[:, col]
            nz = np.flatnonzero(cids != self.empty)
            if not nz.size:
                continue
            keys = cids[nz].astype(np.uint64)
            grp = groups.get(keys)
            if (grp < 0).any():
                self._ensure_losses(s, groups, np.unique(keys[grp < 0]))
                grp = groups.get(keys)
            cnt = self.loss_count.view[grp]
            counts[nz, len(crashable) + s] = cnt
            total = int(cnt.sum())
            rows = np.repeat(nz, cnt)
            k = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            rec = np.repeat(self.loss_first.view[grp], cnt) + k
            succ = comps[rows]
            succ[:, col] = self.loss_rest.view[rec]
            parts.append((rows, first_group + len(crashable) + s, k, np.full(total, -1, dtype=np.int64),
                          np.zeros(total, dtype=np.int64), fps[rows] + self.loss_delta.view[rec], succ))
        return counts

    def _crashes(self, g: int, lids: Any) -> tuple[Any, Any]:
        """Per locals id of instance g: the locals after a crash (-1 when crashed already) and the fingerprint
        change."""
        new, delta = self.crash_new[g], self.crash_delta[g]
        top = int(lids.max()) + 1 if len(lids) else 0
        new.reserve(top)
        delta.reserve(top)
        base = self.sys
        for lid in np.unique(lids[new.view[lids] == -2]).tolist():
            ps = base._locals[g].values[lid]
            if ps[0] == CRASHED:
                new.data[lid] = -1
                continue
            crashed = base._locals[g].intern((CRASHED,) + ps[1:])
            new.data[lid] = crashed
            delta.data[lid] = (base._digest(1 + g, crashed) - base._digest(1 + g, lid)) & MASK64
        return new.view[lids], delta.view[lids]

    def _ensure_losses(self, s: int, groups: IntMap, cids: Any) -> None:
        """Loss records of channel slot s for contents `cids`: one per distinct message, as the scalar runtime."""
        base = self.sys
        slot = base.chan0 + s
        firsts: list[int] = []
        counts: list[int] = []
        rests: list[int] = []
        deltas: list[int] = []
        for cid in cids.tolist():
            ch = base._channels.values[cid]
            firsts.append(self.loss_rest.n + len(rests))
            lost = distinct(ch)
            counts.append(len(lost))
            for pos, _msg in lost:
                rest = base._channels.intern(without(ch, pos))
                rests.append(rest)
                deltas.append((base._digest(slot, rest) - base._digest(slot, cid)) & MASK64)
        self.loss_rest.extend(rests)
        self.loss_delta.extend(deltas)
        start = self.loss_first.extend(firsts)
        self.loss_count.extend(counts)
        groups.put(cids.astype(np.uint64), np.arange(start, start + len(firsts), dtype=np.int64))

    def _emit(self, parts: list, g: int, group: int, rows_of: Any, first: Any, cnt: Any, table: _Steps,
              fps: Any, comps: Any, col: int | None) -> None:
        """The successors of the rows `rows_of` through their `cnt` records starting at `first`."""
        total = int(cnt.sum())
        if not total:
            return
        rows = np.repeat(rows_of, cnt)
        k = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        rec = np.repeat(first, cnt) + k
        new_comps = comps[rows]
        new_comps[:, g] = table.new.view[rec]
        if col is not None:
            new_comps[:, col] = table.rest.view[rec]
        new_fps = fps[rows] + table.delta.view[rec]
        scount = table.send_count.view[rec]
        self._sends(new_comps, new_fps, table.send_first.view[rec], scount)
        parts.append((rows, group, k, np.full(total, g, dtype=np.int64), scount.astype(np.int64), new_fps,
                      new_comps))

    def _sends(self, comps: Any, fps: Any, first: Any, count: Any) -> None:
        """Append each successor's sent messages to its channels, in the order sent."""
        if not len(count):
            return
        for k in range(int(count.max())):
            sel = np.flatnonzero(count > k)
            s = first[sel] + k
            cols = self.send_col.view[s]
            mids = self.send_mid.view[s]
            old = comps[sel, cols].astype(np.uint64)
            keys = (cols.astype(np.uint64) << np.uint64(56)) | (old << np.uint64(28)) | mids
            idx = self.append_map.get(keys)
            missing = np.flatnonzero(idx < 0)
            if missing.size:
                self._ensure_appends(cols[missing], old[missing], mids[missing], keys[missing])
                idx = self.append_map.get(keys)
            comps[sel, cols] = self.append_new.view[idx]
            fps[sel] += self.append_delta.view[idx]

    def control(self, comps: Any, g: int) -> Any:
        """Per row: the control state of instance g."""
        lids = comps[:, g].astype(np.int64)
        dense = self._controls[g]
        dense.reserve(int(lids.max()) + 1 if len(lids) else 0)
        for lid in np.unique(lids[dense.view[lids] == -2]).tolist():
            dense.data[lid] = self.sys._locals[g].values[lid][0]
        return dense.view[lids]

    # ------------------------------------------------------------------ partial-order reduction
    def ample(self, comps: Any, succ: Successors, visible: frozenset[Any]) -> tuple[Any, Any]:
        """`ProcessSystem.ample` for every row at once: (which successors to keep, which rows were reduced).
        Per row, the instance with the fewest steps among those whose steps are all invisible and whose possible
        senders are quiet; rows where none qualifies, or one instance owns every step, keep everything. Models
        with crashes or losses are not reduced."""
        m, n = len(comps), self.n
        if self.sys.crashable or self.sys.network.lossy:
            return np.ones(len(succ.rows), dtype=bool), np.zeros(m, dtype=bool)
        cell = succ.rows * n + succ.owner
        per = np.bincount(cell, minlength=m * n).reshape(m, n)
        seen = np.bincount(cell, weights=self._visible(comps, succ, visible), minlength=m * n).reshape(m, n) > 0
        qualifies = (per > 0) & ~seen & self._quiet(comps)
        qualifies &= ((per > 0).sum(axis=1) >= 2)[:, None]
        fewest = np.where(qualifies, per, np.iinfo(np.int64).max)
        chosen = np.where(qualifies.any(axis=1), np.argmin(fewest, axis=1), -1)
        keep = (chosen[succ.rows] < 0) | (succ.owner == chosen[succ.rows])
        return keep, chosen >= 0

    def _visible(self, comps: Any, succ: Successors, visible: frozenset[Any]) -> Any:
        """Per successor: its step changes a local that a property reads."""
        out = np.zeros(len(succ.rows), dtype=bool)
        for g, (fam, _m) in enumerate(self.sys.instances):
            slots = tuple(sorted(slot for family, slot in visible if family == fam.name))
            if not slots:
                continue
            sel = np.flatnonzero(succ.owner == g)
            old = comps[succ.rows[sel], g].astype(np.int64)
            new = succ.comps[sel, g].astype(np.int64)
            numbers = self._projection(g, slots)
            out[sel] = numbers(old) != numbers(new)
        return out

    def _projection(self, g: int, slots: tuple[int, ...]) -> Callable[[Any], Any]:
        """Numbers for the values of `slots` in instance g's locals, dense by locals id (cached per slots)."""
        key = (g, slots)
        found = self._projections.get(key)
        if found is None:
            dense = Grow(np.int64, -1)
            numbers: dict[tuple, int] = {}
            values = self.sys._locals[g].values

            def number(lids: Any) -> Any:
                dense.reserve(int(lids.max()) + 1 if len(lids) else 0)
                for lid in np.unique(lids[dense.view[lids] < 0]).tolist():
                    ps = values[lid]
                    dense.data[lid] = numbers.setdefault(tuple(ps[k] for k in slots), len(numbers))
                return dense.view[lids]
            found = self._projections[key] = number
        return found

    def _quiet(self, comps: Any) -> Any:
        """Per row and instance: no other instance can give it a new step (`ProcessSystem._quiet_senders`)."""
        m, n = len(comps), self.n
        out = np.zeros((m, n), dtype=bool)
        fifo = self.sys.network.fifo
        for g in range(n):
            ctrl = self._projection(g, (0,))(comps[:, g].astype(np.int64))
            for number in np.unique(ctrl).tolist():
                rows = np.flatnonzero(ctrl == number)
                state = self.sys._locals[g].values[int(comps[rows[0], g])][0]
                slots = self.sys._senders_of(g, state)
                if slots and not fifo:
                    continue
                ok = np.ones(len(rows), dtype=bool)
                for slot in slots:
                    ok &= comps[rows, slot - 1] != self.empty
                out[rows, g] = ok
        return out

    # ------------------------------------------------------------------ filling the tables (scalar, once each)
    def _record(self, table: _Steps, new: int, rest: int, delta: int, sends: tuple[tuple[int, int], ...]) -> None:
        first = self.send_col.n + len(self.sends_pending)
        for slot, mid in sends:
            if mid >= ID_LIMIT:
                raise BatchLimit("too many distinct messages for the batch tables")
            self.sends_pending.append((slot - 1, mid))
        table.pending.append((new, rest, delta & MASK64, first, len(sends)))

    def _flush(self, table: _Steps) -> None:
        table.flush()
        if self.sends_pending:
            cols, mids = zip(*self.sends_pending)
            self.send_col.extend(cols)
            self.send_mid.extend(mids)
            self.sends_pending = []

    def _ensure_moves(self, g: int, lids: Any) -> None:
        counts = self.move_count[g]
        top = int(lids.max()) + 1
        if top > counts.n:
            counts.reserve(top)
            self.move_first[g].reserve(top)
        unknown = np.unique(lids[counts.view[lids] < 0])
        for lid in unknown.tolist():
            moves = self.sys._moves[g].get(lid)
            if moves is None:
                moves = self.sys._compute_moves(g, lid, keep=False) or []
            start = self.moves.size
            for _action, new, delta, sends in moves:
                self._record(self.moves, new, 0, delta, sends)
            self.move_first[g].data[lid] = start
            counts.data[lid] = len(moves)
        self._flush(self.moves)

    def _ensure_receipts(self, g: int, src: int, col: int, lids: Any, cids: Any, keys: Any, grp: Any) -> None:
        missing = np.flatnonzero(grp < 0)
        new_keys, first_at = np.unique(keys[missing], return_index=True)
        firsts, counts = [], []
        for j in first_at.tolist():
            lid, cid = int(lids[missing[j]]), int(cids[missing[j]])
            receipts = self.sys._receipts[g].get((lid, 1 + col, cid))
            if receipts is None:
                receipts = self.sys._compute_receipts(g, lid, src, 1 + col, cid, keep=False)
            firsts.append(self.receipts.size)
            counts.append(len(receipts))
            for _action, new, rest, delta, sends in receipts:
                self._record(self.receipts, new, rest, delta, sends)
        self._flush(self.receipts)
        start = self.group_first.extend(firsts)
        self.group_count.extend(counts)
        self.receipt_groups[g][src].put(new_keys, np.arange(start, start + len(firsts), dtype=np.int64))

    def _ensure_appends(self, cols: Any, old: Any, mids: Any, keys: Any) -> None:
        new_keys, first_at = np.unique(keys, return_index=True)
        news, deltas = [], []
        for j in first_at.tolist():
            col, cid, mid = int(cols[j]), int(old[j]), int(mids[j])
            found = self.sys._appends.get((1 + col, cid, mid))
            if found is None:
                found = self.sys._append(1 + col, cid, mid)
            if found[0] >= ID_LIMIT:
                raise BatchLimit("too many distinct channel contents for the batch tables")
            news.append(found[0])
            deltas.append(found[1] & MASK64)
        start = self.append_new.extend(news)
        self.append_delta.extend(deltas)
        self.append_map.put(new_keys, np.arange(start, start + len(news), dtype=np.int64))

    # ------------------------------------------------------------------ properties on batches
    def valid_end(self, comps: Any) -> Any:
        """Per row: every instance is crashed or in a final state."""
        ok = np.ones(len(comps), dtype=bool)
        for g, (fam, _m) in enumerate(self.sys.instances):
            lids = comps[:, g].astype(np.int64)
            flags = self.final[g]
            top = int(lids.max()) + 1 if len(lids) else 0
            flags.reserve(top)
            for lid in np.unique(lids[flags.view[lids] < 0]).tolist():
                ctrl = self.sys._locals[g].values[lid][0]
                flags.data[lid] = 1 if ctrl == CRASHED or ctrl in fam.finals else 0
            ok &= flags.view[lids] == 1
        return ok

    def batch_predicate(self, pred: Any) -> Callable[[Any], Any] | None:
        """`pred` on every row of a batch: per instance, the values the predicate reads are numbered (dense
        by locals id), and the predicate is evaluated once per distinct combination (its own memo). None for a
        predicate that is not a lifted predicate of this system."""
        if not isinstance(pred, LiftedPredicate) or pred.system is not self.sys:
            return None
        n = self.n
        dense = [Grow(np.int64, -1) for _ in range(n)]
        numbers: list[dict[tuple, int]] = [{} for _ in range(n)]
        verdicts: dict[tuple, bool] = {}
        system = self.sys

        def on_rows(comps: Any) -> Any:
            keys = np.empty((len(comps), n), dtype=np.int64)
            for g in range(n):
                lids = comps[:, g].astype(np.int64)
                d = dense[g]
                d.reserve(int(lids.max()) + 1 if len(lids) else 0)
                for lid in np.unique(lids[d.view[lids] < 0]).tolist():
                    ps = system._locals[g].values[lid]
                    value = tuple(ps[k] for k in pred.slots[g])
                    d.data[lid] = numbers[g].setdefault(value, len(numbers[g]))
                keys[:, g] = d.view[lids]
            if n * 21 <= 63 and all(len(numbers[g]) < 1 << 21 for g in range(n)):
                packed = np.zeros(len(comps), dtype=np.int64)  # one integer per combination: a fast unique
                for g in range(n):
                    packed |= keys[:, g] << (21 * g)
                _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
            else:
                _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            results = np.empty(len(first), dtype=bool)
            for u, at in enumerate(first.tolist()):
                key = tuple(keys[at].tolist())
                found = verdicts.get(key)
                if found is None:
                    found = verdicts[key] = pred((0, *(int(x) for x in comps[at])))
                results[u] = found
            return results[inverse.reshape(-1)]
        return on_rows
