"""A brute-force attacker for small protocols, the oracle that the symbolic search is tested against.

It shares no search code with the engine: it explores the *concrete* semantics (checker/security/concrete.py,
ground terms, `terms.match_all`, `knowledge.derivable`) and lets the attacker send every message that matches
the receiver's pattern and that it can derive, where each variable of the pattern ranges over a finite pool:
  * the atoms: agents, the protocol's public constants, the honest fresh values created so far, and one
    constant of the attacker's per sort;
  * every subterm of what the attacker holds (so it can forward ciphertexts it cannot open);
  * keys: pk of every agent, and the private keys the attacker holds;
  * compositions up to `depth`: pairs, symmetric and public-key ciphertexts, signatures and hashes of pool terms.
The oracle is complete for attacks whose messages stay within that pool, so every attack it finds must be found
by the symbolic search (which is complete for all messages); it is kept in the tests only.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterator

from checker.security.concrete import ConcreteRun, CState, ReplayError, ScriptStep
from checker.security.knowledge import Knowledge, derivable
from checker.security.roles import SecretGoal
from checker.security.secsys import _needed_slots
from checker.security.terms import (App, Atom, Pattern, Term, Var, has_sort, is_ground, match_all, mk_tuple,
                                    subterms, substitute, variables)


@dataclass
class Verdict:
    attacks: dict[str, list[ScriptStep]]  # goal name -> a script that violates it
    states: int
    complete: bool


def brute_force(system: Any, goals: list[Any], depth: int = 1, max_states: int = 20_000) -> Verdict:
    """Breadth-first search of the concrete runs of `system` (explicit `run` scenarios, the attacker as the
    network), returning, per goal, the first attack script found."""
    own = tuple(Atom(f"{a.name}#1", a.sort) for a in system.own if system.typed or a.sort == "nonce")
    run = ConcreteRun(system, (), own)
    start = run.initial_states()[0]
    frontier: list[tuple[CState, tuple[ScriptStep, ...]]] = [(start, ())]
    seen = {_key(start)}
    attacks: dict[str, list[ScriptStep]] = {}
    while frontier and len(seen) < max_states:
        nxt = []
        for state, script in frontier:
            for step in _candidates(system, run, state, own, depth):
                try:
                    _action, after = run.apply(state, step)
                except ReplayError:
                    continue
                key = _key(after)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > max_states:
                    return Verdict(attacks, len(seen), False)
                path = script + (step,)
                for g in goals:
                    if g.name not in attacks and _violated(run, g, after):
                        attacks[g.name] = list(path)
                nxt.append((after, path))
        frontier = nxt
    return Verdict(attacks, len(seen), not frontier)


def _key(state: CState) -> Any:
    return (state.runs, state.knowledge, state.events, state.revealed, state.violated)


def _violated(run: ConcreteRun, goal: Any, state: CState) -> bool:
    if isinstance(goal.spec, SecretGoal):
        return run.secret_leak(goal.spec, state) is not None
    return run.agreement_broken(goal.name, state) is not None


def _candidates(system: Any, run: ConcreteRun, state: CState, own: tuple[Atom, ...], depth: int
                ) -> Iterator[ScriptStep]:
    for i, r in enumerate(state.runs):
        inst = system.instances[i]
        role = system.roles[inst.role]
        if r.pc < 0 or r.pc >= len(role.steps) or r.values[0] is None:
            continue
        step = role.steps[r.pc]
        b = {role.slots[k]: v for k, v in enumerate(r.values) if v is not None}
        finishing = r.pc + 1 == len(role.steps)
        needed = _needed_slots(role, step, finishing)
        fresh = {role.slots[slot]: Atom(f"{role.slots[slot]}#{inst.number}", sort) for slot, sort in step.fresh
                 if role.slots[slot] not in b}
        if step.receive is None:
            for values in _cast(system, role, {**b, **fresh}, needed):
                yield ScriptStep("step", i, None, None, None, None, values)
            continue
        pattern = system.patterns[inst.role][r.pc]
        for term, theta in _messages(system, state.knowledge, own, pattern, b, depth):
            for values in _cast(system, role, {**b, **theta, **fresh}, needed):
                yield ScriptStep("step", i, "masquerade", None, term, None, values)


def _cast(system: Any, role: Any, b: dict[str, Term], needed: frozenset[int]) -> Iterator[tuple]:
    """The instance's values, every needed role slot still open cast to each agent the scenario allows."""
    open_slots = [k for k in sorted(needed) if role.slots[k] not in b]
    options = []
    for k in open_slots:
        target = system.role_index.get(role.slots[k])
        options.append([a for a in system.agents if target is None or system.scenario.allowed(target, a)])
    for choice in itertools.product(*options):
        full = dict(b)
        for k, a in zip(open_slots, choice):
            full[role.slots[k]] = a
        yield tuple(full.get(n) for n in role.slots)


class TooBig(Exception):
    """The example has more candidate messages than the oracle's budget: not a useful test case."""


#: Candidate messages allowed per receive; beyond that the example is skipped (`TooBig`).
CANDIDATE_LIMIT = 3_000


def _messages(system: Any, knowledge: Knowledge, own: tuple[Atom, ...], pattern: Pattern, b: dict[str, Term],
              depth: int) -> Iterator[tuple[Term, dict[str, Term]]]:
    """Every derivable instance of `pattern` (bindings `b` fixed) whose variables take pool values: built
    pattern-directed, a part either held whole (a ciphertext forwarded) or built by its constructor."""
    pool = _pool(system, knowledge, own, depth)
    held = sorted({s for t in knowledge.terms for s in subterms(t) if isinstance(s, App) and is_ground(s)}, key=str)
    found: dict[tuple, tuple[Term, dict[str, Term]]] = {}
    for term, theta in _gen(pattern, dict(b), pool, held, knowledge):
        if derivable(knowledge, term):
            found.setdefault((term, tuple(sorted((k, str(v)) for k, v in theta.items()))),
                             (term, {k: v for k, v in theta.items() if k not in b}))
            if len(found) > CANDIDATE_LIMIT:
                raise TooBig()
    yield from found.values()


def _gen(p: Pattern, b: dict[str, Term], pool: list[Term], held: list[App],
         knowledge: Knowledge) -> Iterator[tuple[Term, dict[str, Term]]]:
    if isinstance(p, Var):
        if p.name in b:
            yield b[p.name], b
            return
        for t in pool:
            if p.sort is None or has_sort(t, p.sort):
                yield t, {**b, p.name: t}
        return
    if isinstance(p, Atom):
        yield p, b
        return
    ground = substitute(p, b) if all(v.name in b for v in variables(p)) else None
    if ground is not None:
        yield ground, b
        return
    for t in held:  # forwarded whole
        if t.op == p.op:
            for m in match_all(p, t, b, True):
                yield t, m
    if p.op in ("tuple", "senc", "aenc", "sign", "h", "pk"):
        for args, b2 in _gen_seq(p.args, b, pool, held, knowledge):
            t = App(p.op, args)
            if derivable(knowledge, t):
                yield t, b2


def _gen_seq(ps: tuple, b: dict[str, Term], pool: list[Term], held: list[App],
             knowledge: Knowledge) -> Iterator[tuple[tuple, dict[str, Term]]]:
    if not ps:
        yield (), b
        return
    for t, b1 in _gen(ps[0], b, pool, held, knowledge):
        for rest, b2 in _gen_seq(ps[1:], b1, pool, held, knowledge):
            yield (t, *rest), b2


def _pool(system: Any, knowledge: Knowledge, own: tuple[Atom, ...], depth: int) -> list[Term]:
    atoms: set[Term] = set(system.agents) | set(own)
    held: set[Term] = set()
    for t in knowledge.terms:
        for s in subterms(t):
            if is_ground(s):
                held.add(s)  # type: ignore[arg-type]
    atoms |= {s for s in held if isinstance(s, Atom)}
    keys = {App("pk", (a,)) for a in system.agents} | {s for s in held if isinstance(s, App) and s.op in ("sk", "k")}
    pool: set[Term] = atoms | held | keys
    layer = {t for t in pool if isinstance(t, Atom) and t.sort in ("nonce", "agent", "key")}
    for _ in range(depth):
        small = sorted(layer, key=str)
        built: set[Term] = set()
        for x, y in itertools.product(small, repeat=2):
            built.add(mk_tuple(x, y))  # type: ignore[arg-type]
            if system.typed and isinstance(y, Atom) and y.sort == "key":
                built.add(App("senc", (x, y)))
        if system.typed:  # untyped, variables take pairs (type flaws); other compositions would only blow up
            for x in small:
                built.add(App("h", (x,)))
                for a in system.agents:
                    built.add(App("aenc", (x, App("pk", (a,)))))
        layer = {t for t in built if derivable(knowledge, t, own)}
        pool |= layer
    return sorted(pool, key=str)
