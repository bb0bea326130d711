"""Channel semantics as strategies: how sent messages wait and in which order they may be delivered.

The network state is one immutable tuple with a slot per ordered pair of process instances
(`src * n + dst`). A FIFO slot is a tuple in arrival order; an unordered slot is a canonical multiset (a
tuple sorted by `vkey`), so two states that differ only in arrival order of unordered messages coincide.
A lossy network may also lose any pending message.

An attacker on the network (`attacker eavesdrop, drop, replay, modify, masquerade` in a process model) is
part of the same strategy: with eavesdrop, one extra slot at the end of the state holds what it has seen,
as a set of (sender, message) pairs; drop removes an in-flight message; replay hands a seen message to any
process under its original sender; masquerade hands it over under any sender's name; modify delivers a seen
message in place of an intercepted one. Plain values have no cryptography, so the attacker can only reuse
what it saw (security protocols use terms and checker/security/attacker.py instead).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from checker.process.values import vkey

NetState = tuple  # tuple[tuple[Any, ...], ...]

#: The attacker's capabilities, in the order the seeds list the threats; shared by both model kinds.
CAPABILITIES = ("eavesdrop", "drop", "modify", "replay", "masquerade")


@dataclass(frozen=True)
class Network:
    """Channel discipline. `fifo`: per-pair queues; otherwise any pending message may come next."""

    fifo: bool
    lossy: bool
    n: int  # number of process instances
    attacker: frozenset[str] = frozenset()
    limit: int | None = None  # at most this many messages injected per run (None: unbounded)

    @property
    def name(self) -> str:
        base = "fifo" if self.fifo else "unordered"
        base = f"{base} lossy" if self.lossy else base
        return f"{base}, attacker {', '.join(sorted(self.attacker))}" if self.attacker else base

    @property
    def observes(self) -> bool:
        return "eavesdrop" in self.attacker

    def empty(self) -> NetState:
        """Channels, then what the attacker has seen (with eavesdrop), then how many it injected (with a
        limit)."""
        extra = ((frozenset(),) if self.observes else ()) + ((0,) if self.limit is not None else ())
        return ((),) * (self.n * self.n) + extra

    def known(self, net: NetState) -> list[tuple[int, Any]]:
        """What the attacker may inject now: the (sender, message) pairs it has seen, in a deterministic
        order, or nothing once its limit is spent."""
        if not self.observes or (self.limit is not None and net[-1] >= self.limit):
            return []
        return sorted(net[self.n * self.n], key=vkey)

    def injected(self, net: NetState) -> NetState:
        """Count one injection against the limit."""
        return net if self.limit is None else net[:-1] + (net[-1] + 1,)

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
        if self.observes and sends:
            k = self.n * self.n
            slots[k] = slots[k] | {(src, msg) for src, _dst, msg in sends}
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
        return self.in_transit(net) if self.lossy else []

    def in_transit(self, net: NetState) -> list[tuple[int, int, int, Any]]:
        """Every in-flight message, one per distinct (channel, message): (src, dst, position, message)."""
        out = []
        n = self.n
        for k, ch in enumerate(net[: n * n]):
            prev = None
            for pos, msg in enumerate(ch):
                if pos == 0 or msg != prev:
                    out.append((k // n, k % n, pos, msg))
                prev = msg
        return out
