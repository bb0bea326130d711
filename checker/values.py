"""Runtime values of the process language: immutable, hashable, with a deterministic order and rendering.

ints, bools and strings are Python's; tuples and sequences are tuples; sets are frozensets; maps are
`FrozenMap`. Nothing here depends on `hash()` of strings for ordering, so runs are repeatable.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator


class FrozenMap:
    """An immutable dict with a cached hash; `set` returns a new map."""

    __slots__ = ("_d", "_h")

    def __init__(self, items: Iterable[tuple[Any, Any]] = ()):
        self._d = dict(items)
        self._h: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return self._d[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d)

    def items(self):
        return self._d.items()

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def set(self, key: Any, value: Any) -> "FrozenMap":
        d = dict(self._d)
        d[key] = value
        return FrozenMap(d.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrozenMap) and self._d == other._d

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __repr__(self) -> str:
        return f"FrozenMap({sorted(self._d.items(), key=lambda kv: vkey(kv[0]))!r})"


def vkey(v: Any) -> tuple:
    """A total order over every runtime value (used where Python's own order is partial or mixed)."""
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, int):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    if isinstance(v, tuple):
        return (3, tuple(vkey(x) for x in v))
    if isinstance(v, frozenset):
        return (4, tuple(sorted(vkey(x) for x in v)))
    if isinstance(v, FrozenMap):
        return (5, tuple(sorted((vkey(k), vkey(x)) for k, x in v.items())))
    key = getattr(v, "sort_key", None)
    if callable(key):
        return (6, key())
    return (7, repr(v))


def sorted_values(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=vkey)


Renderer = Callable[[Any], str]


def render_value(v: Any) -> str:
    """Human-readable text of a value without type information (tuples print as tuples)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, str)):
        return str(v) if isinstance(v, int) else f'"{v}"'
    if isinstance(v, tuple):
        return "(" + ", ".join(render_value(x) for x in v) + ")"
    if isinstance(v, frozenset):
        return "{" + ", ".join(render_value(x) for x in sorted_values(v)) + "}"
    if isinstance(v, FrozenMap):
        return "{" + ", ".join(f"{render_value(k)}: {render_value(v[k])}" for k in sorted_values(v.keys())) + "}"
    return str(v)


def render_seq(v: tuple) -> str:
    return "[" + ", ".join(render_value(x) for x in v) + "]"
