"""The fuzz harness: mutated and generated models run through `wolf check`, looking for crashes and hangs.

Inputs come from two sources, both deterministic in a seed so that every failure can be replayed:
- mutations of the model library (`models/**/*.wolf`): deleted, duplicated and swapped lines and tokens,
  keywords in place of names, names swapped with other names of the file, random bytes (invalid UTF-8,
  NUL, bidirectional controls), huge and negative numbers, deep nesting, and odd option values;
- models generated from the grammar (`generate_model`), well-formed enough to get past the type checker and
  into the engine: processes with variables, messages, handlers and properties, and security protocols with
  narrations, goals and scenarios. The same generator serves hypothesis (`st.randoms`) in tests/test_fuzz.py.

Each input runs in-process: in a child forked from this interpreter (wolf already imported, so a run costs
milliseconds, not a new interpreter), calling `checker.cli.main` with small bounds. The parent watches the
clock and kills a child that overstays. A run fails when it ends in a Python traceback, with an exit code
outside 0-3 (4, an internal error, is a bug too), past its time bound by more than `GRACE` seconds (of
processor time, see `overstay`: other work on a shared machine must not make wolf look late), or by running
out of the memory the harness allows it (a bound should have stopped it first).

`make fuzz` runs `python tests/fuzzing.py` (10,000 inputs); tests/test_fuzz.py runs a bounded slice.
"""
from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted((ROOT / "models").rglob("*.wolf"))
#: Seconds a run may overstay its --timeout before it counts as a hang.
GRACE = 1.0
#: Address space a child may use (a safety net for the machine: wolf's own --max-memory should act first).
CHILD_MEMORY = 3 * 2**30
#: Exit code of a child whose exception escaped `main` (wolf itself never uses it).
ESCAPED = 70

KEYWORDS = sorted(set(re.findall(r'"([a-z][a-z_-]*)"', (ROOT / "dsl" / "wolf.lark").read_text())))
TOKEN = re.compile(r'\s+|#[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|->|\.\.|==|!=|<=|>=|\+=|-=|.', re.S)
NUMBERS = ("0", "-1", "-2147483649", "2147483648", "9223372036854775808", "1" + "0" * 30, "9" * 400,
           "1" + "0" * 1000, "9" * 4300, "9" * 4301, "00000000000000000007", "1000000", "100000000")
ODD_BYTES = (b"\x00", b"\xff\xfe", b"\xe2\x80\xae", b"\xe2\x81\xa6", b"\xe2\x80\x8b", b"\xef\xbb\xbf", b"\r",
             b"\t", b"\x0b", b"\xc3", b"{", b"}", b"(", b")", b"\"", b"#", b"..", b"->", b";", b",")
CAPABILITIES = ("eavesdrop", "drop", "modify", "replay", "masquerade")


@dataclass(frozen=True)
class Case:
    """One fuzz input: a model's bytes (written under `stem`.wolf) and extra command-line options."""

    name: str
    data: bytes
    argv: tuple[str, ...] = ()
    stem: str = "fuzz"


@dataclass(frozen=True)
class Outcome:
    case: Case
    code: int | None  # None: killed after overstaying
    seconds: float  # wall-clock time of the run
    cpu: float  # processor time of the run (user and system)
    stdout: str
    stderr: str
    failure: str | None  # what went wrong, None when the run behaved

    @property
    def cause(self) -> str:
        """A short signature grouping failures of one root cause: the innermost frame and exception type."""
        if self.failure is None:
            return "ok"
        if self.failure.startswith("overstayed"):
            return "overstayed"
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', self.stderr)
        last = re.findall(r"^(\w+(?:Error|Exception|Exit|Interrupt)\b)", self.stderr, re.M)
        where = f"{Path(frames[-1][0]).name}:{frames[-1][1]} {frames[-1][2]}" if frames else ""
        internal = re.search(r"internal error: (\w+) in (\S+):", self.stderr)
        if internal:
            return f"{self.failure}: {internal.group(1)} at {internal.group(2)}"
        return f"{self.failure}: {last[-1] if last else ''} {where}".strip()


# ------------------------------------------------------------------------------------------- running

def run_case(case: Case, workdir: Path, timeout: float = 2.0, max_states: int = 20_000,
             max_memory: str = "1G") -> Outcome:
    """Run one input through `wolf check` in a forked child and judge how it ended."""
    model = workdir / f"{case.stem}.wolf"
    model.write_bytes(case.data)
    out, err = workdir / "stdout", workdir / "stderr"
    argv = ["check", str(model), "--quiet", "--timeout", f"{timeout:g}", "--max-states", str(max_states),
            "--max-memory", max_memory, *case.argv]
    start = time.perf_counter()
    gc.freeze()  # the child's collector then skips the parent's heap (a big one under pytest) instead of copying it
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(argv, out, err)
    gc.unfreeze()
    code, cpu = _wait(pid, start + 2 * timeout + GRACE + 10.0)
    seconds = time.perf_counter() - start
    stdout = out.read_text(encoding="utf-8", errors="replace")
    stderr = err.read_text(encoding="utf-8", errors="replace")
    crash = re.search(r"traceback is in (\S+?); please attach", stderr)
    if crash and os.path.exists(crash.group(1)):
        stderr += "\n" + Path(crash.group(1)).read_text(encoding="utf-8", errors="replace")
        os.unlink(crash.group(1))
    return Outcome(case, code, seconds, cpu, stdout, stderr, _judge(code, seconds, cpu, timeout, stderr))


def _child(argv: list[str], out: Path, err: Path) -> None:
    """Run wolf with stdout and stderr in files; the exit status is wolf's code, or ESCAPED."""
    code = ESCAPED
    try:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        fd_out = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        fd_err = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        from checker.cli import main
        code = main(argv)
    except BaseException:  # noqa: BLE001 - exactly what the harness is looking for
        import traceback
        traceback.print_exc()
        code = ESCAPED
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) and 0 <= code < 256 else ESCAPED)


def _wait(pid: int, deadline: float) -> tuple[int | None, float]:
    """The child's exit code (None after killing it at the deadline) and its processor time."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            _pid, _status, usage = os.wait4(pid, 0)
            return None, usage.ru_utime + usage.ru_stime
        time.sleep(0.005)


def overstay(seconds: float, cpu: float, timeout: float) -> float:
    """How long a run went on past its --timeout, in seconds of a processor of its own.

    wolf's bound is wall-clock time, but on a shared machine a run gets only a share of a processor, and the
    work left after the bound stretches with it. With the share taken as even over the run (cpu / seconds), the
    processor time spent after the bound is cpu * (1 - timeout / seconds); on an idle machine (cpu = seconds)
    that is simply seconds - timeout."""
    if seconds <= timeout:
        return 0.0
    return cpu * (1 - timeout / seconds)


def _judge(code: int | None, seconds: float, cpu: float, timeout: float, stderr: str) -> str | None:
    if code is None:
        return "hang (killed)"
    if code == ESCAPED or "Traceback (most recent call last)" in stderr and code != 4:
        return "traceback"
    if code == 4:
        return "internal error (exit 4)"
    if code not in (0, 1, 2, 3):
        return f"exit code {code}"
    if overstay(seconds, cpu, timeout) > GRACE:
        return f"overstayed ({seconds:.1f} s, {cpu:.1f} s of processor, for --timeout {timeout:g})"
    if "memory ran out" in stderr:
        return "memory ran out"
    return None


# ------------------------------------------------------------------------------------------- mutations

def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _significant(tokens: list[str]) -> list[int]:
    return [k for k, t in enumerate(tokens) if not t.isspace() and not t.startswith("#")]


def mutate(text: str, rng: random.Random) -> tuple[str, bytes]:
    """One to three mutations of `text`; returns what was done and the resulting bytes."""
    data = text
    done = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(MUTATIONS)
        data_or_bytes = kind(data, rng)
        done.append(kind.__name__.lstrip("_"))
        if isinstance(data_or_bytes, bytes):
            return "+".join(done), data_or_bytes
        data = data_or_bytes
    return "+".join(done), data.encode("utf-8")


def _delete_line(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def _duplicate_line(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[k])
    return "\n".join(lines)


def _swap_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def _delete_token(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    sig = _significant(tokens)
    if sig:
        del tokens[rng.choice(sig)]
    return "".join(tokens)


def _duplicate_token(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    sig = _significant(tokens)
    if sig:
        k = rng.choice(sig)
        tokens.insert(rng.choice(sig), tokens[k] + " ")
    return "".join(tokens)


def _swap_tokens(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    sig = _significant(tokens)
    if len(sig) > 1:
        a, b = rng.choice(sig), rng.choice(sig)
        tokens[a], tokens[b] = tokens[b], tokens[a]
    return "".join(tokens)


def _keyword_for_name(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    names = [k for k, t in enumerate(tokens) if re.fullmatch(r"[A-Za-z_]\w*", t)]
    if names:
        tokens[rng.choice(names)] = rng.choice(KEYWORDS)
    return "".join(tokens)


def _name_for_name(text: str, rng: random.Random) -> str:
    """Another name of the same file in the place of a name: reaches the type checker and the engine."""
    tokens = _tokens(text)
    names = [k for k, t in enumerate(tokens) if re.fullmatch(r"[A-Za-z_]\w*", t) and t not in KEYWORDS]
    if len(names) > 1:
        tokens[rng.choice(names)] = tokens[rng.choice(names)]
    return "".join(tokens)


def _odd_number(text: str, rng: random.Random) -> str:
    """A huge, negative or zero number in place of a number (or of a name, where constants are used)."""
    tokens = _tokens(text)
    spots = [k for k, t in enumerate(tokens) if t.isdigit()] or _significant(tokens)
    if spots:
        tokens[rng.choice(spots)] = rng.choice(NUMBERS)
    return "".join(tokens)


def _random_bytes(text: str, rng: random.Random) -> bytes:
    raw = text.encode("utf-8")
    pos = rng.randrange(len(raw) + 1)
    junk = rng.choice(ODD_BYTES) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return raw[:pos] + junk + raw[pos:]


def _deep_nesting(text: str, rng: random.Random) -> str:
    """A number, name or block wrapped many levels deep: parentheses, `not`, `-`, `if` blocks or sets."""
    tokens = _tokens(text)
    sig = [k for k in _significant(tokens) if re.fullmatch(r"\w+", tokens[k])]
    if not sig:
        return text
    k = rng.choice(sig)
    depth = rng.choice((50, 200, 1000, 5000))
    open_, close = rng.choice((("(", ")"), ("not ", ""), ("- ", ""), ("{", "}"), ("[", "]"), ("{", "}k(A,B)"),
                               ("if true { ", " }"), ("h(", ")")))
    tokens[k] = open_ * depth + tokens[k] + close * depth
    return "".join(tokens)


MUTATIONS = (_delete_line, _duplicate_line, _swap_lines, _delete_token, _duplicate_token, _swap_tokens,
             _keyword_for_name, _name_for_name, _odd_number, _random_bytes, _deep_nesting)


def odd_options(rng: random.Random, text: str) -> tuple[str, ...]:
    """Sometimes valid, sometimes odd options: -D of a constant of the model, capabilities, typing, depth."""
    out: list[str] = []
    consts = re.findall(r"^const (\w+)", text, re.M)
    if consts and rng.random() < 0.3:
        out += ["-D", f"{rng.choice(consts)}={rng.choice(('1', '2', '3', '0', '-1', 'true', '1000000', '1_0', ''))}"]
    if rng.random() < 0.2:
        caps = rng.sample(CAPABILITIES, rng.randint(1, len(CAPABILITIES)))
        out += ["--attacker", rng.choice((",".join(caps), "none", "", ",", "eavesdrop,", "none,replay"))]
    if rng.random() < 0.1:
        out.append("--untyped")
    if rng.random() < 0.1:
        out += ["--max-depth", rng.choice(("1", "3", "10", "0"))]
    if rng.random() < 0.1:
        out += ["--attacker-limit", rng.choice(("0", "1", "2"))]
    if rng.random() < 0.05:
        out += ["--format", "json"]
    return tuple(out)


def mutation_cases(seed: int, count: int) -> Iterator[Case]:
    """`count` mutated models of the library, deterministic in `seed`."""
    rng = random.Random(seed)
    texts = {p: p.read_text(encoding="utf-8") for p in MODELS}
    for k in range(count):
        path = rng.choice(MODELS)
        what, data = mutate(texts[path], rng)
        yield Case(f"{seed}:{k} {path.relative_to(ROOT)} {what}", data,
                   odd_options(rng, texts[path]) if rng.random() < 0.3 else (), path.stem)


# ------------------------------------------------------------------------------------------- generation

@dataclass
class _Names:
    """What a generated process model has declared so far, so that most references resolve."""

    consts: list[str] = field(default_factory=list)
    messages: dict[str, list[str]] = field(default_factory=dict)
    families: dict[str, bool] = field(default_factory=dict)  # name -> indexed
    ints: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    seqs: list[str] = field(default_factory=list)
    maps: list[str] = field(default_factory=list)
    bools: list[str] = field(default_factory=list)


def generate_model(rng: random.Random) -> str:
    """A model drawn from the grammar: a process model or a security protocol, mostly well-typed."""
    return _protocol(rng) if rng.random() < 0.35 else _process_model(rng)


def _int_expr(rng: random.Random, n: _Names, depth: int = 0) -> str:
    choices = ["lit", "lit", "var", "const"] + (["bin", "bin", "neg", "len", "call"] if depth < 3 else [])
    kind = rng.choice(choices)
    if kind == "lit":
        return rng.choice(("0", "1", "2", "3", "-1", "100", str(rng.randint(0, 10)), "99999999999999999999"))
    if kind == "var" and n.ints:
        return rng.choice(n.ints)
    if kind == "const" and n.consts:
        return rng.choice(n.consts)
    if kind == "bin":
        return f"({_int_expr(rng, n, depth + 1)} {rng.choice('+-*/%')} {_int_expr(rng, n, depth + 1)})"
    if kind == "neg":
        return f"-{_int_expr(rng, n, depth + 1)}"
    if kind == "len" and (n.sets or n.seqs):
        return f"len({rng.choice(n.sets + n.seqs)})"
    if kind == "call":
        return rng.choice((f"abs({_int_expr(rng, n, depth + 1)})",
                           f"min({_int_expr(rng, n, depth + 1)}, {_int_expr(rng, n, depth + 1)})",
                           f"max({_int_expr(rng, n, depth + 1)}, {_int_expr(rng, n, depth + 1)})",
                           f"sum(x for x in {_set_expr(rng, n, depth + 1)})",
                           f"count(x in {_set_expr(rng, n, depth + 1)} where x > 0)"))
    return str(rng.randint(0, 3))


def _set_expr(rng: random.Random, n: _Names, depth: int = 0) -> str:
    kind = rng.choice(["var", "lit", "range", "comp", "op"] if depth < 3 else ["var", "lit"])
    if kind == "var" and n.sets:
        return rng.choice(n.sets)
    if kind == "range":
        return f"({_int_expr(rng, n, depth + 1)}..{_int_expr(rng, n, depth + 1)})"
    if kind == "comp":
        return f"{{x + 1 for x in {_set_expr(rng, n, depth + 1)} where x < 5}}"
    if kind == "op":
        return f"({_set_expr(rng, n, depth + 1)} {rng.choice('+-')} {_set_expr(rng, n, depth + 1)})"
    return "{" + ", ".join(_int_expr(rng, n, depth + 1) for _ in range(rng.randint(1, 3))) + "}"


def _bool_expr(rng: random.Random, n: _Names, depth: int = 0) -> str:
    kind = rng.choice(["cmp", "cmp", "lit", "var", "in"] + (["and", "not"] if depth < 3 else []))
    if kind == "cmp":
        return f"{_int_expr(rng, n, depth + 1)} {rng.choice(('==', '!=', '<', '<=', '>', '>='))} " \
               f"{_int_expr(rng, n, depth + 1)}"
    if kind == "var" and n.bools:
        return rng.choice(n.bools)
    if kind == "in":
        return f"{_int_expr(rng, n, depth + 1)} in {_set_expr(rng, n, depth + 1)}"
    if kind == "and":
        return f"({_bool_expr(rng, n, depth + 1)} {rng.choice(('and', 'or', '->'))} {_bool_expr(rng, n, depth + 1)})"
    if kind == "not":
        return f"not {_bool_expr(rng, n, depth + 1)}"
    return rng.choice(("true", "false"))


def _target(rng: random.Random, n: _Names, me_indexed: bool) -> str:
    fam = rng.choice(list(n.families))
    if not n.families[fam]:
        return fam
    return f"{fam}[{rng.choice(('0', 'i', 'i', '(i + 1) % N', 'N - 1'))}]" if me_indexed else f"{fam}[0]"


def _statement(rng: random.Random, n: _Names, states: list[str], indexed: bool, depth: int = 0) -> str:
    kinds = ["assign", "assign", "aug", "send", "goto"] + (["if", "for", "broadcast"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "assign" and n.ints:
        return f"{rng.choice(n.ints)} = {_int_expr(rng, n)}"
    if kind == "assign" and n.seqs:
        return f"{rng.choice(n.seqs)} = {rng.choice(n.seqs)} + [{_int_expr(rng, n)}]"
    if kind == "aug" and n.sets:
        return f"{rng.choice(n.sets)} {rng.choice(('+=', '-='))} {{{_int_expr(rng, n)}}}"
    if kind == "aug" and n.maps:
        m = rng.choice(n.maps)
        return f"{m}[{_int_expr(rng, n)}] = {_int_expr(rng, n)}"
    if kind == "send" and n.messages:
        msg, params = rng.choice(list(n.messages.items()))
        args = ", ".join(_int_expr(rng, n) if t == "int" else ("i" if indexed else "0") for t in params)
        return f"send {msg}({args}) to {_target(rng, n, indexed)}"
    if kind == "broadcast" and n.messages:
        msg, params = rng.choice(list(n.messages.items()))
        args = ", ".join(_int_expr(rng, n) if t == "int" else ("i" if indexed else "0") for t in params)
        fams = [f for f, ix in n.families.items() if ix]
        return f"broadcast {msg}({args})" + (f" to {rng.choice(fams)}" if fams else "")
    if kind == "goto":
        return f"goto {rng.choice(states)}"
    if kind == "if":
        body = _statement(rng, n, states, indexed, depth + 1)
        orelse = f" else {{ {_statement(rng, n, states, indexed, depth + 1)} }}" if rng.random() < 0.5 else ""
        return f"if {_bool_expr(rng, n)} {{ {body} }}{orelse}"
    if kind == "for":
        return f"for x in {_set_expr(rng, n)} {{ {_statement(rng, n, states, indexed, depth + 1)} }}"
    return "skip"


def _process_model(rng: random.Random) -> str:
    n = _Names()
    lines = [f"model Gen{rng.randint(0, 999)}"]
    for k in range(rng.randint(0, 2)):
        name = f"C{k}"
        lines.append(f"const {name} = {rng.choice(('0', '1', '2', '3', '-1', '1000000', '2 + 1'))}")
        n.consts.append(name)
    lines.append(f"const N = {rng.choice(('1', '2', '2', '2', '3', '3', '4', '0'))}")
    n.consts.append("N")
    lines.append("network " + rng.choice(("fifo", "unordered", "lossy", "fifo lossy", "unordered lossy", "fifo")))
    if rng.random() < 0.25:
        lines.append("attacker " + ", ".join(rng.sample(CAPABILITIES, rng.randint(1, 3))))
        if rng.random() < 0.5:
            lines.append(f"attacker limit {rng.choice(('0', '1', '2', '-1'))}")
    for k in range(rng.randint(1, 3)):
        params = [rng.choice(("int", "pid")) for _ in range(rng.randint(0, 2))]
        n.messages[f"m{k}"] = params
        lines.append(f"message m{k}(" + ", ".join(f"a{j}: {t}" for j, t in enumerate(params)) + ")")
    families = [("P", True)] + ([("Q", False)] if rng.random() < 0.5 else [])
    for name, indexed in families:
        n.families[name] = indexed
    for name, indexed in families:
        local = _Names(n.consts, n.messages, n.families)
        body = []
        for v in range(rng.randint(0, 4)):
            kind = rng.choice(("int", "int", "set", "seq", "map", "bool"))
            var = f"{kind}{v}"
            if kind == "int":
                body.append(f"var {var} = {_int_expr(rng, local)}")
                local.ints.append(var)
            elif kind == "set":
                body.append(f"var {var}: set[int] = {rng.choice(('{}', '{1, 2}', '0..2', '{x for x in 0..3}'))}")
                local.sets.append(var)
            elif kind == "seq":
                body.append(f"var {var}: seq[int] = {rng.choice(('[]', '[1]', '[0, 0]'))}")
                local.seqs.append(var)
            elif kind == "map":
                body.append(f"var {var}: map[int, int] = {rng.choice(('{}', '{0: 1}', '{j: 0 for j in 0..2}'))}")
                local.maps.append(var)
            else:
                body.append(f"var {var} = {rng.choice(('true', 'false'))}")
                local.bools.append(var)
        states = [f"s{k}" for k in range(rng.randint(1, 3))]
        body.append("state " + ", ".join(states))
        if rng.random() < 0.5:
            body.append(f"final {rng.choice(states)}")
        for _ in range(rng.randint(0, 3)):
            src, dst = rng.choice(states), rng.choice(states)
            guard = f" when {_bool_expr(rng, local)}" if rng.random() < 0.6 else ""
            stmts = "; ".join(_statement(rng, local, states, indexed) for _ in range(rng.randint(0, 3)))
            body.append(f"{src} -> {dst}{guard} {{ {stmts} }}")
        for msg, params in rng.sample(list(n.messages.items()), rng.randint(0, len(n.messages))):
            args = ", ".join(f"p{j}" for j in range(len(params)))
            sender = " from j" if rng.random() < 0.3 else ""
            where = f" in {rng.choice(states)}" if rng.random() < 0.3 else ""
            stmts = "; ".join(_statement(rng, local, states, indexed) for _ in range(rng.randint(0, 2)))
            body.append(f"on {msg}({args}){sender}{where} {{ {stmts} }}")
        head = f"process {name}[i in 0..N-1]" if indexed else f"process {name}"
        lines.append(head + " {\n  " + "\n  ".join(body) + "\n}")
        if rng.random() < 0.15:
            lines.append(f"crash {name}" + (f"[{rng.choice(('0', '1', 'N'))}]" if indexed else ""))
        me = f"{name}[0]" if indexed else name
        for var in local.ints[:1]:
            prop = rng.choice((f"always {me}.{var} < 5", f"always {me}.{var} >= {_int_expr(rng, n)}",
                               f"always ({name}[i].s0 -> eventually {name}[i].{states[-1]})" if indexed else
                               f"always ({name}.s0 -> eventually {name}.{states[-1]})",
                               f"eventually {me}.{states[-1]}",
                               f"always {name}[0].{var} != {name}[N - 1].{var}" if indexed else
                               f"always {name}.{var} != 3"))
            lines.append(f"check c_{name}_{var}: {prop}")
    lines.append("check deadlock_free")
    if rng.random() < 0.3:
        lines.append(f"check msgs: messages per P.s0 {rng.choice(('<=', '==', '>'))} {rng.randint(0, 4)}")
    return "\n".join(lines) + "\n"


_TERMS = ("Na", "Nb", "K", "T")


def _term(rng: random.Random, roles: list[str], values: list[str], pair: tuple[str, str], depth: int = 0) -> str:
    """A message term `pair[0]` sends to `pair[1]`: keys mostly ones the sender has (rarely anything)."""
    me, you = pair
    kind = rng.choice(["atom", "atom", "role"] + (["enc", "enc", "pair", "hash", "pk"] if depth < 3 else []))
    if kind == "role":
        return rng.choice(roles)
    if kind == "enc":
        key = rng.choice([f"pk({you})", f"pk({you})", f"sk({me})", f"k({me}, {you})", f"k({you}, {me})",
                          rng.choice(values), f"({rng.choice(roles)}, {rng.choice(values)})"])
        inner = ", ".join(_term(rng, roles, values, pair, depth + 1) for _ in range(rng.randint(1, 3)))
        return "{" + inner + "}" + key
    if kind == "pair":
        return "(" + ", ".join(_term(rng, roles, values, pair, depth + 1) for _ in range(2)) + ")"
    if kind == "hash":
        return f"h({_term(rng, roles, values, pair, depth + 1)})"
    if kind == "pk":
        return f"pk({rng.choice(roles)})"
    return rng.choice(values)


def _protocol(rng: random.Random) -> str:
    roles = ["A", "B", "S"][: rng.randint(2, 3)]
    values = list(_TERMS[: rng.randint(1, 4)])
    timed = "T" in values and rng.random() < 0.7
    lines = ["const DELTA = " + rng.choice(("2", "0", "5", "-1", "1" + "0" * 40)), "model GenProto", "protocol {",
             "  roles " + ", ".join(roles)]
    if "K" in values:
        lines.append("  key K")
    if timed:
        lines.append("  time T")
    for r in roles:
        known = [r] + [x for x in roles if x != r and rng.random() < 0.8]
        known += [f"sk({r})", f"pk({r})"] + [f"pk({x})" for x in roles if x != r and rng.random() < 0.9]
        known += [f"k({a}, {b})" for a in roles for b in roles if a != b and r in (a, b) and rng.random() < 0.8]
        lines.append(f"  {r} knows " + ", ".join(known))
    speaker = roles[0]
    for _ in range(rng.randint(1, 4)):
        hearer = rng.choice([r for r in roles if r != speaker])
        payload = ", ".join(_term(rng, roles, values, (speaker, hearer)) for _ in range(rng.randint(1, 3)))
        lines.append(f"  {speaker} -> {hearer}: {payload}")
        if timed and rng.random() < 0.4:
            lines.append(f"    {hearer} accepts T within DELTA")
        speaker = hearer
    for v in rng.sample(values, rng.randint(0, len(values))):
        lines.append(f"  goal secret({v})")
    a, b = rng.sample(roles, 2)
    lines.append(rng.choice((f"  goal {a} agrees with {b} on {rng.choice(values)}",
                             f"  goal {a} non-injectively agrees with {b} on {rng.choice(values)}",
                             f"  goal {a} weakly agrees with {b}", f"  goal {a} alive for {b}")))
    lines.append("}")
    lines.append("scenario {")
    lines.append("  honest alice, bob" + (", srv" if len(roles) > 2 else ""))
    if rng.random() < 0.8:
        lines.append("  compromised eve")
    lines.append(f"  sessions {rng.choice(('1', '1', '2', '0', '3'))}")
    if rng.random() < 0.5:
        lines.append("  attacker " + ", ".join(rng.sample(CAPABILITIES, rng.randint(1, 5))))
    if rng.random() < 0.1:
        lines.append("  untyped")
    if timed and rng.random() < 0.5:
        lines.append(f"  skew {rng.choice(('0', '1', '3'))}")
        lines.append(f"  pace {rng.choice(('0', '1'))}")
    if timed and rng.random() < 0.3:
        lines.append(f"  replay cache {rng.choice(roles)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generated_cases(seed: int, count: int) -> Iterator[Case]:
    rng = random.Random(seed)
    for k in range(count):
        yield Case(f"{seed}:{k} generated", generate_model(rng).encode("utf-8"), stem="generated")


def special_cases() -> list[Case]:
    """Inputs no mutation makes: option values that once passed validation, and files that are not models."""
    counter = (ROOT / "tests" / "data" / "counter.wolf").read_bytes()
    nspk = (ROOT / "models" / "security" / "nspk.wolf").read_bytes()
    return [Case("--timeout nan", counter, ("--timeout", "nan")),
            Case("--attacker ''", nspk, ("--attacker", "")),
            Case("-D N=1_0", (ROOT / "models" / "mutex" / "lamport.wolf").read_bytes(), ("-D", "N=1_0")),
            Case("huge -D", (ROOT / "models" / "mutex" / "lamport.wolf").read_bytes(), ("-D", "N=1000000000")),
            Case("empty", b""), Case("only a BOM", b"\xef\xbb\xbf"), Case("NUL", b"\x00" * 10),
            Case("large", b"# " + b"x" * 1_100_000)]


# ------------------------------------------------------------------------------------------- the campaign

def warm_up() -> None:
    """Import everything a run may need (and build the parser) once, before forking, so children share it."""
    import checker.cli  # noqa: F401
    import checker.engine.liveness  # noqa: F401
    import checker.output.render_msc  # noqa: F401
    import checker.timed.constraints  # noqa: F401
    import dsl.security  # noqa: F401
    from dsl.parser import parse_model
    parse_model("process P { state a }")


def campaign(cases: Sequence[Case] | Iterator[Case], timeout: float, max_states: int,
             report_every: int = 0) -> list[Outcome]:
    """Run every case (sequentially: the machine's other work shares the cores), in a scratch directory."""
    warm_up()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="wolf-fuzz-") as tmp:
        for k, case in enumerate(cases, start=1):
            outcomes.append(run_case(case, Path(tmp), timeout, max_states))
            if report_every and k % report_every == 0:
                failures = sum(1 for o in outcomes if o.failure)
                print(f"  {k:,} inputs, {failures} failures", file=sys.stderr, flush=True)
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> str:
    codes = collections.Counter("killed" if o.code is None else str(o.code) for o in outcomes)
    causes = collections.Counter(o.cause for o in outcomes if o.failure)
    slowest = max(outcomes, key=lambda o: o.seconds) if outcomes else None
    lines = [f"{len(outcomes):,} inputs; exit codes: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(codes.items())),
             f"tracebacks: {sum(1 for o in outcomes if o.failure == 'traceback')}, internal errors (exit 4): "
             f"{codes.get('4', 0)}, hangs and overstays: "
             f"{sum(1 for o in outcomes if o.failure and ('hang' in o.failure or 'overstay' in o.failure))}, "
             f"memory exhausted: {sum(1 for o in outcomes if o.failure == 'memory ran out')}"]
    if slowest is not None:
        lines.append(f"slowest run: {slowest.seconds:.1f} s ({slowest.case.name})")
    for cause, n in causes.most_common():
        example = next(o for o in outcomes if o.failure and o.cause == cause)
        lines.append(f"  {n:5}  {cause}   e.g. {example.case.name}")
    return "\n".join(lines)


def save_failures(outcomes: Sequence[Outcome], folder: Path) -> None:
    """Each failing input: the model (.wolf), its case (.json, for --replay) and what happened (.txt)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, o in enumerate(o for o in outcomes if o.failure):
        stem = folder / f"{k:04d}_{re.sub(r'[^A-Za-z0-9]+', '_', o.cause)[:60]}"
        stem.with_suffix(".wolf").write_bytes(o.case.data)
        stem.with_suffix(".json").write_text(json.dumps({"name": o.case.name, "argv": o.case.argv,
                                                         "stem": o.case.stem}), encoding="utf-8")
        stem.with_suffix(".txt").write_text(f"{o.case.name}\noptions: {o.case.argv}\n"
                                            f"exit: {o.code}, {o.seconds:.1f} s, {o.failure}\n\n{o.stderr[-5000:]}",
                                            encoding="utf-8")


def saved_cases(folder: Path) -> list[Case]:
    """The failing inputs `save_failures` wrote, to run again after a fix."""
    cases = []
    for meta in sorted(folder.glob("*.json")):
        info = json.loads(meta.read_text(encoding="utf-8"))
        cases.append(Case(info["name"], meta.with_suffix(".wolf").read_bytes(), tuple(info["argv"]), info["stem"]))
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz wolf check with mutated and generated models.")
    parser.add_argument("--count", type=int, default=10_000, help="inputs in all (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the mutations and generated models")
    parser.add_argument("--generated", type=float, default=0.3, help="share of grammar-generated models")
    parser.add_argument("--timeout", type=float, default=5.0, help="--timeout of each run (default 5 s)")
    parser.add_argument("--max-states", type=int, default=20_000, help="--max-states of each run")
    parser.add_argument("--failures", default="fuzz-failures", help="folder for failing inputs")
    parser.add_argument("--replay", metavar="DIR", help="run the failing inputs saved in DIR again, nothing else")
    args = parser.parse_args(argv)
    if args.replay:
        cases = saved_cases(Path(args.replay))
    else:
        generated = int(args.count * args.generated)
        specials = special_cases()
        mutated = max(0, args.count - generated - len(specials))
        cases = [*specials, *mutation_cases(args.seed, mutated), *generated_cases(args.seed, generated)]
    start = time.perf_counter()
    outcomes = campaign(cases, args.timeout, args.max_states, report_every=500)
    print(summary(outcomes))
    print(f"{time.perf_counter() - start:.0f} s in all; seed {args.seed}, --timeout {args.timeout:g}, "
          f"--max-states {args.max_states}")
    if any(o.failure for o in outcomes):
        save_failures(outcomes, Path(args.failures))
        print(f"failing inputs written to {args.failures}/")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
