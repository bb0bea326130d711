"""The Dolev-Yao attacker as a network strategy: which messages a waiting receiver may be handed.

The attacker owns no state of its own: its knowledge, the messages in flight and the traffic it recorded are
parts of the explored state (checker/security/secsys.py). Given those and the receiver's pattern, this module lists
every delivery the enabled capabilities allow, each with the capability that makes it possible:

* honest delivery of an in-flight message addressed to the receiver (always possible: the network works);
* `replay`: any message recorded earlier, re-delivered to any receiver;
* `modify`: an in-flight message addressed to the receiver is intercepted and a different derivable one
  delivered in its place;
* `masquerade`: a derivable message is delivered under any sender's name, nothing intercepted;
* `drop` (see `drops`): an in-flight message is removed.

`eavesdrop` acts when a message is sent (secsys adds it to the knowledge). Injection is driven by the
receiver's pattern (`knowledge.candidates`), so branching stays finite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from checker.security.knowledge import Knowledge, candidates, injection_pool
from checker.security.terms import Atom, Pattern, Term, match_all, sort_key

Entry = tuple[Atom, Atom, Term]  # (claimed sender, addressee, term)

#: Bound on the candidate cache (entries are cheap to recompute; the cap keeps memory flat on big runs).
CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class Delivery:
    """One way a receiver can get a message. `capability` is None for honest delivery; `taken` is the
    in-flight entry removed from the network (honest delivery and modify)."""

    capability: str | None
    term: Term
    bindings: dict[str, Term]
    claimed: Atom | None  # the sender named on the message (None: the receiver's view decides)
    taken: Entry | None


@dataclass
class Attacker:
    """The enabled capabilities and the matching discipline, with a cache of injection candidates."""

    capabilities: frozenset[str]
    typed: bool
    fresh: tuple[Atom, ...]  # atoms the attacker invents (`Ne`, `Ke`), part of its initial knowledge
    _cache: dict[Any, list] = field(default_factory=dict, repr=False)
    _keys: dict[Any, tuple] = field(default_factory=dict, repr=False)
    _pools: dict[Knowledge, tuple] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return bool(self.capabilities)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def order(self, items, key=lambda x: x):
        """Deterministic order for multiset members, independent of `hash()` (cached sort keys)."""
        return sorted(items, key=lambda x: self._skey(key(x)))

    def _skey(self, entry: Any) -> tuple:
        k = self._keys.get(entry)
        if k is None:
            if isinstance(entry, tuple):
                k = tuple(sort_key(e) if not isinstance(e, (int, str)) else (e,) for e in entry)
            else:
                k = sort_key(entry)
            self._keys[entry] = k
        return k

    def deliveries(self, knowledge: Knowledge, net: list[Entry], traffic: list[Entry], pattern: Pattern,
                   bindings: dict[str, Term], receiver: Atom) -> Iterator[Delivery]:
        """Every message the receiver may get next, honest deliveries first, then replay, modify, masquerade.

        `net` and `traffic` come in a deterministic order, each distinct entry once."""
        typed = self.typed
        mine = [e for e in net if e[1] == receiver]
        for entry in mine:
            for b in match_all(pattern, entry[2], bindings, typed):
                yield Delivery(None, entry[2], b, entry[0], entry)
        if self.has("replay"):
            for entry in traffic:
                for b in match_all(pattern, entry[2], bindings, typed):
                    yield Delivery("replay", entry[2], b, entry[0], None)
        if not (self.has("modify") or self.has("masquerade")):
            return
        cands = self._candidates(knowledge, pattern, bindings)
        if self.has("modify"):
            for entry in mine:
                for term, b in cands:
                    if term != entry[2]:
                        yield Delivery("modify", term, b, entry[0], entry)
        if self.has("masquerade"):
            for term, b in cands:
                yield Delivery("masquerade", term, b, None, None)

    def _candidates(self, knowledge: Knowledge, pattern: Pattern, bindings: dict[str, Term]) -> list:
        key = (knowledge, pattern, frozenset(bindings.items()))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
                self._pools.clear()
            pool = self._pools.get(knowledge)
            if pool is None:
                pool = self._pools[knowledge] = injection_pool(knowledge, self.fresh)
            found = candidates(knowledge, pattern, self.typed, self.fresh, bindings, pool)
            self._cache[key] = found
        return found
