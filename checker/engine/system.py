"""The one interface between the search and what is searched.

Process models (checker/process/procsys.py) and security protocols (checker/security/secsys.py) both
implement `TransitionSystem`; the explorer, the replay of counterexamples and every property checker see
nothing else. Traces additionally need `TraceSource` (checker/output/tracebuild.py).

Contract, in words, because the soundness of every verdict rests on it:
  * `successors(state)` is a pure function of the state and returns the same list, in the same order, every
    time it is called (counterexamples are stored as successor indices and rebuilt by replay);
  * `fingerprint(state)` is a 64-bit digest of a canonical byte encoding of the state: equal states have equal
    fingerprints in every process and under every PYTHONHASHSEED (never Python's `hash()`);
  * `exact_key(state)` is a hashable value that is equal for two states exactly when the states are equal
    (`--exact` stores it instead of the fingerprint, so no collision can hide a state);
  * an action's `owner` is the process whose weak-fairness obligation the step discharges (-1 for steps of the
    environment: the attacker, losses, crashes) and `sent` the number of messages it sends.
"""
from __future__ import annotations

from typing import Any, Hashable, Protocol, Sequence, runtime_checkable

from checker.records import record

State = Any  # each system has its own state type; the engine treats states as opaque, hashable values


class Action(Protocol):
    """What the explorer reads of an action; systems add their own fields (kind, which message, ...)."""

    @property
    def owner(self) -> int: ...

    @property
    def sent(self) -> int: ...


class TransitionSystem(Protocol):
    """A finite-branching transition system with deterministic successor order (see the module doc)."""

    name: str

    def initial_states(self) -> Sequence[State]: ...

    def successors(self, state: State) -> Sequence[tuple[Action, State]]: ...

    def is_valid_end(self, state: State) -> bool:
        """A state without successors that is not a deadlock (every process final or crashed)."""
        ...

    def fingerprint(self, state: State) -> int: ...

    def exact_key(self, state: State) -> Hashable: ...


@runtime_checkable
class Reducible(Protocol):
    """Optional: a system that can offer a partial-order-reduced subset of a state's successors.

    `ample(state, visible)` returns a non-empty proper subset of `successors(state)` that satisfies the
    ample-set conditions C0-C2 (non-empty, persistent, and no step changes anything in `visible`, what the
    properties read), each with its index in the full list, or None when the state must be fully expanded. The
    explorer adds the cycle proviso C3 (see checker/engine/explorer.py), which needs the store."""

    def ample(self, state: State, visible: frozenset[Any]) -> Sequence[tuple[int, Action, State]] | None: ...


@runtime_checkable
class Focusing(Protocol):
    """Optional: a system that can stop keeping apart states that differ only in what decided properties read.

    The explorer calls `forget(decided)` whenever properties get their verdicts during a search, and
    `forget(frozenset())` when the search ends. It may change what the states hold for the properties in
    `decided`, never the number or order of a state's successors: a path found earlier is replayed by its
    successor indices."""

    def forget(self, decided: frozenset[str]) -> None: ...


@runtime_checkable
class Subsuming(Protocol):
    """Optional: a system whose states are a discrete part and a zone (a set of valuations of clocks and
    values) and whose successors grow with the zone: every run from (d, Z) is a run from (d, Z') when Z is
    included in Z' (so are the zone operations of timed automata: conjunction, projection, letting time pass).

    `split(state, exact)` gives the key of the state's discrete part, its zone (which has `includes(other)`)
    and the key of the whole state (fingerprints, or with `exact` the part and the state themselves: the same
    as `fingerprint` and `exact_key`, made together because they share most of the work); None for a state
    without a zone. A system's states all have a zone or none (the explorer asks its initial states, so that
    an untimed search pays nothing for the check). The explorer need not expand a state whose zone is included in that of a state with the
    same discrete part it already found: the state reaches nothing the other does not (UPPAAL's inclusion
    check). Properties read the discrete part."""

    def split(self, state: State, exact: bool) -> tuple[Hashable, Any, Hashable] | None: ...


class ModelFault(Exception):
    """A model did something undefined while running (an index out of range, `min` of an empty set, a key not
    in a map): an error in the model, reported with the run that leads to it, not a verdict."""

    def __init__(self, message: str, span: Any = None):
        super().__init__(message)
        self.span = span


@record
class StepInfo:
    """What one action did, for traces: who, what, which messages moved. Built by `TraceSource.describe`."""

    actor: int  # lane index, or -1 for the network / attacker
    kind: str  # internal | send | receive | crash | lose | drop
    text: str
    sent: tuple[tuple[int, int, Any], ...]  # (src lane, dst lane, message)
    received: tuple[int, int, Any] | None  # (src, dst, msg)
    lost: tuple[int, int, Any] | None
    # Attacker steps. `capability` names it (a drop has kind `drop`); for a message the attacker hands the
    # actor, `injected` is (claimed src, dst, msg), `derivation` how it was built and `intercepted` the
    # in-flight message it replaced (modify). `note` is the engine's explanation.
    capability: str | None = None
    injected: tuple[int, int, Any] | None = None
    derivation: str | None = None
    intercepted: tuple[int, int, Any] | None = None
    note: str | None = None
    # Systems with role instances (RunSource): the index, in `run_info`, of the run that took the step, and
    # the narration number of each message in `sent` (so a message nobody received can point at a run whose
    # role receives that number).
    run: int | None = None
    numbers: tuple[int, ...] = ()


@record
class RunInfo:
    """One role instance, a "run" in Scyther's words, as the charts head its lane: which agent plays which
    role in which run, and whom it believes it talks to (`partners`: (role, agent) pairs, the agent None
    while the run does not know it yet). `chosen` names the partner roles the run picked itself when it
    started (an initiator "talking to eve"); the others it learnt from messages ("believes alice"). A
    `server` run plays a role its agent is dedicated to (a key server), drawn after the other agents.
    `receives` are the narration numbers of the messages its role receives."""

    agent: str
    role: str
    number: int
    partners: tuple[tuple[str, str | None], ...] = ()
    chosen: tuple[str, ...] = ()
    server: bool = False
    receives: tuple[int, ...] = ()


@record
class ClaimInfo:
    """The claim a violated goal makes, for the red box of a chart: its words (`secret(Na)`, `B agrees with A
    on Na, Nb`) and the run that makes it (None: the run of the trace's last step, a failing commit)."""

    text: str
    run: int | None = None


@runtime_checkable
class RunSource(Protocol):
    """Optional, for systems made of role instances (security protocols): what the charts need to give each
    run its own lane. Traces of systems without it have one lane per process (`TraceSource.lanes`)."""

    def run_info(self, state: State) -> tuple[RunInfo, ...]:
        """Every run as it stands in `state`, indexed as `StepInfo.run`."""
        ...

    def attacker_names(self) -> tuple[str, ...]:
        """The compromised agents: the attacker acts under their names, so their lanes are the attacker's."""
        ...

    def claim(self, prop: str, state: State) -> ClaimInfo | None:
        """The claim of goal `prop` that fails in `state`, or None when `prop` is not a goal of this system."""
        ...


class TraceSource(Protocol):
    """What checker/output/tracebuild.py needs to turn a replayed run into a `Trace`."""

    name: str

    def describe(self, state: State, action: Action) -> StepInfo: ...

    def lane(self, g: int) -> str: ...

    def lanes(self) -> tuple[str, ...]: ...

    def render_message(self, msg: Any) -> str: ...

    def changes(self, before: State, after: State, g: int) -> list[tuple[str, str, str]]: ...

    def initial_values(self, state: State, g: int) -> list[tuple[str, str]]: ...
