"""Numpy helpers of the engine: growable arrays (the batch search's tables, the graph it records) and compressed
rows over edge lists (graph analyses)."""
from __future__ import annotations

from typing import Any

import numpy as np


class Grow:
    """A numpy array that grows by doubling, appended to a block at a time."""

    def __init__(self, dtype: Any, fill: int = 0):
        self.data = np.full(1024, fill, dtype=dtype)
        self.fill = fill
        self.n = 0

    def extend(self, values: Any) -> int:
        """Append `values`; the index of the first."""
        values = np.asarray(values, dtype=self.data.dtype)
        start = self.n
        need = start + len(values)
        if need > len(self.data):
            size = len(self.data)
            while size < need:
                size *= 2
            bigger = np.full(size, self.fill, dtype=self.data.dtype)
            bigger[:start] = self.data[:start]
            self.data = bigger
        self.data[start:need] = values
        self.n = need
        return start

    def reserve(self, n: int) -> None:
        """Make indices below n valid (filled with the fill value)."""
        if n > self.n:
            self.extend(np.full(n - self.n, self.fill))

    @property
    def view(self) -> Any:
        return self.data[:self.n]


def rows(keys: Any, n: int) -> tuple[Any, Any]:
    """Compressed rows of an edge list by `keys` (each edge's source, or target): per node the range of its
    edges in the returned order, which keeps the edges' original order within a node."""
    counts = np.bincount(keys, minlength=n) if n else np.zeros(0, dtype=np.int64)
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start, np.argsort(keys, kind="stable")


def edges_of(nodes: Any, start: Any, edges: Any) -> Any:
    """The edges of `nodes` from compressed rows: node by node, each node's in stored order."""
    counts = start[nodes + 1] - start[nodes]
    total = int(counts.sum())
    offsets = np.repeat(start[nodes] - (np.cumsum(counts) - counts), counts) + np.arange(total)
    return edges[offsets]
