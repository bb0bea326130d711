"""Text as the charts set it: runs of one style, their measured size, and wrapping that never cuts a term
or a formula.

Widths are estimated from Helvetica's metrics (the charts are set in Arial, which has the same metrics:
browsers have it, and Graphviz's Pango resolves it to the metric-compatible Liberation Sans), so layout can
be computed in pure Python and stays a deterministic function of the trace.
"""
from __future__ import annotations

import re
import unicodedata

from checker.records import record

#: The smallest point size on a chart: 9 pt is 12 px at 100% zoom, readable on a laptop screen.
MIN_SIZE = 9.0

#: Helvetica advance widths (1/1000 em) of the printable ASCII characters, space to tilde.
_HELVETICA = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015,
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
    722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
    556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)


@record
class TextRun:
    """A piece of text in one style; lines of runs are both measured and rendered, so they agree."""

    text: str
    size: float = 10.0
    bold: bool = False
    italic: bool = False
    colour: str | None = None


Line = tuple[TextRun, ...]
Block = tuple[Line, ...]


def char_width(ch: str) -> float:
    """Advance width of a character in em, Helvetica for ASCII, a safe guess for the rest."""
    code = ord(ch)
    if 32 <= code < 127:
        return _HELVETICA[code - 32] / 1000
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62


def run_width(run: TextRun) -> float:
    """Estimated width of a run in points (bold is about 8% wider; 5% to spare for rounding)."""
    return sum(char_width(c) for c in run.text) * run.size * (1.08 if run.bold else 1.0) * 1.05


def block_size(lines: Block) -> tuple[float, float]:
    """Width and height in points of a block of lines, as Graphviz will typeset it."""
    width = max((sum(run_width(r) for r in line) for line in lines), default=0.0)
    height = sum(1.2 * max((r.size for r in line), default=10.0) for line in lines)
    return width, height


def wrapped(text: str, width: int, size: float = 10.0, bold: bool = False, italic: bool = False,
            colour: str | None = None) -> Block:
    """Model text as lines of one style, wrapped by `wrap`."""
    return tuple((TextRun(line, size, bold, italic, colour),) for line in wrap(text, width))


def clean(text: str) -> str:
    """Drop control characters other than newline (XML 1.0 cannot carry them, so the SVG would break) and
    make invisible format characters visible."""
    text = visible(text.replace("\r\n", "\n").replace("\t", " "))
    return "".join(ch for ch in text if ch == "\n" or ch >= " ")


def visible(text: str) -> str:
    """Text from a model or a file name as charts and pages show it: invisible format characters
    (bidirectional overrides, zero-width spaces and joiners) become U+FFFD, so nothing can reorder or hide
    what a chart or page says ("Trojan Source" spoofing)."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cf" else ch for ch in text)


#: Operators that bind their neighbours: a line never breaks next to one (`12 - 9 <= DELTA`).
_OPERATORS = frozenset({"=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", ":=", "->", "<-", "|",
                        "\u2264", "\u2265", "\u2260", "\u2212"})
_OPEN, _CLOSE = "([{", ")]}"


def wrap(text: str, width: int) -> list[str]:
    """Wrap at spaces that are outside every bracket and not next to an operator, so that a term such as
    `{Na, A}pk(B)` or a formula such as `0 - 0 <= 5` stays on one line; a term longer than `width` is
    broken after one of its commas, never inside a name or a formula."""
    out: list[str] = []
    for paragraph in clean(text).split("\n"):
        line = ""
        for chunk in (piece for chunk in _chunks(paragraph) for piece in _split_long(chunk, width)):
            if line and len(line) + 1 + len(chunk) > width:
                out.append(line)
                line = chunk
            else:
                line = f"{line} {chunk}" if line else chunk
        out.append(line)
    return out


def _chunks(text: str) -> list[str]:
    """The unbreakable pieces of a line: words at bracket depth 0, glued across operators."""
    words: list[str] = []
    depth, start = 0, 0
    for k, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == " " and depth == 0:
            if k > start:
                words.append(text[start:k])
            start = k + 1
    if start < len(text):
        words.append(text[start:])
    chunks: list[str] = []
    for word in words:
        if chunks and (word in _OPERATORS or _ends_with_operator(chunks[-1])):
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    return chunks


def _split_long(chunk: str, width: int) -> list[str]:
    """A chunk longer than `width` in pieces that end after a comma, each as long as fits, breaking at the
    outermost commas first (`{Kcg, tgs, Tk, {C, G}k(K, G)}k(C, K)` breaks after `Tk,` before it breaks
    inside `k(C, K)`); a chunk without commas stays whole."""
    if len(chunk) <= width:
        return [chunk]
    groups = _groups(chunk)
    commas = []
    for k, ch in enumerate(chunk):
        if ch == "," and chunk[k + 1:k + 2] == " ":
            inner = [(lo, hi) for lo, hi in groups if lo < k < hi]
            if not inner or min(hi - lo for lo, hi in inner) > _SMALL_GROUP:  # never inside `k(A, B)`
                commas.append((len(inner), k + 1))
    pieces = [(0, len(chunk))]
    for n, level in enumerate(sorted({d for d, _k in commas})):
        cuts = [k for d, k in commas if d == level]
        limit = width if n == 0 else width * 3 // 2  # a little too long beats cutting a key apart
        pieces = [new for lo, hi in pieces for new in
                  (_fill(chunk, lo, hi, [k for k in cuts if lo < k < hi], limit) if hi - lo > limit else [(lo, hi)])]
    return [chunk[lo:hi].strip() for lo, hi in pieces]


_SMALL_GROUP = 20  # brackets spanning at most this many characters are never broken


def _groups(text: str) -> list[tuple[int, int]]:
    """The (open, close) positions of every bracket pair of a text (unmatched ones close at its end)."""
    out, stack = [], []
    for k, ch in enumerate(text):
        if ch in _OPEN:
            stack.append(k)
        elif ch in _CLOSE and stack:
            out.append((stack.pop(), k))
    return out + [(lo, len(text)) for lo in stack]


def _fill(text: str, lo: int, hi: int, cuts: list[int], width: int) -> list[tuple[int, int]]:
    """text[lo:hi] cut at some of `cuts` (positions after a comma) into pieces as long as fit in `width`."""
    out, start = [], lo
    for k, cut in enumerate(cuts):
        following = cuts[k + 1] if k + 1 < len(cuts) else hi
        if following - start > width:
            out.append((start, cut))
            start = cut
    out.append((start, hi))
    return out


def _ends_with_operator(chunk: str) -> bool:
    last = chunk.rsplit(" ", 1)[-1]
    return last in _OPERATORS or bool(re.fullmatch(r"[-+*/<>=|]+", last))


def wrap_items(items: list[str], width: int) -> list[str]:
    """Join `name=value` items with `, `, starting a new line (after the comma) before an item that would
    overflow."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return lines
