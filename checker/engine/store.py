"""The set of visited states: keys to state ids, inserted a batch at a time.

Two stores with one interface, `add(keys) -> ids`: each key gets the id of the state it stands for; a key not
seen before gets the next free id, in the order of first occurrence in the batch, so the caller recognises new
states by `id >= size before the call` and breadth-first order (hence shortest counterexamples) is kept.

* `FingerprintStore` keeps 64-bit fingerprints. While small it is a dict; past `COMPACT_AT` keys it moves into a
  numpy open-addressing table of unsigned 64-bit words (the fingerprint itself is the probe start: it is
  uniformly distributed), at most 60 % full, so a key costs 8 / 0.6 ≈ 13 bytes, plus 4 / 0.6 for its state id
  when ids of known states are asked for (graph mode, partial-order reduction). Batches are deduplicated and probed with vectorised
  operations. numpy is imported only then: small searches (most security protocols) never pay for it.
  The fingerprint 0 marks an empty slot, so a state whose fingerprint is 0 is stored as 1: one more way to
  collide, with the same 2^-64 chance as any other.
* `ExactStore` keeps whole states (their `exact_key`) in a dict: no collision can hide a state.

A breadth-first level waiting to be expanded is a `Frontier`; systems whose states are flat tuples of 64-bit
integers (`state_width`) get a `PackedFrontier`.
"""
from __future__ import annotations

from array import array

from checker.engine.budget import BoundHit
from typing import Any, Hashable, Iterator, Sequence

COMPACT_AT = 200_000  # keys before the fingerprint store moves to numpy
MAX_LOAD = 0.6
MAX_IDS = 2 ** 31 - 1  # state ids are kept in 32 bits


def _add_to_dict(ids: dict[Any, int], keys: Sequence[Any]) -> list[int]:
    """The ids of `keys` in `ids`, numbering new keys in order of first occurrence."""
    out = []
    for k in keys:
        found = ids.get(k)
        if found is None:
            found = ids[k] = len(ids)
        out.append(found)
    return out


class ExactStore:
    """Whole states as keys (`--exact`)."""

    def __init__(self) -> None:
        self.ids: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, keys: Sequence[Hashable], want_ids: bool = True) -> list[int]:
        return _add_to_dict(self.ids, keys)


class FingerprintStore:
    """64-bit fingerprints as keys (see the module doc)."""

    def __init__(self, compact_at: int | None = None) -> None:
        self.small: dict[int, int] | None = {}
        self.compact_at = COMPACT_AT if compact_at is None else compact_at
        self.count = 0
        self.table: Any = None  # numpy uint64 array of fingerprints (0: empty)
        self.slot_ids: Any = None  # numpy int32 array: the state id of each occupied slot

    def __len__(self) -> int:
        return self.count

    def add(self, keys: Sequence[Any], want_ids: bool = True) -> list[int]:
        """Ids for `keys` (64-bit fingerprints); unknown keys get new ids. With `want_ids` False, known keys may come back as -1 (the
        caller only needs to recognise new ones): the compact table then keeps no ids at all."""
        if self.small is not None:
            out = _add_to_dict(self.small, keys)
            self.count = len(self.small)
            if self.count >= self.compact_at:
                self._compact(want_ids)
            return out
        return self._add_compact(keys, want_ids)

    # ------------------------------------------------------------------ the numpy table
    def _compact(self, want_ids: bool) -> None:
        import numpy as np

        assert self.small is not None
        keys = np.fromiter(self.small.keys(), dtype=np.uint64, count=len(self.small))
        ids = np.fromiter(self.small.values(), dtype=np.int64, count=len(self.small))
        self.small = None
        self._allocate(_capacity_for(len(keys)), want_ids)
        self._place(np.where(keys == 0, np.uint64(1), keys), ids)

    def _allocate(self, capacity: int, want_ids: bool) -> None:
        import numpy as np

        self.table = np.zeros(capacity, dtype=np.uint64)
        self.slot_ids = np.full(capacity, -1, dtype=np.int32) if want_ids else None

    def _place(self, keys: Any, ids: Any) -> None:
        """Put distinct keys known to be absent into the table (rehashing and compaction)."""
        slots = self._probe(keys, insert=True)[0]
        if self.slot_ids is not None:
            self.slot_ids[slots] = ids

    def _probe(self, keys: Any, insert: bool) -> tuple[Any, Any]:
        """For distinct keys: (slot, was_new) per key. Linear probing; when several keys of the batch reach one
        empty slot, the first in batch order takes it and the others probe on."""
        import numpy as np

        table = self.table
        mask = np.uint64(len(table) - 1)
        pos = keys & mask
        slot = np.empty(len(keys), dtype=np.int64)
        fresh = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        while pending.size:
            p = pos[pending].astype(np.int64)
            cur = table[p]
            hit = cur == keys[pending]
            slot[pending[hit]] = p[hit]
            empty = cur == 0
            if insert and empty.any():
                cand = pending[empty]
                cand_pos = p[empty]
                _, first = np.unique(cand_pos, return_index=True)
                winners = cand[first]
                table[cand_pos[first]] = keys[winners]
                slot[winners] = cand_pos[first]
                fresh[winners] = True
                done = np.zeros(len(pending), dtype=bool)
                done[hit] = True
                done[np.flatnonzero(empty)[first]] = True
            else:
                done = hit
            pending = pending[~done]
            pos[pending] = (pos[pending] + np.uint64(1)) & mask
        return slot, fresh

    def _add_compact(self, keys: Sequence[Any], want_ids: bool) -> list[int]:
        import numpy as np

        if not len(keys):
            return []
        return list(self.add_array(np.fromiter(keys, dtype=np.uint64, count=len(keys)), want_ids).tolist())

    def add_array(self, batch: Any, want_ids: bool = True) -> Any:
        """`add` for a numpy array of fingerprints, returning a numpy array of ids (the batch explorer's way)."""
        import numpy as np

        if self.small is not None:
            self._compact(want_ids)
        if not len(batch):
            return np.zeros(0, dtype=np.int64)
        batch = np.where(batch == 0, np.uint64(1), batch)
        unique, first, inverse = np.unique(batch, return_index=True, return_inverse=True)
        if (self.count + len(unique)) > MAX_LOAD * len(self.table):
            self._grow(self.count + len(unique), want_ids)
        # unique is sorted by key; probe in order of first occurrence so new ids follow the batch order
        order = np.argsort(first, kind="stable")
        slots, fresh = self._probe(unique[order], insert=True)
        n_new = int(fresh.sum())
        if self.count + n_new > MAX_IDS:
            raise BoundHit(f"state bound {MAX_IDS:,} reached (the store numbers states with 31 bits)")
        new_ids = self.count + np.arange(n_new, dtype=np.int64)
        ordered = np.full(len(unique), -1, dtype=np.int64)
        ordered[fresh] = new_ids
        if self.slot_ids is not None:
            ordered[~fresh] = self.slot_ids[slots[~fresh]]
            self.slot_ids[slots[fresh]] = new_ids
        ids = np.empty(len(unique), dtype=np.int64)
        ids[order] = ordered
        self.count += n_new
        return ids[inverse.reshape(-1)]

    def lookup_array(self, batch: Any) -> Any:
        """The ids of a numpy array of fingerprints, -1 for absent ones; nothing is inserted (the table must
        keep ids: `add_array(..., want_ids=True)`)."""
        import numpy as np

        if self.small is not None:
            self._compact(True)
        out = np.full(len(batch), -1, dtype=np.int64)
        if not len(batch) or not self.count:
            return out
        assert self.slot_ids is not None
        keys = np.where(batch == 0, np.uint64(1), batch)
        table, mask = self.table, np.uint64(len(self.table) - 1)
        pos = keys & mask
        pending = np.arange(len(keys))
        while pending.size:
            p = pos[pending].astype(np.int64)
            cur = table[p]
            hit = cur == keys[pending]
            out[pending[hit]] = self.slot_ids[p[hit]]
            live = ~hit & (cur != 0)
            pending = pending[live]
            pos[pending] = (pos[pending] + np.uint64(1)) & mask
        return out

    def _grow(self, needed: int, want_ids: bool) -> None:
        import numpy as np

        old_table, old_ids = self.table, self.slot_ids
        occupied = np.flatnonzero(old_table)
        self._allocate(_capacity_for(needed), want_ids and old_ids is not None)
        self._place(old_table[occupied], old_ids[occupied] if old_ids is not None else None)


def _capacity_for(n: int) -> int:
    """The smallest power of two that holds n keys below the maximum load."""
    capacity = 1 << 16
    while n > MAX_LOAD * capacity:
        capacity <<= 1
    return capacity


class Frontier:
    """The states of one breadth-first level with their ids, in order: Python objects as they are."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, int]] = []

    def __len__(self) -> int:
        return len(self.items)

    def append(self, state: Any, sid: int) -> None:
        self.items.append((state, sid))

    def chunks(self, size: int) -> Iterator[list[tuple[Any, int]]]:
        for c in range(0, len(self.items), size):
            yield self.items[c:c + size]

    def states(self) -> Iterator[Any]:
        return (s for s, _ in self.items)


class PackedFrontier(Frontier):
    """A level of states that are tuples of `width` unsigned 64-bit integers (process models: a fingerprint and
    component ids), kept in flat arrays: 8 bytes a field and 4 for the id instead of a tuple object each."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.data = array("Q")
        self.ids = array("L")

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, state: Any, sid: int) -> None:
        self.data.extend(state)
        self.ids.append(sid)

    def chunks(self, size: int) -> Iterator[list[tuple[Any, int]]]:
        w, data, ids = self.width, self.data, self.ids
        for c in range(0, len(ids), size):
            end = min(c + size, len(ids))
            flat = data[c * w:end * w].tolist()
            yield [(tuple(flat[k * w:(k + 1) * w]), ids[c + k]) for k in range(end - c)]

    def states(self) -> Iterator[Any]:
        w, data = self.width, self.data
        return (tuple(data[k * w:(k + 1) * w]) for k in range(len(self.ids)))
