"""The batch search (numpy, checker/engine/batch.py and checker/process/vector.py) against the scalar one:
same states, same transitions, same verdicts, same counterexamples, on random models and the library."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from checker.engine.budget import Bounds
from checker.engine.explorer import Explorer, SearchOptions
from dsl.diagnostics import ModelError
from dsl.frontend import load_model
from checker.analysis import Options, analyze
from test_soundness import random_model

ROOT = Path(__file__).resolve().parent.parent


def explore(path: str, batches: bool, defines: dict | None = None, bounds: Bounds = Bounds(),
            reduce: bool = False, graph: bool = False):
    system, props = load_model(path, defines or {})
    searched = [p for p in props if graph or p.hooks(system).needs_graph is False]
    explorer = Explorer(system, searched, bounds, options=SearchOptions(reduce=reduce, batches=batches))
    return explorer.run(), explorer


def graph_summary(result) -> tuple:
    g = result.graph
    return (list(g.depth), list(g.parent), list(g.parent_action), g.initial_ids, list(g.src), list(g.dst),
            list(g.owner), list(g.action), list(g.sent), g.labels, g.marks, bytes(g.valid_end))


def summary(result) -> tuple:
    """What both searches must agree on. A search that stopped early because every property had failed
    (`settled`) stops after the chunk (scalar) or batch (numpy) in which the last one failed, so how many
    states it stored by then is not part of the comparison; the violations and their shortest paths are."""
    counts = ("settled",) if result.settled else (result.stats.states, result.stats.transitions)
    return (*counts, result.stats.depth, result.complete, result.stop_reason,
            sorted((n, f.case, f.path) for n, f in result.found.items()))


@pytest.mark.parametrize("model, defines", [("mutex/lamport.wolf", {"N": 2}), ("mutex/ricart_agrawala.wolf", {}),
                                            ("mutex/lamport_unordered.wolf", {"N": 2}),
                                            ("mutex/ricart_agrawala_no_priority.wolf", {"N": 2}),
                                            ("mutex/central.wolf", {}), ("mutex/central.wolf", {"CRASH": True})])
@pytest.mark.parametrize("reduce", [False, True])
def test_library_models_search_the_same_either_way(model, defines, reduce):
    path = str(ROOT / "models" / model)
    (scalar, _), (batch, explorer) = explore(path, False, defines, reduce=reduce), explore(path, True, defines,
                                                                                        reduce=reduce)
    assert explorer._batch_explorer() is not None  # really the batch search
    assert summary(batch) == summary(scalar)
    assert (batch.stats.reduced, batch.stats.fully_expanded_by_proviso) == \
        (scalar.stats.reduced, scalar.stats.fully_expanded_by_proviso)


@pytest.mark.parametrize("model, defines", [("mutex/lamport.wolf", {"N": 2}), ("mutex/ricart_agrawala.wolf", {"N": 2}),
                                            ("mutex/central.wolf", {}), ("mutex/lamport_unordered.wolf", {"N": 2}),
                                            ("mutex/central.wolf", {"CRASH": True})])
def test_the_recorded_graph_is_the_same_either_way(model, defines):
    # liveness and message statistics read the graph: labels, edge marks and valid end states included
    path = str(ROOT / "models" / model)
    (scalar, _), (batch, explorer) = (explore(path, b, defines, graph=True) for b in (False, True))
    assert explorer._batch_explorer() is not None and batch.graph is not None
    assert summary(batch) == summary(scalar) and graph_summary(batch) == graph_summary(scalar)


def test_state_bound_is_exact_in_batches():
    path = str(ROOT / "models/mutex/ricart_agrawala.wolf")
    batch, _ = explore(path, True, bounds=Bounds(max_states=1234))
    scalar, _ = explore(path, False, bounds=Bounds(max_states=1234))
    assert batch.stats.states == 1234 and batch.stop_reason == "state bound 1,234 reached"
    assert summary(batch)[:1] == summary(scalar)[:1]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_model())
def test_random_models_search_the_same_either_way(tmp_path, text):
    path = tmp_path / "m.wolf"
    path.write_text(text)
    outcomes = []
    for batches, reduce in ((False, False), (True, False), (False, True), (True, True)):
        try:
            result, _ = explore(str(path), batches, reduce=reduce)
            outcomes.append(summary(result))
        except Exception as err:  # a run-time error must be met at the same state either way
            from checker.engine.run import StateError
            assert isinstance(err, StateError), err
            outcomes.append(("E405", str(err.cause), err.path))
    assert outcomes[0] == outcomes[1] and outcomes[2] == outcomes[3], text
