"""The `wolf` command line: a thin composition root over `checker.analysis.analyze`.

Exit codes: 0 every property holds, 1 a property fails, 2 bad input or usage, 3 a bound was hit (no
violation found within it). With several files the most severe wins, in the order 2, 1, 3, 0.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from dsl.diagnostics import ModelError

from .analysis import FAILS, Analysis, Options, analyze
from .explorer import Bounds, Stats
from .output import analysis_to_json, render_analysis

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_BOUND = 0, 1, 2, 3
SEVERITY = {EXIT_INPUT: 3, EXIT_FAIL: 2, EXIT_BOUND: 1, EXIT_OK: 0}


class UsageError(Exception):
    pass


def _define(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise UsageError(f"-D expects NAME=VALUE, got {text!r}")
    value = value.strip()
    if value in ("true", "false"):
        return name, value == "true"
    try:
        return name, int(value)
    except ValueError:
        raise UsageError(f"-D {name}: the value must be an integer, true or false, got {value!r}") from None


def _capabilities(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    if text.strip() == "none":
        return ()
    return tuple(c.strip() for c in text.split(",") if c.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wolf", description="Model checker for distributed algorithms and "
                                                              "security protocols.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check every property of one or more models")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                       help="override a constant of the model (repeatable)")
    check.add_argument("--max-states", type=int, metavar="N", help="stop after N distinct states")
    check.add_argument("--max-depth", type=int, metavar="N", help="explore runs of at most N steps")
    check.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    check.add_argument("-p", "--property", dest="only", action="append", default=[], metavar="NAME",
                       help="check only this property (repeatable; default: all)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--attacker", metavar="CAPS",
                       help="attacker capabilities, comma-separated (eavesdrop,drop,modify,replay,masquerade) "
                            "or 'none'; overrides the model")
    check.add_argument("--untyped", action="store_true", default=None,
                       help="untyped matching: a variable may bind any term (exposes type-flaw attacks)")
    check.add_argument("--weakest-attacker", action="store_true",
                       help="for each violated goal, report the smallest capability sets that still violate it")
    check.add_argument("--svg", nargs="?", const="reports", metavar="DIR",
                       help="write a message-sequence chart per violated property (default reports/<model>/)")
    check.add_argument("--dot", action="store_true", help="with --svg, also write the DOT source")
    check.add_argument("--show-state", action="store_true", help="show changed variables in charts")
    check.add_argument("--quiet", action="store_true", help="no progress line")
    return parser


def _progress_printer(stream) -> Any:
    tty = stream.isatty()

    def report(stats: Stats) -> None:
        line = (f"  ... {stats.states:,} states, {stats.transitions:,} transitions, depth {stats.depth}, "
                f"{stats.seconds:.0f} s, {stats.states_per_second:,.0f} states/s")
        stream.write(("\r" + line) if tty else (line + "\n"))
        stream.flush()
    return report


def _check(args: argparse.Namespace) -> int:
    defines = dict(_define(d) for d in args.defines)
    for n in (args.max_states, args.max_depth):
        if n is not None and n <= 0:
            raise UsageError("bounds must be positive")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    bounds = Bounds(args.max_states, args.max_depth, args.timeout)
    progress = None if args.quiet or args.format == "json" else _progress_printer(sys.stderr)
    options = Options(defines, bounds, _capabilities(args.attacker), args.untyped, tuple(args.only), progress)
    worst = EXIT_OK
    results: list[dict[str, Any]] = []
    for path in args.files:
        code, payload = _check_one(path, options, args)
        if payload is not None:
            results.append(payload)
        if SEVERITY[code] > SEVERITY[worst]:
            worst = code
    if args.format == "json":
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return worst


def _check_one(path: str, options: Options, args: argparse.Namespace) -> tuple[int, dict | None]:
    try:
        analysis = analyze(path, options)
    except ModelError as err:
        source = _source(path)
        message = "\n".join(d.render(path, source) for d in err.diagnostics)
        if args.format == "json":
            return EXIT_INPUT, {"file": path, "error": message,
                                "diagnostics": [dict(code=d.code, message=d.message, line=d.span.line,
                                                     column=d.span.column, hint=d.hint) for d in err.diagnostics]}
        print(message, file=sys.stderr)
        return EXIT_INPUT, None
    if options.progress is not None and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    written = _write_charts(analysis, args) if args.svg is not None else {}
    weakest = _weakest(path, analysis, options) if args.weakest_attacker else {}
    if args.format == "json":
        return analysis.exit_code, analysis_to_json(analysis, written, weakest)
    print(render_analysis(analysis, written, weakest))
    return analysis.exit_code, None


def _write_charts(analysis: Analysis, args: argparse.Namespace) -> dict[str, list[str]]:
    from .render_msc import RendererUnavailable, msc_dot, msc_svg
    out_dir = Path(args.svg) / Path(analysis.path).stem
    written: dict[str, list[str]] = {}
    for v in analysis.verdicts:
        if v.status != FAILS or v.trace is None:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            svg = msc_svg(v.trace, show_state=args.show_state)
        except RendererUnavailable as err:
            raise UsageError(str(err)) from None
        target = out_dir / f"{_safe(v.name)}.svg"
        target.write_text(svg, encoding="utf-8")
        written[v.name] = [str(target)]
        if args.dot:
            dot_path = out_dir / f"{_safe(v.name)}.dot"
            dot_path.write_text(msc_dot(v.trace, show_state=args.show_state), encoding="utf-8")
            written[v.name].append(str(dot_path))
    return written


def _weakest(path: str, analysis: Analysis, options: Options) -> dict[str, list[list[str]]]:
    from .weakest import weakest_attackers
    return weakest_attackers(path, analysis, options)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _source(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    try:
        if args.command == "check":
            return _check(args)
    except UsageError as err:
        print(f"wolf: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("wolf: interrupted", file=sys.stderr)
        return EXIT_BOUND
    except BrokenPipeError:  # `wolf check ... | head`: the reader left; say nothing more
        sys.stderr = open(os.devnull, "w")
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
