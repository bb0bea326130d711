"""Security protocols as a symbolic transition system: role instances on a network the attacker controls.

A state (`SecState`) holds, per role instance, its next step and its values (terms that may contain
*variables*: values the attacker supplied and has not yet had to fix), the attacker's `Store` (analysed
knowledge with levels and the simple constraints of the variables, checker/security/intruder.py), the messages
in flight and recorded (when capabilities need them), the running/commit events of agreement goals, the values
revealed after their session, the goals already violated and the time part (`timing.Clock`).

A role step is atomic (receive, check, create fresh values, send up to the next receive). Receiving is where
the attacker acts, by capability (docs/security.md):
  * honest delivery of an in-flight message addressed to the receiver: unify the receiver's pattern with it;
  * `replay`: unify with any message recorded earlier;
  * `modify` (an in-flight message to the receiver is intercepted) and `masquerade`: the pattern becomes a
    constraint "derivable from the attacker's knowledge now", solved lazily (`Intruder.solve`).
Every unifier and every solution is one successor; variables the solver leaves open stay in the state.

Agents are never symbolic: an agent variable (a partner learnt from a message, the signer of a signature) is
cast when its step ends, to each agent in use or the first unused honest or compromised one (the others are
interchangeable, so trying one is enough: symmetry reduction). Time values the attacker chooses are minted as
fresh symbolic numbers (timing.py) when a guard reads them.

States are canonical: variables are renamed in order of first occurrence (runs, then slots, then terms left to
right) and levels renumbered (`intruder.canonical_levels`), so states equal up to renaming coincide; multisets
are frozensets of (item, count). Every action carries `forward`, the map from its source state's variables to
terms over the target's, so that a path's actions can all be expressed over its last state's variables: that
is how a symbolic attack is instantiated and replayed concretely (checker/security/witness.py).
"""
from __future__ import annotations

import copy
import itertools
import struct
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

from checker.engine.fingerprint import MASK64, digest64, encode, fingerprint
from checker.engine.system import ClaimInfo, RunInfo, StepInfo
from checker.records import record
from checker.security.intruder import FLOAT, INF, Intruder, Store, Work, level_of
from checker.security.roles import AgreementGoal, Instance, RoleSpec, SecretGoal, StepSpec
from checker.security.terms import (App, Atom, Pattern, Term, Var, agent_names, agent_sort, instantiate, is_agent_sort,
                                    is_ground,
                                    pretty, pretty_enclosed, rename_atoms, sort_key, term_vars)
from checker.security.unify import Subst, apply, unify, unify_all

Entry = tuple[Atom, Atom, Pattern]  # (claimed sender, addressee, term)
_MAPPING_NUMBERS = itertools.count(1)  # see `_interned`
TIED_ORDERS = 24  # orders of sessions whose shapes tie tried for the canonical form (`_session_orders`)
Event = tuple  # ("R" | "C", goal index, me, peer, data)


class Run(NamedTuple):
    """One role instance: the index of its next step (== number of steps: finished) and its slot values."""

    pc: int
    values: tuple[Pattern | None, ...]


#: States whose successors `SecuritySystem.successors` keeps: the explorer's last and a replay's path to it.
RECENT_EXPANSIONS = 64


class SecState(NamedTuple):
    runs: tuple[Run, ...]
    store: Store
    net: frozenset  # of (Entry, count): messages in flight (empty when the attacker is the network)
    traffic: frozenset  # of Entry: every message sent (kept only for `replay`)
    events: frozenset  # of (Event, count)
    revealed: frozenset  # of terms given to the attacker by `reveal`
    clock: Any  # checker.timed.timing.Clock, None for untimed protocols


class SecAction:
    """One transition: an instance's step (`kind` "step") or the attacker dropping an in-flight message.

    The terms it recorded, carried over to the target state's names (`received`, `taken`, `sends`, `forward`),
    are computed when first read: the search makes every transition but reads them only on the paths it
    reports (witness.py, the traces)."""

    __slots__ = ("owner", "sent", "kind", "instance", "capability", "claimed", "note", "values", "violations",
                 "atoms", "perm", "_moved", "_terms")

    def __init__(self, owner: int, sent: int, kind: str, instance: int, capability: str | None,
                 claimed: Atom | None, note: str | None, values: tuple[Pattern | None, ...],
                 moved: Callable[[], tuple[Pattern | None, Entry | None, tuple[Entry, ...],
                                           tuple[tuple[str, Pattern], ...]]],
                 violations: tuple[tuple[str, tuple[tuple[str, Pattern], ...]], ...] = (),
                 atoms: tuple[tuple[Atom, Atom], ...] = (), perm: tuple[int, ...] | None = None):
        self.owner = owner  # the instance, or -1 for the attacker
        self.sent = sent
        self.kind = kind  # step | drop
        self.instance = instance
        self.capability = capability  # None: honest delivery or nothing received; replay | modify | masquerade
        self.claimed = claimed  # the sender named on the received message (None: an attacker's forgery)
        self.note = note
        self.values = values  # the instance's values afterwards
        # (agreement goal, the substitution under which this step's commit breaks it, over the target's
        # variables): goals are judged on steps
        self.violations = violations
        self.atoms = atoms  # fresh atoms renamed by the session symmetry (source -> target)
        self.perm = perm  # instance positions after the session symmetry (source -> target)
        self._moved: Callable[[], tuple] | None = moved
        self._terms: tuple | None = None

    def _resolved(self) -> tuple:
        if self._terms is None:
            assert self._moved is not None
            self._terms, self._moved = self._moved(), None
        return self._terms

    @property
    def received(self) -> Pattern | None:
        """The term received, over the target state's variables."""
        return self._resolved()[0]

    @property
    def taken(self) -> Entry | None:
        """The in-flight message removed (honest delivery, modify, drop)."""
        return self._resolved()[1]

    @property
    def sends(self) -> tuple[Entry, ...]:
        """The messages the step sent (claimed sender, addressee, term)."""
        return self._resolved()[2]

    @property
    def forward(self) -> tuple[tuple[str, Pattern], ...]:
        """Source variable -> term over the target's variables."""
        return self._resolved()[3]


#: Successors being collected: (state, goals the step breaks) -> (action, state). A step that breaks a goal and
#: one that does not are both kept when they reach the same state. The key holds the events of forgotten goals
#: (see `forget`), the state does not: which successors there are does not depend on what was forgotten.
Successors = dict[tuple[SecState, tuple[str, ...]], tuple[SecAction, SecState]]


class Delivery(NamedTuple):
    capability: str | None
    claimed: Atom | None
    taken: Entry | None


@record
class Scenario:
    honest: tuple[Atom, ...]
    compromised: tuple[Atom, ...]
    instances: tuple[Instance, ...]
    sessions: str  # how the bound reads in verdicts: "2 sessions (2 runs of each role: A, B)"
    dedicated: tuple[tuple[Atom, ...] | None, ...] = ()  # per role: the only agents that may play it

    def allowed(self, role: int, agent: Atom) -> bool:
        """Agents dedicated to a role play no other; a role with dedicated agents is played only by them."""
        own = self.dedicated[role] if self.dedicated else None
        if own is not None:
            return agent in own
        return not any(d and agent in d for d in self.dedicated)


@record
class _NetworkName:
    """What analysis.py reports as the network of a security model."""

    name: str


class SecuritySystem:
    """The symbolic transition system of a compiled protocol under an attacker (see the module doc)."""

    def __init__(self, name: str, roles: tuple[RoleSpec, ...], scenario: Scenario, capabilities: frozenset[str],
                 typed: bool, own: tuple[Atom, ...], initial: Sequence[Term], secrets: tuple[SecretGoal, ...],
                 agreements: tuple[AgreementGoal, ...], timing: Any = None,
                 cached_roles: frozenset[int] = frozenset()):
        self.name = name
        self.roles = roles
        self.scenario = scenario
        self.instances = scenario.instances
        self.capabilities = capabilities
        self.typed = typed
        self.own = own  # the attacker's own atoms, one per sort (`Ne`, `Ke`, ...)
        self.initial_terms = tuple(initial)
        self.secrets = secrets
        self.agreements = agreements
        self.timing = timing  # checker/timed/timing.Timing, None for untimed protocols
        self.cached_roles = cached_roles  # roles whose agents keep a replay cache
        self.agents = scenario.honest + scenario.compromised
        self.honest = frozenset(scenario.honest)
        self.compromised = frozenset(scenario.compromised)
        self.labels = tuple(inst.label(roles[inst.role]) for inst in self.instances)
        self.network = _NetworkName("attacker: " + (", ".join(sorted(capabilities)) or "none")
                                    + ("" if typed else ", untyped"))
        # With eavesdrop and masquerade the attacker *is* the network: every message sent is known and any
        # derivable message can be delivered, so in-flight messages and recorded traffic add nothing but states
        # (drop, modify and replay are subsumed). Traces still show forwarded messages as deliveries.
        self.network_free = "eavesdrop" in capabilities and "masquerade" in capabilities
        self.injects = bool({"modify", "masquerade"} & capabilities)
        self.role_index = {r.name: k for k, r in enumerate(roles)}
        self.patterns = tuple(tuple(_mode(s.receive, r, typed) if s.receive is not None else None
                                    for s in r.steps) for r in roles)
        # Partners stay variables until a claim needs them (the run's last step), when the attacker is the
        # network (a counter casts the agent it counts towards); otherwise at the step that first needs them.
        # Levels (when the attacker learnt what) are kept only by the `exact()` twin. This system lets a value the
        # attacker chose earlier be fixed later to something it learnt in between: an over-approximation, so
        # "holds" is sound, and an attack is reported only once its concrete replay passes; an attack that does
        # not replay is searched again with levels (checker/security/goals.py).
        self.timed_knowledge = False
        self.lazy_agents = self.network_free
        # Which receives are taken early (see `_eager`): "any" free pattern without levels, "agents" (only
        # agent variables) with levels (the `exact()` twin), None when the attacker is not the network.
        self.eager_receives: str | None = "any" if self.network_free else None
        # Per role: whether its runs make claims (a commit, or a secret it knows): their partners then matter.
        self.claims = tuple(any(sig.kind == "commit" for st in r.steps for sig in st.signals)
                            or any(g.per_role[k] is not None for g in secrets) for k, r in enumerate(roles))
        self.reducible = timing is None and not any(r.reveal for r in roles) and \
            not any(g.kind == "alive" for g in agreements)
        # per role, per step: the slots it needs (`_needed_slots`), when the run goes on and when it finishes
        self.needed = tuple(tuple((_needed_slots(r, st, False), _needed_slots(r, st, True)) for st in r.steps)
                            for r in roles)
        self.slot_sorts = tuple(tuple(self._role_sort(name) if k in r.role_slots else None
                                      for k, name in enumerate(r.slots)) for r in roles)
        self.waits_for = tuple(self._predecessor(i) for i in range(len(self.instances)))
        bases = sorted({s.args[0] for t in initial for s in _subterms(t) if isinstance(s, App) and s.op == "exp"}
                       | {s.args[0] for r in roles for st in r.steps for snd in st.sends
                          for s in _subterms(snd.recipe) if isinstance(s, App) and s.op == "exp"
                          and not isinstance(s.args[0], (Var, App))}, key=sort_key)
        self.intruder = Intruder(tuple(b for b in bases if not isinstance(b, Var)))
        self.initial_store = Store.initial(list(self.initial_terms) + list(own))
        self._secret_cache: dict = {}
        self._attacks: dict = {}  # (goal, path) -> its concrete attack, or why there is none (see `attack`)
        self.replays: dict = {}  # path prefix -> its last step, for the replays of `attack` (engine.run.replay)
        self._recent: dict = {}  # the last states expanded -> their successors (`successors`)
        # The role that sends the narration's first message opens a session (casts it); if none starts by
        # sending, the first role does.
        self.opener = next((k for k, r in enumerate(roles) if r.steps and r.steps[0].receive is None), 0)
        self.fresh_bases = tuple(sorted({(r.slots[slot], sort) for r in roles for st in r.steps
                                         for slot, sort in st.fresh}))
        self.fresh_names = frozenset(b for b, _s in self.fresh_bases)
        self.session_symmetry = bool(scenario.instances) and all(inst.session is not None
                                                                 for inst in scenario.instances)
        # Agents of one class are interchangeable: honest ones, compromised ones, and those dedicated to a role.
        classes: dict[tuple, list[Atom]] = {}
        for a in self.agents:
            key = (a in self.honest, tuple(r for r in range(len(roles)) if scenario.allowed(r, a)))
            classes.setdefault(key, []).append(a)
        self.agent_classes = {k: tuple(v) for k, v in classes.items()}
        self.agent_class = {a: k for k, v in classes.items() for a in v}
        self.sessions: dict[int, tuple[int, ...]] = {}
        for j, inst in enumerate(self.instances):
            if inst.session is not None:
                self.sessions[inst.session] = self.sessions.get(inst.session, ()) + (j,)
        self._forgotten: frozenset[int] = frozenset()  # agreement goals already decided (see `forget`)
        self._fresh_atoms: dict[tuple[str, int, str], Atom] = {}  # see `_fresh_atom`
        # per instance: (slot received, slot created, at step, the value the run creates there), `_fresh_received`
        self.fresh_checks = tuple(tuple((s, f, k, self._fresh_atom(roles[inst.role].slots[f], inst.number, sort))
                                        for s, f, k, sort in _fresh_after(roles[inst.role]))
                                  for inst in self.instances)
        # (old session, new session) -> the renaming of the fresh values the session creates (`_order_maps`)
        self._fresh_moves = {(old, new): tuple((self._fresh_atom(base, old, sort), self._fresh_atom(base, new, sort))
                                               for base, sort in self.fresh_bases)
                             for old in self.sessions for new in self.sessions}
        self._fps: dict = {}  # member -> fingerprint (see `fingerprint`)
        self._set_sums: dict = {}  # large set -> the sum of its members' fingerprints (see `_sum`)
        self._solved: dict = {}  # (store, pattern) -> solutions (see `_injections`)
        self._shapes: dict = {}  # (term, session, untimed) -> its shape (see `_session_view`)
        self._view_memo: dict = {}  # (session, its runs, untimed) -> `_session_view`'s result
        self._patterns: dict = {}  # (role, receive pattern, run values) -> `_pattern`'s result
        self._renamed: dict = {}  # (term, atom renaming) -> renamed term (see `_renamer`)
        self._canon: dict = {}  # (term, variable renaming) -> renamed term (see `_canonical`)
        self._mappings: dict = {}  # renaming -> its number, the key of the two memos above (`_interned`)
        self._agent_atoms: dict = {}  # term -> the agents in it (`_agents_in`)
        self._term_atoms: dict = {}  # term -> the atoms in it (`_atoms_of`)
        self._orders: dict = {}  # (session order, agents per session) -> `_order_maps`'s result
        self._last_views: tuple | None = None  # the last state and its `_session_views`

    def exact(self) -> SecuritySystem:
        """The same protocol with levels: what a value the attacker chose may later be bound to is limited to
        what it knew when it chose it (the exact lazy intruder)."""
        return self._with_levels(floating=False)

    def finer(self) -> SecuritySystem | None:
        """The next search after a violation that does not replay concretely (checker/security/goals.py), None
        after the exact one. Without levels first; then with levels, receives still taken early (`_eager`) with
        their variables floating until their run's next step (see intruder.FLOAT): an over-approximation of
        the exact search that keeps the early receives' reduction; then the exact search."""
        if not self.timed_knowledge:
            return self._with_levels(floating=True) if self.reducible and self.eager_receives else self.exact()
        return self.exact() if self.eager_receives == "floating" else None

    def _with_levels(self, floating: bool) -> SecuritySystem:
        twin = copy.copy(self)
        twin.timed_knowledge = True
        if twin.eager_receives:
            twin.eager_receives = "floating" if floating else "agents"
        twin._secret_cache = {}
        twin._attacks = {}
        twin.replays = {}
        twin._recent = {}
        twin._fps = {}
        twin._set_sums = {}
        twin._solved = {}
        return twin

    def attack(self, spec: SecretGoal | AgreementGoal, name: str, path: Any) -> Any:
        """The concrete attack behind the violation of goal `name` at the end of `path`, or why none could be
        confirmed (checker/security/witness.py), memoised: the search asks to confirm it, the verdict shows it."""
        key = (name, path)
        found = self._attacks.get(key)
        if found is None:
            from checker.security.witness import concretise
            found = self._attacks[key] = concretise(self, spec, name, path)
        return found

    def _role_sort(self, role_name: str) -> str:
        """The sort of a variable naming who plays `role_name`: the agents the scenario allows in it."""
        r = self.role_index[role_name]
        allowed = [a.name for a in self.agents if self.scenario.allowed(r, a)]
        return agent_sort(None if len(allowed) == len(self.agents) else allowed)

    def _predecessor(self, i: int) -> int | None:
        """The previous instance identical to i before it starts (same role, same preset): i may only start
        once that one has (symmetry reduction)."""
        inst = self.instances[i]
        if inst.session is not None:
            return None  # sessions are cast in order instead (`_starts`)
        for j in range(i - 1, -1, -1):
            other = self.instances[j]
            if other.role == inst.role and other.preset == inst.preset:
                return j
        return None

    # ------------------------------------------------------------------ the TransitionSystem interface
    def initial_states(self) -> list[SecState]:
        runs = []
        for inst in self.instances:
            vals: list[Pattern | None] = [None] * len(self.roles[inst.role].slots)
            for slot, agent in inst.preset:
                vals[slot] = agent
            runs.append(Run(0, tuple(vals)))
        clock = self.timing.initial() if self.timing is not None else None
        return [SecState(tuple(runs), self.initial_store, frozenset(), frozenset(), frozenset(), frozenset(),
                         clock)]

    def successors(self, state: SecState) -> list[tuple[SecAction, SecState]]:
        """The successors of `state`; those of the last few states are kept (callers do not change the list):
        confirming a violation found among them replays the path to it (`attack`), which asks for them again."""
        recent = self._recent
        found = recent.get(state)
        if found is None:
            if len(recent) >= RECENT_EXPANSIONS:
                recent.clear()
            found = recent[state] = self._successors(state)
        return found

    def _successors(self, state: SecState) -> list[tuple[SecAction, SecState]]:
        out: Successors = {}
        first = self._eager(state)
        if first is not None:  # only this start: see `_eager`
            self._expand(state, first, out, eager=True)
            if out:
                return list(out.values())
        for i in range(len(self.instances)):
            self._expand(state, i, out)
        if "drop" in self.capabilities and not self.network_free:
            for entry in _ordered(e for e, _n in state.net):
                nxt = state._replace(net=_take(state.net, entry))
                if (nxt, ()) not in out:
                    out[(nxt, ())] = (SecAction(-1, 0, "drop", -1, None, None, None, (), _dropped(state, entry)),
                                      nxt)
        return list(out.values())

    def _eager(self, state: SecState) -> int | None:
        """The first run whose next step may be taken before everything else, or None. When there is one, its
        step is the only successor (unless it has none now). Two kinds of steps qualify; neither emits a running
        or commit event:
          * a start that only sends (no receive);
          * with the attacker as the network (`eager_receives`), a receive whose pattern (over the run's values)
            is a tuple of variables and of terms the attacker can derive now: its solutions (the variables stay
            the attacker's choice, agents are cast up to symmetry) are the same now as at any later point, since
            knowledge only grows. With exact levels (`exact`) only agent variables qualify: any other variable
            taken early could not take a value learnt later, as it could if the receive came later; with floating
            levels (`finer`) any do, their variables at level FLOAT until their run's next step pins them.

        Why no attack is lost (a simulation argument; symbolic states do not commute, so this is not a
        partial-order reduction of the explorer's kind): in any run of the system such a step can be moved to
        the front. Its messages then reach the attacker earlier, so every later receive has at least the
        solutions it had (knowledge only grows, constraints only get more room); what it received had the same
        solutions earlier, and a value the attacker later fixes for one of its variables is checked against
        the knowledge of that later moment (without levels; with levels only agents, known from the start, are
        taken early); it emits no event, and an agent it casts is interchangeable with the one cast later. The
        moved run reaches a state at least as permissive, where the same goals fail. This needs monotone goals and effects: it is off for timed
        protocols (a step reads the clock), with `reveal` (which waits for a quiet moment) and with aliveness
        goals (a run that has moved counts as alive). An attack found this way is replayed concretely with such
        receives postponed until the attacker can send them (witness.py)."""
        if not self.reducible:
            return None
        for i, run in enumerate(state.runs):
            if run.pc < 0:
                continue
            role = self.roles[self.instances[i].role]
            if run.pc >= len(role.steps):
                continue
            step = role.steps[run.pc]
            if step.signals:
                continue
            if step.receive is None:
                w = self.waits_for[i]
                if run.pc == 0 and (w is None or state.runs[w].pc != 0):
                    return i
                continue
            if self.eager_receives and run.values[0] is not None and self._free_pattern(state, i, run):
                return i
        return None

    def _free_pattern(self, state: SecState, i: int, run: Run) -> bool:
        """Whether run i's receive pattern is a tuple of variables (new ones, or ones the attacker chose) and of
        terms derivable now: then its solutions do not depend on when it is received (see `_eager`)."""
        inst = self.instances[i]
        role = self.roles[inst.role]
        pattern0 = self.patterns[inst.role][run.pc]
        assert pattern0 is not None
        _vals, pattern = self._pattern(role, pattern0, run.values)
        return _free(pattern, self.eager_receives == "agents", state.store.levels(), state.store.index(), {})

    def forget(self, decided: frozenset[str]) -> None:
        """Stop tracking the events of the agreement goals in `decided` (engine/system.py `Focusing`): no other
        goal reads them, so states that differ only in them are merged for the rest of the search. Commits of
        those goals are no longer checked; their events are still made, and kept in the key that tells a
        state's successors apart (`Successors`), so the successors are the same whatever was forgotten."""
        self._forgotten = frozenset(k for k, g in enumerate(self.agreements) if g.name in decided)
        self._recent = {}  # made with the events forgotten now

    def is_valid_end(self, state: SecState) -> bool:
        return True

    def fingerprint(self, state: SecState) -> int:
        """The canonical encoding of the runs, and each set of the state as the sum (mod 2^64) of its members'
        fingerprints, memoised per member: members recur across states, so a state costs little more than its
        runs (the Zobrist idea; sums of uniform 64-bit values are uniform). The 64-bit parts are packed as they
        are (a system has a fixed number of runs, so the packing is injective), then the clock's encoding."""
        data = self._packed(state)
        clock = state.clock
        return digest64(data if clock is None else data + encode(clock.bookkeeping()) + encode(clock.zone))

    def _packed(self, state: SecState) -> bytes:
        parts = [self._one(r) for r in state.runs]
        parts += (self._sum(state.store.known), self._sum(state.store.simple), self._sum(state.net),
                  self._sum(state.traffic), self._sum(state.events), self._sum(state.revealed))
        return struct.pack(f"<{len(parts)}Q", *parts)

    def _one(self, x: Any) -> int:
        cache = self._fps
        f = cache.get(x)
        if f is None:
            if len(cache) > 500_000:
                cache.clear()
            f = cache[x] = fingerprint(x)
        return f

    def _sum(self, items: frozenset) -> int:
        """The sum of the members' fingerprints; memoised per set when it is large (the knowledge): siblings and
        the duplicates a search reaches again share it, and looking a set up is hashing it, done in C."""
        if len(items) > 4:
            sums = self._set_sums
            found = sums.get(items)
            if found is not None:
                return found
            if len(sums) > 100_000:
                sums.clear()
            found = sums[items] = self._members_sum(items)
            return found
        return self._members_sum(items)

    def _members_sum(self, items: frozenset) -> int:
        cache = self._fps
        total = 0
        for x in items:
            f = cache.get(x)
            if f is None:
                if len(cache) > 500_000:
                    cache.clear()
                f = cache[x] = fingerprint(x)
            total += f
        return total & MASK64

    def exact_key(self, state: SecState) -> SecState:
        return state

    def split(self, state: SecState, exact: bool) -> tuple[Any, Any, Any] | None:
        """A timed state's discrete part (all but the zone), its zone and the whole state, as keys (fingerprints
        unless `exact`), for the explorer's inclusion check (engine/system.py `Subsuming`). Zone operations are
        exact and monotone, and goals read only the discrete part, so a state whose zone another's includes
        reaches no new violation."""
        clock = state.clock
        if clock is None:
            return None
        if exact:
            return state._replace(clock=clock.bookkeeping()), clock.zone, state
        data = self._packed(state) + encode(clock.bookkeeping())  # as `fingerprint`, once for both keys
        return digest64(data), clock.zone, digest64(data + encode(clock.zone))

    # ------------------------------------------------------------------ one instance's next step
    def _expand(self, state: SecState, i: int, out: Successors, eager: bool = False) -> None:
        run = state.runs[i]
        inst = self.instances[i]
        role = self.roles[inst.role]
        if run.pc >= len(role.steps) or run.pc < 0:
            return
        if run.pc == 0:
            w = self.waits_for[i]
            if w is not None and state.runs[w].pc == 0:
                return
        step = role.steps[run.pc]
        pattern0 = self.patterns[inst.role][run.pc]
        floating = self.eager_receives == "floating"
        if floating and not eager and run.pc > 0:  # the receives taken early happened by now (see FLOAT)
            state = state._replace(store=state.store.pinned(frozenset(
                v.name for x in run.values if x is not None for v in term_vars(x))))
        level = FLOAT if floating and eager else None
        for st in self._starts(state, i):
            values = st.runs[i].values
            if pattern0 is None:
                self._after_receive(st, i, step, list(values), Work.start(st.store), Delivery(None, None, None),
                                    None, out)
                continue
            vals, pattern = self._pattern(role, pattern0, values)
            me = vals[0]
            assert isinstance(me, Atom)
            for delivery, work in self._deliveries(st, pattern, me, level):
                for checked in self._checked(work, role, step, vals):
                    self._after_receive(st, i, step, vals, checked, delivery, pattern, out)

    def _starts(self, state: SecState, i: int) -> Iterator[SecState]:
        """The state with instance i's own agent known: as it is, after casting i's session (when i is the first
        of its session to act), or with each choice of own agent for a run that left it open."""
        run = state.runs[i]
        if run.values[0] is not None:
            yield state
            return
        inst = self.instances[i]
        if inst.session is not None:
            if inst.role != self.opener or (inst.session > 1 and not self._cast_done(state, inst.session - 1)):
                return  # a session is cast when its opener starts, sessions in order
            for runs in self._session_casts(state, i):
                if runs[i].pc >= 0:
                    yield state._replace(runs=runs)
            return
        for agent in self._agent_options(state, inst.role, True, ()):
            cast = list(state.runs)
            cast[i] = Run(0, (agent,) + tuple(run.values[1:]))
            yield state._replace(runs=tuple(cast))

    def _cast_done(self, state: SecState, session: int) -> bool:
        return all(state.runs[j].values[0] is not None for j in self.sessions[session])

    def _session_casts(self, state: SecState, starter: int) -> Iterator[tuple[Run, ...]]:
        """Each way to cast a session when instance `starter` is its first to act: an agent per role, the
        starter's honest; the same agent may play several roles (an agent talking to itself); a role cast to a
        compromised agent is played by the attacker (its instance is absent, pc -1). Agents not in use are
        interchangeable, so only the first unused honest and compromised one are tried. The roles that start
        by sending learn their partners from the cast; the others learn them from the messages."""
        members = self.sessions[self.instances[starter].session]  # type: ignore[index]
        names = [r.name for r in self.roles]
        for chosen in self._casts(0, self.instances[starter].role, [], self._used(state, ())):
            cast_of = dict(zip(names, chosen))
            runs = list(state.runs)
            for j in members:
                role = self.roles[self.instances[j].role]
                vals = list(runs[j].values)
                vals[0] = cast_of[role.name]
                if role.steps[0].receive is None:
                    for s in role.role_slots:
                        vals[s] = cast_of[role.slots[s]]
                runs[j] = Run(-1 if vals[0] in self.compromised else 0, tuple(vals))
            yield tuple(runs)

    def _casts(self, r: int, starter_role: int, chosen: list[Atom], used: set[Atom]) -> Iterator[list[Atom]]:
        """The agents for roles r, r+1, ... after `chosen` for the roles before (see `_session_casts`). A method,
        not a closure that calls itself: that would be a reference cycle for the collector per session cast."""
        if r == len(self.roles):
            yield chosen
            return
        scenario = self.scenario
        pools = (scenario.honest,) if r == starter_role else (scenario.honest, scenario.compromised)
        for pool in pools:
            tried_fresh = False
            for agent in pool:
                if not scenario.allowed(r, agent):
                    continue
                if agent not in used:
                    if tried_fresh:
                        continue
                    tried_fresh = True
                yield from self._casts(r + 1, starter_role, chosen + [agent], used | {agent})

    def _pattern(self, role: RoleSpec, pattern: Pattern, values: tuple) -> tuple[list, Pattern]:
        """The receive pattern over the instance's values; a slot it learns becomes a new variable (named `~x`,
        which sorts after every state variable, so unification binds it rather than an old one). Memoised: a run's
        values recur in every state that only other runs changed."""
        key = (role.name, pattern, values)
        found = self._patterns.get(key)
        if found is None:
            if len(self._patterns) > 100_000:
                self._patterns.clear()
            found = self._patterns[key] = self._pattern_of(role, pattern, values)
        return list(found[0]), found[1]

    def _pattern_of(self, role: RoleSpec, pattern: Pattern, values: tuple) -> tuple[list, Pattern]:
        vals = list(values)
        b: dict[str, Pattern] = {}
        for k, name in enumerate(role.slots):
            if vals[k] is not None:
                b[name] = vals[k]
        fresh: dict[str, Pattern] = {}
        sorts = self.slot_sorts[self.role_index[role.name]]
        for v in term_vars(pattern):
            if v.name not in b:
                k = role.slots.index(v.name)
                nv = Var("~" + v.name, sorts[k] or v.sort)
                fresh[v.name] = nv
                vals[k] = nv
        return vals, instantiate(pattern, {**b, **fresh})

    def _deliveries(self, state: SecState, pattern: Pattern, me: Atom,
                    level: int | None = None) -> Iterator[tuple[Delivery, Work]]:
        """Every way the receiver can get a message matching `pattern`, by capability (see the module doc); an
        injected one derivable at `level` (None: now)."""
        caps = self.capabilities
        mine: list[Entry] = []
        if not self.network_free:
            mine = [e for e in _ordered(e for e, _n in state.net) if e[1] == me]
            for entry in mine:
                yield from self._unified(state, pattern, entry[2], Delivery(None, entry[0], entry))
            if "replay" in caps:
                for entry in _ordered(state.traffic):
                    yield from self._unified(state, pattern, entry[2], Delivery("replay", entry[0], None))
        if not self.injects or (not self.network_free and "masquerade" not in caps and not mine):
            return
        solutions = self._injections(state.store, pattern, level)
        if "modify" in caps and not self.network_free:
            for entry in mine:
                for w in solutions:
                    yield Delivery("modify", entry[0], entry), w.copy()
        if "masquerade" in caps:
            for w in solutions:
                yield Delivery("masquerade", None, None), w.copy()

    def _injections(self, store: Store, pattern: Pattern, level: int | None = None) -> list[Work]:
        """The solutions of "the attacker can derive `pattern` at `level`" (None: now; memoised: a pure function
        of the store, the pattern and the level, which recur across states; callers copy before changing one)."""
        key = (store, pattern, level)
        found = self._solved.get(key)
        if found is None:
            if len(self._solved) > 50_000:
                self._solved.clear()
            goal = (pattern, store.now if level is None else level)
            found = self._solved[key] = list(self.intruder.solve(Work.start(store), [goal]))
        return found

    def _unified(self, state: SecState, pattern: Pattern, term: Pattern,
                 delivery: Delivery) -> Iterator[tuple[Delivery, Work]]:
        for sigma in unify(pattern, term):
            w = Work.start(state.store)
            goals = w.bind(sigma)
            for w2 in self.intruder.solve(w, goals):
                yield delivery, w2

    def _checked(self, work: Work, role: RoleSpec, step: StepSpec, vals: list) -> Iterator[Work]:
        """The receiver's equality checks (a hash against a stored value, a key from a key server against the
        signer's), as unifications."""
        if not step.checks:
            yield work
            return
        b = _bindings(role, vals, work.sigma)
        pairs = [(instantiate(lhs, b), instantiate(rhs, b)) for lhs, rhs in step.checks]
        for sigma in unify_all(pairs, work.sigma):
            w = work.copy()
            goals = w.bind(sigma)
            yield from self.intruder.solve(w, goals)

    def _after_receive(self, state: SecState, i: int, step: StepSpec, vals: list, work: Work, delivery: Delivery,
                       pattern: Pattern | None, out: Successors) -> None:
        inst = self.instances[i]
        role = self.roles[inst.role]
        pc = state.runs[i].pc
        # A run that finishes has all its partners cast when it makes claims (they count only if every partner
        # is honest); a run without claims (a key server's) may leave them to the attacker.
        finishing = pc + 1 == len(role.steps) and (self.claims[inst.role] or not self.lazy_agents)
        needed = self.needed[inst.role][pc][finishing]
        exact: frozenset[int] = frozenset()  # slots a clock or counter needs as agents (whom it counts towards)
        if step.timing is not None:
            exact = frozenset(role.slots.index(n) for _v, n in step.timing.counters + step.timing.increasing)
        for w, values in self._cast(state, inst.role, role, vals, work, needed | exact, finishing, exact):
            self._fire(state, i, step, values, w, delivery, pattern, out)

    # ------------------------------------------------------------------ casting agents
    def _cast(self, state: SecState, r: int, role: RoleSpec, vals: list, work: Work,
              needed: frozenset[int], finishing: bool, exact: frozenset[int] = frozenset()
              ) -> Iterator[tuple[Work, list]]:
        """Agents for the role slots this step needs and, when the run finishes (its claims need them) or
        partners cannot stay symbolic, for every agent variable of the instance. A needed slot that may stay
        symbolic gets an agent variable instead (any agent the scenario allows in that role)."""
        values = [apply(v, work.sigma) if v is not None else None for v in vals]
        cast_all = finishing or not self.lazy_agents
        agent_vars = sorted({v for x in values if x is not None for v in term_vars(x) if is_agent_sort(v.sort)},
                            key=lambda v: v.name)
        if not cast_all:
            agent_vars = [v for v in agent_vars if any(values[k] == v for k in exact)]
        if agent_vars:
            if agent_vars:
                v = agent_vars[0]
                slot = next((k for k, x in enumerate(values) if x == v and k in role.role_slots), None)
                target = self.role_index.get(role.slots[slot]) if slot is not None else None
                for agent in self._agent_options(state, target, slot == 0, values, v.sort):
                    for sigma in unify(v, agent, work.sigma):
                        w = work.copy()
                        goals = w.bind(sigma)
                        for w2 in self.intruder.solve(w, goals):
                            yield from self._cast(state, r, role, values, w2, needed, finishing, exact)
                return
        open_slots = [k for k in sorted(needed) if values[k] is None]
        if open_slots:
            k = open_slots[0]
            if k != 0 and not cast_all and k not in exact:
                w = work.copy()
                v = Var("~" + role.slots[k], self.slot_sorts[r][k])
                w.constrain(v, 0)  # every agent's name is known to the attacker from the start
                nv = list(values)
                nv[k] = v
                yield from self._cast(state, r, role, nv, w, needed, finishing, exact)
                return
            target = self.role_index.get(role.slots[k])
            for agent in self._agent_options(state, target, k == 0, values):
                nv = list(values)
                nv[k] = agent
                yield from self._cast(state, r, role, nv, work.copy(), needed, finishing, exact)
            return
        yield work, values

    def _agent_options(self, state: SecState, role: int | None, own: bool, values: Sequence,
                       sort: str | None = None) -> list[Atom]:
        """The agents worth trying for a role: those in use, and the first unused honest and compromised one
        (the others are interchangeable). A run's own agent is honest; dedicated roles take only their agents;
        a variable's sort may restrict them further."""
        return self._options(self._used(state, values), role, own, sort)

    def _options(self, used: set[Atom], role: int | None, own: bool, sort: str | None) -> list[Atom]:
        names = agent_names(sort)
        out: list[Atom] = []
        pools = (self.scenario.honest,) if own else (self.scenario.honest, self.scenario.compromised)
        for pool in pools:
            fresh_tried = False
            for a in pool:
                if role is not None and not self.scenario.allowed(role, a):
                    continue
                if names is not None and a.name not in names:
                    continue
                if a in used:
                    out.append(a)
                elif not fresh_tried:
                    fresh_tried = True
                    out.append(a)
        return out

    def _used(self, state: SecState, values: Sequence) -> set[Atom]:
        used: set[Atom] = set()
        for run in state.runs:
            for v in run.values:
                if isinstance(v, Atom) and v.sort == "agent":
                    used.add(v)
                elif isinstance(v, App):
                    used |= {a for a in _atoms(v) if a.sort == "agent"}
        for v in values:
            if isinstance(v, Atom) and v.sort == "agent":
                used.add(v)
        return used

    # ------------------------------------------------------------------ the rest of a step
    def _fire(self, state: SecState, i: int, step: StepSpec, values: list, work: Work, delivery: Delivery,
              pattern: Pattern | None, out: Successors) -> None:
        inst = self.instances[i]
        role = self.roles[inst.role]
        me = values[0]
        assert isinstance(me, Atom)
        for slot, sort in step.fresh:
            if values[slot] is None:
                values[slot] = self._fresh_atom(role.slots[slot], inst.number, sort)
        clock = state.clock
        if self.timing is not None:
            timed = self._time_step(clock, i, role, step, values, work)
            if timed is None:
                return  # no schedule allows this step (or a replay cache refuses it)
            clock, work = timed
            values = [apply(v, work.sigma) if v is not None else None for v in values]
        sigma = work.sigma  # fixed from here on: apply it to the whole state once
        b = _bindings(role, values, sigma)
        net, traffic, events, revealed = state.net, state.traffic, state.events, state.revealed
        if delivery.taken is not None:
            net = _take(net, delivery.taken)
        runs = list(state.runs)
        if sigma:
            runs, net, traffic, events, revealed = _substituted(sigma, runs, net, traffic, events, revealed)
        sends: list[Entry] = []
        for s in step.sends:  # the addressee may still be an agent variable (only when the attacker is the network)
            sends.append((me, b[role.slots[s.to_slot]], instantiate(s.recipe, b)))  # type: ignore[arg-type]
        learn: list[Pattern] = []
        if sends and self.network_free:
            learn.extend(e[2] for e in sends)
        elif sends:
            added = []
            for entry in sends:
                if entry[1] in self.compromised:
                    learn.append(entry[2])  # addressed to the attacker's own identity
                else:
                    added.append(entry)
                    if "eavesdrop" in self.capabilities:
                        learn.append(entry[2])
            net = _add(net, added)
            if "replay" in self.capabilities:
                traffic = traffic | frozenset(sends)
        runs[i] = Run(state.runs[i].pc + 1, tuple(values))
        note = None
        if runs[i].pc == len(role.steps):
            shown = self._reveals(runs, revealed)
            if shown:
                learn.extend(shown)
                revealed = revealed | frozenset(shown)
                note = "the session is over: " + ", ".join(pretty(v) for v in shown) + " revealed to the attacker"
        if learn:
            work.learn(learn, state.store.now + 1 if self.timed_knowledge else 0)
        for w in self._split(work, runs):
            extra = {k: v for k, v in w.sigma.items() if sigma.get(k) != v}
            self._finish_step(state, i, step, w, extra, runs, net, traffic, events, revealed, sends, b, clock,
                              note, delivery, pattern, out)

    def _finish_step(self, state: SecState, i: int, step: StepSpec, work: Work, extra: Subst, runs: list,
                     net: frozenset, traffic: frozenset, events: frozenset, revealed: frozenset, sends: list,
                     b: dict, clock: Any, note: str | None, delivery: Delivery, pattern: Pattern | None,
                     out: Successors) -> None:
        """Goal signals, canonical form and the action, once the step's substitution is final."""
        if extra:
            runs, net, traffic, events, revealed = _substituted(extra, runs, net, traffic, events, revealed)
            sends = [(s, apply(d, extra), apply(t, extra)) for s, d, t in sends]
            b = {k: apply(v, extra) for k, v in b.items()}
        if self._fresh_received(runs, state.runs):
            return  # no concrete run gets here (see `_fresh_received`)
        sigma = work.sigma
        violations: tuple = ()
        if step.signals:
            events, violations, why = self._signals(runs, i, step, b, events, work)
            if why:
                note = why if note is None else f"{note}; {why}"
        store = work.store() if self.timed_knowledge else work.flat_store()
        if clock is not None:
            terms = itertools.chain((t for t, _lv in store.known), (v for r in runs for v in r.values if v is not None),
                                    (e[2] for e, _n in net), (e[2] for e in traffic))
            clock = self.timing.settle(clock, terms, self._idle(runs))
        raw = SecState(tuple(runs), store, net, traffic, events, revealed, clock)
        nxt, perm, amap, rename = self._canonical_form(raw)

        def fwd(t: Pattern) -> Pattern:
            return _rn(rename_atoms(t, amap) if amap else t, rename)

        def moved() -> tuple:
            forward = tuple((name, fwd(apply(Var(name, v.sort), sigma)))
                            for name, v in sorted(state.store.variables().items()))
            received = fwd(apply(pattern, sigma)) if pattern is not None else None
            taken = None if delivery.taken is None else (amap.get(delivery.taken[0], delivery.taken[0]),
                                                          amap.get(delivery.taken[1], delivery.taken[1]),
                                                          fwd(apply(delivery.taken[2], sigma)))
            return received, taken, tuple((amap.get(a, a), fwd(d), fwd(t)) for a, d, t in sends), forward

        violations = tuple((goal, tuple((rename[n].name if n in rename else n, fwd(t)) for n, t in witness))
                           for goal, witness in violations)
        claimed = None if delivery.claimed is None else amap.get(delivery.claimed, delivery.claimed)
        action = SecAction(i, len(sends), "step", i, delivery.capability, claimed, note,
                           nxt.runs[perm[i] if perm else i].values, moved, violations,
                           tuple(sorted(amap.items(), key=lambda kv: kv[0].name)) if amap else (), perm)
        key = (nxt, tuple(g for g, _w in violations))
        if key not in out:
            if self._forgotten:
                nxt = nxt._replace(events=frozenset((ev, n) for ev, n in nxt.events if ev[1] not in self._forgotten))
            out[key] = (action, nxt)

    def _fresh_received(self, runs: Sequence[Run], before: Sequence[Run]) -> bool:
        """Whether a run holds, in a slot it received, a fresh value that it created only later: impossible in
        every concrete run (a value created at a step is in nothing that existed before it), so such a state is
        unreachable, and pruning it keeps every search an over-approximation of the concrete one. Without
        levels nothing else forbids it: the attacker's choice for the received slot could be bound afterwards to
        the run's own later nonce (Carlsen's responder), an attack that never replays. Only runs that differ
        from the parent's (`before`) are looked at: the parent passed (the test is per run, and the same up to
        the renamings of the canonical form)."""
        for checks, run, old in zip(self.fresh_checks, runs, before):
            if run == old:
                continue
            for s, f, k, own in checks:
                if run.pc > k:
                    value, made = run.values[s], run.values[f]
                    if made is not own:
                        continue  # not created by the run (a value the scenario gave it)
                    if value is made or (type(value) is App and made in self._atoms_of(value)):
                        return True
        return False

    def _atoms_of(self, t: App) -> frozenset[Atom]:
        """The atoms in `t` (memoised: run values recur across states)."""
        found = self._term_atoms.get(t)
        if found is None:
            if len(self._term_atoms) > 200_000:
                self._term_atoms.clear()
            found = self._term_atoms[t] = frozenset(_atoms(t))
        return found

    def _idle(self, runs: list[Run]) -> frozenset[Atom]:
        """Honest agents no run can make step again (every unfinished run is cast to another agent): their pace
        marks constrain nothing any more, so `settle` forgets them (exactly) instead of keeping states apart."""
        assert self.timing is not None
        if not self.timing.pace:
            return frozenset()
        busy = set()
        for inst, run in zip(self.instances, runs):
            if run.pc < len(self.roles[inst.role].steps):
                me = run.values[0]
                if not isinstance(me, Atom):
                    return frozenset()  # not cast yet: any agent may still take this run
                busy.add(me)
        return frozenset(self.timing.honest) - busy

    def _canonical_form(self, raw: SecState) -> tuple[SecState, tuple[int, ...] | None, dict[Atom, Atom],
                                                      dict[str, Var]]:
        """The representative of `raw` up to session and agent symmetry and renaming of variables, with the
        instance permutation, the atom renaming and the variable renaming that lead there. Sessions whose
        shapes tie are tried in every order: the orders whose canonical runs have the least fingerprint are
        kept, and of those the one whose whole canonical state has the least fingerprint wins, so that states
        equal up to swapping such sessions coincide (the runs alone are cheap to rename; most ties end there)."""
        orders = self._session_orders(raw)
        if len(orders) > 1:
            keyed = [(tuple(self._one(r) for r in _canonical_runs(self._reordered_runs(raw, o))), o) for o in orders]
            least = min(k for k, _o in keyed)
            orders = [o for k, o in keyed if k == least]
        best: tuple | None = None
        best_fp = 0
        for order in orders:
            perm, amap, clock = self._moves(raw, order)
            nxt, rename = _canonical(raw, self._canon, self._mappings, perm, amap, clock)
            if len(orders) == 1:
                return nxt, perm, amap, rename
            fp = self.fingerprint(nxt)
            if best is None or fp < best_fp:
                best, best_fp = (nxt, perm, amap, rename), fp
        assert best is not None
        return best

    def _session_orders(self, state: SecState) -> list[list[int] | None]:
        """Sessions are interchangeable: the canonical orders of the sessions (by the shape of their runs, fresh
        values, variables and, untimed, agents abstracted); sessions whose shapes tie give one order per
        permutation (at most `TIED_ORDERS`, then ties keep their order). [None] without session symmetry."""
        if not self.session_symmetry:
            return [None]
        views = self._session_views(state)
        order = sorted(views, key=lambda k: views[k][0])
        if all(views[a][0] != views[b][0] for a, b in zip(order, order[1:])):
            return [order]  # no tie: the common case, told apart without grouping
        groups = [list(g) for _k, g in itertools.groupby(order, key=lambda k: views[k][0])]
        orders: list[list[int] | None] = []
        for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
            orders.append([k for g in choice for k in g])
            if len(orders) == TIED_ORDERS:
                break
        return orders

    def _order_maps(self, state: SecState, order: list[int]
                    ) -> tuple[list[int], dict[Atom, Atom], Callable[[Pattern], Pattern]]:
        """The instance permutation and the atom renaming that put the sessions in `order`, and the renaming as a
        function (`_renamer`): the fresh values a session created follow it (`Na#2` of the session that becomes
        the first is `Na#1`); untimed, agents of one class (honest ones, compromised ones, those dedicated to one
        role) are renamed in order of first appearance in the runs. Memoised per order and agents of each
        session, which is all they depend on (callers do not change them)."""
        agents = tuple(v[1] for v in self._session_views(state).values()) if state.clock is None else None
        key = (tuple(order), agents)
        found = self._orders.get(key)
        if found is None:
            if len(self._orders) > 10_000:
                self._orders.clear()
            perm, amap = self._order_maps_of(state, order)
            found = self._orders[key] = (perm, amap, self._renamer(amap))
        return found

    def _order_maps_of(self, state: SecState, order: list[int]) -> tuple[list[int], dict[Atom, Atom]]:
        perm = list(range(len(self.instances)))
        amap: dict[Atom, Atom] = {}
        for new_k, old_k in zip(sorted(self.sessions), order):
            if new_k == old_k:
                continue
            for j_old, j_new in zip(self.sessions[old_k], self.sessions[new_k]):
                perm[j_old] = j_new
            amap.update(self._fresh_moves[(old_k, new_k)])
        if state.clock is None:
            amap.update(self._agent_renaming(state, order))
        return perm, amap

    def _renamer(self, amap: dict[Atom, Atom]) -> Callable[[Pattern], Pattern]:
        """`rename_atoms` under `amap`, memoised per (term, renaming)."""
        memo, key = self._renamed, _interned(self._mappings, frozenset(amap.items()))
        if len(memo) > 500_000:
            memo.clear()

        def ren(t: Pattern) -> Pattern:
            found = memo.get((t, key))
            if found is None:
                found = memo[(t, key)] = rename_atoms(t, amap)
            return found

        return ren

    def _reordered_runs(self, state: SecState, order: list[int] | None) -> tuple[Run, ...]:
        """The runs with the sessions in `order` and their atoms renamed with them (`_order_maps`), variables
        untouched: what a tie between orders is first decided on."""
        if order is None:
            return state.runs
        perm, _amap, ren = self._order_maps(state, order)
        return tuple(Run(r.pc, tuple(ren(v) if v is not None else None for v in r.values))
                     for r in _permuted(state.runs, tuple(perm)))

    def _moves(self, state: SecState, order: list[int] | None
               ) -> tuple[tuple[int, ...] | None, dict[Atom, Atom], Any]:
        """The instance permutation and the atom renaming that put the sessions of `state` in `order`
        (`_order_maps`), None and {} when nothing moves, and the clock renamed with them. Zones name
        timestamps: where one names a compound term that a renaming would change, nothing moves."""
        if order is None:
            return None, {}, state.clock
        perm, amap, _ren = self._order_maps(state, order)
        moved = tuple(perm) if any(p != j for j, p in enumerate(perm)) else None
        if not amap:
            return moved, amap, state.clock
        clock = state.clock
        if clock is not None:
            clock = self.timing.rename(clock, amap)
            if clock is None:
                return None, {}, state.clock
        return moved, amap, clock

    def _fresh_atom(self, base: str, number: int, sort: str) -> Atom:
        """The fresh value `base#number`, always the same object: dictionaries keyed by terms then find it by
        identity instead of comparing names."""
        key = (base, number, sort)
        found = self._fresh_atoms.get(key)
        if found is None:
            found = self._fresh_atoms[key] = Atom(f"{base}#{number}", sort)
        return found

    def _agents_in(self, t: Pattern) -> tuple[Atom, ...]:
        """The scenario's agents in `t`, left to right (memoised: run values recur across states)."""
        found = self._agent_atoms.get(t)
        if found is None:
            if len(self._agent_atoms) > 200_000:
                self._agent_atoms.clear()
            found = self._agent_atoms[t] = tuple(a for a in _atoms(t) if a in self.agent_class)
        return found

    def _agent_renaming(self, state: SecState, order: list[int]) -> dict[Atom, Atom]:
        """Agents of each class renamed in order of first appearance in the runs (sessions in `order`)."""
        views = self._session_views(state)
        seen: dict[tuple, list[Atom]] = {}
        for k in order:
            for a in views[k][1]:
                cls = self.agent_class[a]
                if a not in seen.setdefault(cls, []):
                    seen[cls].append(a)
        out: dict[Atom, Atom] = {}
        for cls, first in seen.items():
            members = self.agent_classes[cls]
            rest = [a for a in members if a not in first]
            for old, new in zip(first + rest, members):
                if old != new:
                    out[old] = new
        return out

    def _session_views(self, state: SecState) -> dict[int, tuple[tuple, tuple[Atom, ...]]]:
        """Every session's `_session_view`. The last state's are kept: its orders are tried one by one."""
        last = self._last_views
        if last is not None and last[0] is state:
            return last[1]
        views = {k: self._session_view(state, k) for k in self.sessions}
        self._last_views = (state, views)
        return views

    def _session_view(self, state: SecState, k: int) -> tuple[tuple, tuple[Atom, ...]]:
        """Session k's sort key for `_session_orders` and its agents in order of first appearance, memoised per
        the session's runs: most sessions of a successor are its parent's, unchanged. The key is what survives
        every swap of sessions and (untimed) renaming of agents: whether the session is cast, the pc and shape
        of each run's values (`_shape`) and, untimed, which of the session's agents each agent in them is
        (numbered in order of first appearance). The finer the key, the fewer orders tie and are all tried."""
        runs = tuple(state.runs[j] for j in self.sessions[k])
        untimed = state.clock is None
        memo_key = (k, runs, untimed)
        found = self._view_memo.get(memo_key)
        if found is not None:
            return found
        if len(self._view_memo) > 200_000 or len(self._shapes) > 200_000:
            self._view_memo.clear()
            self._shapes.clear()
        first: list[Atom] = []
        links: list[int] = []
        shapes = []
        for r in runs:
            parts = []
            for v in r.values:
                part = self._shapes.get((v, k, untimed))
                if part is None:
                    part = self._shapes[(v, k, untimed)] = _shape(v, self.fresh_names, k,
                                                                  self.agent_class if untimed else None)
                parts.append(part)
                if v is not None:
                    for a in self._agents_in(v):
                        if a not in first:
                            first.append(a)
                        links.append(first.index(a))
            shapes.append((r.pc, tuple(parts)))
        cast = runs[0].values[0] is not None or runs[0].pc != 0
        key = (not cast, tuple(shapes), tuple(links)) if untimed else (not cast, tuple(shapes))
        found = self._view_memo[memo_key] = (key, tuple(first))
        return found

    def _split(self, work: Work, runs: list[Run]) -> Iterator[Work]:
        """Decide, for each agent variable in the key of something the attacker holds but cannot open, whether it
        names a compromised agent (each one, up to symmetry: the attacker opens it) or an honest one (the
        variable is restricted to honest agents: it never opens). Keeps the solver from guessing it again and
        again when it decrypts on demand."""
        if not any(is_agent_sort(v.sort) for v, _lv in work.simple.values()):
            yield work
            return
        pending = [v for v in work.key_agents() if any(a in self.compromised for a in self._agent_options_in(runs,
                                                                                                          v.sort))]
        if not pending:
            yield work
            return
        v = pending[0]
        for a in self._agent_options_in(runs, v.sort):
            if a not in self.compromised:
                continue
            for sigma in unify(v, a, work.sigma):
                w = work.copy()
                goals = w.bind(sigma)
                for w2 in self.intruder.solve(w, goals):
                    yield from self._split(w2, runs)
        names = agent_names(v.sort)
        honest = [a.name for a in self.scenario.honest if names is None or a.name in names]
        if honest:
            for sigma in unify(v, Var(v.name + "'", agent_sort(honest)), work.sigma):
                w = work.copy()
                goals = w.bind(sigma)
                for w2 in self.intruder.solve(w, goals):
                    yield from self._split(w2, runs)

    def _time_step(self, clock: Any, i: int, role: RoleSpec, step: StepSpec, values: list,
                   work: Work) -> tuple[Any, Work] | None:
        """The step's clock readings, counters and guards on the zone. A value a guard reads that the attacker
        left open becomes a fresh symbolic number first (`Ti#3`), constrained only by the guards."""
        assert self.timing is not None
        spec = step.timing
        if spec is None and not self.timing.pace:
            return clock, work
        if spec is not None:
            read = {o for c in spec.checks for o, _k in c.terms if o != "now"} | {n for n, _p in spec.increasing} \
                | set(spec.cached)
            for name in sorted(read):
                value = values[role.slots.index(name)]
                if value is None:
                    continue
                open_vars = sorted(term_vars(apply(value, work.sigma)), key=lambda v: v.name)
                if open_vars:
                    work = work.copy()
                    sigma = dict(work.sigma)
                    for v in open_vars:
                        clock, atom = self.timing.mint_value(clock, self._own_of(role.sorts[role.slots.index(name)]))
                        work.known[atom] = 0
                        sigma = unify(v, atom, sigma)[0] if unify(v, atom, sigma) else sigma
                    goals = work.bind(sigma)
                    solved = next(iter(self.intruder.solve(work, goals)), None)
                    if solved is None:
                        return None
                    work = solved
        me = values[0]
        b = _bindings(role, [apply(v, work.sigma) if v is not None else None for v in values], work.sigma)
        found = self.timing.effects(clock, me, spec, b, self.instances[i].role in self.cached_roles)
        if found is None:
            return None
        effects, clock = found
        if not effects and not self.timing.pace:
            return clock, work
        applied = self.timing.apply(clock, me, effects)
        return None if applied is None else (applied, work)

    def _own_of(self, sort: str | None) -> Atom:
        wanted = sort if sort in ("time", "number") else "time"
        return next((a for a in self.own if a.sort == wanted), next(a for a in self.own if a.sort == "nonce"))

    def timed_step(self, state: SecState, action: SecAction) -> tuple[Atom, Any, dict[str, Term], bool, Any] | None:
        """For `Timing.schedule` (executable's stuck run of the honest system): who acted, its step's timing,
        its values after the step, whether its replay cache applies, and the clock before; None for drops."""
        if action.kind != "step":
            return None
        inst = self.instances[action.instance]
        role = self.roles[inst.role]
        step = role.steps[state.runs[action.instance].pc]
        b = {role.slots[k]: v for k, v in enumerate(action.values) if v is not None}
        return action.values[0], step.timing, b, inst.role in self.cached_roles, state.clock  # type: ignore

    def _reveals(self, runs: list[Run], revealed: frozenset) -> list[Pattern]:
        """The `reveal` values of finished runs, handed out at a quiet moment (no run half-way): old keys are
        compromised after the fact, not while some run may still use them."""
        if any(0 < r.pc < len(self.roles[self.instances[j].role].steps) for j, r in enumerate(runs)):
            return []
        values: list[Pattern] = []
        for j, r in enumerate(runs):
            role = self.roles[self.instances[j].role]
            if r.pc == len(role.steps):
                for s in role.reveal:
                    v = r.values[s]
                    if v is not None and v not in values and v not in revealed:
                        values.append(v)
        return values

    # ------------------------------------------------------------------ agreement
    def _signals(self, runs: list[Run], i: int, step: StepSpec, b: dict[str, Pattern], events: frozenset,
                 work: Work) -> tuple[frozenset, tuple, str | None]:
        """The step's running and commit events; the agreement goals its commits break, each with the
        substitution that breaks it; and why, in words (None when nothing breaks). A violation belongs to the
        step, not to the state after it: states reached with and without it coincide."""
        whys: list[str] = []
        violations: list[tuple[str, tuple]] = []
        counts = dict(events)
        role = self.roles[self.instances[i].role]
        values = runs[i].values
        for sig in step.signals:
            goal = self.agreements[sig.goal]
            me, peer = b[role.slots[sig.me]], b[role.slots[sig.peer]]
            data = tuple(instantiate(d, b) for d in sig.data)
            if sig.kind == "running":
                if peer not in self.compromised:  # only a commit of `peer`'s could match it, and commits are honest
                    key = ("R", sig.goal, me, peer, data)
                    counts[key] = counts.get(key, 0) + 1
                continue
            if not all(values[s] in self.honest for s in role.role_slots if values[s] is not None):
                continue  # a claim counts only in a run whose partners are all honest (as Scyther)
            found = None if sig.goal in self._forgotten else \
                self._commit_violation(runs, goal, sig.goal, me, peer, data, counts, work)
            if goal.kind == "agree":  # only injective agreement counts earlier commits
                counts_key = ("C", sig.goal, me, peer, data)
                counts[counts_key] = counts.get(counts_key, 0) + 1
            if found is None or any(g == goal.name for g, _w in violations):
                continue
            reason, sigma = found
            what = ", ".join(pretty(apply(d, sigma)) for d in data)
            on = f" on {what}" if data else ""
            whys.append(f"{me} finishes believing it ran the protocol with {peer}{on}, but {reason}")
            violations.append((goal.name, tuple(sorted(sigma.items()))))
        return frozenset(counts.items()), tuple(violations), "; ".join(whys) or None

    def _commit_violation(self, runs: list[Run], goal: AgreementGoal, g: int, me: Pattern, peer: Pattern,
                          data: tuple, counts: dict, work: Work) -> tuple[str, Subst] | None:
        """Whether some instantiation of the state breaks this commit: (reason, substitution) or None.

        Data terms may contain variables. A running event matches the commit when its agents and (except for
        weak agreement) its data are equal to the commit's. Variables other than agents are filled, in the
        instantiation that breaks the claim if anything does, with fresh values of the attacker's, which differ
        from everything else (a substitution by fresh constants is injective): so the check is syntactic once
        the few substitutions that matter are fixed. These are, for injective agreement, the unification of
        this commit with a set S of earlier commits (two commits may use one run); and the casting of agent
        variables of runnings that could match (finitely many agents, so those are enumerated, up to
        symmetry). Agreement fails when fewer runnings than commits are then equal (one commit: none)."""
        if goal.kind == "alive":
            if any(r.pc > 0 and r.values[0] == peer for r in runs):
                return None
            return f"{peer} has not run the protocol at all", {}
        weak = goal.kind == "wagree"
        target = (peer, me) if weak else (peer, me, data)
        runnings = [((ev[2], ev[3]) if weak else (ev[2], ev[3], ev[4]), n) for ev, n in counts.items()
                    if ev[0] == "R" and ev[1] == g]
        commits = [(ev[2], ev[3], ev[4]) for ev, n in counts.items() if ev[0] == "C" and ev[1] == g
                   for _ in range(n)] if goal.kind == "agree" else []
        if any(key == target for key, _n in runnings) and goal.kind != "agree":
            return None  # a running equal as terms matches in every instantiation
        if all(_ground_key(key) for key, _n in runnings) and all(_ground_key(c) for c in commits) and \
                _ground_key((me, peer, data)):  # nothing to instantiate: count
            ran = sum(n for key, n in runnings if key == target)
            same = 1 + sum(1 for c in commits if c == (me, peer, data))
            if ran >= same:
                return None
            if ran == 0:
                return f"{peer} never ran it with {me}{'' if weak else ' on these values'}", {}
            return (f"{peer} ran it only {ran} time{'' if ran == 1 else 's'} with these values: an earlier commit "
                    f"already used that run", {})
        for size in range(len(commits) + 1):
            for subset in itertools.combinations(range(len(commits)), size):
                pairs = [(x, y) for k in subset for x, y in zip(_flat_key((me, peer, data)), _flat_key(commits[k]))]
                for sigma in unify_all(pairs, work.sigma):
                    w = work.copy()
                    goals = w.bind(sigma)
                    for w2 in self.intruder.solve(w, goals):
                        found = self._uncast_violation(runs, w2, work, target, runnings, commits, (me, peer, data))
                        if found is not None:
                            return found
        return None

    def _uncast_violation(self, runs: list[Run], w: Work, base: Work, target: tuple, runnings: list,
                          commits: list, commit: tuple) -> tuple[str, Subst] | None:
        """Try every casting of the agent variables of runnings that could still match; see `_commit_violation`."""
        tgt = _apply_all(target, w.sigma)
        near = [key for key, _n in runnings if _could_match(_apply_all(key, w.sigma), tgt, w.sigma)]
        avars = sorted({v for key in near for x in _flat_key(key) for v in term_vars(x) if is_agent_sort(v.sort)},
                       key=lambda v: v.name)
        options = [self._agent_options_in(runs, v.sort) for v in avars]
        for choice in itertools.product(*options):
            sigma = dict(w.sigma)
            ok = True
            for v, a in zip(avars, choice):
                found = unify(v, a, sigma)
                if not found:
                    ok = False
                    break
                sigma = found[0]
            if not ok:
                continue
            w2 = w.copy()
            goals = w2.bind(sigma)
            for w3 in self.intruder.solve(w2, goals):
                mine = _apply_all(target, w3.sigma)
                ran = sum(n for key, n in runnings if _apply_all(key, w3.sigma) == mine)
                same = 1 + sum(1 for c in commits if _apply_all(c, w3.sigma) == _apply_all(commit, w3.sigma))
                if ran < same:
                    extra = {k: v for k, v in w3.sigma.items() if base.sigma.get(k) != v}
                    peer, me = target[0], target[1]
                    if ran == 0:
                        return f"{peer} never ran it with {me}{'' if len(target) == 2 else ' on these values'}", extra
                    return (f"{peer} ran it only {ran} time{'' if ran == 1 else 's'} with these values: an earlier commit "
                            f"that run", extra)
        return None

    def _agent_options_in(self, runs: list[Run], sort: str | None) -> list[Atom]:
        """Agents an agent variable may be cast to (symmetry as in `_agent_options`)."""
        used: set[Atom] = set()
        for run in runs:
            for v in run.values:
                if v is not None:
                    used |= {a for a in _atoms(v) if a.sort == "agent"}
        return self._options(used, None, False, sort)

    # ------------------------------------------------------------------ goals as state predicates
    def secret_leak(self, goal: SecretGoal, state: SecState) -> str | None:
        """Why `goal` fails in `state` (the instance and the value the attacker can derive), or None."""
        found = self.secret_witness(goal, state)
        if found is None:
            return None
        i, value, _work = found
        return f"the attacker can derive {pretty(value)}, the value of {goal.text[7:-1]} in {self.labels[i]}"

    def secret_witness(self, goal: SecretGoal, state: SecState) -> tuple[int, Pattern, Work] | None:
        """The first finished instance (all partners honest) whose value of the secret the attacker can derive
        for some instantiation of the state, with that value and the solved constraints; or None."""
        for i, run in enumerate(state.runs):
            role = self.roles[self.instances[i].role]
            if run.pc < len(role.steps):  # the claim is made when the role finishes (and holds ever after)
                continue
            recipe = goal.per_role[self.instances[i].role]
            if recipe is None:
                continue
            if any(run.values[s] not in self.honest for s in role.role_slots if run.values[s] is not None):
                continue
            value = instantiate(recipe, _bindings(role, list(run.values), {}))
            key = (state.store, value, state.revealed)
            found = self._secret_cache.get(key)
            if found is None:
                found = self._derive(state, value)
                if len(self._secret_cache) > 100_000:
                    self._secret_cache.clear()
                self._secret_cache[key] = found
            if isinstance(found, Work):
                return i, value, found
        return None

    def _derive(self, state: SecState, value: Pattern) -> Work | bool:
        store = state.store
        if isinstance(value, Atom):
            index = store.index()
            if value in index:
                return False if value in state.revealed else Work.start(store)
            w = Work.start(store)
            if not w.decrypts:
                return False
        for w in self.intruder.solve(Work.start(store), [(value, store.now)]):
            v = apply(value, w.sigma)
            if v not in {apply(r, w.sigma) for r in state.revealed}:
                return w
        return False

    def session_completed(self, state: SecState) -> bool:
        """Some session ran to the end: one finished instance per role (a role without steps has nothing to
        finish), all agreeing on who plays which role, every one of them honest."""
        finished: list[list[dict[str, Pattern]]] = [[] if r.steps else [{}] for r in self.roles]
        for i, run in enumerate(state.runs):
            inst = self.instances[i]
            role = self.roles[inst.role]
            if run.pc < len(role.steps):
                continue
            agents: dict[str, Pattern] = {role.slots[s]: v for s in role.role_slots if (v := run.values[s]) is not None}
            if all(a in self.honest for a in agents.values()):
                finished[inst.role].append(agents)
        if not all(finished):
            return False
        for combo in itertools.product(*finished):
            merged: dict[str, Pattern] = {}
            if all(merged.setdefault(r, a) == a for agents in combo for r, a in agents.items()):
                return True
        return False

    # ------------------------------------------------------------------ traces of symbolic runs
    def lane(self, g: int) -> str:
        return self.agents[g].name

    def lanes(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.agents)

    def render_message(self, term: Pattern) -> str:
        return pretty_enclosed(term)

    def describe(self, state: SecState, action: SecAction) -> StepInfo:
        lane = {a: g for g, a in enumerate(self.agents)}
        if action.kind == "drop":
            assert action.taken is not None
            src, dst, term = action.taken
            return StepInfo(-1, "drop", f"drops {pretty(term)}", (), None, (lane[src], lane[dst], term),
                            capability="drop")
        i = action.instance
        step = self.roles[self.instances[i].role].steps[state.runs[i].pc]
        me = action.values[0]
        assert isinstance(me, Atom)
        text = _step_text(self, state.runs, i, bool(action.sends))
        sent, numbers = _sent(lane, step, action.sends)
        if action.received is None:
            return StepInfo(lane[me], "send", text, sent, None, None, note=action.note, run=i, numbers=numbers)
        if action.capability is None and action.taken is not None:
            src, dst, term = action.taken
            return StepInfo(lane[me], "receive", text, sent, (lane[src], lane[dst], term), None, note=action.note,
                            run=i, numbers=numbers)
        claimed = action.claimed if action.claimed in lane else None
        if claimed is None and step.sender_slot is not None:
            v = action.values[step.sender_slot]
            claimed = v if isinstance(v, Atom) and v in lane else None
        if claimed is None:
            claimed = self.scenario.compromised[0] if self.scenario.compromised else me
        intercepted = None
        if action.taken is not None:
            src, dst, term = action.taken
            intercepted = (lane[src], lane[dst], term)
        return StepInfo(lane[me], "receive", text, sent, None, None, capability=action.capability or "masquerade",
                        injected=(lane[claimed], lane[me], action.received),
                        derivation="built by the attacker" if action.capability in ("modify", "masquerade") else None,
                        intercepted=intercepted, note=action.note, run=i, numbers=numbers)

    def changes(self, before: SecState, after: SecState, g: int) -> list[tuple[str, str, str]]:
        return _changes(self, before.runs, after.runs, g)

    def initial_values(self, state: SecState, g: int) -> list[tuple[str, str]]:
        return _initial_values(self, state.runs, g)

    def run_info(self, state: SecState) -> tuple[RunInfo, ...]:
        """Each instance as a run for the charts (checker/engine/system.py `RunSource`)."""
        return _run_infos(self, state.runs)

    def attacker_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.scenario.compromised)

    def claim(self, prop: str, state: SecState) -> ClaimInfo | None:
        """The claim of goal `prop`: a secrecy claim by the run whose value can leak, an agreement's by the run of
        the trace's last step (None here)."""
        for goal in self.secrets:
            if goal.name == prop:
                found = self.secret_witness(goal, state)
                return ClaimInfo(goal.text, found[0] if found is not None else None)
        return next((ClaimInfo(a.text) for a in self.agreements if a.name == prop), None)


# ---------------------------------------------------------------------------------------------------------------
# helpers shared with the concrete replay (checker/security/concrete.py)


def _substituted(sigma: Subst, runs: Sequence[Run], net: frozenset, traffic: frozenset, events: frozenset,
                 revealed: frozenset) -> tuple[list[Run], frozenset, frozenset, frozenset, frozenset]:
    """The parts of a state that hold terms, with `sigma` applied to every one of them."""
    def f(t: Pattern) -> Pattern:
        return apply(t, sigma)

    def event(ev: Event) -> Event:
        return ev if sigma.keys().isdisjoint(_event_variables(ev)) else _event_by(ev, f)

    return ([Run(r.pc, tuple(apply(v, sigma) if v is not None else None for v in r.values))
             if any(x.name in sigma for x in _run_variables(r)) else r for r in runs],
            _map_counts(net, lambda e: _entry_by(e, f)), _map_set(traffic, lambda e: _entry_by(e, f)),
            _map_counts(events, event), _map_set(revealed, f))


def _step_text(system: Any, runs: Sequence[Run], i: int, sends: bool) -> str:
    """What run i's next step does, in words: `receives message 2, sends message 3, finishes`."""
    role = system.roles[system.instances[i].role]
    pc = runs[i].pc
    step = role.steps[pc]
    parts = []
    if step.receive is not None:
        parts.append(f"receives message {step.receive_number}")
    if sends:
        parts.append("sends message " + ", ".join(str(s.number) for s in step.sends))
    if pc + 1 == len(role.steps):
        parts.append("finishes")
    return ", ".join(parts)


def _sent(lane: Mapping[Atom, int], step: StepSpec,
          sends: Sequence[Entry]) -> tuple[tuple[tuple[int, int, Pattern], ...], tuple[int, ...]]:
    """The messages a step sent as (src lane, dst lane, term), with their narration numbers (a message whose
    addressee is still an agent variable reaches no lane and is left out)."""
    kept = [(spec.number, (lane[s], lane[d], t)) for spec, (s, d, t) in zip(step.sends, sends) if d in lane]
    return tuple(e for _n, e in kept), tuple(n for n, _e in kept)


def _changes(system: Any, before: Sequence[Run], after: Sequence[Run], g: int) -> list[tuple[str, str, str]]:
    out = []
    agent = system.agents[g]
    for i, (r0, r1) in enumerate(zip(before, after)):
        if r0 == r1 or r1.values[0] != agent:
            continue
        role = system.roles[system.instances[i].role]
        for k, name in enumerate(role.slots):
            if r0.values[k] != r1.values[k] and not name.startswith("_"):
                out.append((f"{system.labels[i]}.{name}", _show(r0.values[k]), _show(r1.values[k])))
        if r1.pc == len(role.steps):
            out.append((system.labels[i], "running", "finished"))
    return out


def _initial_values(system: Any, runs: Sequence[Run], g: int) -> list[tuple[str, str]]:
    agent = system.agents[g]
    out = []
    for i, run in enumerate(runs):
        if run.values[0] == agent:
            role = system.roles[system.instances[i].role]
            bound = ", ".join(f"{role.slots[s]}={run.values[s]}" for s in role.role_slots
                              if run.values[s] is not None)
            out.append((system.labels[i], bound))
    return out


def _run_infos(system: Any, runs: Sequence[Run]) -> tuple[RunInfo, ...]:
    """Every run as the charts head its lane: agent, role, number, partners as the run knows them (None while it
    does not), the partners it chose itself (an opener's cast, a preset) and whether it plays a dedicated role."""
    out = []
    for i, inst in enumerate(system.instances):
        role = system.roles[inst.role]
        vals = runs[i].values
        own = role.slots[0]
        partners = tuple((role.slots[s], _agent_text(vals[s])) for s in role.role_slots if role.slots[s] != own)
        opener = inst.session is not None and role.steps and role.steps[0].receive is None
        chosen = tuple(role.slots[s] for s in role.role_slots if role.slots[s] != own
                       and (any(slot == s for slot, _a in inst.preset) or opener))
        server = bool(system.scenario.dedicated) and system.scenario.dedicated[inst.role] is not None
        receives = tuple(st.receive_number for st in role.steps if st.receive is not None)
        out.append(RunInfo(_agent_text(vals[0]) or "", role.name, inst.number, partners, chosen, server, receives))
    return tuple(out)


def _agent_text(v: Pattern | None) -> str | None:
    """An agent as the charts name it; None while unknown (a variable the run has not fixed yet)."""
    return pretty(v) if isinstance(v, Atom) else None


def _mode(pattern: Pattern, role: RoleSpec, typed: bool) -> Pattern:
    """A receive pattern for the matching discipline: untyped, every variable may take any term, except the
    agents playing roles and the signers of signatures (an identity must name a principal: its keys and its
    address), which stay agents."""
    if typed:
        return pattern
    mapping = {v.name: Var(v.name, None) for v in term_vars(pattern) if v.sort != "agent"}
    return instantiate(pattern, mapping) if mapping else pattern


def _fresh_after(role: RoleSpec) -> tuple[tuple[int, int, int, str], ...]:
    """(s, f, k, sort): slot s is received at or before step k, which creates the fresh value (of `sort`) of slot
    f, so s never holds that value (see `SecuritySystem._fresh_received`)."""
    received: dict[int, int] = {}
    created: dict[int, tuple[int, str]] = {}
    for j, step in enumerate(role.steps):
        if step.receive is not None:
            for v in term_vars(step.receive):
                k = role.slots.index(v.name)
                if k not in created and k not in received:
                    received[k] = j
        for f, sort in step.fresh:
            created.setdefault(f, (j, sort))
    return tuple((s, f, k, sort) for s, j in sorted(received.items())
                 for f, (k, sort) in sorted(created.items()) if j <= k)


def _needed_slots(role: RoleSpec, step: StepSpec, finishing: bool) -> frozenset[int]:
    """Role slots this step must know: addressees and role names in what it sends, checks and signals, and at
    the end every parameter (a finished run has all its partners)."""
    names: set[str] = set()
    for s in step.sends:
        names.add(role.slots[s.to_slot])
        names |= {v.name for v in term_vars(s.recipe)}
    for lhs, rhs in step.checks:
        names |= {v.name for v in term_vars(lhs) | term_vars(rhs)}
    for sig in step.signals:
        names |= {role.slots[sig.me], role.slots[sig.peer]}
        for d in sig.data:
            names |= {v.name for v in term_vars(d)}
    out = {k for k in role.role_slots if role.slots[k] in names}
    if finishing:
        out |= set(role.params)
    return frozenset(out)


def _bindings(role: RoleSpec, values: list, sigma: Subst) -> dict[str, Pattern]:
    return {role.slots[k]: apply(v, sigma) for k, v in enumerate(values) if v is not None}


def _event_by(ev: Event, f: Callable[[Pattern], Pattern]) -> Event:
    """A running or commit event with `f` (a substitution or renaming) applied to its terms (its agents may be
    variables too); the event itself when nothing changes (see `_map_counts`)."""
    a, b, data = f(ev[2]), f(ev[3]), tuple(f(d) for d in ev[4])
    if a is ev[2] and b is ev[3] and all(x is y for x, y in zip(data, ev[4])):
        return ev
    return (ev[0], ev[1], a, b, data)


@lru_cache(maxsize=1 << 16)
def _event_variables(ev: Event) -> frozenset[str]:
    """The names of the variables in an event's agents and data, memoised as `_run_variables` is: a
    substitution leaves most events alone."""
    return frozenset(v.name for t in (ev[2], ev[3], *ev[4]) for v in term_vars(t))


def _entry_by(e: Entry, f: Callable[[Pattern], Pattern]) -> Entry:
    """A message in flight or sent with `f` applied to its term; the entry itself when that does not change."""
    t = f(e[2])
    return e if t is e[2] else (e[0], e[1], t)


def _apply_all(items: tuple, sigma: Subst) -> tuple:
    """A tuple of terms and tuples of terms (an event's agents and data) under `sigma`."""
    return tuple(tuple(apply(d, sigma) for d in x) if isinstance(x, tuple) else apply(x, sigma) for x in items)


def _ground_key(key: tuple) -> bool:
    return all(is_ground(x) for x in _flat_key(key))


def _flat_key(key: tuple) -> list[Pattern]:
    return [y for x in key for y in (x if isinstance(x, tuple) else (x,))]


def _shape(t: Pattern | None, fresh: frozenset[str], session: int | None,
           agents: Mapping[Atom, tuple] | None = None) -> tuple:
    """A term held by a run of `session`, with fresh values reduced to their names and whether that session
    created them, variables to their sorts and (given `agents`) agents to their classes: what stays the same
    when sessions or agents are swapped (a sort key for `_session_orders`: the finer it is, the fewer orders
    tie and have to be tried)."""
    if t is None:
        return ("0",)
    if isinstance(t, Atom):
        if agents is not None and t in agents:
            return ("g", agents[t])
        base, hash_, number = t.name.partition("#")
        return ("f", base, number == str(session)) if hash_ and base in fresh else ("a", t.name)
    if isinstance(t, Var):
        return ("v", t.sort or "")
    return ("o", t.op, tuple(_shape(a, fresh, session, agents) for a in t.args))


def _could_match(key: tuple, target: tuple, sigma: Subst) -> bool:
    pairs: list[tuple[Pattern, Pattern]] = []
    for x, y in zip(key, target):
        if isinstance(x, tuple):
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y))
        else:
            pairs.append((x, y))
    return bool(unify_all(pairs, sigma))


def _subterms(t: Pattern) -> Iterator[Pattern]:
    yield t
    if isinstance(t, App):
        for a in t.args:
            yield from _subterms(a)


def _atoms(t: Pattern) -> Iterator[Atom]:
    for s in _subterms(t):
        if isinstance(s, Atom):
            yield s


def _show(v: Pattern | None) -> str:
    return "" if v is None else pretty_enclosed(v)


def _ordered(entries: Any) -> list:
    """Entries (sender, addressee, term) in a fixed order, independent of hashing."""
    return sorted(entries, key=lambda e: (e[0].name, e[1].name, sort_key(e[2])))


def _take(net: frozenset, entry: Entry) -> frozenset:
    counts = dict(net)
    n = counts.pop(entry)
    if n > 1:
        counts[entry] = n - 1
    return frozenset(counts.items())


def _add(net: frozenset, entries: list[Entry]) -> frozenset:
    if not entries:
        return net
    counts = dict(net)
    for e in entries:
        counts[e] = counts.get(e, 0) + 1
    return frozenset(counts.items())


def _map_counts(items: frozenset, f: Any) -> frozenset:
    """A multiset (a set of (member, count)) with `f` applied to its members; `items` itself when `f` returns
    every member unchanged (the same object), which a substitution or renaming of variables mostly does: the
    set is then neither rebuilt nor hashed again."""
    counts: dict = {}
    changed = False
    for x, n in items:
        y = f(x)
        changed = changed or y is not x
        counts[y] = counts.get(y, 0) + n
    return frozenset(counts.items()) if changed else items


def _map_set(items: frozenset, f: Any) -> frozenset:
    """A set with `f` applied to its members; `items` itself when every member stays the same object."""
    out = []
    changed = False
    for x in items:
        y = f(x)
        changed = changed or y is not x
        out.append(y)
    return frozenset(out) if changed else items


def _dropped(state: SecState, entry: Entry) -> Callable[[], tuple]:
    """The carried terms of the attacker dropping `entry` (see `SecAction`): nothing received, nothing renamed."""
    return lambda: (None, entry, (), _identity(state))


def _identity(state: SecState) -> tuple[tuple[str, Pattern], ...]:
    return tuple((n, v) for n, v in sorted(state.store.variables().items()))


# ---------------------------------------------------------------------------------------------------------------
# canonical states


def _first_occurrences(runs: Sequence[Run]) -> dict[str, Var]:
    """The variables of the runs in order of first occurrence (runs in order, values in order, left to right)."""
    order: dict[str, Var] = {}
    for run in runs:
        for x in _run_variables(run):
            order.setdefault(x.name, x)
    return order


@lru_cache(maxsize=1 << 16)
def _run_variables(run: Run) -> tuple[Var, ...]:
    """The variables of a run's values in order of first occurrence, memoised (a pure function of an immutable
    value, hashed in C): most runs of a state are its parent's, and most hold no variable at all."""
    order: dict[str, Var] = {}
    for v in run.values:
        if type(v) is App:
            if v._vars:
                for x in _vars_in_order(v):
                    order.setdefault(x.name, x)
        elif type(v) is Var:
            order.setdefault(v.name, v)
    return tuple(order.values())


def _canonical_runs(runs: tuple[Run, ...]) -> tuple[Run, ...]:
    """The runs with variables renamed in order of first occurrence, as `_canonical` renames them."""
    order = _first_occurrences(runs)
    if not order:
        return runs
    rename = _numbered(order)
    return tuple(Run(r.pc, tuple(apply(v, rename) if v is not None else None for v in r.values)) for r in runs)


def _numbered(order: dict[str, Var]) -> dict[str, Var]:
    """Each variable of `order` renamed to its position: `?1`, `?2`, ... (its sort kept)."""
    return {old: Var(f"?{k}", v.sort) for k, (old, v) in enumerate(order.items(), start=1)}


def _vars_in_order(t: Pattern) -> Iterator[Var]:
    """The variables of `t`, left to right (repeats included)."""
    if isinstance(t, Var):
        yield t
    elif isinstance(t, App) and t._vars:
        for a in t.args:
            yield from _vars_in_order(a)


def _free(t: Pattern, agents_only: bool, levels: Mapping, known: Mapping, memo: dict) -> bool:
    """`SecuritySystem._free_pattern` of one term: a variable (only of agent sort when `agents_only`) new or
    chosen by the attacker, a tuple of such, or a term derivable now. A function of its own, not a closure that
    calls itself: that would make a reference cycle for the collector on every call."""
    if isinstance(t, Var):
        if agents_only and not is_agent_sort(t.sort):
            return False
        return t.name.startswith("~") or t.name in levels
    if isinstance(t, App) and t.op == "tuple":
        return all(_free(a, agents_only, levels, known, memo) for a in t.args)
    return is_ground(t) and level_of(t, known, levels, memo) < INF


def _canonical(state: SecState, memo: dict | None = None, mappings: dict | None = None,
               perm: tuple[int, ...] | None = None, atoms: Mapping[Atom, Atom] | None = None,
               clock: Any = None) -> tuple[SecState, dict[str, Var]]:
    """The state with its runs moved by `perm` (old position -> new) and its atoms renamed by `atoms` (a
    symmetry: `clock` is the clock renamed with them), and its variables renamed in order of first occurrence
    (`?1`, `?2`, ...) in the moved runs, then in the knowledge by name; returns the state and the variable
    renaming. One pass renames both: atoms do not move variables, so the order of first occurrence is read off
    the moved runs before any term is renamed. `memo` keeps renamed terms, runs and knowledge sets per (term,
    run or set, renamings), and the variables of knowledge sets (`_varied`): the same ones recur in many states."""
    if memo is None or mappings is None:
        memo, mappings = {}, {}
    elif len(memo) > 500_000:
        memo.clear()
    runs = _permuted(state.runs, perm)
    order = _first_occurrences(runs)
    store = state.store
    varied, held = _varied(store.known, memo)
    rest = held.union(v for v, _lv in store.simple) if store.simple else held
    for v in sorted(rest, key=lambda v: v.name):
        order.setdefault(v.name, v)
    rename = _numbered(order)
    same = all(rename[n].name == n for n in rename)
    if same and not atoms:
        return (state if perm is None else state._replace(runs=runs)), rename
    amap = atoms or {}
    sub: dict[str, Pattern] = {} if same else dict(rename)
    key = _interned(mappings, (frozenset(amap.items()), frozenset(sub.items())))

    def ren(t: Pattern) -> Pattern:
        kind = type(t)
        if kind is App:
            if t._ground and not amap:  # type: ignore[union-attr]
                return t
        elif kind is Atom:
            return amap.get(t, t)  # type: ignore[arg-type]
        found = memo.get((t, key))
        if found is None:
            found = memo[(t, key)] = apply(rename_atoms(t, amap), sub) if amap else apply(t, sub)
        return found

    if not amap:  # only the items with variables change: the others stay in the set, their hashes kept
        known = store.known.difference(varied).union((ren(t), lv) for t, lv in varied) if varied else store.known
    else:  # every item may change; the whole set's image is memoised as `_varied` is, per set and renaming
        whole = ("renamed", store.known, key)
        image = memo.get(whole)
        if image is None:
            image = memo[whole] = frozenset((ren(t), lv) for t, lv in store.known)
        known = image
    moved = []
    for r in runs:  # a run's image is memoised too, and an event's: most of a state's are its parent's
        moved_run = memo.get((r, key))
        if moved_run is None:
            moved_run = memo[(r, key)] = _renamed_run(r, ren)
        moved.append(moved_run)

    def event(ev: Event) -> Event:
        found = memo.get((ev, key))
        if found is None:
            found = memo[(ev, key)] = _event_by(ev, ren)
        return found

    return _transformed(state, tuple(moved), ren, amap, state.clock if clock is None else clock, known,
                        event), rename


def _renamed_run(run: Run, f: Callable[[Pattern], Pattern]) -> Run:
    """The run with `f` (a renaming) applied to each of its values."""
    return Run(run.pc, tuple(f(v) if v is not None else None for v in run.values))


def _varied(known: frozenset, memo: dict) -> tuple[tuple, frozenset[Var]]:
    """The items of `known` with variables in them (most are ground; none is a bare variable: `close` drops them)
    and those variables, memoised in `memo` per set: states share their knowledge with their siblings and with
    the duplicates a search reaches again, and looking a set up is hashing it in C, where finding its variables
    is a loop in Python. (`Store.varied` is the same per store object, for the solver's branches.)"""
    key = ("varied", known)  # a key no term and renaming pair of `_canonical`'s memo can equal
    found = memo.get(key)
    if found is None:
        varied = tuple(item for item in known if type(item[0]) is App and item[0]._vars)
        found = memo[key] = (varied, frozenset().union(*(t._vars for t, _lv in varied)))
    return found


def _permuted(runs: tuple[Run, ...], perm: tuple[int, ...] | None) -> tuple[Run, ...]:
    """The runs moved by `perm` (old position -> new position)."""
    if perm is None:
        return runs
    out: list[Run] = list(runs)
    for j_old, r in enumerate(runs):
        out[perm[j_old]] = r
    return tuple(out)


def _transformed(state: SecState, runs: tuple[Run, ...], f: Callable[[Pattern], Pattern],
                 atoms: Mapping[Atom, Atom], clock: Any, known: frozenset | None = None,
                 event: Callable[[Event], Event] | None = None) -> SecState:
    """`state` with `runs` (its runs, moved and renamed already: `_renamed_run`) and `f` (a renaming of atoms
    and variables, a bijection) applied to every other term; `atoms` renames the agents of messages' ends;
    `known`, when given, is the knowledge renamed already, and `event` the renaming of an event. The store's
    levels are already canonical and a bijection keeps them so."""
    store = state.store
    if known is None:
        known = frozenset((f(t), lv) for t, lv in store.known)
    def entry(e: Entry) -> Entry:
        return (atoms.get(e[0], e[0]), atoms.get(e[1], e[1]), f(e[2])) if atoms else _entry_by(e, f)

    return SecState(runs, Store(known, frozenset((f(v), lv) for v, lv in store.simple)),  # type: ignore[misc]
                    _map_counts(state.net, entry), _map_set(state.traffic, entry),
                    _map_counts(state.events, event or (lambda ev: _event_by(ev, f))), _map_set(state.revealed, f),
                    clock)


def _interned(mappings: dict, mapping: frozenset | tuple[frozenset, frozenset]) -> int:
    """A number for `mapping` (a renaming, or a pair of renamings of atoms and of variables), the same for equal
    mappings: memo keys then compare numbers, not whole mappings term by term."""
    found = mappings.get(mapping)
    if found is None:
        if len(mappings) > 100_000:
            mappings.clear()
        found = mappings[mapping] = next(_MAPPING_NUMBERS)  # never reused, so a memo entry never goes stale
    return found


def _rn(t: Pattern, rename: dict[str, Var]) -> Pattern:
    return apply(t, rename) if rename else t

