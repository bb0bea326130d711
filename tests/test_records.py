"""`record` (checker/records.py): the value semantics every immutable class of wolf relies on."""
from __future__ import annotations

from dataclasses import dataclass, field

from checker.records import record
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
    cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


def test_repr_is_the_text_dataclass_would_generate():
    assert repr(Pair(1, (2,))) == repr(PlainPair(1, (2,))).replace("PlainPair", "Pair")
    name = Name("x", span=Span(1, 2, 1, 3))  # a syntax tree node (dsl/ast.py `node`) shares the same repr
    assert repr(name) == "Name(span=Span(line=1, column=2, end_line=1, end_column=3), id='x')"
    assert repr(Call("f", (name,))) == ("Call(span=Span(line=0, column=0, end_line=0, end_column=0), func='f', "
                                        f"args=({name!r},))")
