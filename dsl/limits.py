"""Compile-time size limits: a model whose constants ask for more than a run could ever hold is refused
before anything is built.

Constants decide how much compilation materialises: a family of N processes needs N² channel slots in every
state (and N sets of N-1 members for `others`), a range literal `a..b` builds b-a+1 elements, `sessions K`
builds K instances of every role. With a constant such as `10^9` compilation alone would exhaust memory (or
run for hours) before any bound of the search applies. Every such construct is therefore checked against an
element budget derived from the run's memory bound, and refused with a diagnostic (exit 2) that names the
construct and its size.

The budget: one element per 100 bytes of `--max-memory`, and never more than `MAX_ELEMENTS` (10 million, about
a gigabyte of Python objects): far beyond what an explicit-state search can explore (a single state of a
3,163-process family would already hold ten million channel slots), and small enough to build in a second
or two.
"""
from __future__ import annotations


from . import ast as A
from .diagnostics import Diagnostic, ModelError

from checker.records import record

#: The most elements one construct may materialise, whatever the memory bound.
MAX_ELEMENTS = 10_000_000
#: Bytes of the memory bound per materialised element (a Python object with its container slot).
BYTES_PER_ELEMENT = 100
#: What one role instance of `sessions K` costs in the limits: it is a record in every state, with its own
#: slots and steps, and the attacker's knowledge and the search's branching grow with every one.
ELEMENTS_PER_INSTANCE = 1000
#: The largest magnitude of a number in a time check, a skew or a pace (10^18: 64-bit clocks). Times are sums
#: of these, so they stay far below the 4,300 digits Python (and Z3's text interface) can convert.
MAX_TIME_VALUE = 10 ** 18
#: How deeply a message term of a narration may nest (`h(h(...))`, `{{...}k}k`): real protocols need a few
#: levels, and the attacker's analysis recurses once per level.
MAX_TERM_DEPTH = 32
#: Integer literals and constants have at most this many digits (Python's own limit for printing an integer).
MAX_INT_DIGITS = 4300
INT_CEILING = 10 ** MAX_INT_DIGITS


@record
class SizeLimits:
    """How many elements one compile-time construct may build, and where that figure comes from."""

    elements: int = MAX_ELEMENTS
    source: str = "wolf's compile-time limit"

    @staticmethod
    def for_memory(max_memory: int | None) -> "SizeLimits":
        """The limits under a memory bound in bytes (None: no bound, the fixed ceiling only)."""
        if max_memory is None or max_memory // BYTES_PER_ELEMENT >= MAX_ELEMENTS:
            return SizeLimits()
        return SizeLimits(max(1, max_memory // BYTES_PER_ELEMENT),
                          f"the memory bound of {max_memory / 1e6:,.0f} MB (--max-memory)")

    def exceeded(self, size: int) -> bool:
        return size > self.elements

    def too_large(self, description: str, span: A.Span, hint: str) -> Diagnostic:
        """The diagnostic for a construct over the limit: `description` says what and how many."""
        return Diagnostic("E403", f"{description}, more than the {self.elements:,} that {self.source} allows",
                          span, hint=hint)


def quantity(n: int) -> str:
    """A count in words a reader can take in, also for integers too long to print in full."""
    if abs(n) < 10 ** 30:
        return f"{n:,}"
    digits = int(abs(n).bit_length() * 0.30103) + 1  # log10(2): within one of the true digit count
    return f"about 10^{digits - 1}"


def check_sessions(model: A.Model, defines: dict[str, object], limits: SizeLimits) -> None:
    """Refuse `sessions K` when K instances of every role cannot fit. Only literal counts and constants are
    resolved here; every other mistake in the line is dsl/security.py's to report."""
    scen, proto = model.scenario, model.protocol
    if scen is None or proto is None or scen.sessions is None or scen.runs:
        return
    value, span = scen.sessions
    if isinstance(value, str):
        given = defines.get(value)
        declared = next((c.value for c in model.consts if c.name == value), None)
        if isinstance(given, int):
            value = given
        elif isinstance(declared, A.IntLit):
            value = declared.value
        else:
            return
    if isinstance(value, bool):
        return
    instances = value * max(1, len(proto.roles))
    if limits.exceeded(instances * ELEMENTS_PER_INSTANCE):
        raise ModelError([limits.too_large(
            f"sessions {quantity(value)} need {quantity(instances)} role instances of {ELEMENTS_PER_INSTANCE:,} "
            f"elements each", span, "a few sessions find the known attacks; verdicts hold within the number of "
                                    "sessions checked")])
