"""The three searches of a security goal are successive over-approximations (checker/security/goals.py `judge`):
the search without levels, then levels with early receives floating (intruder.FLOAT), then the exact search. Each
must find every violation the next one finds, or a wrong "holds" would slip through the chain; on random
protocols (the oracle's generator, typed and untyped) and on a library model whose first violation does not replay.
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checker.analysis import HOLDS, Options, analyze
from checker.engine.budget import Bounds
from checker.engine.explorer import Explorer
from checker.security.goals import Goal
from checker.security.secsys import SecuritySystem
from dsl.diagnostics import ModelError
from dsl.frontend import load_model
from oracle import TooBig, brute_force
from test_oracle import SCENARIO, protocols

EXAMPLES = int(os.environ.get("WOLF_ORACLE_EXAMPLES", "12"))  # about 1 s each
ROOT = Path(__file__).resolve().parent.parent


def _found(system, goals: list[Goal]) -> set[str]:
    """The goals whose violation the search of `system` finds, each searched alone (as `judge` does)."""
    out = set()
    for g in goals:
        goal = Goal(g.name, g.text, g.spec, system, g.bound)
        result = Explorer(system, [goal], Bounds(max_states=200_000)).run()
        assert result.complete or goal.name in result.found, result.stop_reason
        if goal.name in result.found:
            out.add(goal.name)
    return out


def _chain(path: Path, untyped: bool) -> list[set[str]]:
    system, props = load_model(str(path), untyped=untyped or None)
    goals = [p for p in props if isinstance(p, Goal)]
    searches = [system]
    while (finer := searches[-1].finer()) is not None:
        searches.append(finer)
    assert searches[-1].eager_receives in (None, "agents") and searches[-1].timed_knowledge  # ends exact
    return [_found(s, goals) for s in searches]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(protocols(), st.booleans())
def test_each_search_finds_every_violation_of_the_next(tmp_path_factory, protocol, untyped):
    """... and the exact search, last in the chain, every attack of the brute force (tests/oracle.py)."""
    path = tmp_path_factory.mktemp("levels") / "random.wolf"
    path.write_text(protocol + SCENARIO[untyped])
    try:
        found = _chain(path, untyped)
    except ModelError:
        assume(False)
        raise
    for coarse, fine in zip(found, found[1:]):
        assert fine <= coarse, f"{sorted(fine - coarse)} found only by a finer search\n{path.read_text()}"
    system, props = load_model(str(path), untyped=untyped or None)
    try:
        oracle = brute_force(system, [p for p in props if isinstance(p, Goal)], depth=1, max_states=5_000)
    except TooBig:
        return
    if oracle.complete:
        assert set(oracle.attacks) <= found[-1], f"the exact search misses {sorted(set(oracle.attacks) - found[-1])}"


def _carlsen_self(tmp_path: Path) -> Path:
    """Carlsen's protocol (models/security/carlsen.wolf) with alice talking to herself."""
    text = (ROOT / "models" / "security" / "carlsen.wolf").read_text()
    text = text[:text.index("  run A(")] + ("  run A(alice, alice, server)\n  run B(alice, _, server)\n"
                                            "  run B(alice, _, server)\n  run S(server, _, _)\n}\n")
    path = tmp_path / "carlsen_self.wolf"
    path.write_text(text)
    return path


def test_floating_levels_dismiss_a_violation_that_does_not_replay(tmp_path, monkeypatch):
    """Without the pruning of runs that received their own later nonce, the search without levels finds a
    violation of B's agreement that does not replay (the nonce of the first message a run of bob's receives is
    bound to a nonce that run creates later); levels with floating receives, and the exact search, dismiss it."""
    monkeypatch.setattr(SecuritySystem, "_fresh_received", lambda self, runs, before: False)
    assert [sorted(f) for f in _chain(_carlsen_self(tmp_path), False)] == [["B_agrees_A"], [], []]


def test_a_run_never_receives_its_own_later_nonce(tmp_path):
    """The same violation is pruned from the search without levels (it is unreachable): every search agrees that
    B's agreement holds, and the check says so."""
    path = _carlsen_self(tmp_path)
    assert [sorted(f) for f in _chain(path, False)] == [[], [], []]
    verdicts = {v.name: v for v in analyze(str(path), Options()).verdicts}
    assert verdicts["B_agrees_A"].status == HOLDS, verdicts["B_agrees_A"].reason
