"""Alice-Bob narrations to roles: what each role sends, what it accepts, and what it checks.

The semantics is the usual one of AnB-style tools. Each role starts with what its `knows` line gives it
(role names in it are the instance's parameters); public constants and quoted texts are known to all. A
name first sent by a role is fresh there (one new atom per instance). Reading the narration in order:

* a sender must *build* each message from what it knows, applying tuples, encryption, signing, hashing and
  exponentiation; `pk`, `sk` and `k` are never computed, only known (so a key server is meaningful). A
  message it cannot build is an error (E410) naming the missing piece;
* a receiver's *pattern* is the message with every part it can build fixed (checked on receipt), every name
  it cannot build a new variable, and every part it cannot open (a ciphertext without the key, a hash) an
  opaque variable it will forward unchanged (Otway-Rees): typed, such a slot stands for any term of the same
  shape (any symmetric ciphertext, any hash; a key for a key construction), untyped for any term. A message is
  analysed until nothing new opens, so a key may come after the ciphertext it opens;
* a signature `{m}sk(A)` is checked with `pk(A)`. A receiver that cannot yet get `pk(A)` (a key server hands it
  out later) keeps the signature, with its signer as a variable, and checks it in the step where it learns the
  key. A public-key ciphertext never passes for a signature: the pattern of a signature is always `{m}sk(X)`;
* after a receive, a term the role knew that it can now also compose from new parts becomes an equality
  check (S/KEY: the server knows h(h(s)) and receives X; it checks h(X) against what it stored).

Every role becomes a sequence of atomic steps (receive, then send until the next receive). Patterns and
recipes are `checker.security.terms` patterns over the role's slots: a slot per narration name it learns, plus
`_blobN` for opaque parts.
"""
from __future__ import annotations


from checker.records import field, record
from checker.security.roles import SendSpec, Signal, StepSpec, StepTiming
from checker.security.terms import PRIMITIVES, SHAPES, App, Atom, Pattern, Var, exp_or_base, mk_tuple, pretty, variables

from . import ast as A
from .diagnostics import Diagnostic, ModelError

#: Functions a narration may use, with their arity (None: at least one argument, packed as a tuple).
FUNCTIONS = {"pk": 1, "sk": 1, "k": 2, "h": None, "sign": 2, "exp": 2}
#: Operators an honest role may apply itself; `pk`, `sk`, `k` it must know whole.
HONEST_OPS = frozenset({"tuple", "senc", "aenc", "sign", "h", "exp"})
SORT_WORDS = ("agent", "nonce", "key", "text", "number", "time")


@record(frozen=False)
class Names:
    """Every name of a protocol, classified once: roles, constants, fresh values, with their sorts."""

    roles: tuple[str, ...]
    sorts: dict[str, str]
    constants: set[str]
    secrets: set[str]
    pki: bool = True  # honest roles may compute pk(X); false when the narration hands out public keys

    def term(self, name: str) -> Pattern:
        sort = self.sorts[name]
        return Atom(name, sort) if name in self.constants else Var(name, sort)

    def public(self, t: Pattern) -> bool:
        return isinstance(t, Atom) and t.name not in self.secrets


class Terms:
    """Converts written terms into narration patterns, reporting unknown functions and wrong arities."""

    def __init__(self, names: Names, diags: list[Diagnostic]):
        self.names = names
        self.diags = diags

    def convert(self, t: A.TermExpr) -> Pattern | None:
        if isinstance(t, A.TName):
            if t.id not in self.names.sorts:
                self.diags.append(Diagnostic("E201", f"unknown name '{t.id}'", t.span,
                                             hint="declare roles with `roles`, or use the name in a message first"))
                return None
            return self.names.term(t.id)
        if isinstance(t, A.TString):
            return Atom(f'"{t.value}"', "text")
        if isinstance(t, A.TTuple):
            return self.seq(t.items)
        if isinstance(t, A.TEnc):
            body, key = self.seq(t.body), self.convert(t.key)
            if body is None or key is None:
                return None
            op = "senc"
            if isinstance(key, App) and key.op == "pk":
                op = "aenc"
            elif isinstance(key, App) and key.op == "sk":
                op = "sign"
            return App(op, (body, key))
        assert isinstance(t, A.TCall)
        if t.func not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            self.diags.append(Diagnostic("E201", f"unknown function '{t.func}'", t.span,
                                         hint=f"the functions are {known}; encryption is written {{m}}key"))
            return None
        want = FUNCTIONS[t.func]
        if want is not None and len(t.args) != want:
            self.diags.append(Diagnostic("E302", f"{t.func} takes {want} argument{'s' if want > 1 else ''}, "
                                                 f"got {len(t.args)}", t.span))
            return None
        args = _all([self.convert(a) for a in t.args])
        if args is None:
            return None
        if t.func == "h":
            return App("h", (mk_tuple(*args),))
        return App(t.func, tuple(args))

    def seq(self, items: tuple[A.TermExpr, ...]) -> Pattern | None:
        parts = _all([self.convert(x) for x in items])
        return None if parts is None else mk_tuple(*parts)


# ---------------------------------------------------------------------------------------------------------------
# One role's view


@record(frozen=False)
class _Step:
    """A role step while the narration is compiled: filled in line by line, frozen into a StepSpec at the end."""

    receive: Pattern | None = None
    receive_number: int = 0
    sender_slot: int | None = None
    checks: list[tuple[Pattern, Pattern]] = field(default_factory=list)
    fresh: list[tuple[int, str]] = field(default_factory=list)
    sends: list[SendSpec] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    last_message: int = 0  # narration position of the last message in this step
    timing: StepTiming | None = None  # set by dsl/timing.py when the protocol uses time or counters


class RoleView:
    """What one role knows as the narration unfolds, and the steps it takes."""

    def __init__(self, name: str, names: Names):
        self.name = name
        self.names = names
        self.known: dict[Pattern, Pattern] = {}
        self.slots: list[str] = [name]
        self.sorts: list[str | None] = ["agent"]
        self.params: list[int] = [0]
        self.steps: list[_Step] = []
        self.blobs = 0
        self.snapshots: list[tuple[int, int, dict[Pattern, Pattern]]] = []  # (message, step, knowledge after)
        self.known[Var(name, "agent")] = Var(name, "agent")
        self.known_initially: list[Pattern] = []
        self.unverified: list[tuple[Var, Pattern]] = []  # signatures kept for later: (signer variable, subject)

    # ---- knowledge
    def slot(self, name: str, sort: str | None) -> int:
        if name not in self.slots:
            self.slots.append(name)
            self.sorts.append(sort)
        return self.slots.index(name)

    def learn_initial(self, t: Pattern) -> None:
        """A `knows` term: known whole; role names in it become parameters of the instance."""
        for v in variables(t):
            if v.name in self.names.roles:
                s = self.slot(v.name, "agent")
                if s not in self.params:
                    self.params.append(s)
                self.known[v] = v
        self.known[t] = t
        self.known_initially.append(t)

    def build(self, t: Pattern, known: dict[Pattern, Pattern] | None = None) -> Pattern | None:
        """The recipe to build narration term t from what the role knows, or None."""
        known = self.known if known is None else known
        r = known.get(t)
        if r is not None:
            return r
        if isinstance(t, Atom):
            return t if self.names.public(t) else None
        if not isinstance(t, App) or not (t.op in HONEST_OPS or (t.op == "pk" and self.names.pki)):
            return None
        if t.op == "exp":
            base, exps = t.args[0], t.args[1:]
            for i, e in enumerate(exps):
                rest = self.build(exp_or_base(base, exps[:i] + exps[i + 1:]), known)
                re = self.build(e, known)
                if rest is not None and re is not None:
                    return App("exp", (rest, re))
            return None
        args = _all([self.build(a, known) for a in t.args])
        return None if args is None else App(t.op, tuple(args))

    def missing(self, t: Pattern) -> Pattern:
        """The smallest part of t that stops the role from building it (for the error message)."""
        if isinstance(t, App) and t.op in HONEST_OPS and t.op != "exp" and t not in self.known:
            for a in t.args:
                if self.build(a) is None:
                    return self.missing(a)
        return t

    # ---- receiving
    def receive_pattern(self, t: Pattern) -> Pattern:
        """The pattern of a received message; learns what it reveals (to a fixpoint, see module doc)."""
        before = dict(self.known)
        learnt: dict[Pattern, Pattern] = {}
        while True:
            self.known = dict(before)
            self.known.update(learnt)
            self.blobs_pass: list[str] = []
            self.pending_checks: list[tuple[Pattern, Pattern]] = []
            self.pending_late: list[tuple[Var, Pattern]] = []
            pattern = self._pattern(t)
            new = {k: v for k, v in self.known.items() if k not in before and not _is_blob(v)}
            if set(new) <= set(learnt):
                break
            learnt = new
        for v in variables(pattern):
            self.slot(v.name, v.sort)
        self.blobs += len(self.blobs_pass)
        self.unverified.extend(self.pending_late)
        return pattern

    def late_checks(self) -> list[tuple[Pattern, Pattern]]:
        """Checks of signatures received before their key: those whose key the role can now get."""
        out: list[tuple[Pattern, Pattern]] = []
        for signer, subject in list(self.unverified):
            public = self.build(App("pk", (subject,)))
            if public is not None:
                out.append((App("pk", (signer,)), public))
                self.unverified.remove((signer, subject))
        return out

    def _blob(self, t: Pattern) -> Var:
        """An opaque part, forwarded unchanged: typed, a variable of the part's sort or shape (`SHAPES`)."""
        if isinstance(t, App):
            sort = t.op if t.op in SHAPES else PRIMITIVES[t.op].sort
        else:
            sort = getattr(t, "sort", None)
        v = Var(f"_blob{self.blobs + len(self.blobs_pass) + 1}", sort)
        self.blobs_pass.append(v.name)
        self.known[t] = v
        return v

    def _pattern(self, t: Pattern) -> Pattern:
        r = self.build(t)
        if r is not None:
            return r
        if isinstance(t, Var):
            self.known[t] = t
            return t
        if isinstance(t, Atom):
            return self._blob(t)
        op = t.op
        if op == "tuple":
            return App("tuple", tuple(self._pattern(a) for a in t.args))
        if op == "senc":
            key = self.build(t.args[1])
            if key is not None:
                return App("senc", (self._pattern(t.args[0]), key))
        elif op == "aenc":
            pub = t.args[1]
            if isinstance(pub, App) and pub.op == "pk" and self.build(App("sk", pub.args)) is not None:
                owner = self.build(pub.args[0])
                if owner is not None:
                    return App("aenc", (self._pattern(t.args[0]), App("pk", (owner,))))
        elif op == "sign":
            priv = t.args[1]
            if isinstance(priv, App) and priv.op == "sk":
                public = self.build(App("pk", priv.args))
                if isinstance(public, App) and public.op == "pk":
                    return App("sign", (self._pattern(t.args[0]), App("sk", public.args)))
                signer = Var(f"_signer{self.blobs + len(self.blobs_pass) + 1}", "agent")
                self.blobs_pass.append(signer.name)
                if public is not None:  # a public key learnt as data (a key server): verify against it
                    self.pending_checks.append((App("pk", (signer,)), public))
                else:  # not yet: keep the signature and check it when the key arrives (`late_checks`)
                    self.pending_late.append((signer, priv.args[0]))
                return App("sign", (self._pattern(t.args[0]), App("sk", (signer,))))
            signer = Var(f"_signer{self.blobs + len(self.blobs_pass) + 1}", "agent")
            self.blobs_pass.append(signer.name)
            return App("sign", (self._pattern(t.args[0]), App("sk", (signer,))))
        return self._blob(t)

    def checks_after(self, before: dict[Pattern, Pattern]) -> list[tuple[Pattern, Pattern]]:
        """Terms known before a receive that can now also be composed from what it brought: check equal."""
        out = []
        for u, r in before.items():
            if not isinstance(u, App) or u.op not in HONEST_OPS or u.op == "tuple":
                continue
            alt = self.build(u, {k: v for k, v in self.known.items() if k != u})
            if alt is None or alt == r:
                continue
            if self.build(u, {k: v for k, v in before.items() if k != u}) != alt:
                out.append((alt, r))
        return out


def _all(items: list[Pattern | None]) -> list[Pattern] | None:
    """The items when none is missing (None when some part could not be converted or built)."""
    out = [x for x in items if x is not None]
    return out if len(out) == len(items) else None


def _is_blob(v: Pattern) -> bool:
    return isinstance(v, Var) and v.name.startswith("_blob")


# ---------------------------------------------------------------------------------------------------------------
# The whole narration


@record(frozen=False)
class Compiled:
    """A compiled narration: the names and their kinds, each role's view, and every message line as a pattern."""

    names: Names
    views: dict[str, RoleView]
    messages: list[tuple[A.NarrationMsg, Pattern]]


def classify(proto: A.ProtocolDecl, diags: list[Diagnostic]) -> Names:
    """Roles, constants (named in a `knows` line), fresh values (everything else), and their sorts."""
    roles = proto.roles
    sorts: dict[str, str] = {r: "agent" for r in roles}
    declared = {}
    for name, sort, span in proto.sorts:
        if name in roles and sort != "agent":
            diags.append(Diagnostic("E301", f"'{name}' is a role, so its sort is agent, not {sort}", span))
        declared[name] = sort
    constants: set[str] = set()
    for kd in proto.knows:
        for t in kd.terms:
            for n in _names(t):
                if n not in roles:
                    constants.add(n)
    for msg in proto.messages:
        for t in msg.body:
            for n in _names(t):
                sorts.setdefault(n, declared.get(n, "text" if n in constants else "nonce"))
    for n in constants:
        sorts.setdefault(n, declared.get(n, "text"))
    for name, sort in declared.items():
        sorts.setdefault(name, sort)
        if name not in roles:
            sorts[name] = sort
    secrets = set()
    for name, span in proto.secrets:
        if name not in constants:
            diags.append(Diagnostic("E401", f"'{name}' is not a constant", span,
                                    hint="`secret` marks a name from a `knows` line that the attacker must not know"))
        secrets.add(name)
    return Names(roles, sorts, constants, secrets)


def _hands_out_keys(t: A.TermExpr) -> bool:
    """Whether a message carries a public key as data (not as an encryption key): a key server."""
    if isinstance(t, A.TCall):
        return t.func == "pk" or any(_hands_out_keys(a) for a in t.args)
    if isinstance(t, A.TEnc):
        return any(_hands_out_keys(a) for a in t.body)
    if isinstance(t, A.TTuple):
        return any(_hands_out_keys(a) for a in t.items)
    return False


def _names(t: A.TermExpr):
    if isinstance(t, A.TName):
        yield t.id
    elif isinstance(t, A.TCall):
        for a in t.args:
            yield from _names(a)
    elif isinstance(t, A.TEnc):
        for a in t.body:
            yield from _names(a)
        yield from _names(t.key)
    elif isinstance(t, A.TTuple):
        for a in t.items:
            yield from _names(a)


def compile_narration(proto: A.ProtocolDecl) -> Compiled:
    """Roles and steps from the narration; raises ModelError with every problem found."""
    diags: list[Diagnostic] = []
    if not proto.roles:
        raise ModelError([Diagnostic("E401", "the protocol declares no roles", proto.span,
                                     hint="start the protocol block with `roles A, B`")])
    seen_roles = set()
    for r in proto.roles:
        if r in seen_roles:
            diags.append(Diagnostic("E202", f"role '{r}' is declared twice", proto.roles_span))
        seen_roles.add(r)
    names = classify(proto, diags)
    terms = Terms(names, diags)
    names.pki = not any(_hands_out_keys(t) for msg in proto.messages for t in msg.body)
    views = {r: RoleView(r, names) for r in proto.roles}
    for kd in proto.knows:
        if kd.role not in views:
            diags.append(_unknown_role(kd.role, kd.span, proto.roles))
            continue
        for t in kd.terms:
            p = terms.convert(t)
            if p is not None:
                views[kd.role].learn_initial(p)
    messages: list[tuple[A.NarrationMsg, Pattern]] = []
    introduced: set[str] = set(names.roles) | names.constants
    for number, msg in enumerate(proto.messages, start=1):
        bad = [r for r in (msg.sender, msg.receiver) if r not in views]
        for r in bad:
            diags.append(_unknown_role(r, msg.span, proto.roles))
        term = terms.seq(msg.body)
        if bad or term is None:
            continue
        if msg.sender == msg.receiver:
            diags.append(Diagnostic("E401", f"{msg.sender} sends a message to itself", msg.span))
            continue
        messages.append((msg, term))
        _send(views[msg.sender], views[msg.receiver], number, msg, term, introduced, names, diags)
        _receive(views[msg.receiver], views[msg.sender], number, msg, term)
    if not proto.messages:
        diags.append(Diagnostic("E401", "the protocol has no messages", proto.span,
                                hint="write the narration as lines `A -> B: {Na, A}pk(B)`"))
    if diags:
        raise ModelError(diags)
    return Compiled(names, views, messages)


def _unknown_role(name: str, span: A.Span, roles: tuple[str, ...]) -> Diagnostic:
    return Diagnostic("E201", f"unknown role '{name}'", span, hint=f"the roles are {', '.join(roles)}")


def _send(view: RoleView, to: RoleView, number: int, msg: A.NarrationMsg, term: Pattern, introduced: set[str],
          names: Names, diags: list[Diagnostic]) -> None:
    step = view.steps[-1] if view.steps else None
    if step is None:
        step = _Step()
        view.steps.append(step)
    for v in variables(term):
        if v.name not in introduced:  # first use anywhere: fresh at its sender
            introduced.add(v.name)
            slot = view.slot(v.name, v.sort)
            view.known[v] = v
            step.fresh.append((slot, v.sort or "nonce"))
    recipe = view.build(term)
    if recipe is None:
        gap = view.missing(term)
        diags.append(Diagnostic("E410", f"role {view.name} cannot build message {number}: it does not know "
                                        f"{pretty(gap)}", msg.span,
                                hint=f"add it to `{view.name} knows ...`, or have an earlier message carry it "
                                     f"(sk and k are never computed, only known)"))
        return
    if to.name not in view.slots:
        diags.append(Diagnostic("E410", f"role {view.name} sends message {number} to {to.name} without knowing "
                                        f"who plays {to.name}", msg.span,
                                hint=f"add {to.name} to `{view.name} knows ...`"))
        return
    step.sends.append(SendSpec(recipe, view.slots.index(to.name), number, f"{msg.sender} -> {msg.receiver}"))
    step.last_message = number
    view.snapshots.append((number, len(view.steps) - 1, dict(view.known)))


def _receive(view: RoleView, sender: RoleView, number: int, msg: A.NarrationMsg, term: Pattern) -> None:
    before = dict(view.known)
    pattern = view.receive_pattern(term)
    step = _Step(receive=pattern, receive_number=number, last_message=number)
    step.checks = view.pending_checks + view.checks_after(before) + view.late_checks()
    if sender.name in view.slots:
        step.sender_slot = view.slots.index(sender.name)
    view.steps.append(step)
    view.snapshots.append((number, len(view.steps) - 1, dict(view.known)))


def freeze_steps(view: RoleView) -> tuple[StepSpec, ...]:
    return tuple(StepSpec(s.receive, s.receive_number, s.sender_slot, tuple(s.checks), tuple(s.fresh),
                          tuple(s.sends), tuple(s.signals), s.timing) for s in view.steps)
