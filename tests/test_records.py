"""`record` (checker/records.py): the value semantics every immutable class of wolf relies on."""
from __future__ import annotations

from dataclasses import field

from checker.records import record


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
