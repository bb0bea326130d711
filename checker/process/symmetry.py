"""Symmetry reduction: a process model seen up to permutations of one family's members.

When the members of a family are interchangeable (the compiler found no use of process numbers that tells them
apart: dsl/types.py `watching_symmetry`, dsl/lower.py `_symmetry`), renaming members permutes reachable states
into reachable states and preserves every property (properties are checked for the same uses). So one state per
orbit suffices: every state the search sees is replaced by a canonical member of its orbit.

A permutation π of the family's members acts on a state vector by moving member m's locals to position π(m),
the channel src -> dst to π(src) -> π(dst), and renaming every process number inside values and messages by π
(the types of locals and message fields say where the numbers are). The canonical member: sort the members by a
signature that ignores process numbers (their locals and their channel contents with every number blanked), try
every order of members whose signatures tie (up to `MAX_TIES` orders) and keep the smallest state by encoding.
With more ties than that, ties keep their current order: the reduction is then smaller, never unsound (the
representative is always a real member of the orbit).

Counterexamples are found among canonical states; `real_path` turns them into a path of the original system, so
traces show the members as they really moved. Only for safety properties (invariants, deadlock freedom) and
models without environment steps; the search runs on the scalar explorer, without partial-order reduction.
"""
from __future__ import annotations

import itertools
import marshal
from typing import Any, Callable

from checker.engine.fingerprint import MASK64
from checker.engine.run import Path
from checker.process.procsys import ProcessSystem
from checker.process.values import FrozenMap, canonical, vkey
from checker.records import record

MAX_TIES = 6  # orders of tied members tried per state (more ties: current order, less reduction)

TypeTree = tuple  # ("pid",), ("int",), ("set", elem), ("seq", elem), ("map", key, value), ("tuple", *items)


@record
class SymmetrySpec:
    """What the compiler found: the symmetric family, the type of each local slot per family (slot 0 is the
    control state), the field types of each message kind."""

    family: str
    local_types: dict[str, tuple[TypeTree, ...]]
    message_types: tuple[tuple[TypeTree, ...], ...]


def _renamer(t: TypeTree) -> Callable[[Any, tuple[int, ...]], Any] | None:
    """A function renaming the process numbers inside a value of type `t` by a permutation (a tuple: new number
    of each member), or None when the type holds no numbers."""
    kind = t[0]
    if kind == "pid":
        return lambda v, p: p[v]
    if kind in ("set", "seq"):
        inner = _renamer(t[1])
        if inner is None:
            return None
        if kind == "set":
            return lambda v, p: frozenset(inner(x, p) for x in v)
        return lambda v, p: tuple(inner(x, p) for x in v)
    if kind == "map":
        key, value = _renamer(t[1]), _renamer(t[2])
        if key is None and value is None:
            return None
        k = key or (lambda x, p: x)
        w = value or (lambda x, p: x)
        return lambda v, p: FrozenMap((k(a, p), w(b, p)) for a, b in v.items())
    if kind == "tuple":
        parts = [_renamer(x) for x in t[1:]]
        if all(r is None for r in parts):
            return None
        fns = [r or (lambda x, p: x) for r in parts]
        return lambda v, p: tuple(f(x, p) for f, x in zip(fns, v))
    return None


def _blanker(t: TypeTree) -> Callable[[Any], Any]:
    """A function replacing every process number inside a value of type `t` by -1, with sets and maps turned
    into sorted tuples (so that no renaming of members can change the result)."""
    kind = t[0]
    if kind == "pid":
        return lambda v: -1
    if kind in ("set", "seq"):
        inner = _blanker(t[1])
        if kind == "set":
            return lambda v: tuple(sorted((inner(x) for x in v), key=vkey))
        return lambda v: tuple(inner(x) for x in v)
    if kind == "map":
        key, value = _blanker(t[1]), _blanker(t[2])
        return lambda v: tuple(sorted(((key(a), value(b)) for a, b in v.items()), key=vkey))
    if kind == "tuple":
        parts = [_blanker(x) for x in t[1:]]
        return lambda v: tuple(f(x) for f, x in zip(parts, v))
    return lambda v: v


def _fields_renamer(types: tuple[TypeTree, ...], start: int) -> Callable[[tuple, tuple[int, ...]], tuple]:
    """Rename numbers in a tuple whose fields from `start` on have `types` (locals: start 1 after the control
    state; messages: start 1 after the kind)."""
    fns = [(start + k, r) for k, r in enumerate(_renamer(t) for t in types) if r is not None]
    if not fns:
        return lambda v, p: v

    def rename(v: tuple, p: tuple[int, ...]) -> tuple:
        out = list(v)
        for k, r in fns:
            out[k] = r(v[k], p)
        return tuple(out)
    return rename


class SymmetricSystem:
    """`base` up to permutations of `spec.family` (see the module doc). Implements the TransitionSystem
    protocol; properties are the base system's (they read states, and canonical states are states)."""

    def __init__(self, base: ProcessSystem, spec: SymmetrySpec):
        self.base = base
        self.spec = spec
        self.name = base.name
        self.network = base.network
        fam = next(f for f in base.families if f.name == spec.family)
        self.members = tuple(range(fam.offset, fam.offset + fam.size))
        self.n = base.n
        self._local_renamers = [_fields_renamer(spec.local_types[f.name][1:], 1) for f, _m in base.instances]
        self._message_renamers = [_fields_renamer(types, 1) for types in spec.message_types]
        self._identity = tuple(range(fam.size))
        self._renamed: dict[tuple[int, int, tuple[int, ...]], int] = {}  # (position, id, permutation) -> id
        self._local_blankers = [tuple(_blanker(t) for t in spec.local_types[f.name][1:]) for f, _m in base.instances]
        self._message_blankers = [tuple(_blanker(t) for t in types) for types in spec.message_types]
        self._blanks: dict[tuple[int, int], bytes] = {}  # (position, id) -> encoding with numbers blanked

    # ------------------------------------------------------------------ the TransitionSystem interface
    def initial_states(self) -> list[tuple]:
        return [self.canonical(s) for s in self.base.initial_states()]

    def successors(self, state: tuple) -> list[tuple[Any, tuple]]:
        return [(a, self.canonical(t)) for a, t in self.base.successors(state)]

    def is_valid_end(self, state: tuple) -> bool:
        return self.base.is_valid_end(state)

    def fingerprint(self, state: tuple) -> int:
        return state[0]

    def exact_key(self, state: tuple) -> tuple:
        return state

    def lift(self, pred: Any) -> Any:
        return self.base.lift(pred)

    # ------------------------------------------------------------------ canonical members of orbits
    def canonical(self, state: tuple) -> tuple:
        """The canonical member of `state`'s orbit."""
        return self._canonical(state)[0]

    def _canonical(self, state: tuple) -> tuple[tuple, tuple[int, ...]]:
        """The canonical member of `state`'s orbit and the permutation that maps `state` to it."""
        best = None
        for perm in self._candidates(state):
            image = self._permute(state, perm)
            key = self._key(image)
            if best is None or key < best[0]:
                best = (key, image, perm)
        assert best is not None
        return best[1], best[2]

    def _candidates(self, state: tuple) -> Any:
        """Permutations that sort the members by signature, every order of tied members (or the current one
        when there are too many)."""
        members = self.members
        signatures = [(self._signature(state, g), k) for k, g in enumerate(members)]
        order = sorted(signatures)
        groups = [list(g) for _s, g in itertools.groupby(order, key=lambda x: x[0])]
        count = 1
        for grp in groups:
            for i in range(2, len(grp) + 1):
                count *= i
        if count > MAX_TIES:
            groups = [[x] for grp in groups for x in grp]
        for choice in itertools.product(*(itertools.permutations([k for _s, k in grp]) for grp in groups)):
            ranked = [k for grp in choice for k in grp]
            perm = [0] * len(members)
            for new, old in enumerate(ranked):
                perm[old] = new  # member `old` becomes member `new`
            yield tuple(perm)

    def _signature(self, state: tuple, g: int) -> tuple:
        """What member g looks like with every process number blanked, in a form no renaming of the members
        changes: its locals, its channels with each other process (in place), and its channels with the other
        members (as a sorted list)."""
        base, n = self.base, self.n
        own = self._blanked(1 + g, state[1 + g])
        fixed = []
        peers = []
        for other in range(n):
            pair = (self._blanked(base.chan0 + g * n + other, state[base.chan0 + g * n + other]),
                    self._blanked(base.chan0 + other * n + g, state[base.chan0 + other * n + g]))
            if other in self.members:
                if other != g:
                    peers.append(pair)
            else:
                fixed.append(pair)
        self_pair = (self._blanked(base.chan0 + g * n + g, state[base.chan0 + g * n + g]),)
        return (own, self_pair, tuple(fixed), tuple(sorted(peers)))

    def _blanked(self, pos: int, vid: int) -> bytes:
        """The encoding of a component with every process number blanked."""
        found = self._blanks.get((pos, vid))
        if found is None:
            base = self.base
            if pos <= base.n:
                local = base._locals[pos - 1].values[vid]
                value: Any = (local[0], *(f(x) for f, x in zip(self._local_blankers[pos - 1], local[1:])))
            else:
                messages = [(m[0], *(f(x) for f, x in zip(self._message_blankers[m[0]], m[1:])))
                            for m in base._channels.values[vid]]
                value = tuple(messages if base.network.fifo else sorted(messages, key=vkey))
            found = self._blanks[(pos, vid)] = marshal.dumps(canonical(value), 2)
        return found

    def _permute(self, state: tuple, perm: tuple[int, ...]) -> tuple:
        if perm == self._identity:
            return state
        base, n = self.base, self.n
        first = self.members[0]
        where = list(range(n))
        for k, g in enumerate(self.members):
            where[g] = first + perm[k]
        vec = [0] * len(state)
        for g in range(n):
            vec[1 + where[g]] = self._rename_id(1 + g, state[1 + g], perm)
        for src in range(n):
            for dst in range(n):
                slot = base.chan0 + src * n + dst
                vec[base.chan0 + where[src] * n + where[dst]] = self._rename_id(slot, state[slot], perm)
        fp = 0
        for pos in range(1, len(vec)):
            fp += base._digest(pos, vec[pos])
        vec[0] = fp & MASK64
        return tuple(vec)

    def _rename_id(self, pos: int, vid: int, perm: tuple[int, ...]) -> int:
        key = (pos, vid, perm)
        found = self._renamed.get(key)
        if found is None:
            if len(self._renamed) > 1_000_000:
                self._renamed.clear()
            base = self.base
            if pos <= base.n:
                table = base._locals[pos - 1]
                value = self._local_renamers[pos - 1](table.values[vid], perm)
            else:
                table = base._channels
                value = base.network.canonical_channel(tuple(
                    self._message_renamers[m[0]](m, perm) for m in table.values[vid]))
            found = self._renamed[key] = table.intern(value)
        return found

    def _encoded(self, pos: int, vid: int) -> bytes:
        base = self.base
        table = base._tables[pos - 1]
        codes = base._encodings[id(table)]
        code = codes.get(vid)
        if code is None:
            code = codes[vid] = base._encode(table, table.values[vid])
        return code

    def _key(self, state: tuple) -> tuple:
        return tuple(self._encoded(pos, state[pos]) for pos in range(1, len(state)))

    # ------------------------------------------------------------------ counterexamples in the real system
    def real_path(self, path: Path) -> Path:
        """The path of the original system that the canonical path stands for, ending in the very state the
        search judged (so that what a property said of it, such as which member fails, is true of the trace).

        First a real run: at each step, the successor of the real state whose canonical form is the next
        canonical state. It ends in some member π⁻¹(c) of the last state's orbit; when the initial state is
        symmetric (every renaming leaves it alone), renaming the whole run by π gives a run that ends in c."""
        base = self.base
        real = base.initial_states()[path.initial]
        canonical = self.initial_states()[path.initial]
        run = [real]
        for idx in path.actions:
            target = self.successors(canonical)[idx][1]
            following = [t for _a, t in base.successors(real) if self.canonical(t) == target]
            if not following:
                raise AssertionError("a canonical step with no real counterpart")
            real = following[0]
            run.append(real)
            canonical = target
        image, perm = self._canonical(run[-1])
        if image == canonical and self._permute(run[0], perm) == run[0]:
            run = [self._permute(s, perm) for s in run]
        return Path(path.initial, tuple(next(j for j, (_a, t) in enumerate(base.successors(s)) if t == u)
                                        for s, u in zip(run, run[1:])))
