"""Security goals as properties of the search, and `executable`, the sanity check that no goal holds vacuously.

A `Goal` is checked on every symbolic state the search finds (`hooks().on_state`): secrecy when the attacker can
derive a finished honest run's secret for *some* values of the variables, agreement when a commit's check in
the step found an instantiation that breaks it (checker/security/secsys.py). A violation is then instantiated
and replayed through the concrete semantics (checker/security/witness.py, concrete.py) and, for a timed
protocol, scheduled by Z3 and checked in plain Python; only then is it a verdict, with the trace of the concrete
run. A violation that cannot be confirmed is reported as unknown, never as an attack. Verdicts name the bound:
"holds within 2 sessions", never an unbounded "holds".

`Executable` explores the same protocol with the attacker switched off (the one explorer, the user's bounds).
"""
from __future__ import annotations

from typing import Any, Callable

from checker.engine.budget import Bounds
from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run
from checker.records import record
from checker.security.roles import AgreementGoal, SecretGoal


@record
class Goal:
    """A secrecy or agreement goal of the symbolic `system` (`spec` says which)."""

    name: str
    text: str
    spec: SecretGoal | AgreementGoal
    system: Any
    bound: str = ""  # "2 sessions (runs: 2 A, 2 B)": the scenario the verdict is relative to

    def violated(self, state: Any) -> str | None:
        """Secrecy: "" when the goal fails in the symbolic `state` for some values of its variables, else None."""
        return "" if self.system.secret_witness(self.spec, state) is not None else None

    def broken(self, state: Any, action: Any) -> str | None:
        """Agreement: "" when the step `action` makes a commit that breaks the goal, else None. A step, not a
        state: the state after it is the same whether or not the commit broke the goal."""
        return "" if any(goal == self.name for goal, _w in action.violations) else None

    def hooks(self, system: Any) -> Hooks:
        """The check, and the confirmation of each violation by its concrete replay: a violation that does not
        replay (the search without levels over-approximates) lets the search go on for one that does, which
        spares the search with levels when there is one (`finer`)."""
        def confirm(path: Any) -> bool:
            return not isinstance(system.attack(self.spec, self.name, path), str)

        if isinstance(self.spec, SecretGoal):
            return Hooks(on_state=self.violated, confirm=confirm)
        return Hooks(on_step=self.broken, confirm=confirm)

    def judge(self, run: Run) -> Judgement:
        system, result = run.system, run.exploration
        timing = getattr(system, "timing", None)
        found = result.found.get(self.name)
        if found is not None:
            attack = system.attack(self.spec, self.name, found.path)
            finer = system.finer() if isinstance(attack, str) else None
            if finer is not None:
                return self._exactly(finer, run)
            if isinstance(attack, str):
                return Judgement(UNKNOWN, f"unknown: the search found a violation that could not be confirmed "
                                          f"on a concrete run ({attack}): an engine error, reported rather "
                                          f"than trusted (within {self.bound})")
            reason = f"{attack.reason} (within {self.bound})"
            schedule = None
            if timing is not None:  # Z3 proposes a schedule; it is checked in Python before anything is reported
                from checker.timed.timing import NoSchedule
                found_schedule = timing.schedule(attack.run, attack.replayed())
                if isinstance(found_schedule, NoSchedule):
                    return Judgement(UNKNOWN, f"unknown: a violation was found but not confirmed with a concrete "
                                              f"schedule: {found_schedule.reason} (within {self.bound})")
                schedule = found_schedule.entries()
            return Judgement(FAILS, reason, attack.path, schedule=schedule, system=attack.run)
        if result.complete and timing is not None and timing.unknown:
            return Judgement(UNKNOWN, f"unknown: {timing.unknown[0]}, so some runs could be neither kept nor pruned "
                                      f"(within {self.bound})")
        if result.complete:
            return Judgement(HOLDS, f"holds within {self.bound} ({result.stats.states:,} states explored)")
        return Judgement(UNKNOWN, f"no violation found within {self.bound} before the "
                                  f"{result.stop_reason or 'depth bound'}")

    def _exactly(self, exact: Any, run: Run) -> Judgement:
        """The search again with levels (`finer`), for this goal alone: the over-approximating search found only
        a run that needs the attacker to use, earlier, what it learnt later."""
        from checker.engine.explorer import Explorer

        goal = Goal(self.name, self.text, self.spec, exact, self.bound)
        result = Explorer(exact, [goal], run.bounds).run()
        return goal.judge(Run(exact, result, run.bounds))

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        """The concrete run (system is its `ConcreteRun`) must show the failure in its last state."""
        last = states[-1]
        if isinstance(self.spec, SecretGoal):
            broken = system.secret_leak(self.spec, last)
        else:
            broken = system.agreement_broken(self.name, last)
        return None if broken is not None else f"{self.text} holds in the last state of the concrete run"


@record
class Executable:
    """Some session of the protocol can complete on a network without attacker."""

    name: str
    text: str
    honest_system: Any
    completed: Callable[[Any], bool]
    bound: str
    timing: Any = None  # checker.timed.timing.Timing of a timed protocol: then it must complete for every clock skew

    def hooks(self, system: Any) -> Hooks:
        return Hooks(needs_search=False)  # decided on the honest system, not by the attacker's search

    def witness(self, bounds: Bounds) -> tuple[bool | None, str]:
        """(True, why) if a run completes, (False, why) if none can, (None, why) if the bounds cut it off.
        A depth-first probe finds a completed session after a handful of states, or sees every honest state
        without one; only when a bound or a fault stops it does the explorer search the honest system, to report
        them."""
        from checker.engine.explorer import Explorer
        from checker.engine.invariant import Invariant
        from checker.engine.probe import reaches

        quick = reaches(self.honest_system, self.completed, bounds)
        if quick.depth is not None:
            return True, f"an honest session completes without the attacker (a run of {quick.depth} steps)"
        if quick.complete:
            return False, (f"no session can complete even without an attacker (all {quick.states:,} honest "
                           f"states explored): every goal would hold vacuously")
        probe = Invariant(self.name, self.text, (("", lambda s: not self.completed(s)),))
        result = Explorer(self.honest_system, [probe], bounds).run()
        found = result.found.get(self.name)
        if found is not None:
            steps = len(found.path.actions)
            return True, f"an honest session completes without the attacker (a run of {steps} steps)"
        if result.complete:
            return False, (f"no session can complete even without an attacker (all {result.stats.states:,} "
                           f"honest states explored): every goal would hold vacuously")
        return None, f"no honest session completed before the {result.stop_reason}"

    def judge(self, run: Run) -> Judgement:
        timing = getattr(run.system, "timing", None)
        if self.timing is not None:
            return _timed_executable(self, timing, run.bounds)
        ok, why = self.witness(run.bounds)
        return Judgement(HOLDS if ok else UNKNOWN if ok is None else FAILS, why)

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        """A failure is a run of the honest system that no schedule lets complete: it must not complete."""
        if any(self.completed(s) for s in states):
            return "the replayed honest run completes a session"
        return None


def _timed_executable(prop: Executable, timing: Any, bounds: Bounds) -> Judgement:
    """`executable` of a timed protocol: it must complete for every clock skew; a failure comes with the
    deepest honest run, scheduled with the offsets that stop it."""
    from checker.engine.run import Path, replay
    from checker.timed.timing import NoSchedule

    robust = timing.robust_executable(prop.honest_system, prop.completed, bounds)
    if robust.ok is not None and timing.unknown:
        return Judgement(UNKNOWN, f"unknown: {timing.unknown[0]}; the honest runs could not all be decided")
    if robust.ok is None:
        return Judgement(UNKNOWN, robust.why)
    if robust.ok:
        return Judgement(HOLDS, robust.why)
    path = Path(*robust.path)
    schedule = timing.schedule(prop.honest_system, replay(prop.honest_system, path), robust.offsets)
    if isinstance(schedule, NoSchedule):
        return Judgement(UNKNOWN, f"unknown: {robust.why}, but {schedule.reason}")
    return Judgement(FAILS, robust.why, path, schedule=schedule.entries(), system=prop.honest_system)
