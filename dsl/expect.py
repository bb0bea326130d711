"""The `# expect:` header of model files: what the model's author says each property's verdict is, and why.

Syntax, one line per property and variant, in the comment block at the top of the file:

    # expect: mutex holds -- why it holds
    # expect -D CRASH=true --untyped: fair fails -- why, in this variant

Options before the colon are `wolf check` options for that variant (`-D NAME=VALUE`, `--untyped`,
`--attacker CAPS`). The tests check every variant of every bundled model against the checker, and the HTML
report shows the reasons next to the verdicts.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from .diagnostics import ModelError
from .parser import read_source

from checker.records import record

LINE = re.compile(r"^#\s*expect(?P<opts>(?:\s+[^:]*)?):\s*(?P<prop>\S+)\s+(?P<status>holds|fails|unknown)"
                  r"\s*(?:--\s*(?P<why>.*))?$")


@record
class Variant:
    defines: tuple[tuple[str, str], ...] = ()
    untyped: bool = False
    attacker: str | None = None

    def label(self) -> str:
        parts = [f"-D {k}={v}" for k, v in self.defines]
        if self.untyped:
            parts.append("--untyped")
        if self.attacker is not None:
            parts.append(f"--attacker {self.attacker}")
        return " ".join(parts) or "default"


@record
class Expectation:
    variant: Variant
    prop: str
    status: str
    why: str
    line: int


class HeaderError(ValueError):
    pass


def read_expectations(path: str | Path) -> list[Expectation]:
    """Every `# expect` line of the leading comment block; raises HeaderError on a malformed one."""
    try:
        text = read_source(str(path))
    except ModelError as err:
        raise HeaderError(f"{path}: {err}") from None
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("#"):
            break
        if not re.match(r"^#\s*expect\b", line):
            continue
        m = LINE.match(line)
        if m is None:
            raise HeaderError(f"{path}:{number}: malformed expect line: {line}")
        out.append(Expectation(_variant(m.group("opts") or "", path, number), m.group("prop"),
                               m.group("status"), (m.group("why") or "").strip(), number))
    return out


def _variant(opts: str, path: str | Path, number: int) -> Variant:
    words = shlex.split(opts)
    defines, untyped, attacker = [], False, None
    k = 0
    while k < len(words):
        w = words[k]
        if w == "-D" and k + 1 < len(words):
            name, _, value = words[k + 1].partition("=")
            defines.append((name, value))
            k += 2
        elif w.startswith("-D") and "=" in w:
            name, _, value = w[2:].partition("=")
            defines.append((name, value))
            k += 1
        elif w == "--untyped":
            untyped, k = True, k + 1
        elif w == "--attacker" and k + 1 < len(words):
            attacker, k = words[k + 1], k + 2
        else:
            raise HeaderError(f"{path}:{number}: unknown option {w!r} in expect line")
    return Variant(tuple(defines), untyped, attacker)


def variants(expectations: list[Expectation]) -> dict[Variant, list[Expectation]]:
    grouped: dict[Variant, list[Expectation]] = {}
    for e in expectations:
        grouped.setdefault(e.variant, []).append(e)
    return grouped
