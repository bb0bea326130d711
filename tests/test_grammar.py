"""One test per construct of the process language: it parses, lowers, and behaves as docs/language.md says.

Behavioural checks run `checker.analysis.analyze` on tiny models written to tmp_path and compare verdicts and,
where it can be counted by hand, the exact number of reachable states.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.analysis import FAILS, HOLDS, UNKNOWN, Analysis, Options, analyze
from checker.engine.budget import Bounds
from dsl import ast as A
from dsl.diagnostics import ModelError
from dsl.expect import read_expectations, variants
from dsl.parser import parse_model

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "language.md"


# ---------------------------------------------------------------------------------------------- helpers
def run(tmp_path: Path, src: str, name: str = "m", bounds: Bounds = Bounds(), reduce: bool = True,
        **defines) -> Analysis:
    path = tmp_path / f"{name}.wolf"
    path.write_text(src, encoding="utf-8")
    return analyze(str(path), Options(defines=defines, bounds=bounds, reduce=reduce))


def status(a: Analysis) -> dict[str, str]:
    return {v.name: v.status for v in a.verdicts}


def verdict(a: Analysis, name: str):
    return next(v for v in a.verdicts if v.name == name)


def holds(tmp_path: Path, expr: str, decls: str = "") -> str:
    """The verdict of `expr` evaluated once in a one-step process (holds iff expr is true)."""
    src = f"""
process P {{
  {decls}
  var ok = false
  state a, b
  final b
  a -> b {{ ok = {expr} }}
}}
check c: always P.a or P.ok
"""
    return status(run(tmp_path, src))["c"]


COUNTER = """
process C {
  var x = 0
  state s
  final s
  s -> s when x < 3 { x += 1 }
}
check deadlock_free
"""


# ---------------------------------------------------------------------------------------------- file structure
def test_comments_model_name_and_default_name(tmp_path):
    src = "# leading comment\nmodel   Foo   # trailing comment\n# between\n" + COUNTER + "# at the end"
    model = parse_model(src)
    assert model.name == "Foo"
    assert run(tmp_path, src).model == "Foo"
    assert run(tmp_path, COUNTER, name="nameless").model == "nameless"


def test_counter_has_four_states(tmp_path):
    a = run(tmp_path, COUNTER)
    assert status(a) == {"deadlock_free": HOLDS}
    assert (a.stats.states, a.stats.transitions, a.stats.depth) == (4, 3, 3)
    assert a.complete and a.exit_code == 0


def test_semicolons_are_optional():
    with_semis = parse_model("process P { var x = 0 state a a -> a { x = 1; x += 2; } }")
    without = parse_model("process P { var x = 0 state a a -> a { x = 1 x += 2 } }")
    body = with_semis.processes[0].transitions[0].body
    assert [type(s) for s in body] == [A.Assign, A.Assign]
    assert [(s.target, s.op) for s in body] == [("x", "="), ("x", "+=")]
    strip = lambda m: [(s.target, s.op, s.value.value) for s in m.processes[0].transitions[0].body]  # noqa: E731
    assert strip(with_semis) == strip(without)


def test_declarations_in_any_order(tmp_path):
    src = """
check ok: always P.x <= N
process P { var x = 0
  state s
  final s
  s -> s when x < N { x += 1 } }
const N = 2
"""
    a = run(tmp_path, src)
    assert status(a) == {"ok": HOLDS} and a.stats.states == 3


# ---------------------------------------------------------------------------------------------- constants
def test_const_and_define(tmp_path):
    src = """
const N = 3
const M = N + 1
process C { var x = 0
  state s
  final s
  s -> s when x < M { x += 1 } }
"""
    model = parse_model(src)
    assert [c.name for c in model.consts] == ["N", "M"]
    assert run(tmp_path, src).stats.states == 5          # x = 0..4
    assert run(tmp_path, src, N=1).stats.states == 3     # M follows the overridden N: x = 0..2


def test_bool_const_and_define(tmp_path):
    src = """
const BIG = false
process C { var x = 0
  state s
  final s
  s -> s when BIG and x < 5 { x += 1 } }
"""
    assert run(tmp_path, src).stats.states == 1
    assert run(tmp_path, src, BIG=True).stats.states == 6


# ---------------------------------------------------------------------------------------------- network
TWO_SENDS = """
network {net}
message m(x: int)
process A {{ state s, t
  final t
  s -> t {{ send m(1) to B; send m(2) to B }} }}
process B {{ var seen: seq[int] = []
  state r
  final r
  on m(x) {{ seen += [x] }} }}
check deadlock_free
"""


@pytest.mark.parametrize("net,name,states", [
    ("fifo", "fifo", 4),                         # init, sent, [1], [1,2]
    ("unordered", "unordered", 6),               # init, sent, [1], [2], [1,2], [2,1]
    ("fifo lossy", "fifo lossy", 9),             # + either message may be lost at any time
    ("lossy", "unordered lossy", 11),            # lossy alone is unordered
    ("unordered lossy", "unordered lossy", 11),
])
def test_network_kinds(tmp_path, net, name, states):
    model = parse_model(TWO_SENDS.format(net=net))
    assert model.network == tuple(net.split())
    a = run(tmp_path, TWO_SENDS.format(net=net))
    assert a.network == name
    assert a.stats.states == states
    assert status(a) == {"deadlock_free": HOLDS}   # messages left in flight do not make a deadlock


def test_default_network_is_fifo_and_order_matters(tmp_path):
    src = TWO_SENDS.format(net="fifo").replace("network fifo", "") + "check order: always B.seen != [2, 1]\n"
    a = run(tmp_path, src)
    assert a.network == "fifo" and status(a)["order"] == HOLDS
    b = run(tmp_path, src.replace("message m", "network unordered\nmessage m"))
    assert status(b)["order"] == FAILS
    assert len(verdict(b, "order").trace.steps) == 3   # send both, deliver m(2), deliver m(1)


def test_fifo_channel_blocks_on_unhandled_head(tmp_path):
    src = """
network {net}
message a()
message b()
process S {{ state s0, s1
  final s1
  s0 -> s1 {{ send a() to R; send b() to R }} }}
process R {{ state r0, r1
  final r1
  on b() in r0 {{ goto r1 }}
  on a() in r1 {{ skip }} }}
check deadlock_free
"""
    fifo = run(tmp_path, src.format(net="fifo"))
    assert status(fifo) == {"deadlock_free": FAILS}
    assert fifo.stats.states == 2
    unordered = run(tmp_path, src.format(net="unordered"))
    assert status(unordered) == {"deadlock_free": HOLDS}
    assert unordered.stats.states == 4   # init, sent, b taken, a taken


# ---------------------------------------------------------------------------------------------- messages
def test_message_declarations_are_typed():
    model = parse_model("message m(a: int, b: (int, pid), c: set[int], d: map[pid, seq[str]])\n"
                        "message e()\nprocess P { state s }")
    m, e = model.messages
    assert [p.name for p in m.params] == ["a", "b", "c", "d"]
    assert m.params[0].type.name == "int"
    assert m.params[1].type.name == "tuple" and [t.name for t in m.params[1].type.args] == ["int", "pid"]
    assert m.params[2].type.name == "set" and m.params[2].type.args[0].name == "int"
    d = m.params[3].type
    assert d.name == "map" and d.args[0].name == "pid" and d.args[1].name == "seq"
    assert e.params == ()


def test_message_fields_carry_structured_values(tmp_path):
    src = """
message m(p: (int, pid), s: set[int])
process A { state s0, s1
  final s1
  s0 -> s1 { send m((5, 0), {1, 2}) to B } }
process B { var got = (0, 0)
  var total = 0
  state r
  final r
  on m(p, s) { got = p; total = sum(x for x in s) } }
check c: always B.total == 0 or (B.got == (5, 0) and B.total == 3)
"""
    assert status(run(tmp_path, src)) == {"c": HOLDS}


# ---------------------------------------------------------------------------------------------- processes
def test_family_and_single_process(tmp_path):
    src = """
const N = 3
process P[i in 0..N-1] { var x = 0
  state s
  final s
  s -> s when x == 0 { x = 1 } }
process Q { state q
  final q }
check deadlock_free
"""
    model = parse_model(src)
    p, q = model.processes
    assert p.index_var == "i" and isinstance(p.index_range, A.RangeLit)
    assert q.index_var is None and q.index_range is None
    a = run(tmp_path, src, reduce=False)
    assert a.stats.states == 2 ** 3      # each member independently flips once
    assert run(tmp_path, src, reduce=False, N=1).stats.states == 2
    # the flips are independent and no property reads x: partial-order reduction takes them in one order
    assert run(tmp_path, src).stats.states == 3 + 1


def test_index_variable_and_others(tmp_path):
    src = """
process P[i in 0..2] { var me = i
  var o = others
  state s
  final s }
check idx: always P[1].me == 1 and P[2].me == 2
check oth: always P[1].o == {0, 2} and P[0].o == {1, 2}
"""
    assert status(run(tmp_path, src)) == {"idx": HOLDS, "oth": HOLDS}


def test_pid_and_int_mix(tmp_path):
    """A ring needs `(i + 1) % N`; pids are numbers (fixed: used to be a type error)."""
    src = """
const N = 3
message tok()
process P[i in 0..N-1] { var next: pid = (i + 1) % N
  var leader = i == 0
  var m: map[pid, int] = {j: 0 for j in others}
  var got = 0
  state s, done
  final done
  s -> done when leader { send tok() to P[next] }
  on tok() from j { got = j + 1; m[j] = 1; if i != 0 { send tok() to P[(i + 1) % N] } } }
check ring: always all(P[k].next == (k + 1) % N for k in 0..N-1)
check passed: always P[0].got == 0 or P[0].got == N
"""
    assert status(run(tmp_path, src)) == {"ring": HOLDS, "passed": HOLDS}


# ---------------------------------------------------------------------------------------------- variables and types
def test_variable_types_and_inference(tmp_path):
    src = """
process P {
  var n = 1
  var b = true
  var p: pid = 0
  var s = "hi"
  var t = (1, 0)
  var st: set[(int, pid)] = {}
  var sq: seq[int] = []
  var mp: map[pid, int] = {}
  var inferred = {j: j * 2 for j in 0..2}
  state a
  final a
}
check types: always P.n == 1 and P.b and P.p == 0 and P.s == "hi" and P.t == (1, 0) and P.st == {}
  and P.sq == [] and P.mp == {} and P.inferred == {0: 0, 1: 2, 2: 4}
"""
    decls = {v.name: v.type for v in parse_model(src).processes[0].vars}
    assert decls["n"] is None and decls["inferred"] is None
    assert decls["st"].name == "set" and decls["st"].args[0].name == "tuple"
    assert decls["mp"].name == "map" and [t.name for t in decls["mp"].args] == ["pid", "int"]
    assert status(run(tmp_path, src)) == {"types": HOLDS}


def test_empty_braces_are_a_set_or_a_map_by_type(tmp_path):
    src = """
process P { var s: set[int] = {}
  var m: map[int, bool] = {}
  state a, b
  final b
  a -> b { s += {3}; m[3] = true } }
check c: always P.a or (P.s == {3} and P.m[3] and len(P.m) == 1)
"""
    assert status(run(tmp_path, src)) == {"c": HOLDS}


def test_empty_braces_need_a_type():
    from dsl.lower import lower
    with pytest.raises(ModelError) as err:
        lower(parse_model("process P { var s = {}\n state a }"))
    assert err.value.diagnostics[0].code == "E303"


# ---------------------------------------------------------------------------------------------- states
def test_first_state_is_initial_and_final_states(tmp_path):
    src = """
process P { state b, a
  final FINAL
  b -> a }
check starts_in_b: always P.b or P.a
check deadlock_free
"""
    model = parse_model(src.replace("FINAL", "a"))
    assert model.processes[0].states == ("b", "a") and model.processes[0].finals == ("a",)
    ok = run(tmp_path, src.replace("FINAL", "a"))
    assert status(ok)["deadlock_free"] == HOLDS and ok.stats.states == 2
    first = run(tmp_path, src.replace("FINAL", "a") + "check never_a: always P.b\n")
    assert len(verdict(first, "never_a").trace.steps) == 1     # the run starts in b, a is one step away
    bad = run(tmp_path, src.replace("FINAL", "b"))
    assert status(bad)["deadlock_free"] == FAILS
    assert len(verdict(bad, "deadlock_free").trace.steps) == 1


def test_several_state_lines_are_joined():
    model = parse_model("process P { state a, b\n state c\n final b, c\n final a }")
    assert model.processes[0].states == ("a", "b", "c")
    assert model.processes[0].finals == ("b", "c", "a")


def test_no_successor_without_final_is_a_deadlock(tmp_path):
    a = run(tmp_path, "process P { state a }\ncheck deadlock_free\n")
    assert status(a) == {"deadlock_free": FAILS}
    assert verdict(a, "deadlock_free").trace.steps == ()


# ---------------------------------------------------------------------------------------------- transitions
def test_transition_forms_ast():
    model = parse_model("""
process P { var x = 0
  state a, b
  a -> b
  a -> b when x > 0
  a -> b { x = 1 }
  b -> a as back when x == 1 { x = 0 }
}""")
    ts = model.processes[0].transitions
    assert [(t.source, t.target, t.label) for t in ts] == [("a", "b", None)] * 3 + [("b", "a", "back")]
    assert [t.guard is None for t in ts] == [True, False, True, False]
    assert [len(t.body) for t in ts] == [0, 0, 1, 1]
    assert isinstance(ts[1].guard, A.BinOp) and ts[1].guard.op == ">"


def test_nondeterministic_choice_and_labels(tmp_path):
    src = """
process P { var x = 0
  state start, left, right
  final left, right
  start -> left as go_left { x = 1 }
  start -> right as go_right { x = 2 } }
check two: always P.x != 2
"""
    a = run(tmp_path, src)
    assert status(a) == {"two": FAILS}
    steps = verdict(a, "two").trace.steps
    assert len(steps) == 1 and steps[0].text == "go_right"


def test_goto_overrides_the_target(tmp_path):
    src = """
process P { var x = 0
  state a, b, c
  final c
  a -> b { x = 1; goto c } }
check never_b: always not P.b
check deadlock_free
"""
    a = run(tmp_path, src)
    assert status(a) == {"never_b": HOLDS, "deadlock_free": HOLDS} and a.stats.states == 2


# ---------------------------------------------------------------------------------------------- handlers
def test_handler_forms_ast():
    model = parse_model("""
message m(x: int, y: int)
process P { var v = 0
  state s1, s2
  on m(x, y) { skip }
  on m(x, y) from j { skip }
  on m(x, y) in s1, s2 { skip }
  on m(x, y) from j in s1 when x > v { v = x }
}""")
    hs = model.processes[0].handlers
    assert [h.params for h in hs] == [("x", "y")] * 4
    assert [h.sender for h in hs] == [None, "j", None, "j"]
    assert [h.states for h in hs] == [(), (), ("s1", "s2"), ("s1",)]
    assert [h.guard is None for h in hs] == [True, True, True, False]


def test_first_applicable_handler_takes_the_message(tmp_path):
    src = """
message m(x: int)
process A { state s, t
  final t
  s -> t { send m(5) to B } }
process B { var which = 0
  state r
  final r
  on m(x) when x > 10 { which = 1 }
  on m(x) when x > 1 { which = 2 }
  on m(x) { which = 3 } }
check second: always B.which == 0 or B.which == 2
"""
    a = run(tmp_path, src)
    assert status(a) == {"second": HOLDS} and a.stats.states == 3


def test_from_binds_the_senders_member_number(tmp_path):
    src = """
message hi()
process W[k in 0..2] { state s, t
  final t
  s -> t { send hi() to Boss } }
process Boss { var got: set[pid] = {}
  state r
  final r
  on hi() from j { got += {j} } }
check only_senders: always all(W[k].t for k in Boss.got)
check hears_all: eventually Boss.got == {0, 1, 2}
check deadlock_free
"""
    a = run(tmp_path, src)
    assert status(a) == {"only_senders": HOLDS, "hears_all": HOLDS, "deadlock_free": HOLDS}


def test_handler_in_states_and_guard_on_sender(tmp_path):
    src = """
message m()
process A[k in 0..1] { state s, t
  final t
  s -> t { send m() to B } }
process B { var n = 0
  state r, done
  final done
  on m() from j in r when j == 1 { n += 1; goto done } }
check only_from_1: always B.r or B.n == 1
check deadlock_free
"""
    a = run(tmp_path, src)
    # B stops in `done` after A[1]'s message; A[0]'s message stays in flight (which is not a deadlock)
    assert status(a) == {"only_from_1": HOLDS, "deadlock_free": HOLDS}


# ---------------------------------------------------------------------------------------------- statements
def test_statements(tmp_path):
    src = """
process P {
  var n = 10
  var s = {1, 2}
  var q = [1]
  var m: map[int, int] = {}
  var order: seq[int] = []
  var branch = 0
  state a, b
  final b
  a -> b {
    n += 5; n -= 3
    s += {3}; s -= {1}
    q += [2, 3]; q[0] = 7
    m[4] = 1; m[4] += 2
    for x in {3, 1, 2} { order += [x] }
    for x in [9, 8] { order += [x] }
    if n > 100 { branch = 1 } elif n == 12 { branch = 2 } else { branch = 3 }
    skip
  }
}
check c: always P.a or (P.n == 12 and P.s == {2, 3} and P.q == [7, 2, 3] and P.m[4] == 3
  and P.order == [1, 2, 3, 9, 8] and P.branch == 2)
"""
    assert status(run(tmp_path, src)) == {"c": HOLDS}


def test_else_branch(tmp_path):
    src = """
process P { var r = 0
  state a, b
  final b
  a -> b { if r > 0 { r = 1 } elif r < 0 { r = 2 } else { r = 3 } } }
check c: always P.a or P.r == 3
"""
    assert status(run(tmp_path, src)) == {"c": HOLDS}


def test_send_to_member_and_to_single_process(tmp_path):
    src = """
message m(v: int)
process P[i in 0..2] { var got = 0
  state s
  final s
  on m(v) { got = v } }
process Q { var got = 0
  state q0, q1
  final q1
  q0 -> q1 { send m(7) to P[2]; send m(8) to Q } 
  on m(v) { got = v } }
check c: always P[0].got == 0 and P[1].got == 0 and (P[2].got == 0 or P[2].got == 7)
check self_send: always Q.q0 or Q.got == 0 or Q.got == 8
"""
    a = run(tmp_path, src)
    assert status(a) == {"c": HOLDS, "self_send": HOLDS}
    assert a.stats.states == 5   # q0; q1 with both pending; either delivered; both delivered


def test_broadcast_own_family_and_to_another(tmp_path):
    src = """
message hello()
message news()
process P[i in 0..2] { var hellos = 0
  var news = 0
  state s, t
  final t
  s -> t { broadcast hello() }
  on hello() { hellos += 1 }
  on news() { news += 1 } }
process Q { state q0, q1
  final q1
  q0 -> q1 { broadcast news() to P } }
check msgs: messages per Q.q1 == 9
check not_self: always all(P[k].hellos <= 2 and P[k].news <= 1 for k in 0..2)
"""
    a = run(tmp_path, src)
    # three broadcasts of 2 hellos each, plus 3 news: 9 messages, all delivered in every complete run
    assert status(a) == {"msgs": HOLDS, "not_self": HOLDS}
    assert verdict(a, "msgs").value == "9"


def test_broadcast_in_a_single_process_sends_nothing(tmp_path):
    src = """
message m()
process Q { state a, b
  final b
  a -> b { broadcast m() }
  on m() { skip } }
check msgs: messages per Q.b == 0
"""
    a = run(tmp_path, src)
    assert status(a) == {"msgs": HOLDS} and a.stats.states == 2


# ---------------------------------------------------------------------------------------------- expressions
TRUE_EXPRESSIONS = [
    "7 / 2 == 3", "-7 / 2 == -4", "7 % 3 == 1", "-7 % 3 == 2", "2 + 3 * 4 == 14", "(2 + 3) * 4 == 20",
    "10 - 2 - 3 == 5", "-(3) == 0 - 3", "1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2",
    "(1, 2) < (1, 3)", "(0, 9) < (1, 0)", "(1, 2) == (1, 2)", "\"a\" < \"b\"",
    "true and not false", "false or true", "not (1 == 2)", "(false -> false) and (false -> true)",
    "not (true -> false)", "true -> true -> true",
    "2 in {1, 2}", "3 not in {1, 2}", "2 in [1, 2]", "1 in {1: true}",
    "0..3 == {0, 1, 2, 3}", "3..1 == {}", "len(0..4) == 5",
    "{1, 2} + {3} == {1, 2, 3}", "{1, 2} - {1} == {2}", "[1] + [2] == [1, 2]",
    "{x * x for x in 0..3} == {0, 1, 4, 9}", "{x for x in 0..5 where x % 2 == 1} == {1, 3, 5}",
    "{x in 0..5 where x > 3} == {4, 5}", "{x in [3, 1, 3] where x > 2} == [3, 3]",
    "{k: k * 10 for k in 1..2} == {1: 10, 2: 20}", "{1: 2, 3: 4}[3] == 4",
    "(5, 6)[1] == 6", "(1, (2, 3))[1][0] == 2", "[4, 5, 6][2] == 6",
    "min(3, 4) == 3", "max(3, 4) == 4", "min({5, 2, 9}) == 2", "max([5, 2, 9]) == 9",
    "min({(2, 1), (1, 5)}) == (1, 5)", "len({1, 2}) == 2", "len([1, 1]) == 2", "len({1: 2}) == 1",
    "head([7, 8]) == 7", "tail([7, 8, 9]) == [8, 9]", "abs(-3) == 3", "keys({1: 2, 3: 4}) == {1, 3}",
    "all(x > 0 for x in {1, 2})", "all(x > 5 for x in 0..3 where x > 9)",
    "any(x == 2 for x in [1, 2])", "not any(x > 5 for x in 0..3)", "all(x < 2 for x in 0..5 where x < 2)",
    "count(x in 0..9 where x % 3 == 0) == 4", "sum(x for x in 0..4) == 10", "sum(x for x in 0..4 where x > 2) == 7",
    "min(x * 2 for x in {3, 4}) == 6", "max(10 - x for x in {3, 4}) == 7",
]


@pytest.mark.parametrize("expr", TRUE_EXPRESSIONS)
def test_true_expressions(tmp_path, expr):
    assert holds(tmp_path, expr) == HOLDS


@pytest.mark.parametrize("expr", [
    "7 / 2 == 4", "(1, 3) < (1, 2)", "2 not in {1, 2}", "true -> false", "count(x in 0..3 where x > 1) == 3",
    "min({5, 2}) == 5", "{x in 0..5 where x > 3} == {3}", "all(x > 1 for x in 0..3)",
])
def test_false_expressions(tmp_path, expr):
    assert holds(tmp_path, expr) == FAILS


def test_expression_precedence_ast():
    model = parse_model("process P { state a\n a -> a when not x == 1 and y or z }\n"
                        "check c: always a -> b -> c")
    g = model.processes[0].transitions[0].guard
    # the transition guard stops before `->`: it is `(not (x == 1) and y) or z`
    assert isinstance(g, A.BinOp) and g.op == "or"
    assert g.left.op == "and" and isinstance(g.left.left, A.Not) and g.left.left.operand.op == "=="
    f = model.checks[0].formula
    assert f.op == "->" and f.right.op == "->"      # right-associative


def test_comparison_does_not_chain():
    with pytest.raises(ModelError) as err:
        parse_model("process P { state a\n a -> a when 1 < 2 < 3 }")
    assert err.value.diagnostics[0].code == "E101"


def test_variables_of_the_process_in_expressions(tmp_path):
    assert holds(tmp_path, "x + len(s) == 4 and s == {1, 2, 3}", "var x = 1\n var s = {1, 2, 3}\n") == HOLDS


# ---------------------------------------------------------------------------------------------- crashes
CRASHES = """
const C = {c}
process P[i in 0..2] {{ state s
  final s }}
crash {target}
check none: always all(not P[k].crashed for k in 0..2)
check deadlock_free
"""


@pytest.mark.parametrize("target,c,states", [
    ("P[1]", "true", 2), ("P", "true", 8), ("P[0] when C", "true", 2), ("P when C", "false", 1),
])
def test_crash_forms(tmp_path, target, c, states):
    a = run(tmp_path, CRASHES.format(target=target, c=c))
    assert a.stats.states == states     # each crashable member is alive or crashed; deadlock_free keeps
    assert status(a) == {"none": HOLDS if states == 1 else FAILS, "deadlock_free": HOLDS}  # the search going


def test_crash_ast():
    model = parse_model("process P[i in 0..1] { state s }\nprocess M { state m }\n"
                        "crash P[1]\ncrash P\ncrash M when X\nconst X = true")
    c1, c2, c3 = model.crashes
    assert c1.target.family == "P" and isinstance(c1.target.index, A.IntLit) and c1.when is None
    assert c2.target.index is None
    assert c3.target.family == "M" and isinstance(c3.when, A.Name)


def test_crashed_process_counts_as_finished(tmp_path):
    src = """
message m()
process A { state s, t
  final t
  s -> t { send m() to B } }
process B { state r, got
  final got
  on m() { goto got } }
crash B
check deadlock_free
check b_crashed_or_got: always B.r or B.got or B.crashed
"""
    a = run(tmp_path, src)
    assert status(a) == {"deadlock_free": HOLDS, "b_crashed_or_got": HOLDS}
    assert a.stats.states == 6   # (A s/t) x (B r/crashed) + B got, crashed after got: s,r  s,c  t,r  t,c  t,got  t,got->c


# ---------------------------------------------------------------------------------------------- properties
def test_property_ast_forms():
    model = parse_model("""
process P[i in 0..1] { var x = 0
  state w, c }
check inv: always count(p in P where p.c) <= 1
check deadlock_free
check resp: always (P[i].w -> eventually P[i].c)
check ev: eventually P[0].c
check inf: always eventually P[0].c
check m: messages per P.c == 3 * (2 - 1)
""")
    kinds = [(c.name, c.kind) for c in model.checks]
    assert kinds == [("inv", "always"), ("deadlock_free", "deadlock_free"), ("resp", "always"),
                     ("ev", "eventually"), ("inf", "always"), ("m", "messages_per")]
    resp = model.checks[2].formula
    assert resp.op == "->" and isinstance(resp.right, A.Eventually)
    m = model.checks[5]
    assert (m.family, m.state, m.op) == ("P", "c", "==")


def test_property_only_syntax(tmp_path):
    src = """
process P[i in 0..1] { var x = 0
  state a, b
  final b
  a -> b { x = i + 1 } }
process M { state m
  final m }
crash P[1]
check state_test: always P[i].a or P[i].b or P[i].crashed
check var_test: always P[i].b -> P[i].x == i + 1
check family_set: always count(p in P where p.b) <= 2 and all(p.x >= 0 for p in P)
check single: always M.m and not M.crashed
check crash_test: always not P[1].crashed
"""
    a = run(tmp_path, src)
    assert status(a) == {"state_test": HOLDS, "var_test": HOLDS, "family_set": HOLDS, "single": HOLDS,
                         "crash_test": FAILS}
    assert len(verdict(a, "crash_test").trace.steps) == 1


def test_free_index_variable_is_quantified(tmp_path):
    src = """
process P[i in 0..2] { var x = 0
  state a
  final a
  a -> a when i == 2 and x == 0 { x = 1 } }
check zero: always P[i].x == 0
"""
    v = verdict(run(tmp_path, src), "zero")
    assert v.status == FAILS and "i=2" in v.reason


def test_response_under_weak_fairness(tmp_path):
    src = """
process Spin { var x = 0
  state s
  s -> s { x = 1 - x } }
process Q { state a, done
  final done
  a -> done }
process P { var y = 0
  state s, done
  final done
  s -> s { y = 1 - y }
  s -> done }
check qdone: eventually Q.done
check pdone: eventually P.done
check resp: always (Spin.x == 1 -> eventually Spin.x == 0)
check inf: always eventually Spin.x == 1
"""
    a = run(tmp_path, src)
    assert status(a) == {"qdone": HOLDS, "pdone": FAILS, "resp": HOLDS, "inf": HOLDS}
    lasso = verdict(a, "pdone").trace
    assert lasso.loop_start is not None     # a cycle where P keeps looping


def test_stopping_without_q_fails_eventually(tmp_path):
    src = """
process P { state a, b, c
  final b, c
  a -> b
  a -> c }
check reach_c: eventually P.c
"""
    v = verdict(run(tmp_path, src), "reach_c")
    assert v.status == FAILS and v.trace.loop_start is None and len(v.trace.steps) == 1


def test_lossy_network_is_not_fair(tmp_path):
    src = """
network lossy
message m()
process A { state s, t
  final t
  s -> t { send m() to B } }
process B { state r, got
  final r, got
  on m() { goto got } }
check delivered: always (A.t -> eventually B.got)
"""
    assert status(run(tmp_path, src)) == {"delivered": FAILS}
    assert status(run(tmp_path, src.replace("network lossy", "network fifo"))) == {"delivered": HOLDS}


def test_messages_per_counts_complete_runs(tmp_path):
    src = """
const N = 2
message hello()
message done()
process Coord { var acks = 0
  state go, wait, fin
  final fin
  go -> wait { broadcast hello() to W }
  on done() { acks += 1 }
  wait -> fin when acks == N }
process W[k in 0..N-1] { state idle, ok
  final ok
  on hello() in idle { send done() to Coord; goto ok } }
check per: messages per Coord.fin == 2 * N
check at_most: messages per Coord.fin <= 3
"""
    a = run(tmp_path, src)
    assert status(a) == {"per": HOLDS, "at_most": FAILS}
    assert verdict(a, "per").value == "4"
    assert verdict(a, "at_most").trace is not None
    b = run(tmp_path, src, N=3)
    assert status(b)["per"] == HOLDS and verdict(b, "per").value == "6"


def test_messages_per_is_unknown_with_cycles(tmp_path):
    src = """
process P { state s, t
  final s
  s -> t
  t -> s }
check m: messages per P.t == 0
"""
    a = run(tmp_path, src)
    assert status(a) == {"m": UNKNOWN} and "cycles" in verdict(a, "m").reason
    assert a.exit_code == 3


# ---------------------------------------------------------------------------------------------- search, verdicts, bounds
def test_bfs_gives_shortest_counterexample(tmp_path):
    src = """
process C { var x = 0
  state s
  final s
  s -> s when x < 10 { x += 1 }
  s -> s when x < 10 and x % 2 == 0 { x += 2 } }
check below5: always C.x != 5
"""
    v = verdict(run(tmp_path, src), "below5")
    assert v.status == FAILS
    assert len(v.trace.steps) == 3          # 0 -> 2 -> 4 -> 5 (not five single steps)


def test_exit_codes(tmp_path):
    assert run(tmp_path, COUNTER).exit_code == 0
    assert run(tmp_path, COUNTER + "check big: always C.x < 3\n").exit_code == 1
    bounded = run(tmp_path, COUNTER, bounds=Bounds(max_depth=2))
    assert bounded.exit_code == 3 and not bounded.complete
    assert status(bounded) == {"deadlock_free": UNKNOWN}


def test_depth_bound_still_reports_failures_within_it(tmp_path):
    a = run(tmp_path, COUNTER + "check one: always C.x < 1\n", bounds=Bounds(max_depth=2))
    assert status(a)["one"] == FAILS and status(a)["deadlock_free"] == UNKNOWN
    assert a.exit_code == 1


def test_liveness_is_unknown_when_bounded(tmp_path):
    a = run(tmp_path, "process P { var x = 0\n state s\n s -> s when x < 5 { x += 1 } }\n"
                      "check ev: eventually P.x == 5\n", bounds=Bounds(max_depth=2))
    assert status(a) == {"ev": UNKNOWN}


def test_state_bound_is_respected(tmp_path):
    src = "process C { var x = 0\n state s\n final s\n s -> s when x < 50 { x += 1 } }\ncheck deadlock_free\n"
    a = run(tmp_path, src, bounds=Bounds(max_states=10))
    assert not a.complete
    assert a.stats.states == 10


# ---------------------------------------------------------------------------------------------- names and keywords
@pytest.mark.parametrize("word", ["key", "time", "text", "number", "agent", "run", "secret", "with", "count",
                                  "min", "self_", "sessions", "goal", "roles", "honest"])
def test_common_words_can_be_names(tmp_path, word):
    src = f"""
process P {{ var x = 0
  var {word} = 0
  state a, b
  final b
  a -> b when x < {word} + 1 and {word} >= 0 {{ x += {word}
    {word} = {word} + 1 }} }}
process Q {{ state {word}, done
  final done
  {word} -> done }}
check c: always P.{word} <= 1 and (Q.{word} or Q.done)
"""
    assert status(run(tmp_path, src)) == {"c": HOLDS}


@pytest.mark.parametrize("word", ["state", "final", "var", "process", "send", "if", "true", "not", "and"])
def test_keywords_cannot_be_variables(word):
    from dsl.lower import lower
    with pytest.raises(ModelError) as err:
        lower(parse_model(f"process P {{ var x = 0\n state a\n a -> a {{ x = 1\n {word} = 2 }} }}"))
    d = err.value.diagnostics[0]
    assert d.code in ("E101", "E201") and d.span.line == 4   # `true = 2` parses, but true is no variable


# ---------------------------------------------------------------------------------------------- the documentation
def _doc_examples() -> list:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```wolf\n(.*?)```", text, re.S)
    return [pytest.param(k, b, id=f"example{k}") for k, b in enumerate(blocks)]


def test_docs_have_examples():
    assert len(_doc_examples()) >= 10


@pytest.mark.parametrize("k,source", _doc_examples())
def test_docs_examples(tmp_path, k, source):
    """Every ```wolf block of docs/language.md is a complete model whose `# expect:` lines are true."""
    path = tmp_path / f"example{k}.wolf"
    path.write_text(source, encoding="utf-8")
    expectations = read_expectations(path)
    assert expectations, "every wolf example in the docs states its verdicts"
    for variant, items in variants(expectations).items():
        defines = {n: (v == "true") if v in ("true", "false") else int(v) for n, v in variant.defines}
        a = analyze(str(path), Options(defines=defines))
        got = status(a)
        assert sorted(got) == sorted(e.prop for e in items), f"{variant.label()}: every property once"
        for e in items:
            assert got[e.prop] == e.status, f"example {k} [{variant.label()}] {e.prop}: {verdict(a, e.prop).reason}"
