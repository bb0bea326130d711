"""A bounded slice of the fuzz campaign (tests/fuzzing.py; `make fuzz` runs 10,000 inputs).

A few hundred inputs with small bounds: mutations of the model library, fixed odd inputs, and models
generated from the grammar by hypothesis. Every run must end with an exit code of 0-3, without a Python
traceback, and within a second of its --timeout.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import Case, Outcome, campaign, generate_model, mutation_cases, run_case, special_cases, summary, \
    warm_up

TIMEOUT = 1.0
MAX_STATES = 2000


def _failures(outcomes: list[Outcome]) -> str:
    bad = [o for o in outcomes if o.failure]
    return summary(outcomes) + "".join(f"\n--- {o.case.name} {o.case.argv}: {o.failure}\n{o.stderr[-2000:]}"
                                       for o in bad[:5])


def test_mutated_library_models_never_crash_or_hang():
    outcomes = campaign([*special_cases(), *mutation_cases(seed=2026, count=200)], TIMEOUT, MAX_STATES)
    assert not any(o.failure for o in outcomes), _failures(outcomes)
    codes = {o.code for o in outcomes}
    assert {0, 1, 2, 3} <= codes, summary(outcomes)  # the slice reaches every kind of ending


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    warm_up()
    return tmp_path_factory.mktemp("generated")


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_models_generated_from_the_grammar_never_crash_or_hang(rng: random.Random, workdir: Path):
    text = generate_model(rng)
    outcome = run_case(Case("generated", text.encode("utf-8"), stem="generated"), workdir, TIMEOUT, MAX_STATES)
    assert outcome.failure is None, f"{outcome.failure}\n{text}\n{outcome.stderr[-3000:]}"
