"""`record`: wolf's immutable value classes, dataclasses that are frozen for the type checker only.

A frozen dataclass costs twice as much to define as a plain one: `dataclass` compiles six methods for it
(`__init__`, `__repr__`, `__eq__`, `__hash__`, and the `__setattr__` and `__delattr__` that raise), and its
`__init__` stores each field through `object.__setattr__`. Every `wolf` process defines some fifty such classes
before it reads a model: 26 ms of the 0.24 s a check of NSPK takes. A `record` gets the same `__init__`,
`__eq__` and `__hash__` (equal fields, equal hashes: usable as dictionary keys and set members), the same
`__repr__` text from one shared function (`fields_repr`), and is immutable as far as mypy is concerned
(`dataclass_transform` with `frozen_default`), which rejects any assignment to a field. At run time nothing
stops one: fields are written only by `__post_init__` normalisation through `object.__setattr__`, as in any
frozen dataclass. The syntax tree's `node` (dsl/ast.py) is the same idea without value equality.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable, TypeVar, dataclass_transform, overload

_Record = TypeVar("_Record")


@overload
def record(cls: type[_Record], /) -> type[_Record]: ...


@overload
def record(*, slots: bool = False) -> Callable[[type[_Record]], type[_Record]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_Record] | None = None, /, *,
           slots: bool = False) -> type[_Record] | Callable[[type[_Record]], type[_Record]]:
    """`@record` or `@record(slots=True)` on a class with annotated fields (see the module doc)."""
    def make(c: type[_Record]) -> type[_Record]:
        made = dataclass(c, unsafe_hash=True, slots=slots, repr=False)
        if "__repr__" not in c.__dict__:
            made.__repr__ = fields_repr  # type: ignore[method-assign]
        return made

    return make if cls is None else make(cls)


def fields_repr(self: object) -> str:
    """`Name(field=value, ...)`, the text `dataclass` would generate, shared by every record and syntax tree
    node: one function defined once instead of one compiled per class (repr only serves debugging)."""
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
    return f"{type(self).__qualname__}({shown})"
