"""Runtime values of the process language: immutable, hashable, with a deterministic order and rendering.

ints, bools and strings are Python's; tuples and sequences are tuples; sets are frozensets; maps are
`FrozenMap`. Nothing here depends on `hash()` of strings for ordering, so runs are repeatable.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator


class FrozenMap(tuple):
    """An immutable map stored as a tuple of (key, value) pairs sorted by key.

    Being a tuple, it hashes and compares in C, which matters because every state fingerprint hashes every
    map in it. Lookups scan the pairs: the maps of protocol models are small (one entry per process).
    Iterating a FrozenMap yields its keys, like a dict.
    """

    __slots__ = ()

    def __new__(cls, items: Iterable[tuple[Any, Any]] = ()):
        d = dict(items)
        try:
            pairs = sorted(d.items())
        except TypeError:
            pairs = sorted(d.items(), key=lambda kv: vkey(kv[0]))
        return super().__new__(cls, pairs)

    def __getitem__(self, key: Any) -> Any:
        for k, v in tuple.__iter__(self):
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        for k, _v in tuple.__iter__(self):
            if k == key:
                return True
        return False

    def __iter__(self) -> Iterator[Any]:
        return (k for k, _v in tuple.__iter__(self))

    def items(self) -> Iterator[tuple[Any, Any]]:
        return tuple.__iter__(self)

    def keys(self) -> Iterator[Any]:
        return iter(self)

    def values(self) -> Iterator[Any]:
        return (v for _k, v in tuple.__iter__(self))

    def set(self, key: Any, value: Any) -> "FrozenMap":
        pairs = list(tuple.__iter__(self))
        for pos, (k, _v) in enumerate(pairs):
            if k == key:
                pairs[pos] = (key, value)
                return tuple.__new__(FrozenMap, pairs)
        return FrozenMap(pairs + [(key, value)])

    def __repr__(self) -> str:
        return f"FrozenMap({list(tuple.__iter__(self))!r})"


def vkey(v: Any) -> tuple:
    """A total order over every runtime value (used where Python's own order is partial or mixed)."""
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, int):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    if isinstance(v, FrozenMap):  # before tuple: a FrozenMap is a tuple
        return (5, tuple(sorted((vkey(k), vkey(x)) for k, x in v.items())))
    if isinstance(v, tuple):
        return (3, tuple(vkey(x) for x in v))
    if isinstance(v, frozenset):
        return (4, tuple(sorted(vkey(x) for x in v)))
    key = getattr(v, "sort_key", None)
    if callable(key):
        return (6, key())
    return (7, repr(v))


def canonical(v: Any) -> Any:
    """`v` as nested tuples of ints, bools and strings that `marshal` writes byte-for-byte the same for equal
    values (checker/process/procsys.py digests it). Sets and maps become tuples tagged with None (a value that
    runtime values never contain), their members in `vkey` order."""
    kind = type(v)
    if kind is int or kind is bool or kind is str:
        return v
    if kind is frozenset:
        kinds = {type(m) for m in v}
        members = sorted(v) if kinds == {int} or kinds == {str} else sorted(v, key=vkey)
        return (None, 0, *(canonical(m) for m in members))
    if kind is FrozenMap:
        return (None, 1, *(canonical(kv) for kv in tuple.__iter__(v)))
    if kind is tuple:
        return tuple(canonical(x) for x in v)
    raise TypeError(f"not a runtime value: {v!r}")


def sorted_values(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=vkey)


Renderer = Callable[[Any], str]


def render_value(v: Any) -> str:
    """Human-readable text of a value without type information (tuples print as tuples)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, str)):
        return str(v) if isinstance(v, int) else f'"{v}"'
    if isinstance(v, FrozenMap):  # before tuple: a FrozenMap is a tuple
        return "{" + ", ".join(f"{render_value(k)}: {render_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, tuple):
        return "(" + ", ".join(render_value(x) for x in v) + ")"
    if isinstance(v, frozenset):
        return "{" + ", ".join(render_value(x) for x in sorted_values(v)) + "}"
    return str(v)


def render_seq(v: tuple) -> str:
    return "[" + ", ".join(render_value(x) for x in v) + "]"
