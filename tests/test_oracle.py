"""The completeness oracle: random small protocols, the symbolic search against a brute-force attacker.

For each random protocol (2-3 messages between A and B built from names, fresh nonces, pairs, symmetric and
public-key encryption, signatures and hashes; secrecy and agreement goals; a fixed scenario with a compromised
agent, learnt partners and two responder runs), typed and untyped:
  * every attack the brute force finds (tests/oracle.py: every message up to term depth 1 over a finite pool)
    must be found by the symbolic search: no wrong "holds";
  * every attack the symbolic search reports has been instantiated and replayed concretely (a verdict `fails`
    carries that replay's trace), and no verdict is `unknown` (which would mean an unconfirmed attack).
`WOLF_ORACLE_EXAMPLES` sets the number of examples (default 25, about a second each; `make oracle` runs 300).
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from checker.analysis import FAILS, HOLDS, Options, analyze
from dsl.diagnostics import ModelError
from dsl.frontend import load_model
from oracle import TooBig, brute_force

EXAMPLES = int(os.environ.get("WOLF_ORACLE_EXAMPLES", "25"))

HEADER = """model Random
protocol {
  roles A, B
  A knows A, B, k(A, B), sk(A), pk(A), pk(B)
  B knows A, B, k(A, B), sk(B), pk(A), pk(B)
"""
#: Typed: alice with bob and with eve, and two responder runs of bob learning their partner (replays need two).
#: Untyped (variables range over many more terms): alice with eve and one responder run.
SCENARIO = {False: """}
scenario {
  honest alice, bob
  compromised eve
  run A(alice, eve)
  run A(alice, bob)
  run B(bob, _)
  run B(bob, _)
}
""", True: """}
scenario {
  honest alice, bob
  compromised eve
  run A(alice, eve)
  run B(bob, _)
}
"""}


@st.composite
def _part(draw, sender: str, receiver: str, known: dict[str, set[str]], fresh: list[str], depth: int) -> str:
    """One message component the sender can build; records the nonces it creates."""
    choices = ["name", "nonce"] + (["enc", "pk", "sign", "hash", "pair"] if depth > 0 else [])
    kind = draw(st.sampled_from(choices))
    if kind == "name":
        return draw(st.sampled_from(["A", "B"]))
    if kind == "nonce":
        old = sorted(known[sender])
        if old and draw(st.booleans()):
            return draw(st.sampled_from(old))
        name = f"N{sender.lower()}{len(fresh) + 1}"
        fresh.append(name)
        known[sender].add(name)
        return name
    inner = draw(_part(sender, receiver, known, fresh, depth - 1))
    if kind == "pair":
        return f"({inner}, {draw(_part(sender, receiver, known, fresh, depth - 1))})"
    if kind == "hash":
        return f"h({inner})"
    key = {"enc": "k(A, B)", "pk": f"pk({receiver})", "sign": f"sk({sender})"}[kind]
    return "{" + inner + "}" + key


def _readable(part: str, receiver: str) -> set[str]:
    """Nonces the receiver can read in a part: in clear, under k(A, B), under its own pk, or signed (hashes
    hide them). A coarse approximation; the compiler decides what really compiles."""
    out: set[str] = set()
    depth = 0
    hidden = 0
    token = ""
    for ch in part + " ":
        if ch.isalnum():
            token += ch
            continue
        if token.startswith("N") and not hidden:
            out.add(token)
        if token == "h" and ch == "(":
            hidden += 1
        token = ""
        if ch in "({":
            depth += 1
    del depth
    return out if f"pk({'A' if receiver == 'B' else 'B'})" not in part else set()


@st.composite
def protocols(draw) -> str:
    n = draw(st.integers(2, 3))
    known: dict[str, set[str]] = {"A": set(), "B": set()}
    fresh: list[str] = []
    lines = []
    for k in range(n):
        sender, receiver = ("A", "B") if k % 2 == 0 else ("B", "A")
        parts = draw(st.lists(_part(sender, receiver, known, fresh, 2), min_size=1, max_size=2))
        lines.append(f"  {sender} -> {receiver}: {', '.join(parts)}")
        for p in parts:
            known[receiver] |= _readable(p, receiver)
    goals = []
    created_by_a = [f for f in fresh if f.startswith("Na")]
    if created_by_a:
        goals.append(f"  goal secret({created_by_a[0]})")
        goals.append(f"  goal B agrees with A on {draw(st.sampled_from(created_by_a))}")
    goals.append("  goal B weakly agrees with A")
    if any(f.startswith("Nb") for f in fresh):
        goals.append(f"  goal A agrees with B on {[f for f in fresh if f.startswith('Nb')][0]}")
    return HEADER + "\n".join(lines) + "\n" + "\n".join(goals) + "\n"


def _load(tmp_path: Path, text: str, untyped: bool) -> tuple[Path, list]:
    path = tmp_path / "random.wolf"
    path.write_text(text)
    _system, props = load_model(str(path), untyped=untyped or None)
    return path, [p for p in props if p.name != "executable"]


def _compare(path: Path, text: str, untyped: bool, attacks: dict, goals: list) -> str:
    """Every brute-force attack is found by the search; every verdict is decided and every attack replayed."""
    analysis = analyze(str(path), Options(untyped=untyped or None))
    got = {v.name: v for v in analysis.verdicts}
    for name, v in got.items():
        assert v.status in (HOLDS, FAILS), f"{name}: {v.reason}\n{text}"
        if v.status == FAILS and name != "executable":
            assert v.trace is not None and v.trace.steps, f"{name}: an attack without its replayed trace\n{text}"
    for name in attacks:
        assert got[name].status == FAILS, f"the brute force finds an attack on {name} the search misses\n{text}"
    return (f"{'untyped' if untyped else 'typed'}: {len(attacks)} of {len(goals)} goals attacked by the brute "
            f"force, {sum(v.status == FAILS for n, v in got.items() if n != 'executable')} by the search")


def _check(tmp_path: Path, protocol: str, untyped: bool) -> str:
    """Compare the search with the brute force on one random protocol; returns a summary for the statistics.
    Protocols that do not compile, and examples too large for the brute force, are rejected (`assume`)."""
    text = protocol + SCENARIO[untyped]
    try:
        path, goals = _load(tmp_path, text, untyped)
    except ModelError:
        assume(False)  # a narration a role cannot send, or a goal nobody can check
        raise
    system, _props = load_model(str(path), untyped=untyped or None)
    try:
        oracle = brute_force(system, goals, depth=1, max_states=5_000)
    except TooBig:
        assume(False)
        raise
    assume(oracle.complete)
    return _compare(path, text, untyped, oracle.attacks, goals)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(protocols(), st.booleans())
def test_symbolic_search_finds_every_attack_of_the_brute_force(tmp_path_factory, text, untyped):
    event(_check(tmp_path_factory.mktemp("oracle"), text, untyped))


def test_oracle_agrees_on_known_attacks(tmp_path):
    """The oracle itself works: it finds Lowe's attack on NSPK with these runs, and so does the search."""
    text = HEADER + ("  A -> B: {Na1, A}pk(B)\n  B -> A: {Na1, Nb2}pk(A)\n  A -> B: {Nb2}pk(B)\n"
                     "  goal secret(Nb2)\n  goal B agrees with A on Na1\n") + SCENARIO[False]
    path, goals = _load(tmp_path, text, False)
    system, _props = load_model(str(path))
    oracle = brute_force(system, goals, depth=1, max_states=60_000)
    assert oracle.complete and set(oracle.attacks) == {"secret_Nb2", "B_agrees_A"}
    _compare(path, text, False, oracle.attacks, goals)
