"""Front end entry point: a model file to a checkable transition system and its properties."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from checker.engine.properties import Property

if TYPE_CHECKING:  # each front end is imported only when a model of its kind is loaded
    from checker.process.procsys import ProcessSystem
    from checker.security.secsys import SecuritySystem

from . import ast as A
from .diagnostics import Diagnostic, ModelError
from .limits import SizeLimits, check_sessions
from .parser import parse_model, read_source

#: Attacker capabilities of a process model that inject messages (and so may grow the state space forever).
INJECTING = ("replay", "masquerade", "modify")


def load_model(path: str, defines: dict[str, Any] | None = None, attacker: tuple[str, ...] | None = None,
               untyped: bool | None = None, *, limits: SizeLimits = SizeLimits(), attacker_limit: int | None = None,
               notice: Callable[[str], None] | None = None) -> tuple[ProcessSystem | SecuritySystem,
                                                                      tuple[Property, ...]]:
    """Read, parse, type-check and compile `path`; raise ModelError with diagnostics for bad input.

    `attacker` (capability names, `()` for none), `untyped` and `attacker_limit` (injected messages per run)
    override what the model declares; `limits` bounds what compilation may build (dsl/limits.py); `notice`
    receives warnings that do not stop the run.
    """
    text = read_source(path)
    model = parse_model(text)
    if model.protocol is not None or model.scenario is not None:
        from .security import compile_protocol
        if model.protocol is None:
            assert model.scenario is not None
            raise ModelError([Diagnostic("E401", "a scenario needs a protocol block", model.scenario.span)])
        if attacker_limit is not None:
            raise ModelError([Diagnostic("E404", "--attacker-limit applies to process models only", A.NO_SPAN,
                                         hint="a security protocol is bounded by its scenario's `sessions`; "
                                              "the attacker's messages are bounded by what the roles accept")])
        check_sessions(model, defines or {}, limits)
        return compile_protocol(model, defines or {}, Path(path).stem, attacker, untyped)
    from .lower import lower
    system, props = lower(model, defines or {}, Path(path).stem, attacker, limits, attacker_limit)
    _warn_unlimited_injection(system, notice)
    return system, props


def _warn_unlimited_injection(system: ProcessSystem, notice: Callable[[str], None] | None) -> None:
    """An attacker that replays without a limit can make a finite model's state space infinite (a manager
    granting on every replayed request): say so before a search that may only end at a bound."""
    net = system.network
    injecting = [c for c in INJECTING if c in net.attacker]
    if notice is not None and net.observes and injecting and net.limit is None:
        notice(f"the attacker may {' and '.join(injecting)} messages without limit, which can make the state "
               f"space infinite; bound it with `attacker limit K` in the model or --attacker-limit K")
