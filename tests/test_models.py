"""Every bundled model's `# expect:` header is checked against the checker's verdicts, variant by variant."""
from __future__ import annotations

from pathlib import Path

import pytest

from checker.analysis import Options, analyze
from checker.cli import _capabilities, _define
from checker.engine.budget import Bounds
from dsl.expect import read_expectations, variants
from known_gaps import EXPECTED_FAILURES

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted(ROOT.glob("models/**/*.wolf"))

XFAIL_STATES = 5_000
XFAIL_SECONDS = 60


def _cases():
    for path in MODELS:
        exps = read_expectations(path)
        if not exps:
            yield pytest.param(path, None, [], id=f"{path.relative_to(ROOT)}:no-header")
            continue
        for variant, items in variants(exps).items():
            reason = EXPECTED_FAILURES.get((path.relative_to(ROOT).as_posix(), variant.label()))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(path, variant, items, marks=marks, id=f"{path.relative_to(ROOT)}:{variant.label()}")


def test_there_are_models():
    assert len(MODELS) >= 5


def test_expected_failures_name_existing_variants():
    known = {(p.relative_to(ROOT).as_posix(), v.label()) for p in MODELS for v in variants(read_expectations(p))}
    assert set(EXPECTED_FAILURES) <= known


@pytest.mark.parametrize("path,variant,expected", list(_cases()))
def test_model_header_matches_verdicts(path, variant, expected):
    assert variant is not None, f"{path} has no '# expect:' header"
    xfail = (path.relative_to(ROOT).as_posix(), variant.label()) in EXPECTED_FAILURES
    options = Options(defines=dict(_define(f"{k}={v}") for k, v in variant.defines),
                      untyped=True if variant.untyped else None,
                      attacker=_capabilities(variant.attacker),
                      bounds=Bounds(max_states=XFAIL_STATES, timeout=XFAIL_SECONDS) if xfail else Bounds())
    analysis = analyze(str(path), options)
    got = {v.name: v for v in analysis.verdicts}
    assert sorted(got) == sorted(e.prop for e in expected), "the header must name every property exactly once"
    for e in expected:
        v = got[e.prop]
        assert v.status == e.status, f"{path.name} [{variant.label()}] {e.prop}: expected {e.status}, " \
                                     f"got {v.status}: {v.reason}"
        if v.status == "fails":
            assert v.trace is not None and v.trace.steps, "a failure must come with a counterexample"
