"""Security protocols end to end: goal kinds with known verdicts, legal attacker steps, bad input, speed."""
from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checker.analysis import FAILS, HOLDS, Options, analyze
from checker.engine.explorer import Explorer
from checker.security.goals import Executable
from checker.security.witness import concretise
from checker.security.knowledge import derivable
from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE
from dsl.diagnostics import ModelError
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models" / "security"

NSPK_CORE = """
  roles A, B
  A knows A, B, sk(A), pk(B)
  B knows B, sk(B)
  A -> B: {Na, A}pk(B)
  B -> A: {Na, Nb%s}pk(A)
  A -> B: {Nb}pk(B)
"""


def write(tmp_path: Path, text: str, name: str = "m.wolf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def verdicts(path: str, **options) -> dict[str, str]:
    return {v.name: v.status for v in analyze(path, Options(**options)).verdicts}


def protocol(goals: str, fixed: bool = False, scenario: str = "sessions 2") -> str:
    return (f"model P\nprotocol {{{NSPK_CORE % (', B' if fixed else '')}  {goals}\n}}\n"
            f"scenario {{\n  honest alice, bob\n  compromised eve\n  {scenario}\n}}\n")


# ---------------------------------------------------------------------------------------------------------------
# each goal kind, on a protocol with a known verdict


@pytest.mark.parametrize("goal, name, broken, fixed", [
    ("goal secret(Nb)", "secret_Nb", FAILS, HOLDS),
    ("goal B agrees with A on Na, Nb", "B_agrees_A", FAILS, HOLDS),
    ("goal B non-injectively agrees with A on Na, Nb", "B_niagrees_A", FAILS, HOLDS),
    ("goal B weakly agrees with A", "B_wagrees_A", FAILS, HOLDS),
    ("goal A agrees with B on Na, Nb", "A_agrees_B", HOLDS, HOLDS),
])
def test_goal_kinds_on_nspk_and_nsl(tmp_path, goal, name, broken, fixed):
    assert verdicts(write(tmp_path, protocol(goal)))[name] == broken
    assert verdicts(write(tmp_path, protocol(goal, fixed=True)))[name] == fixed


def test_aliveness_fails_when_nothing_authenticates(tmp_path):
    text = """model Plain
protocol {
  roles A, B
  A knows A, B
  B knows A, B
  A -> B: A, Na
  goal A alive for B
  goal secret(Na)
}
scenario { honest alice, bob
  compromised eve }
"""
    got = verdicts(write(tmp_path, text))
    assert got == {"executable": HOLDS, "B_alive_A": FAILS, "secret_Na": FAILS}


def test_aliveness_holds_with_a_shared_key(tmp_path):
    text = """model Keyed
protocol {
  roles A, B
  A knows A, B, k(A, B)
  B knows A, B, k(A, B)
  A -> B: {A, Na}k(A, B)
  goal A alive for B
  goal secret(Na)
}
scenario { honest alice, bob
  compromised eve
  sessions 2 }
"""
    got = verdicts(write(tmp_path, text))
    assert got == {"executable": HOLDS, "B_alive_A": HOLDS, "secret_Na": HOLDS}


def test_verdicts_name_their_bound():
    analysis = analyze(str(MODELS / "nsl.wolf"))
    for v in analysis.verdicts:
        if v.name != "executable":
            assert v.status == HOLDS and "within 2 sessions" in v.reason
    three = analyze(str(MODELS / "nsl.wolf"), Options(defines={"SESSIONS": 3}))
    assert all("within 3 sessions" in v.reason for v in three.verdicts if v.name != "executable")


def test_executable_fails_when_no_run_can_complete(tmp_path):
    text = """model Stuck
protocol {
  roles A, B
  A knows A, B, k(A, B)
  B knows A, B
  A -> B: {Na}k(A, B), Na
  B -> A: h(Na)
  goal secret(Na)
}
scenario { honest alice, bob }
"""
    assert verdicts(write(tmp_path, text))["executable"] == HOLDS
    # with only a compromised partner, no honest session exists, so no run can complete
    unfinishable = text.replace("scenario { honest alice, bob }",
                                "scenario {\n  honest alice\n  compromised eve\n  run A(alice, eve)\n}")
    path = write(tmp_path, unfinishable)
    executable = next(v for v in analyze(path).verdicts if v.name == "executable")
    assert executable.status == FAILS
    # the depth-first probe saw every honest state: the count is the breadth-first search's
    reason = executable.reason
    prop = next(p for p in load_model(path)[1] if isinstance(p, Executable))
    from checker.engine.invariant import Invariant
    everything = Explorer(prop.honest_system, [Invariant("x", "x", (("", lambda s: True),))]).run()
    assert f"all {everything.stats.states:,} honest states explored" in reason
    # generated sessions let alice talk to herself: an honest session exists
    alone = text.replace("honest alice, bob", "honest alice\n  compromised eve")
    assert verdicts(write(tmp_path, alone))["executable"] == HOLDS


def test_attacker_none_and_untyped_overrides():
    assert verdicts(str(MODELS / "nspk.wolf"), attacker=())["B_agrees_A"] == HOLDS
    assert verdicts(str(MODELS / "otway_rees.wolf"))["secret_Kab"] == HOLDS
    assert verdicts(str(MODELS / "otway_rees.wolf"), untyped=True)["secret_Kab"] == FAILS


def test_weakest_attacker_for_replay():
    from checker.security.weakest import weakest_attackers
    path = str(MODELS / "slides_procedure1.wolf")
    analysis = analyze(path)
    sets = weakest_attackers(path, analysis, Options())
    assert sets["B_agrees_A"] == [["replay"], ["eavesdrop", "masquerade"]]


# ---------------------------------------------------------------------------------------------------------------
# traces: every attack instantiated, replayed concretely, and every attacker step legal


def _attacks(path: str, options: Options = Options()):
    """The concrete attack behind each violation the symbolic search finds."""
    system, props = load_model(path, options.defines, options.attacker, options.untyped)
    goals = [p for p in props if not isinstance(p, Executable)]
    result = Explorer(system, goals).run()
    out = []
    for g in goals:
        found = result.found.get(g.name)
        if found is not None:
            attack = concretise(system, g.spec, g.name, found.path)
            if isinstance(attack, str):  # needs the exact search (see Goal.judge)
                exact = system.exact()
                again = Explorer(exact, [g]).run().found[g.name]
                attack = concretise(exact, g.spec, g.name, again.path)
            assert not isinstance(attack, str), f"{g.name}: {attack}"
            out.append(attack)
    return system, out


@pytest.mark.parametrize("model, options", [
    ("nspk.wolf", Options()), ("ns_symmetric.wolf", Options()), ("otway_rees.wolf", Options(untyped=True)),
    ("slides_procedure1.wolf", Options()), ("dh.wolf", Options()), ("keyserver_unsigned.wolf", Options()),
    ("nspk.wolf", Options(attacker=("masquerade", "modify", "drop"))), ("woo_lam_pi_forged_slot.wolf", Options()),
])
def test_attacker_steps_are_legal(model, options):
    """Checked here again, independently of the replay: a forged message is derivable from what the attacker
    holds (plus the constants it invents), a replayed one was sent before, a modified or dropped one was in
    flight, and the capability is enabled."""
    system, attacks = _attacks(str(MODELS / model), options)
    assert attacks, "the model has a known attack"
    caps = system.capabilities
    for attack in attacks:
        for before, step in zip(attack.states, attack.run.script):
            if step.kind == "drop":
                assert "drop" in caps and step.taken in dict(before.net)
                continue
            if step.capability is None:
                if step.term is not None:
                    assert step.taken in dict(before.net) and step.taken[2] == step.term
                continue
            assert step.capability in caps
            if step.capability in ("modify", "masquerade"):
                assert derivable(before.knowledge, step.term)
            if step.capability == "replay":
                assert any(e[2] == step.term for e in before.traffic)
            if step.capability == "modify":
                assert step.taken in dict(before.net)


def test_trace_shows_capabilities_and_derivations():
    analysis = analyze(str(MODELS / "nspk.wolf"))
    trace = next(v.trace for v in analysis.verdicts if v.name == "B_agrees_A")
    attacker_steps = [s for s in trace.steps if s.actor == ATTACKER_LANE]
    assert attacker_steps and all(s.kind in ATTACKER_KINDS for s in attacker_steps)
    injected = [m for m in trace.messages if m.capability]
    assert injected and all(m.derivation for m in injected)
    assert any(re.search(r"decrypted from \{Na#\d, alice\}pk\(eve\) with sk\(eve\)", m.derivation) for m in injected)
    for m in injected:
        assert trace.steps[m.sent_at - 1].actor == ATTACKER_LANE
        assert trace.steps[m.received_at - 1].actor != ATTACKER_LANE


# ---------------------------------------------------------------------------------------------------------------
# bad input: diagnostics with positions, never a traceback


def _error(tmp_path: Path, text: str, **options) -> tuple[str, int, int, str]:
    with pytest.raises(ModelError) as info:
        analyze(write(tmp_path, text), Options(**options))
    d = info.value.diagnostics[0]
    return d.code, d.span.line, d.span.column, d.message


def test_role_that_cannot_build_its_message(tmp_path):
    text = "model M\nprotocol {\n  roles A, B\n  A knows A, B\n  B knows B\n  A -> B: {Na}k(A, B)\n}\n"
    code, line, col, message = _error(tmp_path, text)
    assert (code, line, col) == ("E410", 6, 3) and "k(A, B)" in message


def test_unknown_function_and_arity(tmp_path):
    text = "model M\nprotocol {\n  roles A, B\n  A knows A, B\n  A -> B: mac(Na)\n}\n"
    assert _error(tmp_path, text)[:3] == ("E201", 5, 11)
    text = "model M\nprotocol {\n  roles A, B\n  A knows A, B, pk(A, B)\n  A -> B: A\n}\n"
    assert _error(tmp_path, text)[:3] == ("E302", 4, 17)


def test_undeclared_agent_and_unknown_role(tmp_path):
    base = "model M\nprotocol {\n  roles A, B\n  A knows A, B\n  A -> B: A, Na\n}\n"
    code, line, _col, message = _error(tmp_path, base + "scenario {\n  honest alice\n  run A(alice, bob)\n}\n")
    assert (code, line) == ("E201", 9) and "bob" in message
    code, line, _col, _m = _error(tmp_path, base.replace("A -> B", "A -> C"))
    assert (code, line) == ("E201", 5)


def test_unknown_capability(tmp_path):
    base = "model M\nprotocol {\n  roles A, B\n  A knows A, B\n  A -> B: A, Na\n}\n"
    code, line, col, message = _error(tmp_path, base + "scenario {\n  honest alice, bob\n  attacker spoof\n}\n")
    assert (code, line, col) == ("E404", 9, 3) and "spoof" in message
    code, *_rest = _error(tmp_path, base + "scenario { honest alice, bob }\n", attacker=("telepathy",))
    assert code == "E404"


def test_cli_reports_bad_input_without_traceback(tmp_path):
    path = write(tmp_path, "model M\nprotocol {\n  roles A, B\n  A knows A\n  A -> B: {Na}k(A, B)\n}\n")
    proc = subprocess.run([sys.executable, "-m", "checker.cli", "check", path], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error[E410]" in proc.stderr and ":5:3:" in proc.stderr


# ---------------------------------------------------------------------------------------------------------------


IDLE_ROLE = """model IdleServer
protocol {{
  roles A, B, S
  A knows A, B, S, k(A, B)
  B knows B, A, k(A, B)
  S knows S
  A -> B: {{Na}}k(A, B)
  goal B weakly agrees with A
}}
scenario {{
  honest alice, bob
  compromised eve
  {runs}
}}
"""


def test_a_role_that_takes_no_part_is_only_a_name(tmp_path):
    """S sends and receives nothing (the fuzzer's generated protocols crashed on it: its run had no first step):
    sessions give it no run; a `run` line for it is an error."""
    path = write(tmp_path, IDLE_ROLE.format(runs="sessions 2"))
    result = analyze(path)
    assert {v.name: v.status for v in result.verdicts} == {"executable": HOLDS, "B_wagrees_A": FAILS}
    assert "runs: up to 2 A, 2 B)" in next(v.reason for v in result.verdicts if v.name == "B_wagrees_A")
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, IDLE_ROLE.format(runs="run A(alice, bob)\n  run S(alice)"), "r.wolf"))
    assert "S takes no part in the protocol" in str(err.value)


def test_receives_taken_early_are_postponed_in_the_concrete_attack(monkeypatch):
    """The search takes the server's receive of `A, B, Na`-like tuples first (secsys `_eager`); the attack on
    ISO/IEC 9798-2 with a trusted third party needs that receive after the attacker has learnt what it carries,
    so the replay postpones it (witness `_postponed`) and the attack is confirmed, not searched again."""
    import checker.security.witness as witness

    postponed: list[bool] = []
    original = witness._postponed

    def spy(system, script):
        found = original(system, script)
        postponed.append(found is not None)
        return found

    monkeypatch.setattr(witness, "_postponed", spy)
    assert verdicts(str(MODELS / "iso9798_2_ttp.wolf"))["A_agrees_S"] == FAILS
    assert True in postponed
    monkeypatch.setattr(witness, "_postponed", lambda system, script: None)
    # without postponing, the same verdict needs the search with levels (slower, same answer)
    assert verdicts(str(MODELS / "iso9798_2_ttp.wolf"))["A_agrees_S"] == FAILS


def test_a_key_server_without_claims_leaves_its_partners_to_the_attacker():
    """A run that makes no claim has its partners cast only where a step needs them: the key server's answer
    names an agent variable, not one branch per agent (keyserver at two sessions: 752 states, was 23,190)."""
    from checker.security.terms import Var

    system, _props = load_model(str(MODELS / "keyserver.wolf"))
    assert system.claims == (False, True, False)  # A, B (it commits), KS
    ks = next(i for i, inst in enumerate(system.instances) if system.roles[inst.role].name == "KS")
    finished = [s.runs[ks] for s in explorer_states(system) if s.runs[ks].pc == 1]
    assert finished and any(isinstance(v, Var) for run in finished for v in run.values)


def explorer_states(system) -> list:
    """Every reachable state of `system`, breadth first (small models only)."""
    seen = {s: None for s in system.initial_states()}
    frontier = list(seen)
    while frontier:
        nxt = []
        for s in frontier:
            for _a, t in system.successors(s):
                if t not in seen:
                    seen[t] = None
                    nxt.append(t)
        frontier = nxt
    return list(seen)


def test_forgetting_a_decided_goal_keeps_every_successor_in_its_place():
    """Paths found before a goal was forgotten are replayed by successor index after it: forgetting drops the
    goal's events from the states, and never adds, removes or reorders successors (engine/system.py
    `Focusing`)."""
    system, _props = load_model(str(MODELS / "nspk.wolf"))
    states = explorer_states(system)
    assert any(s.events for s in states)
    before = [[(a.instance, a.capability, a.values) for a, _t in system.successors(s)] for s in states]
    system.forget(frozenset({"B_agrees_A", "A_agrees_B"}))
    forgetting = [system.successors(s) for s in states]
    system.forget(frozenset())
    assert all(not t.events for succ in forgetting for _a, t in succ)
    assert before == [[(a.instance, a.capability, a.values) for a, _t in succ] for succ in forgetting]


def _with_sessions(model: str, n: int, tmp_path: Path):
    """The library model's system with its scenario's runs replaced by `sessions n`."""
    text = (MODELS / model).read_text()
    text = re.sub(r"^\s*(run .*|sessions \d+)\s*$", "", text, flags=re.M)
    text = text.replace("scenario {", f"scenario {{\n  sessions {n}")
    system, _props = load_model(write(tmp_path, text))
    return system


def _reordered(system, state, order):
    """The image of `state` under the symmetry that puts its sessions in `order` (fresh values and, untimed,
    agents renamed with them, variables untouched), with the instance permutation: a state the canonical form
    must map to the same representative as `state`. Built from the canonical form's own pieces."""
    from checker.security.secsys import _permuted, _renamed_run, _transformed
    perm, amap, clock = system._moves(state, order)
    if perm is None and not amap:
        return state, None
    ren = system._renamer(amap)
    runs = tuple(_renamed_run(r, ren) for r in _permuted(state.runs, perm))
    return _transformed(state, runs, ren, amap, clock), perm


@pytest.mark.parametrize("model", ["nspk.wolf", "otway_rees.wolf"])
def test_states_equal_up_to_swapping_sessions_have_one_canonical_form(model, tmp_path):
    """Session symmetry: a state and the same state with its two sessions swapped (fresh values renamed with
    them) reach the same representative, whether or not the sessions' shapes tie (ties are broken by
    fingerprint, not by position)."""
    system = _with_sessions(model, 2, tmp_path)
    states = explorer_states(system)
    swapped = 0
    for state in states:
        other, perm = _reordered(system, state, [2, 1])
        if perm is None:
            continue
        swapped += 1
        assert system._canonical_form(other)[0] == system._canonical_form(state)[0]
    assert swapped > 50


def test_three_sessions_in_every_order_have_one_canonical_form(tmp_path):
    """With three sessions, every reachable state in each of the six orders of its sessions (fresh values and,
    untimed, agents renamed with them) reaches one representative. The sort key of a session keeps which of
    its agents each value names and whether a fresh value is its own (`_session_view`), so fewer orders tie;
    this checks that the finer key is still the same whatever the order."""
    system = _with_sessions("iso9798_1.wolf", 3, tmp_path)
    states = explorer_states(system)
    assert len(states) == 4190  # as with the coarser key: both reach one representative per class
    ties = sum(len(system._session_orders(state)) > 1 for state in states)
    for state in states[::3]:  # a third of them (the suite's time)
        canonical = system._canonical_form(state)[0]
        for order in itertools.permutations([1, 2, 3]):
            other = _reordered(system, state, list(order))[0]
            assert system._canonical_form(other)[0] == canonical
    assert 0 < ties < len(states) // 4  # 740 states tie; 1,150 did with the coarser key
