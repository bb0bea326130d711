"""Security goals as properties the explorer understands.

`Goal` is an `Invariant` (so the generic explorer checks it in every state and stops early once every goal
is violated) that can also say *why* it fails in a state and states its bound: verdicts of security models
read "holds within N sessions", never an unbounded "holds". `Executable` is the sanity check that the
honest run of the protocol can complete (so no goal passes vacuously); it is judged by exploring the same
protocol with the attacker switched off.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from checker.engine.budget import Bounds
from checker.engine.explorer import Explorer
from checker.engine.invariant import Invariant
from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Hooks, Judgement, Run
from checker.engine.run import Path, replay
from checker.timed.timing import NoSchedule


@dataclass(frozen=True)
class Goal(Invariant):
    """A secrecy or agreement goal: holds in a state unless `why(state)` has an explanation."""

    why: Callable[[Any], str | None] = lambda state: None
    bound: str = ""  # "2 sessions": the scenario the verdict is relative to

    def judge(self, run: Run) -> Judgement:
        """A violation is replayed (and, for a timed protocol, scheduled by Z3 and checked in Python); the
        reason names the bound so that no verdict claims more than was explored."""
        system, result = run.system, run.exploration
        timing = getattr(system, "timing", None)
        found = result.found.get(self.name)
        if found is not None:
            states = replay(system, found.path)
            reason = f"{self.why(states[-1][0]) or self.text + ' is false in the last state'} (within {self.bound})"
            schedule = None
            if timing is not None:  # Z3 proposes a schedule; it is checked in Python before anything is reported
                found_schedule = timing.schedule(system, states)
                if isinstance(found_schedule, NoSchedule):
                    return Judgement(UNKNOWN, f"unknown: a violation was found but not confirmed with a concrete "
                                              f"schedule: {found_schedule.reason} (within {self.bound})")
                schedule = found_schedule.entries()
            return Judgement(FAILS, reason, found.path, schedule=schedule)
        if result.complete and timing is not None and timing.unknown:
            return Judgement(UNKNOWN, f"unknown: {timing.unknown[0]}, so some runs could be neither kept nor pruned "
                                      f"(within {self.bound})")
        if result.complete:
            return Judgement(HOLDS, f"holds within {self.bound} ({result.stats.states:,} states explored)")
        return Judgement(UNKNOWN, f"no violation found within {self.bound} before the "
                                  f"{result.stop_reason or 'depth bound'}")


@dataclass(frozen=True)
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

    def witness(self, bounds: Bounds) -> tuple[bool | None, str, Path | None]:
        """(True, why, run) if a run completes, (False, why, None) if none can, (None, why, None) if the bounds
        cut it off."""
        probe = Invariant(self.name, self.text, (("", lambda s: not self.completed(s)),))
        result = Explorer(self.honest_system, [probe], bounds).run()
        found = result.found.get(self.name)
        if found is not None:
            steps = len(found.path.actions)
            return True, f"an honest session completes in {steps} steps without the attacker", found.path
        if result.complete:
            return False, (f"no session can complete even without an attacker (all {result.stats.states:,} "
                           f"honest states explored): every goal would hold vacuously"), None
        return None, f"no honest session completed before the {result.stop_reason}", None

    def judge(self, run: Run) -> Judgement:
        timing = getattr(run.system, "timing", None)
        if self.timing is not None:
            return _timed_executable(self, timing, run.bounds)
        ok, why, _path = self.witness(Bounds(max_states=run.bounds.max_states or 500_000,
                                            timeout=run.bounds.timeout))
        if ok is not None and timing is not None and timing.unknown:
            return Judgement(UNKNOWN, f"unknown: {timing.unknown[0]}; the honest runs could not all be decided")
        return Judgement(HOLDS if ok else UNKNOWN if ok is None else FAILS, why)

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        """A failure is a run of the honest system that no schedule lets complete: it must not complete."""
        if any(self.completed(s) for s in states):
            return "the replayed honest run completes a session"
        return None


def _timed_executable(prop: Executable, timing: Any, bounds: Bounds) -> Judgement:
    """`executable` of a timed protocol: it must complete for every clock skew; a failure comes with the
    deepest honest run, scheduled with the offsets that stop it."""
    robust = timing.robust_executable(prop.honest_system, prop.completed, bounds.max_states or 500_000)
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
