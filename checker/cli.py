"""The `wolf` command line: a thin composition root over `checker.analysis.analyze`.

Exit codes: 0 every property holds, 1 a property fails, 2 bad input or usage, 3 a bound was hit (no
violation found within it). With several files the most severe wins, in the order 2, 1, 3, 0.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from dsl.diagnostics import ModelError

from checker.analysis import FAILS, Analysis, Options, analyze
from checker.engine.budget import Bounds
from checker.engine.run import Stats
from checker.output.render_text import render_text
from checker.output.summary import analysis_to_json, render_analysis

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
    graph = sub.add_parser("graph", help="draw the reachable state graph of a small model")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                       help="override a constant of the model (repeatable)")
    graph.add_argument("--attacker", metavar="CAPS", help="attacker capabilities, as for check")
    graph.add_argument("--untyped", action="store_true", default=None, help="untyped matching, as for check")
    graph.add_argument("--svg", required=True, metavar="OUT", help="the SVG file to write (or a directory)")
    graph.add_argument("--dot", action="store_true", help="also write the DOT source next to it")
    graph.add_argument("--max-nodes", type=int, default=300, metavar="N",
                       help="refuse graphs of more than N states (default 300: larger ones are unreadable)")
    report = sub.add_parser("report", help="check every model of a library and write an HTML report")
    report.add_argument("dir", nargs="?", default="models", metavar="DIR", help="default: models")
    report.add_argument("--out", default="reports", metavar="OUT", help="default: reports")
    report.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="time bound per model and variant (default 120 s)")
    report.add_argument("--max-states", type=int, metavar="N", help="state bound per model and variant")
    report.add_argument("--quiet", action="store_true", help="no line per model on stderr")
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
    if args.svg is not None:
        _require_svg()
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
        run = render_text(err.trace) if err.trace is not None else None
        if args.format == "json":
            payload = {"file": path, "error": message,
                       "diagnostics": [dict(code=d.code, message=d.message, line=d.span.line,
                                            column=d.span.column, hint=d.hint) for d in err.diagnostics]}
            if err.trace is not None:
                payload["trace"] = err.trace.to_dict()
            return EXIT_INPUT, payload
        print(message, file=sys.stderr)
        if run is not None:
            print("\n" + run, file=sys.stderr)
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
    from checker.output.render_msc import RendererUnavailable, msc_dot, msc_svg
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
    from checker.security.weakest import weakest_attackers
    return weakest_attackers(path, analysis, options)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _require_svg() -> None:
    """Fail before exploring, not after, when SVG output is asked for and `dot` is missing."""
    from checker.output.render_msc import RendererUnavailable, require_svg_renderer
    try:
        require_svg_renderer()
    except RendererUnavailable as err:
        raise UsageError(str(err)) from None


def _rendered(path: str, err: ModelError) -> str:
    source = _source(path)
    return "\n".join(d.render(path, source) for d in err.diagnostics)


def _graph(args: argparse.Namespace) -> int:
    from dsl.frontend import load_model
    from checker.engine.system import ModelFault
    from checker.output.render_msc import render_svg
    from checker.output.stategraph import GraphTooLarge, build_state_graph, explore_graph, state_graph_dot
    if args.max_nodes <= 0:
        raise UsageError("--max-nodes must be positive")
    defines = dict(_define(d) for d in args.defines)
    _require_svg()
    try:
        system, props = load_model(args.file, defines, _capabilities(args.attacker), args.untyped)
        graph = build_state_graph(system, explore_graph(system, props, args.max_nodes))
    except ModelError as err:
        print(_rendered(args.file, err), file=sys.stderr)
        return EXIT_INPUT
    except ModelFault as err:
        raise UsageError(f"the model failed while running: {err}") from None
    except GraphTooLarge as err:
        raise UsageError(str(err)) from None
    out = Path(args.svg)
    if out.is_dir() or args.svg.endswith(("/", os.sep)):
        out = out / f"{Path(args.file).stem}.states.svg"
    dot = state_graph_dot(graph)
    files = [(out, render_svg(dot))] + ([(out.with_suffix(".dot"), dot)] if args.dot else [])
    for target, text in files:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {target}: {err.strerror}") from None
    shown = f"; red: the shortest run violating {graph.violation} ({graph.violation_steps} steps)" \
        if graph.violation else ""
    print(f"state graph of {graph.model}: {len(graph.nodes)} states, {len(graph.edges)} transitions{shown}")
    for target, _text in files:
        print(f"  wrote {target}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from checker.output.report import find_models, run_report, summary, write_index
    root, out = Path(args.dir), Path(args.out)
    if args.timeout <= 0 or (args.max_states is not None and args.max_states <= 0):
        raise UsageError("bounds must be positive")
    if not root.exists():
        raise UsageError(f"{args.dir}: no such file or directory")
    if not find_models(root):
        raise UsageError(f"no *.wolf models under {args.dir}")
    _require_svg()
    base = Options(bounds=Bounds(args.max_states, None, args.timeout))
    progress = None if args.quiet else (lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    report = run_report(root, out, _ModelLibrary(), base, progress)
    bound = f" --timeout {args.timeout:g}" + (f" --max-states {args.max_states}" if args.max_states else "")
    index = write_index(report, out, f"wolf report {args.dir} --out {args.out}{bound}")
    print(f"{summary(report)}; wrote {index}")
    return report.exit_code


class _ModelLibrary:
    """The front end as `checker.output.report` needs it (its `Library`): headers, analyses, compiled systems."""

    def variants(self, path: Path, base: Options) -> list[Any]:
        from dsl.expect import HeaderError, read_expectations, variants
        from checker.output.report import Expected, ModelFailure, Variant
        try:
            groups = variants(read_expectations(path))
            out = [Variant(v.label(), replace(
                base, defines=dict(_define(f"{k}={value}") for k, value in v.defines),
                attacker=_capabilities(v.attacker), untyped=True if v.untyped else None,
                only=() if v.label() == "default" else tuple(e.prop for e in items)),
                tuple(Expected(e.prop, e.status, e.why) for e in items)) for v, items in groups.items()]
        except (HeaderError, UsageError, OSError, UnicodeDecodeError) as err:
            raise ModelFailure(str(err)) from None
        return sorted(out, key=lambda v: v.label != "default") or [Variant("default", base, ())]

    def analyze(self, path: Path, options: Options) -> Analysis:
        from checker.output.report import ModelFailure
        try:
            return analyze(str(path), options)
        except ModelError as err:
            raise ModelFailure(_rendered(str(path), err)) from None

    def system(self, path: Path) -> Any:
        from dsl.frontend import load_model
        from checker.output.report import ModelFailure
        try:
            return load_model(str(path))[0]
        except ModelError as err:
            raise ModelFailure(_rendered(str(path), err)) from None


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
        if args.command == "graph":
            return _graph(args)
        if args.command == "report":
            return _report(args)
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
