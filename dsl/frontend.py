"""Front end entry point: a model file to a checkable transition system and its properties."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.process.procsys import ProcessSystem
from checker.engine.properties import Property

from .diagnostics import Diagnostic, ModelError
from .lower import lower
from .parser import parse_model, read_source


def load_model(path: str, defines: dict[str, Any] | None = None, attacker: tuple[str, ...] | None = None,
               untyped: bool | None = None) -> tuple[ProcessSystem, tuple[Property, ...]]:
    """Read, parse, type-check and compile `path`; raise ModelError with diagnostics for bad input.

    `attacker` (capability names, `()` for none) and `untyped` override what the model declares.
    """
    text = read_source(path)
    model = parse_model(text)
    if model.protocol is not None or model.scenario is not None:
        from .security import compile_protocol
        if model.protocol is None:
            raise ModelError([Diagnostic("E401", "a scenario needs a protocol block", model.scenario.span)])
        return compile_protocol(model, defines or {}, Path(path).stem, attacker, untyped)
    return lower(model, defines or {}, Path(path).stem, attacker)
