"""Front end entry point: a model file to a checkable transition system and its properties."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.procsys import ProcessSystem
from checker.properties import Property

from .lower import lower
from .parser import parse_model, read_source


def load_model(path: str, defines: dict[str, Any] | None = None) -> tuple[ProcessSystem, tuple[Property, ...]]:
    """Read, parse, type-check and compile `path`; raise ModelError with diagnostics for bad input."""
    text = read_source(path)
    model = parse_model(text)
    return lower(model, defines or {}, Path(path).stem)
