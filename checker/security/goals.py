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

from checker.engine.explorer import Bounds, Explorer
from checker.engine.properties import Invariant
from checker.timed.timing import NoSchedule


@dataclass(frozen=True)
class Goal(Invariant):
    """A secrecy or agreement goal: holds in a state unless `why(state)` has an explanation."""

    why: Callable[[Any], str | None] = lambda state: None
    bound: str = ""  # "2 sessions": the scenario the verdict is relative to


@dataclass(frozen=True)
class Executable:
    """Some session of the protocol can complete on a network without attacker."""

    name: str
    text: str
    honest_system: Any
    completed: Callable[[Any], bool]
    bound: str
    timing: Any = None  # checker.timed.timing.Timing of a timed protocol: then it must complete for every clock skew

    def witness(self, bounds: Bounds) -> tuple[bool | None, str]:
        """(True, why) if a run completes, (False, why) if none can, (None, why) if the bounds cut it off."""
        if self.timing is not None:
            robust = self.timing.robust_executable(self.honest_system, self.completed, bounds.max_states or 500_000)
            return robust.ok, robust.why
        probe = Invariant(self.name, self.text, (("", lambda s: not self.completed(s)),))
        result = Explorer(self.honest_system, [probe], bounds).run()
        found = result.found.get(self.name)
        if found is not None:
            steps = len(found.path.actions)
            return True, f"an honest session completes in {steps} steps without the attacker"
        if result.complete:
            return False, (f"no session can complete even without an attacker (all {result.stats.states:,} "
                           f"honest states explored): every goal would hold vacuously")
        return None, f"no honest session completed before the {result.stop_reason}"


def goal_verdict(system: Any, prop: Goal | Executable, result: Any) -> tuple[str, str, Any]:
    """(status, reason, trace) of a security goal after exploration; statuses as in checker/analysis.py.

    A violation is replayed into a trace; the reason names the bound so that no verdict claims more than was
    explored."""
    from checker.engine.explorer import replay
    from checker.output.tracebuild import build_trace

    timing = getattr(system, "timing", None)
    if isinstance(prop, Executable) and prop.timing is not None:
        return _timed_executable(prop, timing)
    if isinstance(prop, Executable):
        ok, why = prop.witness(Bounds(max_states=500_000))
        if ok is not None and timing is not None and timing.unknown:
            return "unknown", f"unknown: {timing.unknown[0]}; the honest runs could not all be decided", None
        return ("holds" if ok else "unknown" if ok is None else "fails"), why, None
    found = result.found.get(prop.name)
    if found is not None:
        run = replay(system, found.path)
        reason = f"{prop.why(run[-1][0]) or prop.text + ' is false in the last state'} (within {prop.bound})"
        schedule = None
        if timing is not None:  # Z3 proposes a schedule; it is checked in Python before anything is reported
            found_schedule = timing.schedule(system, run)
            if isinstance(found_schedule, NoSchedule):
                return "unknown", (f"unknown: a violation was found but not confirmed with a concrete schedule: "
                                   f"{found_schedule.reason} (within {prop.bound})"), None
            schedule = found_schedule.entries()
        return "fails", reason, build_trace(system, found.path, system.name, prop.name, reason,
                                            schedule=schedule)
    if result.complete and timing is not None and timing.unknown:
        return "unknown", (f"unknown: {timing.unknown[0]}, so some runs could be neither kept nor pruned "
                           f"(within {prop.bound})"), None
    if result.complete:
        return "holds", f"holds within {prop.bound} ({result.stats.states:,} states explored)", None
    return "unknown", f"no violation found within {prop.bound} before the {result.stop_reason or 'depth bound'}", None


def _timed_executable(prop: Executable, timing: Any) -> tuple[str, str, Any]:
    """`executable` of a timed protocol: it must complete for every clock skew; a failure comes with the
    deepest honest run, scheduled with the offsets that stop it."""
    from checker.engine.explorer import Path, replay
    from checker.output.tracebuild import build_trace

    robust = timing.robust_executable(prop.honest_system, prop.completed, 500_000)
    if robust.ok is not None and timing.unknown:
        return "unknown", f"unknown: {timing.unknown[0]}; the honest runs could not all be decided", None
    if robust.ok is None:
        return "unknown", robust.why, None
    if robust.ok:
        return "holds", robust.why, None
    path = Path(*robust.path)
    schedule = timing.schedule(prop.honest_system, replay(prop.honest_system, path), robust.offsets)
    if isinstance(schedule, NoSchedule):
        return "unknown", f"unknown: {robust.why}, but {schedule.reason}", None
    system = prop.honest_system
    return "fails", robust.why, build_trace(system, path, system.name, prop.name, robust.why,
                                            schedule=schedule.entries())
