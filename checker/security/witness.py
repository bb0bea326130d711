"""From a symbolic attack to a concrete one: instantiate the variables, then replay through the concrete semantics.

The explorer reports a path of the symbolic system to a state where a goal fails for *some* values of the
variables. To show (and check) an attack:
  1. the path is replayed; each action's `forward` map carries the terms it recorded (what an instance received,
     the message intercepted, the instance's values) over to the variables of the next state, so that at the
     end every step is expressed over the variables of the last state;
  2. the goal's witness in the last state is solved: for secrecy, the secret as a further constraint; for
     agreement, the substitution the commit's check found (checker/security/secsys.py, `_commit_violation`);
  3. every variable still open gets a fresh constant of the attacker's, of its sort (`Ne#1`, `Ke#2`, a
     ciphertext `{Ne#3}Ke#4` for an opaque slot): a simple constraint is satisfied by any value the attacker
     can build, and distinct fresh constants keep apart whatever the search kept apart;
  4. the resulting script runs through `ConcreteRun` (checker/security/concrete.py), which checks every step
     with ground semantics and re-evaluates the goal on the last concrete state;
  5. the confirmed attack is shortened (checker/security/shorten.py): steps are deleted while the shorter script
     still passes step 4 unchanged, so no step that the attack does not need is shown.
Anything that fails on the way is reported as an unconfirmed violation, never as an attack.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from checker.engine.run import Path, replay
from checker.records import record
from checker.security.concrete import ConcreteRun, CState, ReplayError, ScriptStep, run_script
from checker.security.intruder import SolverLimit, Work, fresh_value
from checker.security.roles import SecretGoal
from checker.security.shorten import shorten
from checker.security.terms import (Atom, Pattern, Term, Var, agent_names, is_ground, numbered_constants, rename_atoms,
                                    term_vars)
from checker.security.unify import apply


@record
class Attack:
    """A confirmed concrete attack: the scripted run, its states, and the goal's failure in words."""

    run: ConcreteRun
    states: list[CState]
    reason: str

    @property
    def path(self) -> Path:
        return Path(0, (0,) * len(self.run.script))

    def replayed(self) -> list[tuple[Any, Any, Any]]:
        """The attack's states with the action leading to each, as `engine.run.replay` returns them."""
        out: list[tuple[Any, Any, Any]] = [(self.states[0], None, None)]
        state = self.states[0]
        for _ in self.run.script:
            action, state = self.run.step(state)
            out.append((state, action, 0))
        return out


def concretise(system: Any, spec: Any, name: str, path: Path) -> Attack | str:
    """The concrete attack behind a symbolic violation of goal `spec` (named `name`) found at the end of
    `path`, or why none could be confirmed."""
    try:
        return _concretise(system, spec, name, path)
    except (ReplayError, SolverLimit) as err:
        return str(err)


def _concretise(system: Any, spec: Any, name: str, path: Path) -> Attack | str:
    run = replay(system, path, system.replays)
    records: list[dict[str, Any]] = []
    for k in range(1, len(run)):
        action = run[k][1]
        forward = dict(action.forward)
        records = [_move(r, forward, dict(action.atoms), action.perm) for r in records]
        records.append({"kind": action.kind, "instance": action.perm[action.instance] if action.perm and
                        action.instance >= 0 else action.instance, "capability": action.capability,
                        "claimed": action.claimed, "term": action.received, "taken": action.taken,
                        "values": action.values})
    final = run[-1][0]
    work = _witness(system, spec, name, final, run[-1][1])
    if work is None:
        return "the last state of the search does not show the violation"
    counters = _taken_numbers(system, records)
    theta: dict[str, Pattern] = {}
    open_vars = sorted({v for r in records for t in _terms(r) for v in term_vars(apply(t, work.sigma))},
                       key=lambda v: v.name)
    own = {a.sort: a for a in system.own}

    def agent(sort: str) -> Atom:
        """An agent the variable admits, compromised first (nothing pinned it, so any will do)."""
        names = agent_names(sort)
        fits = [a for a in system.scenario.compromised + system.scenario.honest if names is None or a.name in names]
        return fits[0]

    for v in open_vars:
        theta[v.name] = fresh_value(v, counters, own, agent)
    script = []
    for r in records:
        g = _ground(r, work.sigma, theta)
        script.append(ScriptStep(g["kind"], g["instance"], g["capability"], g["claimed"], g["term"], g["taken"],
                                 g["values"]))
    try:
        attack = _confirmed(system, spec, name, tuple(script))
    except ReplayError:
        scheduled = _postponed(system, tuple(script))
        if scheduled is None:
            raise
        attack = _confirmed(system, spec, name, scheduled)
    if attack is None:
        return "the concrete replay of the attack does not violate the goal"
    return shorten(system, attack.run.script, confirmer(system, spec, name), attack)


def confirmer(system: Any, spec: Any, name: str) -> Callable[[tuple[ScriptStep, ...]], Attack | None]:
    """What accepts a shorter script of an attack on goal `spec` (named `name`): exactly the confirmation the whole
    script passed (the concrete replay, the goal failing at its end), and a schedule for a timed protocol."""
    def accept(candidate: tuple[ScriptStep, ...]) -> Attack | None:
        try:
            found = _confirmed(system, spec, name, candidate)
        except ReplayError:
            return None
        return found if found is not None and _schedulable(system, found) else None

    return accept


def _confirmed(system: Any, spec: Any, name: str, script: tuple[ScriptStep, ...]) -> Attack | None:
    """The attack `script` is, if its concrete replay shows the goal failing in its last state; None if the replay
    ends with the goal intact; raises ReplayError if a step is not possible."""
    concrete = ConcreteRun(system, script, _attacker_atoms(system, script))
    states = run_script(concrete)
    last = states[-1]
    reason = concrete.secret_leak(spec, last) if isinstance(spec, SecretGoal) else concrete.agreement_broken(name,
                                                                                                           last)
    return None if reason is None else Attack(concrete, states, reason)


def _postponed(system: Any, script: tuple[ScriptStep, ...]) -> tuple[ScriptStep, ...] | None:
    """The script with steps that emit no goal event postponed until the attacker can send what they receive,
    or None if that does not make every step possible. The search takes some receives as early as possible
    (secsys `_eager`), before the attacker learns the values it later gives them; the same steps, each run's
    in its order, are a concrete run once those receives wait. Postponing them changes no event, and the goals
    are judged on the replay of the new order."""
    concrete = ConcreteRun(system, script, _attacker_atoms(system, script))
    state = concrete.initial_states()[0]
    done: list[ScriptStep] = []
    waiting: list[ScriptStep] = []

    def attempt(s: ScriptStep) -> bool:
        nonlocal state
        try:
            _action, state = concrete.apply(state, s)
        except ReplayError:
            return False
        done.append(s)
        return True

    def quiet(s: ScriptStep) -> bool:
        run = state.runs[s.instance]
        steps = system.roles[system.instances[s.instance].role].steps
        return s.kind == "step" and 0 <= run.pc < len(steps) and not steps[run.pc].signals

    def flush() -> None:
        blocked: set[int] = set()
        for s in list(waiting):
            if s.instance not in blocked and attempt(s):
                waiting.remove(s)
            else:
                blocked.add(s.instance)

    for s in script:
        flush()
        if any(w.instance == s.instance for w in waiting):
            return None  # a run's steps keep their order
        if attempt(s):
            continue
        if not quiet(s):
            return None
        waiting.append(s)
    flush()
    return tuple(done) if not waiting else None


def _schedulable(system: Any, attack: Attack) -> bool:
    """A timed attack is reported only with a schedule (checker/security/goals.py asks Z3 for one after this), so
    a shorter script must have one too; an untimed attack needs none."""
    if system.timing is None:
        return True
    from checker.timed.timing import NoSchedule

    return not isinstance(system.timing.schedule(attack.run, attack.replayed()), NoSchedule)


def _witness(system: Any, spec: Any, name: str, final: Any, last: Any) -> Work | None:
    if isinstance(spec, SecretGoal):
        found = system.secret_witness(spec, final)
        return None if found is None else found[2]
    witness = None if last is None else next((w for g, w in last.violations if g == name), None)
    if witness is None:
        return None
    work = Work.start(final.store)
    goals = work.bind(dict(witness))
    return next(iter(system.intruder.solve(work, goals)), None)


def _move(record: dict[str, Any], forward: dict[str, Pattern], atoms: dict[Atom, Atom],
          perm: tuple[int, ...] | None) -> dict[str, Any]:
    """A record over one state's names carried to the next state's: fresh values renamed and runs moved by the
    session symmetry, then variables replaced by what they became."""
    def move(t: Pattern) -> Pattern:
        return apply(rename_atoms(t, atoms) if atoms else t, forward)

    out = dict(record)
    if record["term"] is not None:
        out["term"] = move(record["term"])
    if record["taken"] is not None:
        s, d, t = record["taken"]
        out["taken"] = (atoms.get(s, s), atoms.get(d, d), move(t))
    if record["claimed"] is not None:
        out["claimed"] = atoms.get(record["claimed"], record["claimed"])
    out["values"] = tuple(move(v) if v is not None else None for v in record["values"])
    if perm and record["instance"] >= 0:
        out["instance"] = perm[record["instance"]]
    return out


def _terms(record: dict[str, Any]) -> list[Pattern]:
    out = [v for v in record["values"] if v is not None]
    if record["term"] is not None:
        out.append(record["term"])
    if record["taken"] is not None:
        out.append(record["taken"][2])
    return out


def _ground(record: dict[str, Any], sigma: dict[str, Pattern], theta: dict[str, Pattern]) -> dict[str, Any]:
    def g(t: Pattern) -> Term:
        u = apply(apply(t, sigma), theta)
        assert is_ground(u), u
        return u  # type: ignore[return-value]

    out = dict(record)
    if record["term"] is not None:
        out["term"] = g(record["term"])
    if record["taken"] is not None:
        s, d, t = record["taken"]
        out["taken"] = (s, d, g(t))
    out["values"] = tuple(g(v) if v is not None else None for v in record["values"])
    return out


def _taken_numbers(system: Any, records: list[dict[str, Any]]) -> dict[str, int]:
    """The highest number already used per attacker atom (`Ti#3` minted by the time engine), so that fresh
    constants get new names."""
    counters: dict[str, int] = {}
    for _a, base, n in numbered_constants((t for r in records for t in _terms(r)), {a.name for a in system.own}):
        counters[base] = max(counters.get(base, 0), n)
    return counters


def _attacker_atoms(system: Any, script: Sequence[ScriptStep]) -> tuple[Atom, ...]:
    """Every constant the attacker invented in the script (`Ne#1`, minted times `Ti#2`)."""
    terms = (t for s in script for t in ([s.term] if s.term is not None else []) + [v for v in s.values
                                                                                    if v is not None])
    found = {a for a, _base, _n in numbered_constants(terms, {a.name for a in system.own})}
    return tuple(sorted(found, key=lambda a: a.name))
