"""`record`: wolf's classes with fields, dataclasses that compile one method, not three to six.

Every `wolf` process defines a hundred or more classes with annotated fields (values, syntax tree nodes,
statistics) before it reads a model. A frozen, hashable dataclass has `dataclass` compile `__init__`, `__repr__`,
`__eq__`, `__hash__`, `__setattr__` and `__delattr__`, one `exec` each: 35 ms of the 0.24 s a check of NSPK took.
A record is a dataclass that compiles only its `__init__` (which must have the fields' signature to stay fast):
equality and hashing are closures over an `operator.attrgetter` of the compared fields, nothing to compile, and
`__repr__` is one function shared by every class (`fields_repr`). wolf's own code compiles nothing (model files
are data; tests/test_architecture.py keeps `eval` and `exec` out of it).

What a record is (the semantics of `@dataclass(unsafe_hash=True)`, `frozen` for mypy only):
- `__eq__` compares the fields with `compare=True` as a tuple, between objects of exactly the same class;
  `__hash__` hashes that same tuple, as a dataclass does (equal fields, equal hashes; set and dictionary orders
  are those a dataclass gives);
- immutable as far as mypy is concerned (`dataclass_transform` with `frozen_default`), which rejects any
  assignment to a field. Nothing stops one at run time: fields are written only by `__post_init__`
  normalisation.
Options: `slots=True`, `frozen=False` (a mutable record: no `__hash__`, as a mutable dataclass), `eq=False`
(compared and hashed by identity: the syntax tree's `node`, dsl/ast.py). Fields, defaults, `__post_init__`,
`field`, `fields`, `replace` and `asdict` are those of `dataclasses`, re-exported here so that the rest of wolf
imports them from one place.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Callable, TypeVar, dataclass_transform, overload

__all__ = ["asdict", "field", "fields", "fields_repr", "record", "replace"]

_Record = TypeVar("_Record")
_ABSENT = object()  # no `__hash__` in the class body


@overload
def record(cls: type[_Record], /) -> type[_Record]: ...


@overload
def record(*, slots: bool = False, frozen: bool = True,
           eq: bool = True) -> Callable[[type[_Record]], type[_Record]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_Record] | None = None, /, *, slots: bool = False, frozen: bool = True,
           eq: bool = True) -> type[_Record] | Callable[[type[_Record]], type[_Record]]:
    """`@record`, or `@record(slots=..., frozen=..., eq=...)`, on a class with annotated fields (module doc)."""
    def make(c: type[_Record]) -> type[_Record]:
        return _build(c, slots=slots, hashable=frozen, eq=eq)

    return make if cls is None else make(cls)


def fields_repr(self: object) -> str:
    """`Name(field=value, ...)`, the text `dataclass` would generate, shared by every record: one function
    defined once instead of one compiled per class (repr only serves debugging)."""
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
    return f"{type(self).__qualname__}({shown})"


def _build(cls: type[_Record], *, slots: bool, hashable: bool, eq: bool) -> type[_Record]:
    """`cls` as a dataclass with only `__init__` compiled, then the methods it does not write itself: `__repr__`
    and, with `eq`, `__eq__` and (`hashable`) `__hash__`, or `__hash__ = None` for a mutable record."""
    # A class body that defines `__eq__` gets `__hash__ = None` from Python: that is not a hash of its own.
    written_hash = cls.__dict__.get("__hash__", _ABSENT)
    own_hash = not (written_hash is _ABSENT or (written_hash is None and "__eq__" in cls.__dict__))
    made = dataclass(cls, repr=False, eq=False, slots=slots)
    _set_default(made, "__repr__", fields_repr)
    if eq:
        all_fields = fields(made)  # type: ignore[arg-type]
        _set_default(made, "__eq__", _equality(_key([f.name for f in all_fields if f.compare])))
        if not own_hash:
            hashing = _hashing(_key([f.name for f in all_fields if (f.compare if f.hash is None else f.hash)]))
            setattr(made, "__hash__", hashing if hashable else None)
    return made


def _set_default(cls: type, name: str, value: Any) -> None:
    """Give `cls` the method unless its body wrote one."""
    if name not in cls.__dict__:
        setattr(cls, name, value)


def _key(names: list[str]) -> Callable[[Any], tuple]:
    """The tuple of the named attributes (`attrgetter` returns a bare value for one name and fails for none)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _equality(key: Callable[[Any], tuple]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented
    return __eq__


def _hashing(key: Callable[[Any], tuple]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(key(self))
    return __hash__
