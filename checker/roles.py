"""Compiled security protocols as data: roles, their steps, goals and the scenario they run in.

dsl/narration.py produces these from an Alice-Bob narration; checker/secsys.py executes them. Patterns are
`checker.terms` patterns whose variables are the role's slots (a narration name such as `Na` or `B`, or
`_blobN` for a ciphertext the role cannot open and forwards unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass

from .terms import Atom, Pattern


@dataclass(frozen=True)
class SendSpec:
    """One message a role sends: the recipe it builds the term with and the role it addresses."""

    recipe: Pattern
    to_slot: int  # the slot holding the addressee's agent name
    number: int  # the message's position in the narration, from 1
    text: str  # the narration line, for traces


@dataclass(frozen=True)
class Signal:
    """A Lowe-style event: `running` when the partner sends its last message before the claim,
    `commit` when the claimer finishes. `me`/`peer` are slots holding agent names."""

    goal: int
    kind: str  # running | commit
    me: int
    peer: int
    data: tuple[Pattern, ...]


@dataclass(frozen=True)
class StepSpec:
    """One atomic transition of a role: optionally receive (and check) a message, create fresh values, send
    every message up to the next receive, and emit goal signals."""

    receive: Pattern | None
    receive_number: int  # narration position of the received message (0: none)
    sender_slot: int | None  # slot of the role the narration says sent it (for the claimed sender)
    checks: tuple[tuple[Pattern, Pattern], ...]  # equalities verified after matching (a hash against a stored value)
    fresh: tuple[tuple[int, str], ...]  # (slot, sort) created by this step
    sends: tuple[SendSpec, ...]
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class RoleSpec:
    name: str
    slots: tuple[str, ...]  # variable names; slot 0 is the role's own agent
    sorts: tuple[str | None, ...]
    params: tuple[int, ...]  # role slots bound when the instance starts (own agent first)
    role_slots: tuple[int, ...]  # slots holding the agents playing each role (secrecy needs them all honest)
    steps: tuple[StepSpec, ...]
    reveal: tuple[int, ...]  # slots given to the attacker when the instance has finished

    def slot(self, name: str) -> int:
        return self.slots.index(name)


@dataclass(frozen=True)
class SecretGoal:
    """`secret(t)`: in no instance whose role partners are all honest may the attacker derive t."""

    name: str
    text: str
    per_role: tuple[Pattern | None, ...]  # the recipe of t in each role (None: the role never knows t)


@dataclass(frozen=True)
class AgreementGoal:
    """Lowe's hierarchy: kind is `agree` (injective), `niagree`, `wagree` or `alive`."""

    name: str
    text: str
    kind: str
    index: int  # signal goal number


@dataclass(frozen=True)
class Instance:
    """One role instance of the scenario; `preset` binds role slots up front (None: chosen at start or learnt)."""

    role: int
    number: int  # per role, from 1
    preset: tuple[tuple[int, Atom], ...]

    def label(self, role: RoleSpec) -> str:
        return f"{role.name}#{self.number}"


CAPABILITIES = ("eavesdrop", "drop", "modify", "replay", "masquerade")
