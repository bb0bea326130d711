"""`record`: wolf's value classes, built without the `dataclasses` module.

Every `wolf` process defines a hundred or more classes with annotated fields (values, syntax tree nodes,
statistics) before it reads a model. `dataclass` compiles three to six methods for each, one `exec` per method: 35 ms of the
0.24 s a check of NSPK took, more than a third of its search.
`record` builds the same classes for a fraction of that: equality and hashing are closures over an
`operator.attrgetter` of the compared fields (nothing to compile), and only `__init__`, which must have the
fields' signature to stay fast, is compiled, when the class's first instance is made (`_first_init`).

What a record is (the semantics of `@dataclass(unsafe_hash=True, repr=False)`, `frozen` for mypy only):
- fields are the class's own annotations in order after those of record base classes (a field redeclared in a
  subclass keeps its place); a default is a plain value or `field(default=...)` / `field(default_factory=...)`;
  `kw_only` fields come after the others in `__init__`, keyword-only;
- `__init__` stores the arguments (`field(default_factory=f)` calls f per instance) and then calls
  `__post_init__` when the class has one;
- `__eq__` compares the fields with `compare=True` as a tuple, between objects of exactly the same class;
  `__hash__` hashes that tuple (equal fields, equal hashes: usable as dictionary keys and set members);
- `__repr__` is `Name(field=value, ...)` (`fields_repr`, one function shared by every class) unless the class
  writes its own;
- immutable as far as mypy is concerned (`dataclass_transform` with `frozen_default`), which rejects any
  assignment to a field. Nothing stops one at run time: fields are written only by `__post_init__`
  normalisation.
Options: `slots=True` (the class is rebuilt with `__slots__`), `frozen=False` (a mutable record: no `__hash__`,
as a mutable dataclass), `eq=False` (compared and hashed by identity: the syntax tree's `node`, dsl/ast.py).
`field`, `fields`, `replace` and `asdict` are the counterparts of `dataclasses`'.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable, ClassVar, TypeVar, dataclass_transform, get_origin, overload

_Record = TypeVar("_Record")
_T = TypeVar("_T")


class _Missing:
    """The absence of a default (a distinct object: None is a legitimate default)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a record: its name, its default (or a factory making one) and whether it takes part in
    comparison, hashing and `repr`."""

    __slots__ = ("name", "default", "default_factory", "repr", "compare", "hash", "kw_only")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool, hash: bool | None,
                 kw_only: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.hash = compare if hash is None else hash
        self.kw_only = kw_only

    def named(self, name: str) -> Field:
        """The field, named after the annotation it was written for (a `field(...)` call does not know it)."""
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


@overload
def field(*, default: _T, repr: bool = True, compare: bool = True, hash: bool | None = None,
          kw_only: bool = False) -> _T: ...


@overload
def field(*, default_factory: Callable[[], _T], repr: bool = True, compare: bool = True,
          hash: bool | None = None, kw_only: bool = False) -> _T: ...


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True, compare: bool = True,
          hash: bool | None = None, kw_only: bool = False) -> Any:
    """A field with options, as `dataclasses.field`: `hash=None` hashes the field when it is compared."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("a field cannot have both a default and a default_factory")
    return Field(default, default_factory, repr, compare, hash, kw_only)


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


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record or record class, in order."""
    found = getattr(obj, "__record_fields__", None)
    if found is None:
        raise TypeError(f"{obj!r} is not a record")
    return found


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the record `obj` with the named fields changed (through `__init__`, so `__post_init__` runs)."""
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    if not changes.keys() <= values.keys():
        raise TypeError(f"{type(obj).__qualname__} has no field {sorted(changes.keys() - values.keys())[0]!r}")
    values.update(changes)
    return type(obj)(**values)


def asdict(obj: Any) -> Any:
    """A record as nested plain data: records become dictionaries of their fields, tuples and lists keep their
    type, dictionaries are rebuilt; other values are taken as they are (not copied, unlike `dataclasses`)."""
    if hasattr(type(obj), "__record_fields__"):
        return {f.name: asdict(getattr(obj, f.name)) for f in obj.__record_fields__}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple takes its fields one by one
        return type(obj)(*(asdict(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    if isinstance(obj, dict):
        return {asdict(k): asdict(v) for k, v in obj.items()}
    return obj


def fields_repr(self: object) -> str:
    """`Name(field=value, ...)`, the text `dataclass` would generate, shared by every record: one function
    defined once instead of one compiled per class (repr only serves debugging)."""
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"


# ------------------------------------------------------------------ building a class
def _build(cls: type[_Record], *, slots: bool, hashable: bool, eq: bool) -> type[_Record]:
    """`cls` with its fields recorded and the methods it does not write itself: `__init__`, `__repr__` and, with
    `eq`, `__eq__` and (`hashable`) `__hash__`, or `__hash__ = None` for a mutable record."""
    all_fields = _collect(cls)
    if slots:
        cls = _slotted(cls, all_fields)
    # A class body that defines `__eq__` gets `__hash__ = None` from Python: that is not a hash of its own.
    written_hash = cls.__dict__.get("__hash__", MISSING)
    own_hash = not (written_hash is MISSING or (written_hash is None and "__eq__" in cls.__dict__))
    setattr(cls, "__record_fields__", all_fields)
    _set_default(cls, "__init__", _first_init(cls, all_fields))
    _set_default(cls, "__repr__", fields_repr)
    if eq:
        _set_default(cls, "__eq__", _equality(_key([f.name for f in all_fields if f.compare])))
        if not own_hash:
            hashing = _hashing(_key([f.name for f in all_fields if f.hash])) if hashable else None
            setattr(cls, "__hash__", hashing)
    return cls


def _collect(cls: type) -> tuple[Field, ...]:
    """The record fields of `cls`: inherited ones first (a redeclared one keeps its place), then its own
    annotations, with their defaults taken off the class where a factory or slots need that."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            found[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if annotation is ClassVar or get_origin(annotation) is ClassVar or (
                isinstance(annotation, str) and annotation.split("[", 1)[0] in ("ClassVar", "typing.ClassVar")):
            continue  # a class attribute, not a field (written as a string under `from __future__ import annotations`)
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(value, MISSING, True, True, None, False)
        if type(f.default).__hash__ is None:
            raise ValueError(f"{cls.__qualname__}.{name}: a mutable default is shared by every instance; "
                             f"use field(default_factory=...)")
        found[name] = f.named(name)
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    positional = [f for f in found.values() if not f.kw_only]
    for earlier, later in zip(positional, positional[1:]):
        if _has_default(earlier) and not _has_default(later):
            raise TypeError(f"{cls.__qualname__}: field {later.name!r} without a default follows "
                            f"{earlier.name!r}, which has one")
    return tuple(found.values())


def _has_default(f: Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _slotted(cls: type, all_fields: tuple[Field, ...]) -> type:
    """`cls` made again with `__slots__` for the fields its bases do not already hold (class attributes
    holding defaults would shadow the slots, so they go: `__init__` has the defaults)."""
    inherited = {name for base in cls.__mro__[1:] for name in base.__dict__.get("__slots__", ())}
    names = tuple(f.name for f in all_fields if f.name not in inherited)
    body = dict(cls.__dict__)
    for name in names + ("__dict__", "__weakref__"):
        body.pop(name, None)
    body["__slots__"] = names
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def _set_default(cls: type, name: str, value: Any) -> None:
    """Give `cls` the method unless its body wrote one."""
    if name not in cls.__dict__:
        setattr(cls, name, value)


def _first_init(cls: type, all_fields: tuple[Field, ...]) -> Callable[..., None]:
    """A stand-in `__init__` that compiles the real one for the first instance, puts it in its place and runs
    it: compiling is most of what defining a record costs (some 280,000 instructions, four times the class
    itself), and a process makes instances of about half the classes it defines (a check of NSPK: 57 of 105)."""
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _init(cls, all_fields)
        setattr(cls, "__init__", init)
        init(self, *args, **kwargs)
    return __init__


def _init(cls: type, all_fields: tuple[Field, ...]) -> Callable[..., None]:
    """`__init__` with the fields' signature, compiled: a generic `*args` version costs every instance."""
    if not all(f.name.isidentifier() for f in all_fields):
        raise TypeError(f"{cls.__qualname__}: field names must be identifiers")
    names: dict[str, Any] = {"MISSING": MISSING}
    params: list[str] = ["self"]
    kw_params: list[str] = []
    body: list[str] = []
    for f in all_fields:
        param = f.name
        if f.default is not MISSING:
            names[f"_default_{f.name}"] = f.default
            param += f"=_default_{f.name}"
        elif f.default_factory is not MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            param += "=MISSING"
        (kw_params if f.kw_only else params).append(param)
        if f.default_factory is not MISSING:
            body.append(f"self.{f.name} = _factory_{f.name}() if {f.name} is MISSING else {f.name}")
        else:
            body.append(f"self.{f.name} = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    signature = ", ".join(params + (["*"] + kw_params if kw_params else []))
    source = f"def __init__({signature}) -> None:\n    " + "\n    ".join(body or ["pass"]) + "\n"
    exec(source, names)  # the text is made here from identifiers of wolf's own classes, never from a model
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


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
