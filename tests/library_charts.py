"""Every counterexample of the bundled library: the traces the chart tests draw and measure.

Each model's `# expect:` header says which properties fail in which variant; those are checked (and only
those, with `-p`) so that every chart the gallery shows is covered without re-running the whole library.
The library has no lasso of its own (its liveness failures end in deadlocks), so tests/data/ping_lasso.wolf
adds one.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from checker.analysis import FAILS, Options, analyze
from checker.cli import _capabilities, _define
from checker.output.trace import Trace
from dsl.expect import read_expectations, variants
from known_gaps import EXPECTED_FAILURES

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted(ROOT.glob("models/**/*.wolf")) + [ROOT / "tests" / "data" / "ping_lasso.wolf"]


@dataclass(frozen=True)
class LibraryChart:
    """One counterexample of the library: which model, variant and property it comes from."""

    path: Path
    variant: str
    prop: str
    trace: Trace

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}[{self.variant}]:{self.prop}"


def failing_cases() -> list[tuple[Path, object, tuple[str, ...]]]:
    """(model, header variant, properties expected to fail in it), for every variant where some do."""
    out = []
    for path in MODELS:
        for variant, items in variants(read_expectations(path)).items():
            failing = tuple(e.prop for e in items if e.status == "fails")
            if failing:
                out.append((path, variant, failing))
    return out


@lru_cache(maxsize=None)
def library_charts() -> tuple[LibraryChart, ...]:
    """Every counterexample the library's headers promise, each traced by the checker."""
    charts = []
    for path, variant, failing in failing_cases():
        if (path.relative_to(ROOT).as_posix(), variant.label()) in EXPECTED_FAILURES:  # type: ignore[attr-defined]
            continue  # the engine cannot produce these charts yet
        options = Options(defines=dict(_define(f"{k}={v}") for k, v in variant.defines),  # type: ignore[attr-defined]
                          untyped=True if variant.untyped else None,  # type: ignore[attr-defined]
                          attacker=_capabilities(variant.attacker),  # type: ignore[attr-defined]
                          only=failing)
        for verdict in analyze(str(path), options).verdicts:
            if verdict.status == FAILS and verdict.trace is not None:
                charts.append(LibraryChart(path, variant.label(), verdict.name, verdict.trace))  # type: ignore[attr-defined]
    return tuple(charts)
