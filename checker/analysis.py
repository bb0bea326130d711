"""The whole pipeline in one function: `analyze(path, options) -> Analysis`.

The CLI, the tests, the benchmarks and the report all go through here, so every consumer sees the same
verdicts. This module and checker/cli.py are the composition roots: the only checker modules that import
the front end (dsl/).

Everything, compilation included, runs inside one `Budget`, so `--timeout` and `--max-memory` bound the whole
run. Every failure is replayed and re-checked by its property (`Property.confirm`) before it becomes a
verdict: a counterexample that does not replay is a bug in wolf (`CounterexampleMismatch`), never a verdict.
"""
from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any, Callable

from dsl.ast import NO_SPAN
from dsl.diagnostics import Diagnostic, ModelError, unknown_hint
from dsl.frontend import load_model
from dsl.limits import SizeLimits

from checker.engine.budget import BoundHit, Bounds, Budget
from checker.engine.explorer import Explorer, SearchOptions
from checker.engine.properties import FAILS, HOLDS, UNKNOWN, Judgement, Property, Run
from checker.engine.run import Exploration, Path, StateError, Stats, replay
from checker.process.capabilities import CAPABILITIES
from checker.output.trace import Trace
from checker.output.tracebuild import build_trace
from checker.records import field, record, replace

__all__ = ["FAILS", "HOLDS", "UNKNOWN", "Analysis", "Options", "Verdict", "analyze"]


class CounterexampleMismatch(Exception):
    """The search reported a violation that its replayed run does not show: a bug in wolf, never a verdict."""


@record
class Options:
    """How to check a model: what the command line can override, the bounds, and where progress and
    warnings go."""

    defines: dict[str, Any] = field(default_factory=dict)
    bounds: Bounds = Bounds()
    attacker: tuple[str, ...] | None = None  # overrides the model's capabilities; () means no attacker
    untyped: bool | None = None  # overrides the model's matching discipline
    only: tuple[str, ...] = ()  # check just these properties (all when empty)
    progress: Callable[[Stats], None] | None = None
    exact: bool = False  # store whole states instead of fingerprints
    reduce: bool = True  # partial-order and symmetry reduction where the model allows them
    attacker_limit: int | None = None  # process models: overrides `attacker limit K` (injected messages per run)
    notice: Callable[[str], None] | None = None  # receives warnings about the model that do not stop the run


@record
class Verdict:
    """One property's verdict, with the reason in words and, for a failure, the replayed counterexample."""

    name: str
    text: str
    status: str  # holds | fails | unknown
    reason: str
    trace: Trace | None = None
    value: str | None = None  # measured figure, for message statistics


@record
class AttackerSummary:
    """The attacker a model was checked against, as data (the JSON's `attacker`): its capabilities in the
    seeds' order, the bound on its injections (None: unbounded) and whether matching is typed (None for
    process models, whose messages are typed by their declarations)."""

    capabilities: tuple[str, ...]
    limit: int | None = None
    typed: bool | None = None


@record
class Analysis:
    """Everything `analyze` found out about one model file, as the text and JSON outputs show it."""

    path: str
    model: str
    network: str
    verdicts: tuple[Verdict, ...]
    stats: Stats
    complete: bool
    stop_reason: str | None
    solver: dict[str, Any] | None = None  # Z3 / constraint statistics of timed protocols (checker/timed/timing.py)
    settled: bool = False  # the search stopped early because every property already had its verdict
    reduction: str = ""  # a reduction of the state space beyond partial order (symmetry), in words
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
    """Parse, check, explore and judge one model file. Raises ModelError for bad input (a model that fails
    while running carries the run that leads there)."""
    with Budget(options.bounds) as budget:
        try:
            system, props = load_model(path, options.defines, options.attacker, options.untyped,
                                       limits=SizeLimits.for_memory(options.bounds.max_memory),
                                       attacker_limit=options.attacker_limit, notice=options.notice)
        except BoundHit as hit:
            return Analysis(path, model_name(path), "", (), Stats(seconds=budget.elapsed), False,
                            f"{hit.reason} while compiling the model")
        result: Exploration | None = None
        explorer: Explorer | None = None
        verdicts: list[Verdict] = []
        try:
            props = _selected(props, options.only)
            searched = _symmetric(system, props, options)
            search = SearchOptions(exact=options.exact, reduce=options.reduce)
            explorer = Explorer(searched, props, options.bounds, options.progress, options=search, budget=budget)
            result = explorer.run()
            if result.reduced and result.found:
                _shortest_violations(searched, props, options, budget, result)
            run = Run(searched, result, options.bounds)
            for p in props:
                verdicts.append(_verdict(p, run))
        except StateError as err:
            raise _runtime_error(searched, err) from None
        except BoundHit as hit:
            # After a bound the clock strikes again every AFTERMATH seconds, anywhere: while the search winds up,
            # while shorter paths are sought, while judging (a liveness analysis, a schedule). No verdict then.
            if result is None:
                unknown = tuple(Verdict(p.name, p.text, UNKNOWN, f"not decided: {hit.reason}") for p in props)
                stats = getattr(explorer, "stats", None) or Stats(seconds=budget.elapsed)
                return Analysis(path, system.name, system.network.name, unknown, stats, False, hit.reason,
                                attacker=_attacker_of(system))
            verdicts += [Verdict(p.name, p.text, UNKNOWN, f"not decided: {hit.reason} while judging")
                         for p in props[len(verdicts):]]
            result.stop_reason = result.stop_reason or hit.reason
    timing = getattr(system, "timing", None)
    reduction = f"symmetry reduction over the members of {searched.spec.family}" if searched is not system else ""
    return Analysis(path, system.name, system.network.name, tuple(verdicts), result.stats, result.complete,
                    result.stop_reason, timing.statistics() if timing is not None else None, result.settled,
                    reduction, _attacker_of(system))


def _attacker_of(system: Any) -> AttackerSummary | None:
    """The attacker of a security protocol (its `capabilities` and `typed`) or of a process model's network."""
    if hasattr(system, "capabilities"):
        caps, limit, typed = system.capabilities, None, system.typed
    else:
        network = getattr(system, "network", None)
        caps, limit, typed = getattr(network, "attacker", frozenset()), getattr(network, "limit", None), None
        if not caps:
            return None
    ordered = tuple(c for c in CAPABILITIES if c in caps) + tuple(sorted(set(caps) - set(CAPABILITIES)))
    return AttackerSummary(ordered, limit, typed)


def _shortest_violations(system: Any, props: tuple[Property, ...], options: Options, budget: Budget,
                         result: Exploration) -> None:
    """Partial-order reduction keeps every violation but not every shortest path to one: explore again without
    it, only as deep as the longest violation found, and keep the shorter paths. If a bound cuts this short,
    the (real, replayed) longer paths stay."""
    depth = max(len(f.path.actions) for f in result.found.values())
    failed = [p for p in props if p.name in result.found]
    bounds = Bounds(max_states=options.bounds.max_states, max_depth=depth)
    again = Explorer(system, failed, bounds, options=SearchOptions(exact=options.exact, reduce=False),
                     budget=budget).run()
    for name, found in again.found.items():
        if len(found.path.actions) < len(result.found[name].path.actions):
            result.found[name] = found


def _symmetric(system: Any, props: tuple[Property, ...], options: Options) -> Any:
    """The system to search: up to symmetry when the model allows it (only for safety properties: liveness
    and statistics need the whole graph)."""
    symmetric = getattr(system, "symmetric", None)
    if not options.reduce or symmetric is None or any(p.hooks(system).needs_graph for p in props):
        return system
    return symmetric() or system


def _real(system: Any, path: Path) -> tuple[Any, Path]:
    """A path found in a system searched up to symmetry, as a path of the original system."""
    real_path = getattr(system, "real_path", None)
    return (system.base, real_path(path)) if real_path is not None else (system, path)


def _selected(props: tuple[Property, ...], only: tuple[str, ...]) -> tuple[Property, ...]:
    if not only:
        return props
    unknown = sorted(set(only) - {p.name for p in props})
    if unknown:
        raise ModelError([Diagnostic("E404", f"-p {unknown[0]}: the model has no property {unknown[0]}", NO_SPAN,
                                     hint=unknown_hint(unknown[0], (p.name for p in props), "properties"))])
    return tuple(p for p in props if p.name in only)


def _verdict(prop: Property, run: Run) -> Verdict:
    """Judge one property; a failure is replayed, re-checked and turned into a trace."""
    judged: Judgement = prop.judge(run)
    trace = None
    if judged.status == FAILS and judged.path is not None:
        system, path = _real(judged.system if judged.system is not None else run.system, judged.path)
        states = [s for s, _a, _i in replay(system, path)]
        problem = prop.confirm(system, states, judged)
        if problem is not None:
            raise CounterexampleMismatch(f"property {prop.name}: the violation found by the search does not "
                                         f"replay: {problem}")
        trace = build_trace(system, path, system.name, prop.name, judged.reason, judged.loop_start,
                            schedule=judged.schedule)
        trace = replace(trace, formula=prop.text)  # so that charts can name it
    return Verdict(prop.name, prop.text, judged.status, judged.reason, trace, judged.value)


def _runtime_error(system: Any, err: StateError) -> ModelError:
    """E405 with the shortest run that reaches the state where the model failed."""
    cause = err.cause
    reason = f"the model failed while running: {cause}"
    system, path = _real(system, err.path)
    trace = build_trace(system, path, system.name, "runtime error", reason)
    diagnostic = Diagnostic("E405", reason, cause.span or NO_SPAN,
                            hint="guard the statement so the failing case cannot happen; the run below reaches "
                                 "the state where it fails")
    return ModelError([diagnostic], trace=trace)


def model_name(path: str) -> str:
    return FsPath(path).stem
