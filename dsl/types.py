"""The static types of the process language and how written types map to them.

Types are small frozen values compared structurally. `ANY` stands for "not yet known" (the element type of
`{}` or `[]` before an annotation fixes it) and unifies with everything.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from checker.records import record


@record
class Type:
    name: str  # int, bool, pid, str, tuple, set, map, seq, proc, any
    args: tuple["Type", ...] = ()
    family: str | None = None  # for proc: the process family

    def __str__(self) -> str:
        if self.name == "tuple":
            return "(" + ", ".join(map(str, self.args)) + ")"
        if self.name == "proc":
            return f"process {self.family}"
        if self.args:
            return f"{self.name}[{', '.join(map(str, self.args))}]"
        return self.name


INT = Type("int")
BOOL = Type("bool")
PID = Type("pid")
STR = Type("str")
ANY = Type("any")


def tuple_of(*items: Type) -> Type:
    return Type("tuple", tuple(items))


def set_of(t: Type) -> Type:
    return Type("set", (t,))


def seq_of(t: Type) -> Type:
    return Type("seq", (t,))


def map_of(k: Type, v: Type) -> Type:
    return Type("map", (k, v))


def proc_of(family: str) -> Type:
    return Type("proc", family=family)


SCALARS = {"int": INT, "bool": BOOL, "pid": PID, "str": STR}
GENERICS = {"set": 1, "seq": 1, "map": 2}


_asymmetries: ContextVar[list[str] | None] = ContextVar("asymmetries", default=None)


@contextmanager
def watching_symmetry() -> Iterator[list[str]]:
    """Collect, while compiling a model, every use of process numbers that tells members apart: a number
    meeting an int (`P[0]`, `i == 0`, `(i + 1) % N`), arithmetic or ordering on them, iterating over a set of
    them. A family is symmetric only if there is none (checker/process/symmetry.py)."""
    notes: list[str] = []
    token = _asymmetries.set(notes)
    try:
        yield notes
    finally:
        _asymmetries.reset(token)


def note_asymmetry(reason: str) -> None:
    notes = _asymmetries.get()
    if notes is not None and reason not in notes:
        notes.append(reason)


def contains_pid(t: Type) -> bool:
    return t.name == "pid" or any(contains_pid(x) for x in t.args)


def unify(a: Type, b: Type) -> Type | None:
    """The common type of a and b, or None when they clash. `any` fills unknown element types.

    pid and int mix, giving int: a pid is the number of a family member, so `i == 0`, `(i + 1) % N` and
    `m[0]` for a map keyed by pid all type-check.
    """
    if {a.name, b.name} == {"int", "pid"}:
        note_asymmetry("a process number is used as a number (such as P[0], i == 0 or (i + 1) % N)")
        return INT
    if a.name == "any":
        return b
    if b.name == "any":
        return a
    if a.name != b.name or len(a.args) != len(b.args) or a.family != b.family:
        return None
    args = []
    for x, y in zip(a.args, b.args):
        u = unify(x, y)
        if u is None:
            return None
        args.append(u)
    return Type(a.name, tuple(args), a.family)


def is_ordered(t: Type) -> bool:
    """Types with a total order (for <, min, max, lexicographic tuples)."""
    if t.name in ("int", "pid", "str", "any", "bool"):
        return True
    return t.name == "tuple" and all(is_ordered(x) for x in t.args)


def is_complete(t: Type) -> bool:
    if t.name == "any":
        return False
    return all(is_complete(x) for x in t.args)
