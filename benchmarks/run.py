"""Benchmarks: speed and memory of `wolf check` on the model library, as a table and as JSON.

Each configuration runs in its own `wolf check --format json` process so that its peak memory (max RSS,
from wait4) is its own. Targets are checked here, never by timed assertions in tests:
  * Lamport N=3 safety check: at least 50,000 states/s, under 300 bytes of peak memory per stored state;
  * security library: NSPK attack under 0.5 s, NSL (2 sessions) under 2 s, the whole library under 30 s;
  * each timed model's verdict under 3 s.
Usage: python benchmarks/run.py [--quick] [--out benchmarks/results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WOLF = [sys.executable, "-m", "checker.cli", "check", "--format", "json"]


@dataclass
class Row:
    name: str
    args: str
    exit_code: int
    states: int | None
    transitions: int | None
    seconds: float | None  # exploration time reported by wolf
    wall: float  # whole process, start-up included
    states_per_second: int | None
    peak_mb: float
    bytes_per_state: float | None
    verdicts: str


def run(name: str, args: list[str], timeout: float) -> Row:
    """Run one configuration in a child process; wait4 gives that child's own peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(WOLF + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    peak_mb = usage.ru_maxrss / 1024
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return Row(name, " ".join(args), proc.returncode, None, None, None,
                   wall, None, peak_mb, None, "no result (timeout or crash)")
    items = data if isinstance(data, list) else [data]
    states = sum(d["stats"]["states"] for d in items if "stats" in d)
    transitions = sum(d["stats"]["transitions"] for d in items if "stats" in d)
    seconds = sum(d["stats"]["seconds"] for d in items if "stats" in d)
    verdicts = "; ".join(f"{p['name']}={p['verdict']}" for d in items for p in d.get("properties", []))
    return Row(name, " ".join(args), proc.returncode, states, transitions, round(seconds, 3), round(wall, 3),
               round(states / seconds) if seconds else None, round(peak_mb, 1),
               round(peak_mb * 1024 * 1024 / states, 1) if states else None, verdicts)


def mutex_configs(quick: bool) -> list[tuple[str, list[str], float]]:
    configs = []
    for model in ("lamport", "ricart_agrawala"):
        for n in (2, 3, 4):
            for rounds in (1, 2):
                if quick and (n, rounds) != (2, 1) and not (model == "lamport" and (n, rounds) == (3, 1)):
                    continue
                args = [f"models/mutex/{model}.wolf", "-D", f"N={n}", "-D", f"ROUNDS={rounds}",
                        "-p", "mutex", "-p", "deadlock_free", "--max-states", "3000000", "--timeout", "120"]
                configs.append((f"{model} N={n} R={rounds} (safety)", args, 180.0))
    configs.append(("lamport N=3 R=1 (all properties)",
                    ["models/mutex/lamport.wolf", "--max-states", "3000000", "--timeout", "300"], 400.0))
    return configs


def library_configs(folder: str) -> list[tuple[str, list[str], float]]:
    return [(f"{p.relative_to(ROOT)}", [str(p.relative_to(ROOT))], 120.0)
            for p in sorted((ROOT / "models" / folder).glob("*.wolf"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few representative configurations only")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args()
    rows = []
    configs = mutex_configs(args.quick) + library_configs("security") + library_configs("time")
    for name, argv, timeout in configs:
        row = run(name, argv, timeout)
        rows.append(row)
        print(_line(row), flush=True)
    security = [r for r in rows if r.name.startswith("models/security")]
    if security:
        print(f"security library: {sum(r.wall for r in security):.2f} s wall in total")
    Path(args.out).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _line(r: Row) -> str:
    def num(x, fmt="{:,}"):
        return "-" if x is None else fmt.format(x)
    return (f"{r.name:<44} states {num(r.states):>10}  trans {num(r.transitions):>10}  "
            f"explore {num(r.seconds, '{:.2f}'):>7} s  wall {r.wall:6.2f} s  {num(r.states_per_second):>7} st/s  "
            f"peak {r.peak_mb:7.1f} MB  {num(r.bytes_per_state, '{:.0f}'):>5} B/state  exit {r.exit_code}")


if __name__ == "__main__":
    sys.exit(main())
