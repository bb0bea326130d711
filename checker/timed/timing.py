"""Time, counters and symbolic values in the security system: clocks, windows, sequence numbers, schedules.

Semantics. Global time advances between steps by any amount (never backwards). Each honest agent's clock
reads global time plus a fixed offset, |offset| <= `skew`; with `pace P` two steps of one agent are at least P
apart. A timestamp sent fresh is its sender's clock reading at that step; a counter sent fresh is the next
value of the sender's counter towards the addressee (1, 2, ...). A step's guards are linear constraints over
the acting agent's clock (`now`) and the integer values of the terms it holds. Values the attacker invents
(its own `time`/`number` atoms) are renamed to a fresh symbolic atom per use, constrained only by the guards
that receive them.

Exploration works on *zones* (the timed-automata idea): the state stores, instead of global time, one
variable per honest agent's clock (`clock:alice`) and the constant values still referenced by the state
(`T#1`, counters' last accepted values `last:...`, pace marks `mark:...`). Offsets are constant, so clock
differences never change; letting time pass removes every upper bound of a clock relative to a constant
(`_elapse`), and by Helly's theorem on the line "every clock within `skew` of one global time" is exactly
"every two clocks within 2*skew", a difference constraint. So zones stay in the difference fragment that
`constraints.ConstraintSet` decides and canonicalises in pure Python; a guard outside it goes to Z3 through
`Solver.check`. Variables no longer referenced by the state are projected away, so the state space stays
finite.

Reports use a second, *unabbreviated* encoding of the same run (`schedule`): one variable per step's global
time, one offset per agent, one clock reading per step, versioned counters. Z3 solves it (the only door is
`constraints.Solver`); every constraint is then evaluated in plain Python with the witness before the trace
is reported, and the witness becomes the trace's schedule (`t=12`) and notes (`12 - 9 <= 5`).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from checker.records import field, record, replace
from checker.timed.constraints import (Constraint, ConstraintSet, Lin, Solver, SolverError, Verdict, const, eq, explain, ge,
                          le, var)
from checker.security.roles import StepTiming
from checker.security.terms import App, Atom, Term, pretty, subterms

NUMERIC_SORTS = ("time", "number")
NOW = "@now"


def value_var(term: Term) -> str:
    """The integer variable standing for a term's value: its printed form (`T#1`, `Ti#2`, `(Na#1, A)`);
    printed terms contain no ':', which bookkeeping variables (`clock:alice`) always do."""
    return pretty(term)


def _last(receiver: Atom, sender: Atom, name: str) -> str:
    return f"last:{receiver.name}:{sender.name}:{name}"


@record(slots=True)
class Clock:
    """The time part of a state: the zone, sender counters, initialised last-seen values, replay caches, and
    how many attacker values were minted (for fresh names). Hashable: it is part of the fingerprint."""

    zone: ConstraintSet
    counters: tuple[tuple[str, int], ...] = ()  # ("alice>bob:N", last value sent), sorted
    lasts: frozenset[str] = frozenset()  # last:... variables that hold a value (others read as 0)
    caches: frozenset[tuple[Atom, Term]] = frozenset()  # (agent, timestamp) accepted by a caching agent
    minted: int = 0
    expired: frozenset[str] = frozenset()  # values too old for every guard, out of the zone (`Timing.settle`)

    def __canonical__(self) -> tuple:  # for state fingerprints (checker/engine/fingerprint.py)
        return (self.zone, self.counters, self.lasts, self.caches, self.minted, self.expired)

    def bookkeeping(self) -> tuple:
        """Everything but the zone: with the rest of the state, a timed state's discrete part."""
        return (self.counters, self.lasts, self.caches, self.minted, self.expired)


@record
class Effect:
    """One thing a step does to time, over abstract variable names (`@now`, `@last:K`, `@new:K`, values)."""

    kind: str  # stamp | counter | check | increasing | cache
    constraints: tuple[Constraint, ...]
    text: str  # what the note says (before the values of a check; after the value of a stamp or counter)
    value: str | None = None  # the variable a stamp or counter sets


@record
class Schedule:
    """A concrete, Python-verified schedule of a run: per action, its global time and notes."""

    times: tuple[int, ...]
    notes: tuple[str | None, ...]
    assignment: Mapping[str, int]
    constraints: tuple[Constraint, ...]

    def entries(self) -> list[tuple[str | None, str | None]]:
        return [(f"t={t}", n) for t, n in zip(self.times, self.notes)]


@record
class NoSchedule:
    """Why no schedule could be given: Z3 answered unknown, or (a bug) the run has no schedule at all."""

    reason: str


@record(frozen=False)
class Timing:
    """The time model of one scenario plus its solver; shared by the attacked and the honest system.

    Holds caches that are pure functions of their keys (term -> value names) and the Solver (own Z3 context,
    fixed seed): no module-level state."""

    honest: tuple[Atom, ...]
    skew: int = 0
    pace: int = 0
    minted_sorts: frozenset[str] = frozenset()  # attacker atoms that stand for a value it chooses
    horizon: int | None = None  # `window_horizon` of the protocol's guards: None when values never expire
    solver: Solver = field(default_factory=lambda: Solver(timeout_ms=5000, seed=0))
    unknown: list[str] = field(default_factory=list)  # reasons Z3 gave up while exploring (nothing pruned)
    _names: dict[Any, frozenset[str]] = field(default_factory=dict, repr=False)
    _applied: dict[Any, ConstraintSet | None] = field(default_factory=dict, repr=False)
    _settled: dict[Any, tuple[ConstraintSet, frozenset[str]]] = field(default_factory=dict, repr=False)
    _renamed: dict[Any, ConstraintSet] = field(default_factory=dict, repr=False)

    def statistics(self) -> dict[str, Any]:
        """The solver's counters for the analysis output (JSON `stats.solver`, the text statistics line)."""
        st = self.solver.stats
        return {"checks": st.checks, "models": st.models, "z3_calls": st.z3_calls,
                "z3_seconds": round(st.z3_seconds, 4), "cache_hits": st.cache_hits, "fast_path": st.fast_path,
                "unknown": st.unknown, "zone_cache": len(self._applied) + len(self._settled) + len(self._renamed)}

    # ------------------------------------------------------------------ zones
    def clock_var(self, agent: Atom) -> str:
        """The zone variable of an agent's clock; with skew 0 all clocks are one (fewer variables, faster)."""
        return f"clock:{agent.name}" if self.skew else "clock:*"

    def skew_constraints(self) -> list[Constraint]:
        """Every two honest clocks within 2*skew (equivalent to a common global time within skew of each)."""
        out = []
        hs = self.honest if self.skew else ()
        for k, a in enumerate(hs):
            for b in hs[k + 1:]:
                d = var(self.clock_var(a)) - var(self.clock_var(b))
                out += [le(d, 2 * self.skew), ge(d, -2 * self.skew)]
        return out

    def initial(self) -> Clock:
        return Clock(ConstraintSet(self.skew_constraints()))

    def mint_value(self, clock: Clock, base: Atom) -> tuple[Clock, Atom]:
        """A fresh symbolic number for a value the attacker chose (`Ti#3` from its atom `Ti`): every value it
        invents is a separate unknown, constrained only by the guards that read it."""
        n = clock.minted + 1
        return replace(clock, minted=n), Atom(f"{base.name}#{n}", base.sort)

    def effects(self, clock: Clock, agent: Atom, spec: StepTiming | None, b: Mapping[str, Term],
                cached: bool) -> tuple[list[Effect], Clock] | None:
        """What the step does to time (over abstract names), and the clock's new bookkeeping; None when a
        replay cache refuses the step. Deterministic and zone-independent, so `schedule` can replay it."""
        if spec is None:
            return [], clock
        out: list[Effect] = []
        counters = dict(clock.counters)
        lasts = set(clock.lasts)
        caches = set(clock.caches)
        for name in spec.stamps:
            out.append(Effect("stamp", (eq(value_var(b[name]), var(NOW)),), f"{agent}'s clock", value_var(b[name])))
        for name, to in spec.counters:
            key = f"{agent.name}>{pretty(b[to])}:{name}"
            n = counters.get(key, 0) + 1
            counters[key] = n
            out.append(Effect("counter", (eq(value_var(b[name]), n),),
                              f"{agent}'s message number {n} to {pretty(b[to])}", value_var(b[name])))
        for chk in spec.checks:
            lhs = Lin(tuple((NOW if o == "now" else value_var(b[o]), c) for o, c in chk.terms), chk.const)
            out.append(Effect("check", (Constraint(lhs, "==" if chk.op == "==" else "<="),), chk.text))
        for name, partner in spec.increasing:
            peer = b[partner]
            if not isinstance(peer, Atom):
                continue
            key = _last(agent, peer, name)
            old = var(f"@last:{key}") if key in lasts else const(0)
            out.append(Effect("increasing", (ge(value_var(b[name]), old + 1), eq(f"@new:{key}", value_var(b[name]))),
                              f"{name} increases over the last one {agent} accepted from {pretty(peer)}"))
            lasts.add(key)
        if cached:
            for name in spec.cached:
                entry = (agent, b[name])
                if entry in caches:
                    return None
                caches.add(entry)
                out.append(Effect("cache", (), f"{pretty(b[name])} is not in {agent}'s replay cache"))
        return out, Clock(clock.zone, tuple(sorted(counters.items())), frozenset(lasts), frozenset(caches),
                          clock.minted, clock.expired)

    def apply(self, clock: Clock, agent: Atom, effects: list[Effect]) -> Clock | None:
        """The zone after the acting agent's step (not yet elapsed); None when no schedule allows it.
        Memoised: zones recur across states that differ only in knowledge or terms."""
        key = (clock.zone, agent, tuple(effects), clock.expired)
        if key not in self._applied:
            if len(self._applied) > 200_000:
                self._applied.clear()
            self._applied[key] = self._apply(clock.zone, agent, effects, clock.expired)
        zone = self._applied[key]
        return None if zone is None else replace(clock, zone=zone)

    def _apply(self, zone: ConstraintSet, agent: Atom, effects: list[Effect],
               expired: frozenset[str]) -> ConstraintSet | None:
        me = self.clock_var(agent)
        added: list[Constraint] = []
        if self.pace:
            mark = f"mark:{agent.name}"
            if mark in zone.variables():
                added.append(ge(var(me) - var(mark), self.pace))
        renames: dict[str, Lin] = {NOW: var(me)}
        updated: list[str] = []
        for e in effects:
            for c in e.constraints:
                if expired and not expired.isdisjoint(c.variables()):
                    if _expired_guard_holds(c):
                        continue
                    return None
                for n in c.variables():
                    if n.startswith("@last:"):
                        renames[n] = var(n[6:])
                    elif n.startswith("@new:"):
                        renames[n] = var("new:" + n[5:])
                        updated.append(n[5:])
                added.append(_subst(c, renames))
        snapped: list[Constraint] = []
        for c in added:  # a clock inside a non-difference guard is frozen into a snapshot (see _elapse)
            if not c.is_difference and me in c.variables():
                snap = _fresh_name("snap", zone.variables() | {n for x in snapped for n in x.variables()})
                snapped += [eq(snap, var(me)), _subst(c, {me: var(snap)})]
            else:
                snapped.append(c)
        if self.pace:
            snapped.append(eq(f"new:mark:{agent.name}", var(me)))
            updated.append(f"mark:{agent.name}")
        zone = zone.add(*snapped)
        if not self.feasible(zone):
            return None
        updated = list(dict.fromkeys(updated))
        if updated:
            zone = _forget(zone, set(updated), {f"new:{k}": k for k in updated})
        return zone

    def feasible(self, zone: ConstraintSet) -> bool:
        """False only when the zone is certainly empty; Z3's `unknown` keeps the branch (and is recorded, so
        verdicts that depend on it are reported as unknown, never as holds or fails on a guess)."""
        verdict = self.solver.check(zone)  # difference zones are decided in Python (the DBM), others by Z3
        if verdict is Verdict.UNKNOWN:
            self.unknown.append(f"Z3 answered unknown on {zone}")
        return verdict is not Verdict.UNSAT

    def rename(self, clock: Clock, atoms: Mapping[Atom, Atom]) -> Clock | None:
        """The clock with values renamed (a symmetry of the scenario swapped the sessions that created them),
        or None when a zone variable names a compound term that mentions one of them (then nothing is swapped)."""
        names = {value_var(a): value_var(b) for a, b in atoms.items()}
        for n in clock.zone.variables() | clock.expired:
            if n not in names and ":" not in n and any(old in n for old in names):
                return None
        key = (clock.zone, tuple(sorted(names.items())))
        zone = self._renamed.get(key)
        if zone is None:  # memoised: session symmetry renames the same few zones again and again
            if len(self._renamed) > 200_000:
                self._renamed.clear()
            zone = self._renamed[key] = clock.zone.rename(names)
        caches = frozenset((agent, _renamed(t, atoms)) for agent, t in clock.caches)
        expired = frozenset(names.get(n, n) for n in clock.expired)
        return replace(clock, zone=zone, caches=caches, expired=expired)

    def settle(self, clock: Clock, state_terms: Iterable[Any], idle: frozenset[Atom] = frozenset()) -> Clock:
        """Let time pass and forget what no guard will read again: values the state no longer mentions, the pace
        marks and last accepted values of `idle` agents (they never step again), pace marks every clock is
        already `pace` past, and values older than the `horizon` of every guard (`expired`). Each is an exact
        projection: nothing later can tell the settled zone from the one before."""
        values = {n for n in clock.zone.variables() if ":" not in n} | clock.expired
        unseen = values - {value_var(t) for _a, t in clock.caches}
        for t in state_terms:  # read lazily: usually the first terms already mention every value
            if not unseen:
                break
            unseen -= self._value_names(t)
        values -= unseen
        marks = frozenset(f"mark:{a.name}" for a in idle)
        lasts = tuple(sorted(f"last:{a.name}:" for a in idle))
        key = (clock.zone, frozenset(values), marks)
        found = self._settled.get(key)
        if found is None:
            if len(self._settled) > 200_000:
                self._settled.clear()
            zone = clock.zone
            keep = {n for n in zone.variables()
                    if ":" in n and n not in marks and not n.startswith(("snap:", *lasts))} | values
            keep |= {n for c in zone.general for n in c.variables() if n.startswith("snap:")}
            clocks = {self.clock_var(a) for a in self.honest}
            zone = _elapse(zone, clocks, zone.variables() - keep)
            found = self._settled[key] = self._past(zone, clocks)
        zone, expired = found
        return replace(clock, zone=zone, expired=(clock.expired & values) | expired)

    def _past(self, zone: ConstraintSet, clocks: set[str]) -> tuple[ConstraintSet, frozenset[str]]:
        """The zone without the pace marks and values no guard can tell apart any more, and the expired values.

        A mark whose agent's clock is at least `pace` past it in every valuation stays so (clocks only rise):
        its agent's next pace guard holds whatever the mark, and that step sets a new one. A value older than
        the `horizon` by every clock stays so too, and every guard that may read it (`window_horizon`: a window
        `now - v` against a constant no larger than the horizon) then has the same answer in every valuation.
        Dropping them merges zones that differ only in how long ago something happened, which is most of the
        zones a timed search makes (the timed-automata extrapolation, restricted to where it is exact)."""
        kept = zone.variables()
        gone = {f"mark:{a.name}" for a in self.honest if f"mark:{a.name}" in kept
                and zone.bound(f"mark:{a.name}", self.clock_var(a)) <= -self.pace}
        expired: frozenset[str] = frozenset()
        if self.horizon is not None and not zone.is_false:
            general = {n for c in zone.general for n in c.variables()}
            expired = frozenset(n for n in kept if ":" not in n and n not in general
                                and all(zone.bound(n, c) < -self.horizon for c in clocks))
        return (_forget(zone, gone | expired, {}) if gone or expired else zone), expired

    def _value_names(self, t: Any) -> frozenset[str]:
        """Variables a state component mentions: every numeric atom inside, and the term itself (an untyped
        slot value used as a number). Knowledge objects and terms are cached (pure function of the key)."""
        found = self._names.get(t)
        if found is None:
            if len(self._names) > 200_000:
                self._names.clear()
            terms = getattr(t, "terms", None)
            if terms is not None:  # attacker knowledge
                acc: set[str] = set()
                for u in terms:
                    acc |= self._value_names(u)
                found = frozenset(acc)
            elif isinstance(t, (Atom, App)):
                found = frozenset({value_var(t)} | {value_var(s) for s in subterms(t)
                                                    if isinstance(s, Atom) and s.sort in NUMERIC_SORTS})
            else:
                found = frozenset()
            self._names[t] = found
        return found

    # ------------------------------------------------------------------ schedules for reports
    def schedule(self, system: Any, run: list[tuple[Any, Any, Any]],
                 fixed: Mapping[Atom, int] | None = None) -> Schedule | NoSchedule:
        """Solve the unabbreviated constraints of a replayed run and check the witness in plain Python;
        `fixed` pins clock offsets (the stuck run of a failed `executable`)."""
        cons: list[Constraint] = []
        per_step: list[list[tuple[Effect, list[Constraint]]]] = []
        offsets = {a: f"off:{a.name}" for a in self.honest}
        # An offset that is pinned (skew 0, or `fixed`) enters each clock reading as a number: the readings are
        # then differences, which the DBM solves without Z3 (the usual case: synchronised clocks).
        pinned = {a: 0 for a in self.honest} if not self.skew else {}
        pinned.update(fixed or {})
        for a in self.honest:
            cons += [le(offsets[a], self.skew), ge(offsets[a], -self.skew)]
            if a in pinned:
                cons.append(eq(offsets[a], pinned[a]))
        version: dict[str, str] = {}
        last_step: dict[Atom, int] = {}
        readings: list[tuple[Atom, str] | None] = []
        for k in range(1, len(run)):
            before, action = run[k - 1][0], run[k][1]
            t = f"t@{k}"
            if k > 1:
                cons.append(ge(t, f"t@{k - 1}"))
            here: list[tuple[Effect, list[Constraint]]] = []
            per_step.append(here)
            step = system.timed_step(before, action)
            if step is None:
                readings.append(None)
                continue
            agent, spec, b, cached, clock_before = step
            readings.append((agent, f"now:{agent.name}@{k}"))
            if self.pace and agent in last_step:
                cons.append(ge(var(t) - var(f"t@{last_step[agent]}"), self.pace))
            last_step[agent] = k
            reading = f"now:{agent.name}@{k}"
            offset = pinned[agent] if agent in pinned else var(offsets[agent]) if agent in offsets else 0
            cons.append(eq(reading, var(t) + offset))
            found = self.effects(clock_before, agent, spec, b, cached)
            if found is None:
                return NoSchedule("the replayed run is refused by a replay cache (an engine bug)")
            renames: dict[str, Lin] = {NOW: var(reading)}
            for e in found[0]:
                concrete = []
                for c in e.constraints:
                    for n in c.variables():
                        if n.startswith("@last:"):
                            renames[n] = var(version[n[6:]])
                        elif n.startswith("@new:"):
                            renames[n] = var(f"{n[5:]}@{k}")
                    concrete.append(_subst(c, renames))
                for con in e.constraints:
                    for v in con.variables():
                        if v.startswith("@new:"):
                            version[v[5:]] = f"{v[5:]}@{k}"
                cons += concrete
                here.append((e, concrete))
        full = ConstraintSet(cons)
        if len(run) > 1 and self.solver.check(full.add(ge("t@1", 0))) is Verdict.SAT:
            full = full.add(ge("t@1", 0))  # readable: the run starts at time 0 (any start works unless a
            cons.append(ge("t@1", 0))      # guard compares a clock with a fixed number)
        verdict = self.solver.check(full)
        if verdict is Verdict.UNKNOWN:
            return NoSchedule("Z3 answered unknown on the run's time constraints (timeout)")
        if verdict is Verdict.UNSAT:
            return NoSchedule("the run found by the search has no schedule (zone and replay disagree: an "
                              "engine bug, so it is not reported)")
        try:
            witness = self.solver.model(full)
        except SolverError as err:
            return NoSchedule(f"the solver's witness failed the Python check: {err}")
        if witness is None:
            return NoSchedule("Z3 found no concrete schedule in time")
        if not all(c.holds(witness) for c in cons):
            return NoSchedule("the solver's witness violates a constraint of the run in the Python check")
        times = tuple(witness.get(f"t@{k}", 0) for k in range(1, len(run)))
        notes = tuple(_notes(here, witness, reading) for here, reading in zip(per_step, readings))
        return Schedule(times, notes, witness, tuple(cons))

    # ------------------------------------------------------------------ executability for every skew
    def robust_executable(self, honest_system: Any, completed: Callable[[Any], bool], bounds: Any) -> Robust:
        """Whether an honest session completes *whatever the clock offsets within the skew* (the clocks are
        not the protocol's to choose): explore the honest system (the one explorer, the user's bounds), project
        every completed state's zone onto clock differences, and check with the DBM that these cover every
        admissible offset vector. On failure, the deepest honest run possible with offsets outside the cover is
        the counterexample."""
        from checker.engine.explorer import Explorer

        clocks = {self.clock_var(a) for a in self.honest}
        box = ConstraintSet(self.skew_constraints())
        if self._covered(honest_system, completed, bounds, clocks, box):
            how = "whatever the clock offsets within the skew" if self.skew and len(self.honest) > 1 else \
                "with synchronised clocks"
            return Robust(True, f"an honest session completes without the attacker, {how}")
        seen: list[tuple[bool, ConstraintSet]] = []  # per state id (discovery order): completed, differences

        def record(state: Any) -> bool:
            done = completed(state)
            seen.append((done, _differences(state.clock.zone, clocks)))
            return done

        probes: list[Any] = [_Label("executable", record)]  # a labelling property, judged here, not by analysis
        result = Explorer(honest_system, probes, bounds).run()
        if not result.complete:
            return Robust(None, f"no verdict: the honest system was not explored completely "
                                f"({result.stop_reason or 'depth bound'})")
        pieces = list(dict.fromkeys(d for done, d in seen if done))
        hole = _uncovered(box, [tuple(p) for p in pieces])
        if hole is None:
            raise AssertionError("the graph search covers the offsets the first search did not")  # unreachable
        readings = self.solver.model(hole, sorted(clocks)) or {}
        base = max(readings.values(), default=0) - self.skew
        offsets = {a: readings.get(self.clock_var(a), 0) - base for a in self.honest}
        stuck = max(sid for sid, (_done, d) in enumerate(seen) if not hole.conjoin(d).is_false)
        assert result.graph is not None
        found = result.graph.path_to(stuck)
        path = (found.initial, found.actions)
        if not pieces:
            return Robust(False, f"no session can complete even without an attacker (all {len(seen):,} honest "
                                 f"states explored): a time check refuses every schedule, so every goal would "
                                 f"hold vacuously", path, offsets)
        offs = ", ".join(f"{a} {v:+d}" for a, v in offsets.items())
        return Robust(False, f"no honest session can complete when the clocks are off by {offs} (skew "
                             f"{self.skew}): a time check refuses the honest messages", path, offsets)


    def _covered(self, honest_system: Any, completed: Callable[[Any], bool], bounds: Any, clocks: set[str],
                 box: ConstraintSet) -> bool:
        """Whether the completed honest states cover every admissible offset vector, searching depth-first only
        until they do (with synchronised clocks: until the first session completes) and without keeping the
        graph; only a failure needs the graph search of `robust_executable`, for its counterexample. False
        when the search ended, on a bound or not, before they did."""
        from checker.engine.probe import reaches

        pieces: dict[tuple[Constraint, ...], None] = {}

        def covers(state: Any) -> bool:
            if not completed(state):
                return False
            piece = tuple(_differences(state.clock.zone, clocks))
            if piece in pieces:
                return False
            pieces[piece] = None
            return _uncovered(box, list(pieces)) is None

        return reaches(honest_system, covers, bounds).depth is not None


@record
class _Label:
    """A property that only labels every state (graph mode): how `robust_executable` reads each state's zone
    in discovery order, which is the order of the graph's state ids."""

    name: str
    pred: Callable[[Any], bool]
    text: str = "executable"

    def hooks(self, system: Any) -> Any:
        from checker.engine.properties import Hooks
        return Hooks(labels=(self.pred,), needs_graph=True)


@record
class Robust:
    """The answer of `Timing.robust_executable`: the verdict (None: bound hit), why, and on failure the
    deepest honest run (initial index, successor indices) with the clock offsets under which it is stuck."""

    ok: bool | None
    why: str
    path: tuple[int, tuple[int, ...]] | None = None
    offsets: Mapping[Atom, int] | None = None


# ---------------------------------------------------------------------------------------------------------------
# helpers


def window_horizon(steps: Iterable[StepTiming | None]) -> int | None:
    """How old a value must be for every guard of the protocol to answer alike whatever else holds: the largest
    constant of its guards when each is a window `+-(now - v) + c <= 0` (or `== 0`) on one value, and no step
    checks that values increase; None otherwise (a guard relating two values, or a multiple of one, would
    tell apart values of any age, so none expires). Past the horizon, `now - v <= c` is false and
    `now - v >= c` true for ever, since clocks only rise."""
    horizon = 0
    for spec in steps:
        if spec is None:
            continue
        if spec.increasing:
            return None
        for chk in spec.checks:
            coeffs = dict(chk.terms)
            if len(chk.terms) != 2 or len(coeffs) != 2 or "now" not in coeffs or abs(coeffs["now"]) != 1 \
                    or sum(coeffs.values()) != 0:
                return None
            horizon = max(horizon, abs(chk.const))
    return horizon


def _expired_guard_holds(c: Constraint) -> bool:
    """The answer of a window guard on an expired value (see `window_horizon`): `-(now - v) + c <= 0` holds,
    `now - v + c <= 0` and every equation fail."""
    return c.op == "<=" and any(k > 0 for n, k in c.lhs.terms if n != NOW)


def _renamed(t: Term, atoms: Mapping[Atom, Atom]) -> Term:
    if isinstance(t, Atom):
        return atoms.get(t, t)
    return App(t.op, tuple(_renamed(a, atoms) for a in t.args))  # type: ignore[arg-type]


def _subst(c: Constraint, mapping: Mapping[str, Lin]) -> Constraint:
    """`c` with variables replaced by linear expressions."""
    lhs = Lin((), c.lhs.const)
    for n, k in c.lhs.terms:
        lhs = lhs + (mapping[n] * k if n in mapping else Lin(((n, k),)))
    return Constraint(lhs, c.op)


def _fresh_name(prefix: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    k = 1
    while f"{prefix}:{k}" in taken:
        k += 1
    return f"{prefix}:{k}"


def _forget(zone: ConstraintSet, names: set[str], renames: Mapping[str, str]) -> ConstraintSet:
    """Existentially eliminate `names`, then rename variables (`new:K` to `K`, K among `names`, so the renaming
    is injective). On a closed difference zone eliminating is dropping rows of the matrix (see `project`)."""
    return zone.project(zone.variables() - names).rename(renames)


def _elapse(zone: ConstraintSet, clocks: set[str], forget: set[str] | frozenset[str] = frozenset()) -> ConstraintSet:
    """Let any amount of time pass (and forget `forget`): drop every upper bound of a clock relative to a
    constant (or 0), keep clock-clock differences and lower bounds. On a closed difference zone this is the
    timed-automata `up` operator and keeps it closed (a dropped bound x - c could only have been the sum of
    bounds through another clock-to-constant edge, dropped too), so forgetting by dropping stays exact.
    General constraints never mention a clock (guards are snapshotted)."""
    if zone.is_false:
        return zone
    if forget:
        zone = _forget(zone, set(forget), {})
    return zone.release(clocks)


def _differences(zone: ConstraintSet, clocks: set[str]) -> ConstraintSet:
    """The clock-difference constraints of a zone projected onto its clocks: the offsets it allows (the zone
    is closed under time passing, so bounds relative to 0 do not restrict offsets)."""
    proj = zone.project(clocks)
    return ConstraintSet(c for c in proj if len(c.variables()) == 2 and c.variables() <= clocks)


def _uncovered(box: ConstraintSet, pieces: list[tuple[Constraint, ...]]) -> ConstraintSet | None:
    """A non-empty part of `box` outside every piece (each a conjunction), or None if they cover it.
    Branches on which constraint of each piece fails; all difference constraints, so the DBM decides."""
    if box.is_false:
        return None
    if not pieces:
        return box
    first, rest = pieces[0], pieces[1:]
    if not first:
        return None
    for c in first:
        for alt in c.negate():
            found = _uncovered(box.add(alt), rest)
            if found is not None:
                return found
    return None


def _notes(here: list[tuple[Effect, list[Constraint]]], w: Mapping[str, int],
           reading: tuple[Atom, str] | None) -> str | None:
    """The note of one step: values read or counted, then each guard with the witness's numbers (guards that
    came from one line, such as the two sides of `within`, are shown together)."""
    parts: list[str] = []
    checks: dict[str, list[str]] = {}
    for e, cons in here:
        if e.value is not None:
            parts.append(f"{e.value} = {w.get(e.value, '?')} ({e.text})")
        elif e.kind == "cache":
            parts.append(e.text)
        else:
            shown = cons[:1] if e.kind == "increasing" else cons
            checks.setdefault(e.text, []).extend(explain(c, w) for c in shown if c.variables())
    if checks and reading is not None:
        agent, now = reading
        parts.append(f"{agent}'s clock reads {w.get(now, '?')}")
    parts += [f"accepted since {text}: {' and '.join(values)}" for text, values in checks.items()]
    return "; ".join(parts) or None
