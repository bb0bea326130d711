"""An analysis as terminal text or as JSON (schema in docs/json.md). Pure functions of an `Analysis`."""
from __future__ import annotations

from typing import Any

from checker.analysis import FAILS, HOLDS, Analysis, Verdict
from checker.output.render_text import render_text

JSON_SCHEMA_VERSION = 2


def render_analysis(a: Analysis, written: dict[str, list[str]] | None = None,
                    weakest: dict[str, list[list[str]]] | None = None) -> str:
    """Verdict lines, statistics, then each counterexample as numbered steps; a counterexample that is the
    same run as one already shown (NSPK's attack violates three goals at once) is named, not repeated."""
    written = written or {}
    weakest = weakest or {}
    lines = [f"model {a.model} ({a.path}), network {a.network}"]
    width = max((len(v.name) for v in a.verdicts), default=0)
    for v in a.verdicts:
        status = {HOLDS: "holds", FAILS: "FAILS"}.get(v.status, "unknown")
        lines.append(f"  {v.name:<{width}}  {status:<7}  {v.reason}")
        for caps in weakest.get(v.name, []):
            lines.append(f"  {'':<{width}}           weakest attacker: {', '.join(caps) or 'none needed'}")
        for f in written.get(v.name, []):
            lines.append(f"  {'':<{width}}           wrote {f}")
    s = a.stats
    lines.append(f"  states {s.states:,}  transitions {s.transitions:,}  depth {s.depth:,}  "
                 f"{s.seconds:,.2f} s  {s.states_per_second:,.0f} states/s")
    if a.solver and (a.solver["checks"] or a.solver["models"]):
        z = a.solver
        lines.append(f"  solver: {z['checks']:,} checks, {z['models']:,} models, {z['z3_calls']:,} Z3 calls "
                     f"({z['z3_seconds']:.2f} s in Z3), {z['cache_hits']:,} cache hits, {z['fast_path']:,} "
                     f"decided in Python" + (f", {z['unknown']:,} unknown" if z["unknown"] else ""))
    lines.append("  " + _store_line(a))
    if a.stop_reason:
        waiting = "1 state was" if s.frontier == 1 else f"{s.frontier:,} states were"
        lines.append(f"  stopped: {a.stop_reason}; {waiting} still waiting to be explored, "
                     f"so verdicts other than failures are 'unknown'")
    elif a.settled:
        lines.append("  stopped early: every property had failed, nothing more to learn")
    shown = same_runs(a.verdicts)
    for v in a.verdicts:
        if v.status != FAILS or v.trace is None:
            continue
        lines.append("")
        if shown.get(v.name) is None:
            lines.append(render_text(v.trace))
            continue
        lines.append(f"counterexample to `{v.name}` in {a.model}: the same run as for `{shown[v.name]}` above")
        lines.append(f"violated: {v.name}")
        if v.trace.claim is not None:
            lines.append(f"  claim: {v.trace.claim.text}, made by {v.trace.claim.lane}")
        lines.append(f"  reason: {v.reason}\n")
    return "\n".join(lines)


def same_runs(verdicts: tuple[Verdict, ...]) -> dict[str, str | None]:
    """For each failing verdict with a trace, the earlier verdict whose counterexample is the same run
    (None for the first of its kind)."""
    out: dict[str, str | None] = {}
    seen: list[Verdict] = []
    for v in verdicts:
        if v.status != FAILS or v.trace is None:
            continue
        out[v.name] = next((u.name for u in seen if u.trace is not None and u.trace.same_run(v.trace)), None)
        if out[v.name] is None:
            seen.append(v)
    return out


def _store_line(a: Analysis) -> str:
    """How states were stored and reduced: the chance that a fingerprint collision hid a state (as TLC prints
    it), or exact storage; how many states partial-order reduction expanded with an ample set."""
    s = a.stats
    store = ("exact states (no collision possible)" if s.collision_probability is None else
             f"64-bit fingerprints, chance that a collision hid a state < {s.collision_probability:.1e}")
    if s.reduced:
        store += f"; partial-order reduction: {s.reduced:,} states expanded with an ample set"
    if a.reduction:
        store += f"; {a.reduction}"
    return store


def analysis_to_json(a: Analysis, written: dict[str, list[str]] | None = None,
                     weakest: dict[str, list[list[str]]] | None = None) -> dict[str, Any]:
    """The JSON object of one checked file (docs/json.md; tests/test_json_schema.py validates it)."""
    written = written or {}
    weakest = weakest or {}
    same = same_runs(a.verdicts)
    attacker = None
    if a.attacker is not None:
        attacker = {"capabilities": list(a.attacker.capabilities), "limit": a.attacker.limit,
                    "typed": a.attacker.typed}
    return {
        "schema": JSON_SCHEMA_VERSION,
        "file": a.path,
        "model": a.model,
        "network": a.network,
        "attacker": attacker,
        "exit_code": a.exit_code,
        "complete": a.complete,
        "settled": a.settled,
        "stopped": a.stop_reason,
        "stats": {"states": a.stats.states, "transitions": a.stats.transitions, "depth": a.stats.depth,
                  "seconds": round(a.stats.seconds, 4), "states_per_second": round(a.stats.states_per_second),
                  "frontier": a.stats.frontier, "solver": a.solver,
                  "collision_probability": a.stats.collision_probability, "reduced": a.stats.reduced,
                  "fully_expanded_by_proviso": a.stats.fully_expanded_by_proviso,
                  "symmetry": a.reduction or None},
        "properties": [
            {"name": v.name, "formula": v.text, "verdict": v.status, "reason": v.reason, "value": v.value,
             "files": written.get(v.name, []), "weakest_attackers": weakest.get(v.name),
             "same_run_as": same.get(v.name),
             "trace": v.trace.to_dict() if v.trace is not None else None}
            for v in a.verdicts
        ],
    }
