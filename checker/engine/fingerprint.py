"""Canonical byte encodings of values and their 64-bit fingerprints.

A fingerprint must be the same for equal states in every process and under every PYTHONHASHSEED, and must
behave like a uniformly random 64-bit value for unequal ones: Python's `hash()` is neither (`hash(-1) ==
hash(-2)`, small ints hash to themselves, string hashes are salted per process). So a state is first written as
canonical bytes (the same value always gives the same bytes; unequal values give unequal bytes) and the bytes are
hashed with BLAKE2b cut to 64 bits.

The encoding is injective on the values that states are made of: None, bools, ints of any size, strings, bytes,
tuples (named tuples included), frozensets (members sorted by their encodings, so iteration order cannot leak
in), and objects that define `__canonical__()` returning such a value (terms, knowledge, time zones). A type tag
precedes every value, so `1`, `True`, `"1"` and `(1,)` all differ.
"""
from __future__ import annotations

from hashlib import blake2b
from typing import Any

MASK64 = (1 << 64) - 1

_CACHE_LIMIT = 200_000
_cache: dict[Any, bytes] = {}  # encodings of canonical objects (immutable, so safe to share)


def _length(n: int, out: bytearray) -> None:
    """Unsigned varint: 7 bits a byte, high bit set on all but the last."""
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out += b"N"
    elif value is True:
        out += b"T"
    elif value is False:
        out += b"F"
    elif isinstance(value, int):
        raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        out += b"I"
        _length(len(raw), out)
        out += raw
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        out += b"S"
        _length(len(raw), out)
        out += raw
    elif isinstance(value, tuple):
        out += b"("
        _length(tuple.__len__(value), out)
        for item in tuple.__iter__(value):  # subclasses may iterate differently (a FrozenMap yields its keys)
            _encode(item, out)
    elif isinstance(value, (bytes, bytearray)):
        out += b"B"
        _length(len(value), out)
        out += value
    elif isinstance(value, (frozenset, set)):
        # Not memoised: `{1} == {True}` in Python, so a cache keyed by the set would mix their encodings.
        members = sorted(encode(m) for m in value)
        out += b"{"
        _length(len(members), out)
        for m in members:
            out += m
    else:
        out += _canonical(value)


def _canonical(value: Any) -> bytes:
    """The encoding of an object with `__canonical__()`, memoised: terms and knowledge recur in state after
    state. Such objects compare by type and contents, so the cache cannot mix two of them up."""
    found = _cache.get(value)
    if found is not None:
        return found
    canonical = getattr(value, "__canonical__", None)
    if canonical is None:
        raise TypeError(f"no canonical encoding for {type(value).__name__}: {value!r}")
    tag = type(value).__name__.encode()
    buf = bytearray(b"O")
    _length(len(tag), buf)
    buf += tag
    _encode(canonical(), buf)
    found = bytes(buf)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[value] = found
    return found


def encode(value: Any) -> bytes:
    """The canonical bytes of `value` (see the module doc)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def digest64(data: bytes) -> int:
    """BLAKE2b of `data`, cut to an unsigned 64-bit integer."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little")


def fingerprint(value: Any) -> int:
    """The 64-bit fingerprint of a value: a digest of its canonical encoding."""
    return digest64(encode(value))


def collision_probability(distinct: int, generated: int) -> float:
    """An upper bound on the chance that a fingerprint collision hid a state (as TLC prints one): each of the
    `generated` lookups could have met one of at most `distinct` stored fingerprints by accident, each time with
    chance 1 / 2^64."""
    return min(1.0, distinct * generated / 2.0 ** 64)
