"""A hash map from unsigned 64-bit keys to 64-bit integers, looked up a numpy array at a time.

The vectorised successor computation of process models (checker/process/vector.py) turns every memo lookup
into one of these: keys are packed ids (a local state id and a channel id, say), values are indices into flat
tables. Open addressing with linear probing, at most half full; a key is spread by a multiplicative hash before
probing, since packed ids are far from uniform. Key 2^64 - 1 is reserved for empty slots.
"""
from __future__ import annotations

from typing import Any

import numpy as np

EMPTY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_MULT = np.uint64(0x9E37_79B9_7F4A_7C15)  # 2^64 / golden ratio: Fibonacci hashing


class IntMap:
    def __init__(self, capacity: int = 1 << 10):
        self.keys = np.full(capacity, EMPTY, dtype=np.uint64)
        self.values = np.zeros(capacity, dtype=np.int64)
        self.count = 0
        self.shift = np.uint64(64 - (capacity.bit_length() - 1))

    def _home(self, keys: Any) -> Any:
        with np.errstate(over="ignore"):
            return ((keys * _MULT) >> self.shift).astype(np.int64)

    def get(self, keys: Any, default: int = -1) -> Any:
        """The values of `keys` (a uint64 array), `default` where a key is absent."""
        out = np.full(len(keys), default, dtype=np.int64)
        if not len(keys) or not self.count:
            return out
        table, mask = self.keys, len(self.keys) - 1
        pos = self._home(keys)
        pending = np.arange(len(keys))
        while pending.size:
            p = pos[pending]
            cur = table[p]
            hit = cur == keys[pending]
            out[pending[hit]] = self.values[p[hit]]
            live = ~hit & (cur != EMPTY)
            pending = pending[live]
            pos[pending] = (pos[pending] + 1) & mask
        return out

    def put(self, keys: Any, values: Any) -> None:
        """Insert distinct keys that are absent (the callers look them up first)."""
        if not len(keys):
            return
        if 2 * (self.count + len(keys)) > len(self.keys):
            self._grow(self.count + len(keys))
        table, mask = self.keys, len(self.keys) - 1
        pos = self._home(keys)
        pending = np.arange(len(keys))
        while pending.size:
            p = pos[pending]
            empty = table[p] == EMPTY
            cand = pending[empty]
            cand_pos = p[empty]
            _, first = np.unique(cand_pos, return_index=True)
            winners = cand[first]
            table[cand_pos[first]] = keys[winners]
            self.values[cand_pos[first]] = values[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            pos[pending] = (pos[pending] + 1) & mask
        self.count += len(keys)

    def _grow(self, needed: int) -> None:
        capacity = len(self.keys)
        while 2 * needed > capacity:
            capacity <<= 1
        occupied = self.keys != EMPTY
        keys, values = self.keys[occupied], self.values[occupied]
        self.keys = np.full(capacity, EMPTY, dtype=np.uint64)
        self.values = np.zeros(capacity, dtype=np.int64)
        self.shift = np.uint64(64 - (capacity.bit_length() - 1))
        self.count = 0
        self.put(keys, values)
