"""Building blocks shared by the compilation of statements, expressions and properties: scopes, the
error-abort signal, and small closure factories (unrolled where the explorer calls them millions of times).
"""
from __future__ import annotations

import difflib
from typing import Any, Callable

from checker.process.procsys import Ctx
from checker.records import record

from . import ast as A
from . import types as T

Fn = Callable[[Ctx], Any]


class Abort(Exception):
    """Stops lowering one construct after its diagnostic was recorded."""


@record(frozen=False)
class FamilyInfo:
    decl: A.ProcessDecl
    name: str
    offset: int
    size: int
    indexed: bool
    states: tuple[str, ...]
    var_slots: dict[str, int]
    var_types: dict[str, T.Type]


class Scope:
    """Bindings visible while lowering one body: frame variables on top of a family (or none)."""

    def __init__(self, family: FamilyInfo | None, in_property: bool):
        self.family = family
        self.in_property = in_property
        self.frame: list[dict[str, tuple[int, T.Type]]] = [{}]
        self.size = 0
        self.fixed: dict[str, tuple[Any, T.Type]] = {}  # names with a known value (a property's case)
        self.reads: set[tuple[str, int]] = set()  # (family, slot of its locals) a property reads; slot 0: control

    def bind(self, name: str, t: T.Type) -> int:
        slot = self.size
        self.size += 1
        self.frame[-1][name] = (slot, t)
        return slot

    def push(self) -> None:
        self.frame.append({})

    def pop(self) -> None:
        self.frame.pop()

    def lookup(self, name: str) -> tuple[int, T.Type] | None:
        for layer in reversed(self.frame):
            if name in layer:
                return layer[name]
        return None


UNKNOWN = object()


def constant(value: Any) -> Fn:
    """A closure returning `value`, marked so that process indices and state tests can be folded."""
    fn = lambda c: value  # noqa: E731
    fn.constant = value  # type: ignore[attr-defined]
    return fn


def comparison(op: str, lf: Fn, rf: Fn) -> Fn:
    """One closure per operator: the explorer evaluates guards millions of times."""
    if op == "<":
        return lambda c: lf(c) < rf(c)
    if op == "<=":
        return lambda c: lf(c) <= rf(c)
    if op == ">":
        return lambda c: lf(c) > rf(c)
    return lambda c: lf(c) >= rf(c)


def tuple_builder(fns: tuple[Fn, ...]) -> Fn:
    """A closure building the tuple of the values of `fns`, unrolled for the common short lengths."""
    if len(fns) == 0:
        return lambda c: ()
    if len(fns) == 1:
        (f0,) = fns
        return lambda c: (f0(c),)
    if len(fns) == 2:
        f0, f1 = fns
        return lambda c: (f0(c), f1(c))
    if len(fns) == 3:
        f0, f1, f2 = fns
        return lambda c: (f0(c), f1(c), f2(c))
    return lambda c: tuple(f(c) for f in fns)
ARITH: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
    ("+", "int"): lambda a, b: a + b,
    ("-", "int"): lambda a, b: a - b,
    ("*", "int"): lambda a, b: a * b,
    ("/", "int"): lambda a, b: a // b,
    ("%", "int"): lambda a, b: a % b,
    ("+", "pid"): lambda a, b: a + b,  # a pid is a number 0..N-1: `(i + 1) % N` names the next one
    ("-", "pid"): lambda a, b: a - b,
    ("*", "pid"): lambda a, b: a * b,
    ("/", "pid"): lambda a, b: a // b,
    ("%", "pid"): lambda a, b: a % b,
    ("+", "set"): lambda a, b: a | b,
    ("-", "set"): lambda a, b: a - b,
    ("+", "seq"): lambda a, b: a + b,
}


def did_you_mean(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean {close[0]}?" if close else None
