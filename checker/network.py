"""Channel semantics as strategies: how sent messages wait and in which order they may be delivered.

The network state is one immutable tuple with a slot per ordered pair of process instances
(`src * n + dst`). A FIFO slot is a tuple in arrival order; an unordered slot is a canonical multiset (a
tuple sorted by `vkey`), so two states that differ only in arrival order of unordered messages coincide.
A lossy network may also lose any pending message. The attacker (checker/attacker.py) is another strategy
over the same interface.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from .values import vkey

NetState = tuple  # tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Network:
    """Channel discipline. `fifo`: per-pair queues; otherwise any pending message may come next."""

    fifo: bool
    lossy: bool
    n: int  # number of process instances

    @property
    def name(self) -> str:
        base = "fifo" if self.fifo else "unordered"
        return f"{base} lossy" if self.lossy else base

    def empty(self) -> NetState:
        return ((),) * (self.n * self.n)

    def update(self, net: NetState, taken: tuple[int, int] | None, sends: list[tuple[int, int, Any]],
               canonical: dict[tuple, tuple]) -> NetState:
        """One step's effect on the network: remove the delivered message (slot, position), append the sent
        ones; changed channels are replaced by their canonical copies so equal channels are shared."""
        if taken is None and not sends:
            return net
        slots = list(net)
        changed = []
        if taken is not None:
            k, pos = taken
            ch = slots[k]
            slots[k] = ch[:pos] + ch[pos + 1:]
            changed.append(k)
        n = self.n
        for src, dst, msg in sends:
            k = src * n + dst
            if self.fifo:
                slots[k] = slots[k] + (msg,)
            else:
                ch = list(slots[k])
                bisect.insort(ch, msg, key=vkey)
                slots[k] = tuple(ch)
            changed.append(k)
        for k in changed:
            ch = slots[k]
            slots[k] = canonical.setdefault(ch, ch)
        return tuple(slots)

    def pending(self, net: NetState, dst: int) -> list[tuple[int, int, Any]]:
        """Messages that may be delivered to `dst` next: (src, position, message), deterministic order."""
        out = []
        n = self.n
        for src in range(n):
            ch = net[src * n + dst]
            if not ch:
                continue
            if self.fifo:
                out.append((src, 0, ch[0]))
            else:
                prev = None
                for pos, msg in enumerate(ch):
                    if pos == 0 or msg != prev:
                        out.append((src, pos, msg))
                    prev = msg
        return out

    def take(self, net: NetState, src: int, dst: int, pos: int) -> NetState:
        """Remove the message at `pos` of channel src->dst (delivery or loss)."""
        k = src * self.n + dst
        ch = net[k]
        return net[:k] + (ch[:pos] + ch[pos + 1:],) + net[k + 1:]

    def losses(self, net: NetState) -> list[tuple[int, int, int, Any]]:
        """Every message a lossy network may lose now: (src, dst, position, message)."""
        if not self.lossy:
            return []
        out = []
        n = self.n
        for k, ch in enumerate(net):
            prev = None
            for pos, msg in enumerate(ch):
                if pos == 0 or msg != prev:
                    out.append((k // n, k % n, pos, msg))
                prev = msg
        return out

    def in_flight(self, net: NetState) -> int:
        return sum(len(ch) for ch in net)
