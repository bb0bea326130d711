"""`--weakest-attacker`: for each violated goal, the smallest sets of capabilities that still violate it.

Capabilities only ever add behaviour (eavesdropping adds knowledge, the others add deliveries), so a goal
violated by a set is violated by every superset. The sets are therefore tried by increasing size, skipping
supersets of sets already known to violate the goal; each try is one ordinary analysis of the model.
"""
from __future__ import annotations

import itertools

from checker.analysis import FAILS, Analysis, Options, analyze
from checker.process.capabilities import CAPABILITIES
from checker.records import replace


def weakest_attackers(path: str, analysis: Analysis, options: Options) -> dict[str, list[list[str]]]:
    """Goal name -> the minimal capability sets (each sorted, the list in order of size) that violate it."""
    if "attacker" not in analysis.network:
        return {}
    goals = [v.name for v in analysis.verdicts if v.status == FAILS and v.name != "executable"]
    if not goals:
        return {}
    universe = tuple(c for c in CAPABILITIES if options.attacker is None or c in options.attacker)
    minimal: dict[str, list[frozenset[str]]] = {g: [] for g in goals}
    for size in range(len(universe) + 1):
        for subset in itertools.combinations(universe, size):
            caps = frozenset(subset)
            open_goals = [g for g in goals if not any(m <= caps for m in minimal[g])]
            if not open_goals:
                continue
            result = analyze(path, replace(options, attacker=subset, progress=None))
            for v in result.verdicts:
                if v.name in open_goals and v.status == FAILS:
                    minimal[v.name].append(caps)
    order = {c: k for k, c in enumerate(CAPABILITIES)}
    return {g: [sorted(m, key=order.__getitem__) for m in sets] for g, sets in minimal.items()}
