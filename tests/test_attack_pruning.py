"""Confirmed attacks are shortened (checker/security/shorten.py): a step stays only if the concrete replay or the
goal's failure needs it, and runs, fresh values and messages are numbered without gaps."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from checker.cli import main
from checker.engine.budget import BoundHit
from checker.engine.explorer import Explorer
from checker.security.concrete import ScriptStep, run_script
from checker.security.shorten import MAX_REPLAYS, renumbered, shorten
from checker.security.terms import Atom, rename_atoms
from checker.security.witness import Attack, concretise, confirmer
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
NSPK = str(ROOT / "models" / "security" / "nspk.wolf")
alice, bob, eve = (Atom(n, "agent") for n in ("alice", "bob", "eve"))


def nspk_attack(goal: str = "secret_Na") -> tuple[object, object, Attack]:
    """NSPK's system, the goal `goal` and its confirmed (shortened) attack."""
    system, props = load_model(NSPK, {}, None, False)
    g = next(p for p in props if p.name == goal)
    found = Explorer(system, [g]).run().found[g.name]
    attack = concretise(system, g.spec, g.name, found.path)
    assert isinstance(attack, Attack), attack
    return system, g, attack


def test_nspk_counterexample_has_no_idle_opener(capsys):
    """Before shortening, step 1 was `alice as A#1 sends message 1` to alice, never received: it only made the
    responder B#1 exist. Lowe's attack needs 6 trace steps: A#1 to eve, the forged message 1, B#1's reply, A#1's
    message 3 to eve, the forged message 3, B#1 finishing."""
    main(["check", NSPK, "-q"])
    out = capsys.readouterr().out
    text = out[out.index("counterexample to `secret_Na`"):out.index("counterexample to `secret_Nb`")]
    assert text.startswith("counterexample to `secret_Na` in NSPK: 6 steps")
    assert "never received" not in text and "in flight at the end" not in text
    assert "  1. alice as A#1  sends message 1" in text and "A#2" not in text
    assert "-> {Na#1, alice}pk(eve) to eve (the attacker)  (#1)" in text
    assert "[receives #5 from attacker posing as alice]" in text  # message numbers without gaps


def test_shortened_nspk_attack_replays_and_is_minimal():
    """The shortened script replays, the goal fails at its end, and no further run or step can go."""
    system, g, attack = nspk_attack()
    script = attack.run.script
    assert len(script) == 4 and len(run_script(attack.run)) == 5
    accept = confirmer(system, g.spec, g.name)
    assert accept(script) is not None
    for k in range(len(script)):
        assert accept(script[:k] + script[k + 1:]) is None, f"step {k + 1} is needed"
    for run in {s.instance for s in script}:
        assert accept(tuple(s for s in script if s.instance != run)) is None


def test_the_step_whose_message_the_attacker_decrypts_is_kept():
    """A#1's message 1 to eve is where the attacker gets Na: deleting it breaks the replay, so it stays."""
    system, g, attack = nspk_attack()
    first = attack.run.script[0]
    assert first.instance == 0 and first.term is None and first.values[:3] == (alice, eve, Atom("Na#1", "nonce"))
    assert confirmer(system, g.spec, g.name)(attack.run.script[1:]) is None


def test_an_inserted_irrelevant_step_is_removed():
    """An extra opener A#2 sending message 1 to bob (never received, nothing learnt from it that is used) still
    replays as an attack; shortening removes it and gives back the minimal script."""
    system, g, attack = nspk_attack()
    idle = ScriptStep("step", 2, None, None, None, None, (alice, bob, Atom("Na#2", "nonce"), None))
    padded = attack.run.script[:2] + (idle,) + attack.run.script[2:]
    accept = confirmer(system, g.spec, g.name)
    longer = accept(padded)
    assert longer is not None, "the padded script is itself a valid attack"
    shorter = shorten(system, padded, accept, longer)
    assert shorter.run.script == attack.run.script
    assert shorter.reason == attack.reason


def test_runs_and_fresh_values_are_renumbered():
    """An attack by A#2 alone becomes one by A#1, its nonce `Na#2` becoming `Na#1`; the result still replays."""
    system, g, attack = nspk_attack()
    na1, na2 = Atom("Na#1", "nonce"), Atom("Na#2", "nonce")

    def moved(s: ScriptStep) -> ScriptStep:
        def r(t):
            return None if t is None else rename_atoms(t, {na1: na2})
        return s._replace(instance=2 if s.instance == 0 else s.instance, term=r(s.term),
                          values=tuple(r(v) for v in s.values))

    gap = tuple(moved(s) for s in attack.run.script)
    accept = confirmer(system, g.spec, g.name)
    assert accept(gap) is not None
    assert renumbered(system, gap) == attack.run.script
    assert shorten(system, gap, accept, accept(gap)).run.script == attack.run.script


def _drops(n: int) -> tuple[ScriptStep, ...]:
    return tuple(ScriptStep("drop", -1, None, None, None, (alice, bob, Atom(f"m{k}", "text")), ()) for k in range(n))


NO_RUNS = SimpleNamespace(instances=(), roles=(), own=())


def test_replays_are_bounded():
    """However many deletions succeed, at most MAX_REPLAYS replays are made."""
    calls = []

    def accept(script):
        calls.append(script)
        return script

    shorten(NO_RUNS, _drops(40), accept, _drops(40))
    assert len(calls) <= MAX_REPLAYS


def test_a_bound_hit_while_shortening_propagates():
    """The run's time or memory bound may strike during a replay: it is not taken for a failed deletion."""
    def accept(script):
        raise BoundHit("time bound 1 s reached")

    with pytest.raises(BoundHit):
        shorten(NO_RUNS, _drops(3), accept, _drops(3))


@pytest.mark.parametrize("path", [
    "security/ns_symmetric.wolf", "security/iso9798_1.wolf", "security/mutual_auth.wolf", "security/dh.wolf",
    "security/slides_procedure2_reflection.wolf", "security/andrew_rpc.wolf", "security/woo_lam_pi.wolf",
    "time/denning_sacco.wolf",
])
def test_library_attacks_are_locally_minimal(path):
    """Every attack the library reports replays, and deleting any one more step, or any one run, loses it."""
    system, props = load_model(str(ROOT / "models" / path), {}, None, False)
    goals = [p for p in props if hasattr(p, "spec")]
    result = Explorer(system, goals).run()
    for g in goals:
        found = result.found.get(g.name)
        if found is None:
            continue
        attack = concretise(system, g.spec, g.name, found.path)
        if isinstance(attack, str):  # needs the exact search (see Goal.judge)
            exact = system.exact()
            attack = concretise(exact, g.spec, g.name, Explorer(exact, [g]).run().found[g.name].path)
        assert isinstance(attack, Attack), f"{g.name}: {attack}"
        script = attack.run.script
        accept = confirmer(attack.run.system, g.spec, g.name)
        assert accept(script) is not None
        for k in range(len(script)):
            assert accept(script[:k] + script[k + 1:]) is None, f"{g.name}: step {k + 1} is not needed"
        for run in {s.instance for s in script if s.kind == "step"}:
            assert accept(tuple(s for s in script if s.instance != run)) is None, f"{g.name}: run {run}"
