"""Channel semantics as strategies: how sent messages wait and in which order they may be delivered.

There is a channel per ordered pair of process instances. A FIFO channel is a tuple in arrival order; an
unordered channel is a canonical multiset (a tuple sorted by `vkey`), so two states that differ only in the
arrival order of unordered messages coincide. A lossy network may also lose any pending message. The functions
here work on one channel's contents; checker/process/procsys.py keeps the channels of a state.

An attacker on the network (`attacker eavesdrop, drop, replay, modify, masquerade` in a process model) is
part of the same strategy: with eavesdrop, what it has seen is a set of (sender, message) pairs in the state;
drop removes an in-flight message; replay hands a seen message to any process under its original sender;
masquerade hands it over under any sender's name; modify delivers a seen message in place of an intercepted
one. Plain values have no cryptography, so the attacker can only reuse what it saw (security protocols use
terms and the symbolic attacker of checker/security/intruder.py instead).
"""
from __future__ import annotations

import bisect
from typing import Any

from checker.process.values import vkey
from checker.records import record

Channel = tuple  # the messages waiting on one channel


@record
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

    def append(self, ch: Channel, msg: Any) -> Channel:
        """`ch` after `msg` was sent on it."""
        if self.fifo:
            return ch + (msg,)
        items = list(ch)
        bisect.insort(items, msg, key=vkey)
        return tuple(items)

    def canonical_channel(self, ch: Channel) -> Channel:
        """The stored form of a channel's contents: as they are (FIFO), or sorted (a multiset)."""
        return ch if self.fifo else tuple(sorted(ch, key=vkey))

    def heads(self, ch: Channel) -> list[tuple[int, Any]]:
        """The messages of `ch` that may be delivered next, as (position, message), each distinct one once."""
        if not ch:
            return []
        if self.fifo:
            return [(0, ch[0])]
        return distinct(ch)


def distinct(ch: Channel) -> list[tuple[int, Any]]:
    """Each distinct message of a channel once, with its first position (equal messages are adjacent in FIFO
    runs that matter here, and always in sorted unordered channels)."""
    out = []
    prev = None
    for pos, msg in enumerate(ch):
        if pos == 0 or msg != prev:
            out.append((pos, msg))
        prev = msg
    return out


def without(ch: Channel, pos: int) -> Channel:
    """`ch` with the message at `pos` taken out (delivered, lost or dropped)."""
    return ch[:pos] + ch[pos + 1:]
