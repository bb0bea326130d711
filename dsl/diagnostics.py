"""Diagnostics are data: collected by the front end, rendered once by the CLI.

Rendering follows the compilers users know: `file:line:col: error[E201]: message`, the source line, a caret
under the offending column, then notes and a hint.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Iterable

from .ast import Span

from checker.records import record

#: Codes: E1xx reading and parsing, E2xx names, E3xx types, E4xx structure and semantics.
CODES = {
    "E100": "the file cannot be read",
    "E101": "syntax error",
    "E102": "the file is empty",
    "E103": "the file is not text",
    "E201": "unknown name",
    "E202": "duplicate declaration",
    "E203": "unknown message",
    "E204": "unknown control state",
    "E205": "unknown process",
    "E301": "type mismatch",
    "E302": "wrong number of arguments",
    "E303": "cannot infer a type",
    "E401": "invalid model structure",
    "E402": "invalid property",
    "E403": "invalid constant",
    "E404": "unknown option",
    "E410": "a role cannot build a message it must send",
    "E411": "a goal cannot be checked",
    "E412": "invalid scenario",
    "E420": "invalid time check, counter or clock setting",
    "E405": "runtime error (the model failed while running)",
}


@record
class Diagnostic:
    """One error in a model: its code (see CODES), what is wrong, where, and notes and a hint on fixing it."""

    code: str
    message: str
    span: Span
    hint: str | None = None
    notes: tuple[str, ...] = ()

    def render(self, path: str, source: str | None) -> str:
        """One paragraph: location, message, the source line with a caret, notes and hint."""
        loc = f"{path}:{self.span.line}:{self.span.column}" if self.span.line else path
        out = [f"{loc}: error[{self.code}]: {self.message}"]
        lines = source.splitlines() if source else []
        if 0 < self.span.line <= len(lines):
            text = visible(lines[self.span.line - 1].expandtabs(4))
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = self.span.end_column - self.span.column
            pad = len(lines[self.span.line - 1][: self.span.column - 1].expandtabs(4))  # tabs as shown above
            text, pad, width = _window(text, pad, width)
            out.append(f"  {self.span.line:>4} | {text}")
            out.append(f"       | {' ' * pad}{'^' * width}")
        out.extend(f"  note: {n}" for n in self.notes)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


#: Source lines longer than this are shown as a window around the column a diagnostic points at.
SHOWN_COLUMNS = 100


def _window(text: str, pad: int, width: int) -> tuple[str, int, int]:
    """A long line cut to SHOWN_COLUMNS around the caret (`...` where cut), with the caret's new place."""
    if len(text) <= SHOWN_COLUMNS:
        return text, pad, width
    start = max(0, min(pad - 20, len(text) - SHOWN_COLUMNS))
    shown = text[start:start + SHOWN_COLUMNS]
    lead = "..." if start > 0 else ""
    tail = "..." if start + SHOWN_COLUMNS < len(text) else ""
    width = max(1, min(width, SHOWN_COLUMNS - (pad - start)))
    return lead + shown + tail, pad - start + len(lead), width


def visible(text: str) -> str:
    """A source line safe to echo on a terminal: invisible format characters (bidirectional controls above
    all) and control characters become U+FFFD, one column each, so the caret below still lines up."""
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cf", "Cc") and ch != "\t" else ch for ch in text)


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelt one (`protcol` -> `protocol`, `n` -> `N`), or None."""
    import difflib  # here, not at the top: only a misspelt name needs it, and most runs have none

    names = list(known)
    same = [k for k in names if k.lower() == word.lower()]
    close = same or difflib.get_close_matches(word, names, n=1, cutoff=0.7)
    return close[0] if close else None


def unknown_hint(word: str, known: Iterable[str], what: str) -> str:
    """`did you mean N? known constants: CRASH, N, ROUNDS`: the same hint for the same mistake wherever it
    is made (an unknown -D constant, -p property or attacker capability, in process and security models)."""
    names = sorted(set(known))
    guess = did_you_mean(word, names)
    listing = f"known {what}: {', '.join(names)}" if names else f"there are no {what}"
    return f"did you mean {guess}? {listing}" if guess else listing


class ModelError(Exception):
    """Raised by the front end with every diagnostic it collected; the CLI prints them and exits 2. A model
    that fails while running (E405) also carries `trace`: the shortest run to the state where it failed."""

    def __init__(self, diagnostics: list[Diagnostic], trace: Any = None):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = tuple(diagnostics)
        self.trace = trace
