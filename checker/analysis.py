"""The whole pipeline in one function: `analyze(path, options) -> Analysis`.

The CLI, the tests, the benchmarks and the report all go through here, so every consumer sees the same
verdicts. This module and checker/cli.py are the composition roots: the only checker modules that import
the front end (dsl/).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Any, Callable

from dsl.ast import NO_SPAN
from dsl.diagnostics import Diagnostic, ModelError, unknown_hint
from dsl.frontend import load_model

from checker.engine.explorer import Bounds, Exploration, Explorer, Stats
from checker.security.goals import Executable, Goal, goal_verdict
from checker.engine.measures import measure
from checker.process.network import CAPABILITIES
from checker.process.procsys import ModelRuntimeError
from checker.engine.properties import DeadlockFree, Invariant, MessagesPer, Property, Response
from checker.output.trace import Trace
from checker.output.tracebuild import build_trace

HOLDS, FAILS, UNKNOWN = "holds", "fails", "unknown"


@dataclass(frozen=True)
class Options:
    defines: dict[str, Any] = field(default_factory=dict)
    bounds: Bounds = Bounds()
    attacker: tuple[str, ...] | None = None  # overrides the model's capabilities; () means no attacker
    untyped: bool | None = None  # overrides the model's matching discipline
    only: tuple[str, ...] = ()  # check just these properties (all when empty)
    progress: Callable[[Stats], None] | None = None


@dataclass(frozen=True)
class Verdict:
    name: str
    text: str
    status: str  # holds | fails | unknown
    reason: str
    trace: Trace | None = None
    value: str | None = None  # measured figure, for message statistics


@dataclass(frozen=True)
class AttackerSummary:
    """The attacker a model was checked against, as data (the JSON's `attacker`): its capabilities in the
    seeds' order, the bound on its injections (None: unbounded) and whether matching is typed (None for
    process models, whose messages are typed by their declarations)."""

    capabilities: tuple[str, ...]
    limit: int | None = None
    typed: bool | None = None


@dataclass(frozen=True)
class Analysis:
    path: str
    model: str
    network: str
    verdicts: tuple[Verdict, ...]
    stats: Stats
    complete: bool
    stop_reason: str | None
    solver: dict[str, Any] | None = None  # Z3 / constraint statistics of timed protocols (checker/timed/timing.py)
    attacker: AttackerSummary | None = None

    @property
    def exit_code(self) -> int:
        """0 all hold, 1 a property fails, 3 a bound was hit (or a verdict is otherwise inconclusive)."""
        if any(v.status == FAILS for v in self.verdicts):
            return 1
        if any(v.status == UNKNOWN for v in self.verdicts) or not self.complete:
            return 3
        return 0


def analyze(path: str, options: Options = Options()) -> Analysis:
    """Parse, check, explore and judge one model file. Raises ModelError for bad input."""
    system, props = load_model(path, options.defines, options.attacker, options.untyped)
    if options.only:
        unknown = sorted(set(options.only) - {p.name for p in props})
        if unknown:
            raise ModelError([Diagnostic("E404", f"-p {unknown[0]}: the model has no property {unknown[0]}", NO_SPAN,
                                         hint=unknown_hint(unknown[0], (p.name for p in props), "properties"))])
        props = tuple(p for p in props if p.name in options.only)
    explorer = Explorer(system, [p for p in props if not isinstance(p, Executable)], options.bounds,
                        options.progress)
    try:
        result = explorer.run()
        index = _graph_index(result) if any(isinstance(p, Response) for p in props) else None
        verdicts = tuple(_with_formula(_judge(system, p, result, index)) for p in props)
    except ModelRuntimeError as err:
        raise ModelError([Diagnostic("E405", f"the model failed while running: {err}", err.span or NO_SPAN,
                                     hint="guard the statement so the failing case cannot happen")]) from None
    timing = getattr(system, "timing", None)
    return Analysis(path, system.name, system.network.name, verdicts, result.stats, result.complete,
                    result.stop_reason, timing.statistics() if timing is not None else None, _attacker_of(system))


def _attacker_of(system: Any) -> AttackerSummary | None:
    """The attacker of a security protocol (`system.attacker`) or of a process model's network."""
    attacker = getattr(system, "attacker", None)
    if attacker is not None and hasattr(attacker, "capabilities"):
        caps, limit, typed = attacker.capabilities, getattr(attacker, "limit", None), attacker.typed
    else:
        network = getattr(system, "network", None)
        caps, limit, typed = getattr(network, "attacker", frozenset()), getattr(network, "limit", None), None
        if not caps:
            return None
    ordered = tuple(c for c in CAPABILITIES if c in caps) + tuple(sorted(set(caps) - set(CAPABILITIES)))
    return AttackerSummary(ordered, limit, typed)


def _with_formula(verdict: Verdict) -> Verdict:
    """The verdict with its property's formula also on its trace, so that charts can name it."""
    if verdict.trace is None:
        return verdict
    return replace(verdict, trace=replace(verdict.trace, formula=verdict.text))


def _graph_index(result: Exploration) -> Any:
    """The liveness index of a complete graph; imported here because networkx is slow to load and only
    liveness needs it."""
    if result.graph is None or not result.complete:
        return None
    from checker.engine.liveness import GraphIndex
    return GraphIndex(result.graph)


def _judge(system: Any, prop: Property, result: Exploration, index: Any) -> Verdict:
    if isinstance(prop, (Goal, Executable)):
        status, reason, trace = goal_verdict(system, prop, result)
        return Verdict(prop.name, prop.text, status, reason, trace)
    bound_note = f"no violation found before the search stopped ({result.stop_reason})" if result.stop_reason \
        else "no violation found within the depth bound"
    if isinstance(prop, (Invariant, DeadlockFree)):
        found = result.found.get(prop.name)
        if found is not None:
            if isinstance(prop, DeadlockFree):
                reason = "in the last state no process can take a step and not every process is in a final state"
            else:
                where = f" (for {found.case})" if found.case else ""
                reason = f"{prop.text} is false in the last state{where}"
            trace = build_trace(system, found.path, system.name, prop.name, reason)
            return Verdict(prop.name, prop.text, FAILS, reason, trace)
        if result.complete:
            return Verdict(prop.name, prop.text, HOLDS, f"holds in all {result.stats.states:,} reachable states")
        return Verdict(prop.name, prop.text, UNKNOWN, bound_note)
    if not result.complete or result.graph is None:
        return Verdict(prop.name, prop.text, UNKNOWN,
                       "needs the complete state graph, but exploration stopped: " + (result.stop_reason or
                                                                                     "depth bound"))
    if isinstance(prop, Response):
        for k in range(len(prop.cases)):
            from checker.engine.liveness import check_response
            lasso = check_response(prop, k, index)
            if lasso is not None:
                where = f" ({lasso.case})" if lasso.case else ""
                ending = ("then the run reaches a state where no step is enabled" if lasso.loop_start is None
                          else f"the steps from {lasso.loop_start + 1} on repeat forever, fair to every process")
                if prop.from_init:
                    reason = f"{prop.q_text} never holds on this run{where}: {ending}"
                else:
                    after = f"after step {lasso.trigger}" if lasso.trigger else "in the initial state"
                    reason = (f"{prop.p_text} holds {after}{where}, but {prop.q_text} never holds afterwards: "
                              f"{ending}")
                trace = build_trace(system, lasso.path, system.name, prop.name, reason, lasso.loop_start)
                return Verdict(prop.name, prop.text, FAILS, reason, trace)
        return Verdict(prop.name, prop.text, HOLDS, "holds on every weakly fair run")
    assert isinstance(prop, MessagesPer)
    m = measure(prop, result.measures.index(prop), result.graph)
    if m.low is None:
        return Verdict(prop.name, prop.text, UNKNOWN, m.note)
    value = f"{_num(m.low)}" if m.low == m.high else f"{_num(m.low)}..{_num(m.high)}"
    figure = f"{value} messages per entry into {prop.family}.{prop.state} ({m.note})"
    if prop.holds_for(m.low) and prop.holds_for(m.high):
        return Verdict(prop.name, prop.text, HOLDS, figure, value=value)
    trace = build_trace(system, m.witness, system.name, prop.name, figure) if m.witness else None
    return Verdict(prop.name, prop.text, FAILS, figure, trace, value=value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def model_name(path: str) -> str:
    return FsPath(path).stem
