"""A model with a `protocol` block to a checkable security transition system and its goals.

Composes dsl/narration.py (roles) with the scenario (agents, instances, attacker, reveals) and the goals.
Goal names are deterministic, since `# expect:` lines and the CLI refer to them:
`secret(Na)` is `secret_Na` (`secret(k(A, B))` is `secret_k_A_B`), `B agrees with A` is `B_agrees_A`,
`non-injectively` gives `B_niagrees_A`, `weakly` gives `B_wagrees_A`, `A alive for B` gives `B_alive_A`, and
every protocol has `executable`.
"""
from __future__ import annotations

import itertools
import re
from typing import Any

from checker.process.capabilities import CAPABILITIES
from checker.security.goals import Executable, Goal
from checker.security.roles import AgreementGoal, Instance, RoleSpec, SecretGoal, Signal
from checker.security.secsys import Scenario, SecuritySystem
from checker.security.terms import Atom, Pattern, Term, Var, instantiate, is_ground, pretty, subterms, variables

from . import ast as A
from .diagnostics import Diagnostic, ModelError, unknown_hint
from .narration import Compiled, compile_narration, freeze_steps
from .timing import attach, constants, uses_time

#: The attacker's own atoms, one per sort.
ATTACKER_ATOMS = {"nonce": "Ne", "key": "Ke", "text": "Te", "number": "Xe", "time": "Ti", "agent": "Ie"}


def compile_protocol(model: A.Model, defines: dict[str, Any], default_name: str,
                     attacker: tuple[str, ...] | None, untyped: bool | None) -> tuple[SecuritySystem, tuple]:
    proto = model.protocol
    assert proto is not None
    if model.processes:
        raise ModelError([Diagnostic("E401", "a model has either a protocol or processes, not both",
                                     model.processes[0].span)])
    comp = compile_narration(proto)
    diags: list[Diagnostic] = []
    goal_specs = _goals(proto, comp, diags)
    scen = model.scenario or A.ScenarioDecl((), (), None, (), (), None, A.NO_SPAN, False, proto.span)
    clocks = attach(proto, scen, comp, constants(model, defines), diags) if uses_time(proto, scen, comp) else None
    roles = _roles(comp, scen, diags)
    if diags:
        raise ModelError(diags)
    scenario = _scenario(model, scen, comp, roles, defines, diags)
    caps = _capabilities(scen, attacker, diags)
    if diags:
        raise ModelError(diags)
    typed = not (untyped if untyped is not None else scen.untyped)
    own = _attacker_atoms(comp)
    know = _initial_knowledge(comp, scenario)
    secrets, agreements = goal_specs
    name = model.name or default_name
    timing = None
    if clocks is not None:  # only timed protocols load the time engine (and Z3 behind it)
        from checker.timed.timing import Timing, window_horizon
        timing = Timing(scenario.honest, clocks.skew, clocks.pace, frozenset(("time", "number")),
                        horizon=window_horizon(step.timing for role in roles for step in role.steps))
    cached = clocks.cached_roles if clocks is not None else frozenset()
    system = SecuritySystem(name, roles, scenario, frozenset(caps), typed, own, know, secrets, agreements, timing,
                            cached)
    honest = SecuritySystem(name, roles, scenario, frozenset(), typed, own, know, secrets, agreements, timing,
                            cached)
    bound = scenario.sessions
    props: list[Any] = [Executable("executable", "an honest session can complete", honest,
                                   honest.session_completed, bound, timing)]
    for g in secrets:
        props.append(Goal(g.name, g.text, g, system, bound))
    for g in agreements:
        props.append(Goal(g.name, g.text, g, system, bound))
    return system, tuple(props)


# ---------------------------------------------------------------------------------------------------------------
# goals


def _goal_name(base: str, used: set[str]) -> str:
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _goals(proto: A.ProtocolDecl, comp: Compiled, diags: list[Diagnostic]) -> tuple[tuple, tuple]:
    from .narration import Terms
    terms = Terms(comp.names, diags)
    used: set[str] = {"executable"}
    secrets: list[SecretGoal] = []
    agreements: list[AgreementGoal] = []
    for g in proto.goals:
        if g.kind == "secret":
            t = terms.convert(g.terms[0])
            if t is None:
                continue
            per_role = tuple(comp.views[r].build(t) for r in comp.names.roles)
            if all(p is None for p in per_role):
                diags.append(Diagnostic("E411", f"no role ever knows {pretty(t)}, so its secrecy says nothing",
                                        g.span))
                continue
            base = "secret_" + re.sub(r"[^A-Za-z0-9]+", "_", pretty(t)).strip("_")
            secrets.append(SecretGoal(_goal_name(base, used), f"secret({pretty(t)})", per_role))
            continue
        claimer, partner = g.claimer, g.partner
        bad = [r for r in (claimer, partner) if r not in comp.views]
        if bad:
            for r in bad:
                diags.append(Diagnostic("E201", f"unknown role '{r}'", g.span,
                                        hint=f"the roles are {', '.join(comp.names.roles)}"))
            continue
        if claimer == partner:
            diags.append(Diagnostic("E411", "a role cannot agree with itself", g.span))
            continue
        converted = [terms.convert(t) for t in g.terms]
        data = [d for d in converted if d is not None]
        if len(data) != len(converted):
            continue
        word = {"agree": "agrees", "niagree": "niagrees", "wagree": "wagrees", "alive": "alive"}[g.kind]
        name = _goal_name(f"{claimer}_{word}_{partner}", used)
        what = ", ".join(pretty(d) for d in data)
        text = {"agree": f"{claimer} agrees with {partner} on {what}",
                "niagree": f"{claimer} non-injectively agrees with {partner} on {what}",
                "wagree": f"{claimer} weakly agrees with {partner}",
                "alive": f"{partner} alive for {claimer}"}[g.kind]
        index = len(agreements)
        if _signals(comp, g, index, data, diags):
            agreements.append(AgreementGoal(name, text, g.kind, index))
    return tuple(secrets), tuple(agreements)


def _signals(comp: Compiled, g: A.GoalDecl, index: int, data: list[Pattern], diags: list[Diagnostic]) -> bool:
    """Attach the commit to the claimer's last step and the running signal to the partner's last send before it."""
    assert g.claimer is not None and g.partner is not None
    claimer, partner = comp.views[g.claimer], comp.views[g.partner]
    if not claimer.steps:
        diags.append(Diagnostic("E411", f"{claimer.name} takes no part in the protocol", g.span))
        return False
    claim_at = claimer.steps[-1].last_message
    if partner.name not in claimer.slots:
        diags.append(Diagnostic("E411", f"{claimer.name} never learns who plays {partner.name}", g.span))
        return False
    recipes = [claimer.build(d) for d in data]
    for d, r in zip(data, recipes):
        if r is None:
            knows = [pretty(x) for x in data if claimer.build(x) is not None]
            diags.append(Diagnostic("E411", f"{claimer.name} never knows {pretty(d)}, so it cannot claim to agree "
                                            f"on it", g.span,
                                    hint=_suggest(g, claimer.name, partner.name, knows, "a goal names values the "
                                                  "claimer knows when it finishes")))
            return False
    commit = Signal(index, "commit", 0, claimer.slots.index(partner.name), tuple(r for r in recipes if r is not None))
    if g.kind == "alive":
        claimer.steps[-1].signals.append(commit)
        return True
    point = None
    for number, step_index, known in partner.snapshots:
        step = partner.steps[step_index]
        if number <= claim_at and any(s.number == number for s in step.sends):
            point = (number, step_index, known)
    if point is None:
        diags.append(Diagnostic("E411", f"{partner.name} sends nothing before {claimer.name} finishes, so "
                                        f"{claimer.name} cannot agree with it", g.span))
        return False
    number, step_index, known = point
    if Var(claimer.name, "agent") not in known:
        later = _learnt_at(partner, Var(claimer.name, "agent"), number)
        when = f"; it learns it only with message {later}, after {claimer.name} finishes" if later else ""
        diags.append(Diagnostic("E411", f"{partner.name} does not know who plays {claimer.name} when it sends "
                                        f"message {number}, its last before {claimer.name} finishes{when}", g.span,
                                hint=f"agreement needs the partner to know who it talks to; check aliveness "
                                     f"instead: `goal {g.partner} alive for {g.claimer}`"))
        return False
    theirs = []
    for d in data:
        r = partner.build(d, known)
        if r is None:
            later = _learnt_at(partner, d, number)
            when = (f": it learns it only with message {later}, after {claimer.name} finishes, so it cannot have "
                    f"agreed on it yet" if later else "")
            knows = [pretty(x) for x in data if partner.build(x, known) is not None]
            diags.append(Diagnostic("E411", f"{partner.name} does not know {pretty(d)} when it sends message "
                                            f"{number}, its last before {claimer.name} finishes{when}", g.span,
                                    hint=_suggest(g, claimer.name, partner.name, knows,
                                                  f"{partner.name} can only agree on what it knows then")))
            return False
        theirs.append(r)
    partner.steps[step_index].signals.append(
        Signal(index, "running", 0, partner.slots.index(claimer.name), tuple(theirs)))
    claimer.steps[-1].signals.append(commit)
    return True


def _learnt_at(view: Any, term: Pattern, after: int) -> int | None:
    """The first message after `after` by which the role knows `term` (None: never)."""
    for number, _step, known in view.snapshots:
        if number > after and (term in known or view.build(term, known) is not None):
            return number
    return None


def _suggest(g: A.GoalDecl, claimer: str, partner: str, knows: list[str], why: str) -> str:
    """The goal that can be checked: the same claim on the values both sides have by then, or the other way
    round, or weak agreement."""
    forms = []
    if knows:
        forms.append(f"`goal {claimer} agrees with {partner} on {', '.join(knows)}`")
    forms.append(f"`goal {partner} agrees with {claimer} on ...` (the claim in the other role)")
    forms.append(f"`goal {claimer} weakly agrees with {partner}`")
    return f"{why}; checkable instead: " + ", or ".join(forms)


# ---------------------------------------------------------------------------------------------------------------
# roles, scenario, attacker


def _roles(comp: Compiled, scen: A.ScenarioDecl, diags: list[Diagnostic]) -> tuple[RoleSpec, ...]:
    reveal_names = {n for n, _s in scen.reveals}
    for n, span in scen.reveals:
        if not any(n in v.slots and v.slots.index(n) not in v.params for v in comp.views.values()):
            diags.append(Diagnostic("E412", f"'{n}' is not a value any role learns in a session", span,
                                    hint="reveal names a session value such as a session key"))
    out = []
    for r in comp.names.roles:
        v = comp.views[r]
        role_slots = tuple(k for k, n in enumerate(v.slots) if n in comp.names.roles)
        reveal = tuple(k for k, n in enumerate(v.slots) if n in reveal_names and n not in comp.names.roles)
        out.append(RoleSpec(r, tuple(v.slots), tuple(v.sorts), tuple(v.params), role_slots=role_slots,
                            steps=freeze_steps(v), reveal=reveal))
    return tuple(out)


def _sessions(model: A.Model, scen: A.ScenarioDecl, defines: dict[str, Any], diags: list[Diagnostic]) -> int:
    consts = {c.name: c for c in model.consts}
    for name in defines:
        if name not in consts:
            diags.append(Diagnostic("E404", f"-D {name}: the model has no constant {name}", A.NO_SPAN,
                                    hint=unknown_hint(name, consts, "constants")))
    if scen.sessions is None:
        return 1
    value, span = scen.sessions
    if isinstance(value, str):
        if value in defines:
            value = defines[value]
        elif value in consts and isinstance(literal := consts[value].value, A.IntLit):
            value = literal.value
        else:
            diags.append(Diagnostic("E201", f"unknown constant '{value}'", span,
                                    hint="declare it with `const NAME = 2` or write a number"))
            return 1
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        diags.append(Diagnostic("E412", f"sessions must be a positive number, got {value}", span))
        return 1
    return value


def _scenario(model: A.Model, scen: A.ScenarioDecl, comp: Compiled, roles: tuple[RoleSpec, ...],
              defines: dict[str, Any], diags: list[Diagnostic]) -> Scenario:
    names = comp.names
    honest = _agents(scen.honest, diags)
    compromised = _agents(scen.compromised, diags)
    if not honest:
        diags.append(Diagnostic("E412", "the scenario names no honest agent", scen.span,
                                hint="add `honest alice, bob` to the scenario block"))
    for name, span in scen.honest + scen.compromised:
        if name in names.sorts:
            diags.append(Diagnostic("E202", f"agent '{name}' has the name of a role or value of the protocol", span))
    both = {a.name for a in honest} & {a.name for a in compromised}
    for name in sorted(both):
        diags.append(Diagnostic("E412", f"agent '{name}' is both honest and compromised", scen.span))
    sessions = _sessions(model, scen, defines, diags)
    agents = {a.name: a for a in honest + compromised}
    instances: list[Instance] = []
    counts = [0] * len(roles)
    if scen.runs:
        for run in scen.runs:
            if run.role not in names.roles:
                diags.append(Diagnostic("E201", f"unknown role '{run.role}'", run.span,
                                        hint=f"the roles are {', '.join(names.roles)}"))
                continue
            r = names.roles.index(run.role)
            if not roles[r].steps:
                diags.append(Diagnostic("E412", f"{run.role} takes no part in the protocol: it sends and receives "
                                                "no message, so a run of it does nothing", run.span,
                                        hint=f"remove this run, or give {run.role} a message"))
                continue
            order = [run.role] + [x for x in names.roles if x != run.role]
            if len(run.agents) > len(order):
                diags.append(Diagnostic("E302", f"run {run.role}(...) takes at most {len(order)} agents "
                                                f"({', '.join(order)})", run.span))
                continue
            preset = []
            for k, (role_name, agent) in enumerate(zip(order, run.agents)):
                if agent == "_":
                    continue
                if agent not in agents:
                    diags.append(Diagnostic("E201", f"undeclared agent '{agent}'", run.span,
                                            hint="declare agents with `honest` or `compromised`"))
                    continue
                if k == 0 and agents[agent] not in honest:
                    diags.append(Diagnostic("E412", f"{agent} is compromised: the attacker plays its roles",
                                            run.span, hint="runs are for honest agents"))
                    continue
                if role_name not in roles[r].slots:
                    diags.append(Diagnostic("E412", f"{run.role} never learns who plays {role_name}", run.span,
                                            hint=f"write _ in the place of {role_name}"))
                    continue
                preset.append((roles[r].slots.index(role_name), agents[agent]))
            counts[r] += 1
            instances.append(Instance(r, counts[r], tuple(preset)))
        sessions = max(counts) if counts else 1
    else:
        for k in range(1, sessions + 1):
            for r in range(len(roles)):
                if not roles[r].steps:
                    continue  # a role that sends and receives nothing is only a name in the messages
                counts[r] += 1
                instances.append(Instance(r, counts[r], (), k))
    dedicated: list[tuple[Atom, ...] | None] = [None] * len(roles)
    for role_name, who, span in scen.played_by:
        if role_name not in names.roles:
            diags.append(Diagnostic("E201", f"unknown role '{role_name}'", span,
                                    hint=f"the roles are {', '.join(names.roles)}"))
            continue
        missing = [a for a in who if a not in agents]
        for a in missing:
            diags.append(Diagnostic("E201", f"undeclared agent '{a}'", span,
                                    hint="declare agents with `honest` or `compromised`"))
        dedicated[names.roles.index(role_name)] = tuple(agents[a] for a in who if a in agents)
    runs = ", ".join(f"{n} {r.name}" for n, r in zip(counts, roles) if r.steps)
    if scen.runs:
        text = f"the scenario's runs ({runs})"
    else:
        text = f"{sessions} session{'s' if sessions != 1 else ''} (runs: up to {runs})"
    return Scenario(tuple(honest), tuple(compromised), tuple(instances), text, tuple(dedicated))


def _agents(names: tuple[tuple[str, A.Span], ...], diags: list[Diagnostic]) -> list[Atom]:
    out, seen = [], set()
    for name, span in names:
        if name in seen:
            diags.append(Diagnostic("E202", f"agent '{name}' is declared twice", span))
            continue
        seen.add(name)
        out.append(Atom(name, "agent"))
    return out


def _capabilities(scen: A.ScenarioDecl, override: tuple[str, ...] | None, diags: list[Diagnostic]) -> tuple:
    caps = override if override is not None else (scen.attacker if scen.attacker is not None else CAPABILITIES)
    span = scen.attacker_span if override is None else A.NO_SPAN
    if tuple(caps) == ("none",):
        return ()
    for c in caps:
        if c not in CAPABILITIES:
            where = "" if override is None else " (from --attacker)"
            diags.append(Diagnostic("E404", f"unknown attacker capability '{c}'{where}", span,
                                    hint=unknown_hint(c, CAPABILITIES, "capabilities") + " (or none)"))
    return tuple(c for c in caps if c in CAPABILITIES)


def _attacker_atoms(comp: Compiled) -> tuple[Atom, ...]:
    """The attacker's own atom of every sort but agent (`Ne`, `Ke`, ...), named apart from the protocol's names;
    the values it invents in an attack are numbered after them (`Ne#1`)."""
    taken = set(comp.names.sorts)
    out = []
    for sort in sorted(s for s in ATTACKER_ATOMS if s != "agent"):
        name = ATTACKER_ATOMS[sort]
        while name in taken:
            name += "'"
        out.append(Atom(name, sort))
    return tuple(out)


def _initial_knowledge(comp: Compiled, scenario: Scenario) -> list[Term]:
    """Every agent name, the public constants, and everything a compromised agent would know initially in any
    role (its private key, the keys it shares with anyone). The attacker's own atoms are added by the system."""
    names = comp.names
    agents = scenario.honest + scenario.compromised
    terms: set = set(agents)
    terms |= {Atom(n, names.sorts[n]) for n in names.constants if n not in names.secrets}
    for _msg, t in comp.messages:
        terms |= {s for s in subterms(t) if isinstance(s, Atom) and names.public(s)}
    for e in scenario.compromised:
        for r, view in comp.views.items():
            for known in view.known_initially:
                others = sorted({v.name for v in variables(known) if v.name != r})
                for combo in itertools.product(agents, repeat=len(others)):
                    b = {r: e, **dict(zip(others, combo))}
                    t = instantiate(known, b)
                    if is_ground(t):
                        terms.add(t)
    return sorted(terms, key=lambda t: (str(type(t)), pretty(t)))
