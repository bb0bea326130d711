"""`record` (checker/records.py): the value semantics every immutable class of wolf relies on."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from checker.records import field, fields, record
from dsl.ast import Call, Name, Span


@record
class Pair:
    """A test value."""

    left: int
    right: tuple[int, ...] = ()
    cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@record(slots=True)
class Slotted:
    """A test value with slots."""

    name: str


def test_equal_fields_make_equal_values_with_equal_hashes():
    a, b = Pair(1, (2, 3)), Pair(1, (2, 3))
    assert a is not b and a == b and hash(a) == hash(b)
    assert len({a, b, Pair(1)}) == 2
    assert Pair(1) != Pair(2) and Pair(1, (2,)) != Pair(1, (3,))


def test_fields_left_out_of_comparison_do_not_count():
    a, b = Pair(1), Pair(1)
    a.cache["x"] = 1
    assert a == b and hash(a) == hash(b)


def test_repr_names_the_fields():
    assert repr(Pair(1, (2,))) == "Pair(left=1, right=(2,))"


def test_slots_are_kept():
    assert Slotted.__slots__ == ("name",) and not hasattr(Slotted("x"), "__dict__")
    assert Slotted("x") == Slotted("x") and hash(Slotted("x")) == hash(Slotted("x"))


@dataclass(frozen=True)
class PlainPair:
    """`Pair` as a plain frozen dataclass, for the text of its generated `__repr__`."""

    left: int
    right: tuple[int, ...] = ()
    cache: dict = dataclasses.field(default_factory=dict, compare=False, hash=False, repr=False)


def test_repr_is_the_text_dataclass_would_generate():
    assert repr(Pair(1, (2,))) == repr(PlainPair(1, (2,))).replace("PlainPair", "Pair")
    name = Name("x", span=Span(1, 2, 1, 3))  # a syntax tree node (dsl/ast.py `node`) shares the same repr
    assert repr(name) == "Name(span=Span(line=1, column=2, end_line=1, end_column=3), id='x')"
    assert repr(Call("f", (name,))) == ("Call(span=Span(line=0, column=0, end_line=0, end_column=0), func='f', "
                                        f"args=({name!r},))")


def test_hashes_are_those_of_the_equivalent_dataclass():
    """The same hash as `dataclass` (the tuple of the hashed fields): set and dictionary orders stay the same."""
    for left, right in ((1, ()), (2, (3, 4))):
        assert hash(Pair(left, right)) == hash(PlainPair(left, right))
    assert hash(Slotted("x")) == hash(("x",))


@record
class Base:
    """A record with a keyword-only field, as the syntax tree's `span`."""

    span: int = field(default=0, kw_only=True)


@record
class Derived(Base):
    """Inherits `span`, which stays first among the fields and keyword-only in `__init__`."""

    name: str
    items: tuple[int, ...] = ()


def test_inherited_fields_come_first_and_keyword_only_fields_last_in_init():
    d = Derived("x", (1,), span=3)
    assert [f.name for f in fields(d)] == ["span", "name", "items"]
    assert (d.span, d.name, d.items) == (3, "x", (1,)) and Derived("x").span == 0
    assert repr(d) == "Derived(span=3, name='x', items=(1,))"
    with pytest.raises(TypeError):
        Derived("x", (), 3)  # type: ignore[misc]
    assert Derived("x") != Base() and Derived("x") == Derived("x")


@record(frozen=False)
class Counter:
    """A mutable record: equality by value, no hash (as a mutable dataclass)."""

    count: int = 0
    seen: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen.append(self.count)


def test_mutable_records_compare_by_value_and_are_unhashable():
    c = Counter(2)
    assert c.seen == [2] and c == Counter(2)
    c.count = 3
    assert c != Counter(2)
    with pytest.raises(TypeError):
        hash(c)


@record(eq=False)
class Place:
    """Compared by identity, as syntax tree nodes."""

    line: int


def test_identity_records_compare_and_hash_by_identity():
    p = Place(1)
    assert p != Place(1) and p == p and len({p, Place(1)}) == 2


@record
class Own:
    """A record that writes its own equality and hash: they stay."""

    a: int
    b: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Own) and self.a == other.a

    def __hash__(self) -> int:
        return self.a


@record
class OwnEq:
    """Only `__eq__` written (Python then sets `__hash__` to None): the record hashes its fields, as
    `dataclass(unsafe_hash=True)` does."""

    a: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OwnEq) and self.a == other.a


def test_methods_the_class_writes_are_kept():
    assert Own(1, 2) == Own(1, 3) and hash(Own(1, 2)) == 1
    assert hash(OwnEq(5)) == hash((5,))
