"""How a property meets the search: hooks the explorer calls, and a judgement made from the result.

The explorer knows no property kinds. Each kind (checker/engine/invariant.py, deadlock.py, liveness.py,
measures.py, checker/security/goals.py) is one module with a class that implements `Property`:
  * `hooks(system)` says what to evaluate during the search: a predicate on every new state (safety), a check
    on every expanded state with its successors (deadlock), per-state labels and per-edge marks kept in the
    reachable graph (liveness, statistics);
  * `judge(run)` turns the finished search into a `Judgement`: a status, the reason in words, and for a failure
    the path to replay;
  * `confirm(system, states, judgement)` re-checks a failure on the replayed states before anything is reported
    (an engine bug must never become a verdict).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from checker.engine.budget import Bounds
from checker.engine.run import Exploration, Path
from checker.records import field, record

HOLDS, FAILS, UNKNOWN = "holds", "fails", "unknown"

StatePredicate = Callable[[Any], bool]


@record
class Hooks:
    """What a property needs from the search. All optional; the explorer combines the hooks of all properties.

    `on_state(state)` returns the failing case's label ("" when there is one case) or None; `on_expand(state,
    successors)` likewise for a state whose successors were computed (always the full set); `on_step(state,
    action)` likewise for each transition (a goal broken by a step, not by a state: the path then ends with
    that step, whether or not its target was new). `labels` are
    predicates stored per state and `edge_mark` a predicate stored per edge, both only in graph mode, which
    `needs_graph` asks for. `needs_search` is False for a property decided without this search (it never keeps
    the search going). `reads` says what `on_state` looks at, in the system's terms (process models: (family,
    local slot) pairs); None means unknown, which rules out partial-order reduction.

    Three declarations let an explorer that works on whole batches of states (checker/engine/batch.py) evaluate a
    property natively: `cases`, when `on_state` is "the label of the first case whose predicate is false";
    `deadlock`, when `on_expand` is "stuck: no process step and not a valid end state"; `entry` (instances,
    control state), when `edge_mark` is "one of these instances steps into that control state".

    `confirm(path)`, when given, is asked about each failing case `on_state` or `on_step` finds: False means the
    case is spurious (a run of an over-approximating search that does not replay), and the search goes on
    looking for another; if none is confirmed, the first one is the property's case at the end (the property's
    `judge` then knows it was not confirmed)."""

    on_state: Callable[[Any], str | None] | None = None
    on_expand: Callable[[Any, Sequence[tuple[Any, Any]]], str | None] | None = None
    on_step: Callable[[Any, Any], str | None] | None = None
    labels: tuple[StatePredicate, ...] = ()
    edge_mark: Callable[[Any, Any, Any], bool] | None = None
    needs_graph: bool = False
    needs_search: bool = True
    reads: frozenset[Any] | None = None
    cases: tuple[tuple[str, StatePredicate], ...] = ()
    deadlock: bool = False
    entry: tuple[frozenset[int], int] | None = None
    confirm: Callable[[Any], bool] | None = None


@record
class Judgement:
    """A property's verdict on a finished search. For a failure, `path` is the run to show (replayed on
    `system` when that is not the explored system: `executable` runs the honest system), `loop_start` the step
    where a lasso's cycle starts and `trigger` the step after which its obligation is pending, `schedule` the
    times of a timed run, `value` a measured figure."""

    status: str
    reason: str
    path: Path | None = None
    loop_start: int | None = None
    trigger: int = 0
    value: str | None = None
    schedule: Sequence[tuple[str | None, str | None]] | None = None
    system: Any = None


@record(frozen=False)
class Run:
    """The context of judging: the explored system, the search result, the user's bounds, and a cache for
    analyses several properties share (the liveness graph index)."""

    system: Any
    exploration: Exploration
    bounds: Bounds
    shared: dict[str, Any] = field(default_factory=dict)

    def bound_note(self) -> str:
        """Why a property without a violation is not `holds`: the search did not finish."""
        stop = self.exploration.stop_reason
        return f"no violation found before the search stopped ({stop})" if stop \
            else "no violation found within the depth bound"


class Property(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def text(self) -> str: ...

    def hooks(self, system: Any) -> Hooks: ...

    def judge(self, run: Run) -> Judgement: ...

    def confirm(self, system: Any, states: list[Any], judgement: Judgement) -> str | None:
        """None when the replayed run really shows the failure; otherwise what is wrong with it."""
        ...
