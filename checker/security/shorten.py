"""Shorter attacks: delete the steps of a confirmed attack that play no part in it, then renumber.

The symbolic search casts a session only when its opener starts (docs/security.md, "Sessions"), so its attacks
often carry steps that nothing uses: an opener that sends a message nobody receives, only so that the responder
run of its session exists. A reader expects the shortest counterexample, as Scyther and SPIN give it.

`shorten` deletes such steps greedily: all steps of one run together, then single steps from the last
backwards, to a fixpoint. A deletion is kept only if `accept` takes the shorter script, and `accept` is the
attack's confirmation itself (checker/security/witness.py): the concrete replay (`run_script`) passes and the same
goal fails on its last state. No relaxed semantics decides; a script `accept` refuses is simply not used.
`renumbered` then closes the gaps the deletions left in run numbers (`A#2` alone becomes `A#1`), in the fresh
values the runs create (`Na#2` becomes `Na#1`) and in the attacker's constants (`Ne#3` becomes `Ne#1`); the
result is again kept only if `accept` takes it. Message numbers need nothing: the script names in-flight
messages by their content, and the trace numbers them as the replay sends them.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from checker.security.concrete import ScriptStep
from checker.security.terms import Atom, Pattern, numbered_constants, rename_atoms

Script = tuple[ScriptStep, ...]
A = TypeVar("A")

MAX_REPLAYS = 200  # scripts are short (under ~30 steps); this bounds the quadratic worst case


def shorten(system: Any, script: Script, accept: Callable[[Script], A | None], found: A) -> A:
    """The shortest confirmed attack the greedy deletions reach from `script` (whose confirmation is `found`),
    renumbered when that is accepted too. `accept` may raise `BoundHit`; it propagates."""
    left = MAX_REPLAYS

    def attempt(candidate: Script) -> A | None:
        """`accept` on `candidate`, while replays are left."""
        nonlocal left
        if left <= 0:
            return None
        left -= 1
        return accept(candidate)

    changed = True
    while changed and left > 0:
        changed = False
        for drop in _deletions(script):
            candidate = tuple(s for k, s in enumerate(script) if k not in drop)
            result = attempt(candidate)
            if result is not None:
                script, found, changed = candidate, result, True
                break
    tidy = renumbered(system, script)
    if tidy != script:
        result = attempt(tidy)
        if result is not None:
            found = result
    return found


def _deletions(script: Script) -> list[frozenset[int]]:
    """The deletions to try, most promising first: every step of one run at once (an opener whose message
    nobody uses), later runs first, then each single step from the last backwards (a run's tail, a drop)."""
    by_run: dict[int, list[int]] = {}
    for k, s in enumerate(script):
        if s.kind == "step":
            by_run.setdefault(s.instance, []).append(k)
    whole = [frozenset(ks) for ks in sorted(by_run.values(), key=lambda ks: -ks[0]) if len(ks) > 1]
    return whole + [frozenset({k}) for k in range(len(script) - 1, -1, -1)]


def renumbered(system: Any, script: Script) -> Script:
    """`script` with its runs moved to the lowest numbers of their role (in order of first action, among
    instances of the same role and preset, so a run keeps what the scenario fixed for it), the fresh values
    they create renamed with them, and the attacker's constants numbered from 1 in order of appearance."""
    perm = _run_moves(system, script)
    atoms = _fresh_renames(system, perm) | _attacker_renames(system, script)
    return tuple(_moved(s, perm, atoms) for s in script)


def _run_moves(system: Any, script: Script) -> dict[int, int]:
    """Instance -> instance: within each group of interchangeable instances (role and preset), the ones that
    act take the group's first places in order of their first action; the idle ones take the rest."""
    groups: dict[tuple, list[int]] = {}
    for j, inst in enumerate(system.instances):
        groups.setdefault((inst.role, inst.preset), []).append(j)
    acting = list(dict.fromkeys(s.instance for s in script if s.kind == "step"))
    perm: dict[int, int] = {}
    for members in groups.values():
        order = [j for j in acting if j in members] + [j for j in members if j not in acting]
        perm.update(zip(order, members))
    return perm


def _fresh_renames(system: Any, perm: dict[int, int]) -> dict[Atom, Atom]:
    """The fresh values of each moved instance renamed to its new number (`Na#2` -> `Na#1`)."""
    out: dict[Atom, Atom] = {}
    for old, new in perm.items():
        src, dst = system.instances[old], system.instances[new]
        for step in system.roles[src.role].steps:
            for slot, sort in step.fresh:
                name = system.roles[src.role].slots[slot]
                out[Atom(f"{name}#{src.number}", sort)] = Atom(f"{name}#{dst.number}", sort)
    return {a: b for a, b in out.items() if a != b}


def _attacker_renames(system: Any, script: Script) -> dict[Atom, Atom]:
    """The attacker's constants of each kind renumbered 1, 2, ... in order of first appearance."""
    seen = dict.fromkeys(a for a, _base, _n in numbered_constants((t for s in script for t in _terms(s)),
                                                                   {a.name for a in system.own}))
    counts: dict[str, int] = {}
    out: dict[Atom, Atom] = {}
    for a in seen:
        base = a.name.partition("#")[0]
        counts[base] = counts.get(base, 0) + 1
        out[a] = Atom(f"{base}#{counts[base]}", a.sort)
    return {a: b for a, b in out.items() if a != b}


def _moved(s: ScriptStep, perm: dict[int, int], atoms: dict[Atom, Atom]) -> ScriptStep:
    """Step `s` with its instance moved and its atoms renamed."""
    def r(t: Any) -> Any:
        return rename_atoms(t, atoms) if t is not None and atoms else t

    taken = None if s.taken is None else (s.taken[0], s.taken[1], r(s.taken[2]))
    instance = perm.get(s.instance, s.instance) if s.kind == "step" else s.instance
    return s._replace(instance=instance, term=r(s.term), taken=taken, values=tuple(r(v) for v in s.values))


def _terms(s: ScriptStep) -> list[Pattern]:
    """The terms step `s` mentions, in order: what is received, what is taken, the values afterwards."""
    out: list[Pattern] = [t for t in (s.term, None if s.taken is None else s.taken[2]) if t is not None]
    return out + [v for v in s.values if v is not None]
