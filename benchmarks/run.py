"""Benchmarks: speed and memory of `wolf check`, side by side with SPIN, as a table and as JSON.

Each configuration runs in its own process so that its peak memory (max RSS, from wait4) is its own. Targets are
checked here, never by timed assertions in tests (issue 8):
  * Lamport N=3, one round, safety: wolf's time to verdict at most half of SPIN's (spin -a + gcc -O2 -DSAFETY +
    pan, on benchmarks/spin/lamport.pml, an independent Promela model of the same algorithm);
  * Lamport N=3, two rounds, safety: a verdict in under 60 s and 4 GB;
  * Lamport N=4 one round and Ricart-Agrawala N=4 two rounds: verdicts;
  * at least 150,000 states/s before reductions on Lamport N=3, at most 40 bytes of memory per stored state
    (peak resident memory above that of a trivial run, divided by the states stored);
  * the security and time libraries: each model's verdict in under 1 s (whole process, the median of 5 runs);
    NSPK under 0.25 s;
    three-role protocols with servers at `sessions 2` under 5 s, two-role ones at `sessions 3` under 10 s, with
    the states explored before and after the symbolic search (`--security`, see `security_section`).
Whole-process times include starting Python and importing wolf, so wolf's packages are byte-compiled first
(`compile_wolf`): with PYTHONDONTWRITEBYTECODE set and no cached bytecode, every process would compile them again.
Usage: python benchmarks/run.py [--quick] [--no-spin] [--security] [--out benchmarks/results.json]
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
WOLF = [sys.executable, "-m", "checker", "check", "--format", "json", "-q"]
PROMELA = {"lamport": ROOT / "benchmarks" / "spin" / "lamport.pml",
           "ricart_agrawala": ROOT / "tests" / "spin" / "ricart_agrawala.pml"}


@dataclass
class Row:
    name: str
    args: str
    exit_code: int
    states: int | None
    transitions: int | None
    seconds: float | None  # exploration time reported by wolf
    wall: float  # whole process, start-up included: the time to verdict
    states_per_second: int | None
    peak_mb: float
    bytes_per_state: float | None  # peak memory above the baseline run, per stored state
    verdicts: str
    extra: dict = field(default_factory=dict)


def machine_speed(moment: str) -> Row:
    """How fast this machine runs Python at `moment` ("before", "after"): the best of three runs of a fixed
    loop, in a process of its own. Its speed drifts by up to 1.5 times within an hour here, so figures from two
    runs of the benchmarks compare only together with this row."""
    loop = "import time\nt = time.perf_counter()\ns = 0\nfor i in range(10 ** 7):\n    s += i\n" \
           "print(time.perf_counter() - t)"
    best = min(float(subprocess.run([sys.executable, "-c", loop], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(3))
    return Row(f"machine speed ({moment})", "10^7 additions in a Python loop, best of 3", 0, None, None, None,
               round(best, 3), None, 0.0, None, "")


def compile_wolf() -> None:
    """Byte-compile wolf's packages (as `make` does when it installs wolf), so that whole-process times measure
    a start from cached bytecode even where PYTHONDONTWRITEBYTECODE is set."""
    for package in ("checker", "dsl"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"could not byte-compile {ROOT / package}")


def measure(argv: list[str], timeout: float, cwd: Path = ROOT) -> tuple[int, str, float, float]:
    """(exit code, stdout, wall seconds, peak MB) of one child process; killed after `timeout`."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    return os.waitstatus_to_exitcode(status), out, time.perf_counter() - start, usage.ru_maxrss / 1024


def run_wolf(name: str, args: list[str], timeout: float, baseline_mb: float, earlier: Sequence[float] = ()) -> Row:
    """One configuration, run once; with `earlier` (wall times of runs made before: `security_section`), the
    median wall time of them all is reported (all of them in `extra["walls"]`): a process of a quarter of a
    second varies by a quarter between two runs on this machine."""
    code, out, wall, peak_mb = measure(WOLF + args, timeout)
    walls = [*earlier, wall]
    wall = sorted(walls)[len(walls) // 2]
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return Row(name, " ".join(args), code, None, None, None, round(wall, 3), None, round(peak_mb, 1), None,
                   "no result (timeout or crash)")
    items = data if isinstance(data, list) else [data]
    stats = [d["stats"] for d in items if "stats" in d]
    states = sum(s["states"] for s in stats)
    transitions = sum(s["transitions"] for s in stats)
    seconds = sum(s["seconds"] for s in stats)
    verdicts = "; ".join(f"{p['name']}={p['verdict']}" for d in items for p in d.get("properties", []))
    above = max(peak_mb - baseline_mb, 0.0)
    return Row(name, " ".join(args), code, states, transitions, round(seconds, 3), round(wall, 3),
               round(states / seconds) if seconds else None, round(peak_mb, 1),
               round(above * 2 ** 20 / states, 1) if states else None, verdicts,
               {"stopped": items[0].get("stopped"), "reduced": sum(s.get("reduced", 0) for s in stats),
                **({"walls": [round(w, 3) for w in sorted(walls)]} if earlier else {})})


def run_spin(model: str, n: int, rounds: int, timeout: float) -> Row | None:
    """SPIN on the Promela twin: spin -a, gcc -O2 -DSAFETY, ./pan; the time to verdict is the sum."""
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        defines = [f"-DN={n}", f"-DROUNDS={rounds}"]
        code, _out, _w, _p = measure(["spin", "-a", *defines, str(PROMELA[model])], timeout, Path(tmp))
        if code != 0:
            return None
        code, _out, _w, _p = measure(["gcc", "-O2", "-DSAFETY", "-DMEMLIM=20000", "-o", "pan", "pan.c"], timeout,
                                     Path(tmp))
        code, out, _wall, peak_mb = measure(["./pan", "-m1000000", "-N", "mutex"],
                                            max(timeout - (time.perf_counter() - start), 1), Path(tmp))
        wall = time.perf_counter() - start
    states = _number(out, "states, stored")
    transitions = _number(out, "transitions (= stored+matched)")
    errors = _number(out, "errors:", after=True)
    verdict = "no result" if states is None else ("mutex=fails" if errors else "mutex=holds")
    # pan stops at its -DMEMLIM bound with "reached -DMEMLIM bound" and still prints its statistics and
    # "errors: 0": a search cut short, not a verdict.
    for sign, why in (("reached -DMEMLIM bound", "memory bound"), ("out of memory", "out of memory"),
                      ("max search depth too small", "search depth")):
        if sign in out:
            verdict = f"no result ({why})"
            break
    return Row(f"SPIN {model} N={n} R={rounds}", " ".join(defines), code, states, transitions, None,
               round(wall, 3), round(states / wall) if states and wall else None, round(peak_mb, 1),
               round(peak_mb * 2 ** 20 / states, 1) if states else None, verdict)


def _number(text: str, label: str, after: bool = False) -> int | None:
    for line in text.splitlines():
        if label in line:
            words = line.split(label)[1 if after else 0].split()
            try:
                return int(float(words[0] if after else words[-1]))
            except (ValueError, IndexError):
                return None
    return None


def mutex_configs(quick: bool) -> list[tuple[str, str, int, int, float]]:
    """(model, file, N, rounds, timeout)."""
    full = [("lamport", 2, 1), ("lamport", 3, 1), ("ricart_agrawala", 3, 1), ("ricart_agrawala", 3, 2),
            ("lamport", 3, 2), ("lamport", 4, 1), ("ricart_agrawala", 4, 2)]
    chosen = [c for c in full if not quick or c in (("lamport", 2, 1), ("lamport", 3, 1), ("ricart_agrawala", 3, 2))]
    return [(m, f"models/mutex/{m}.wolf", n, r, 60.0 if quick else 600.0) for m, n, r in chosen]


def library_configs(folder: str) -> list[tuple[str, list[str], float]]:
    return [(f"{p.relative_to(ROOT)}", [str(p.relative_to(ROOT))], 120.0)
            for p in sorted((ROOT / "models" / folder).glob("*.wolf"))]


# ---------------------------------------------------------------------------------------------------------------
# The security section (issue 9): every protocol of the libraries, the session targets, states before and after

#: Three-role protocols with a server, checked with `sessions 2` (their scenarios replaced), target 5 s each.
THREE_ROLE = ("ns_symmetric", "otway_rees", "yahalom", "ns_mullender", "carlsen", "kao_chow", "neuman_stubblebine",
              "woo_lam_pi", "iso9798_2_ttp", "keyserver")
#: Two-role protocols checked with `sessions 3`, target 10 s each.
TWO_ROLE = ("nspk", "nsl", "iso9798_1", "mutual_auth", "andrew_rpc", "x509_three_way")
#: The "before" figures: the concrete search of commit 77ce510 (the last before issue 9) on the same model files,
#: measured with `--security-before` on the 2-core development machine, under load (another suite running).
BEFORE = ROOT / "benchmarks" / "security_before.json"
#: Runs of each configuration with a target of a second or less, in that many passes over all of them (so that a
#: slow moment of the machine, which lasts seconds, falls on one run of a configuration rather than on all of
#: them); the median is reported (see `run_wolf`).
SHORT_REPEATS = 5


def security_configs(tmp: Path) -> list[tuple[str, list[str], float]]:
    """(name, wolf arguments, target seconds of the whole process): the libraries' default variants (1 s; NSPK
    0.25 s), then the session targets, on copies of the models whose scenario says `sessions N` instead."""
    out: list[tuple[str, list[str], float]] = []
    for folder in ("security", "time"):
        for p in sorted((ROOT / "models" / folder).glob("*.wolf")):
            if "process" in p.stem:
                continue
            out.append((f"{folder}/{p.stem}", [str(p)], 0.25 if p.stem == "nspk" else 1.0))
    for names, n, target in ((THREE_ROLE, 2, 5.0), (TWO_ROLE, 3, 10.0)):
        for stem in names:
            src = ROOT / "models" / "security" / f"{stem}.wolf"
            if not src.exists():
                continue
            copy = tmp / f"{stem}_sessions{n}.wolf"
            copy.write_text(_with_sessions(src.read_text(), n))
            out.append((f"{stem} sessions {n}", [str(copy)], target))
    return out


def _with_sessions(text: str, n: int) -> str:
    """The model with its scenario's runs (or session count) replaced by `sessions n`."""
    lines, done = [], False
    for line in text.splitlines():
        word = line.split("#")[0].strip()
        if word.startswith("run ") or word.startswith("sessions ") or word.startswith("const SESSIONS"):
            if not done and not word.startswith("const"):
                lines.append(f"  sessions {n}")
                done = True
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def security_section(baseline_mb: float, old_checkout: str | None = None) -> list[Row]:
    """Run the security configurations and print states and whole-process seconds before (the search of the
    commit before issue 9, recorded in benchmarks/security_before.json) and after. With `old_checkout` (a
    checkout of that commit) the "before" figures are measured instead and the JSON rewritten."""
    rows: list[Row] = []
    before = json.loads(BEFORE.read_text()) if BEFORE.exists() and old_checkout is None else {}
    measured: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        configs = security_configs(Path(tmp))
        earlier: dict[str, list[float]] = {name: [] for name, _argv, target in configs if target <= 1.0}
        for _ in range(SHORT_REPEATS - 1 if old_checkout is None else 0):  # the passes before the reported one
            for name, argv, target in configs:
                if name in earlier:
                    earlier[name].append(measure(WOLF + argv, 120.0)[2])
        for name, argv, target in configs:
            if old_checkout is not None:
                old = [sys.executable, "-m", "checker.cli", "check", "--format", "json"]
                code, out, wall, _peak = measure(old + argv, 120.0, Path(old_checkout))
                try:
                    states: int | None = json.loads(out)["stats"]["states"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    states = None
                measured[name] = {"states": states, "wall": round(wall, 3), "exit": code}
                print(f"{name:<34} before: {'-' if states is None else f'{states:,}':>9} states {wall:7.2f} s")
                continue
            row = run_wolf(name, argv, 120.0, baseline_mb, earlier=earlier.get(name, ()))
            rows.append(row)
            print(_security_line(row, before.get(name), target), flush=True)
    if old_checkout is not None:
        BEFORE.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
        print(f"wrote {BEFORE}")
    return rows


def _security_line(r: Row, before: dict | None, target: float) -> str:
    def num(x: object) -> str:
        return "-" if x is None else f"{x:,}"
    was = f"{num(before['states']):>9} st {before['wall']:6.2f} s" if before else f"{'-':>9} st {'-':>6} s "
    met = "ok" if r.wall <= target and r.exit_code in (0, 1) else f"over {target:g} s" if r.exit_code in (0, 1) \
        else "no verdict"
    spread = f" ({r.extra['walls'][0]:.2f}-{r.extra['walls'][-1]:.2f})" if r.extra.get("walls") else ""
    return (f"{r.name:<34} before {was}   after {num(r.states):>8} st {r.wall:6.2f} s{spread}  [{met}]  "
            f"{r.verdicts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few representative configurations only")
    parser.add_argument("--no-spin", action="store_true", help="do not run SPIN beside wolf")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--security", action="store_true", help="only the security section (states before/after)")
    parser.add_argument("--security-before", metavar="CHECKOUT",
                        help="measure the security section's 'before' figures with the wolf at CHECKOUT")
    args = parser.parse_args()
    compile_wolf()
    speed = machine_speed("before")
    print(f"machine speed: 10^7 additions in a Python loop take {speed.wall:.2f} s (best of 3)", flush=True)
    rows: list[Row] = [speed]
    base = run_wolf("baseline (trivial model)", ["models/mutex/central.wolf", "-D", "N=2", "-p", "mutex"],
                    60.0, 0.0)
    baseline_mb = base.peak_mb
    print(f"baseline: {baseline_mb:.1f} MB peak for a trivial run (subtracted for bytes per state)")
    if args.security or args.security_before:
        rows += security_section(baseline_mb, args.security_before)
        return _finish(rows, args.out)
    for model, path, n, rounds, timeout in mutex_configs(args.quick):
        common = [path, "-D", f"N={n}", "-D", f"ROUNDS={rounds}", "-p", "mutex", "-p", "deadlock_free",
                  "--timeout", str(timeout)]
        for label, extra in (("reduced", []), ("no reduction", ["--no-reduction"])):
            row = run_wolf(f"wolf {model} N={n} R={rounds} ({label})", common + extra, timeout + 30, baseline_mb)
            rows.append(row)
            print(_line(row), flush=True)
        spin = None if args.no_spin else run_spin(model, n, rounds, timeout)
        if spin is not None:
            rows.append(spin)
            print(_line(spin), flush=True)
            wolf = rows[-3]
            if spin.states is not None and wolf.exit_code in (0, 1) and spin.exit_code in (0, 1):
                print(f"    wolf / SPIN time to verdict: {wolf.wall / spin.wall:.2f}", flush=True)
            else:  # a run stopped by a bound has no time to verdict
                print("    wolf / SPIN time to verdict: - (no verdict on one side)", flush=True)
    lamport = ["models/mutex/lamport.wolf", "--timeout", "300"]
    for label, extra in (("all properties", []), ("all properties, no reduction", ["--no-reduction"])):
        row = run_wolf(f"wolf lamport N=3 R=1 ({label})", lamport + extra, 400.0, baseline_mb)
        rows.append(row)
        print(_line(row), flush=True)
    for n in (4, 6):
        for label, extra in (("symmetry", []), ("no reduction", ["--no-reduction"])):
            row = run_wolf(f"wolf central N={n} ({label})", ["models/mutex/central.wolf", "-D", f"N={n}", "-p",
                                                             "mutex", "-p", "deadlock_free"] + extra, 120.0,
                           baseline_mb)
            rows.append(row)
            print(_line(row), flush=True)
    for folder in ("security", "time"):
        for name, argv, timeout in library_configs(folder):
            row = run_wolf(name, argv, timeout, baseline_mb)
            rows.append(row)
            print(_line(row), flush=True)
        total = sum(r.wall for r in rows if r.name.startswith(f"models/{folder}"))
        print(f"{folder} library: {total:.2f} s wall in total")
    return _finish(rows, args.out)


def _finish(rows: list[Row], out: str) -> int:
    """Measure the machine's speed again (it drifts), then write every row as JSON."""
    speed = machine_speed("after")
    print(f"machine speed: 10^7 additions in a Python loop take {speed.wall:.2f} s (best of 3)")
    Path(out).write_text(json.dumps([asdict(r) for r in rows + [speed]], indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _line(r: Row) -> str:
    def num(x: object, fmt: str = "{:,}") -> str:
        return "-" if x is None else fmt.format(x)
    return (f"{r.name:<46} states {num(r.states):>11}  trans {num(r.transitions):>11}  "
            f"explore {num(r.seconds, '{:.2f}'):>7} s  wall {r.wall:7.2f} s  {num(r.states_per_second):>8} st/s  "
            f"peak {r.peak_mb:8.1f} MB  {num(r.bytes_per_state, '{:.0f}'):>5} B/state  exit {r.exit_code}  "
            f"{r.verdicts}")


if __name__ == "__main__":
    sys.exit(main())
