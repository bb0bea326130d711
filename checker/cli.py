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
from typing import Any, Callable, Sequence

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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check every property of one or more models (or of every model in a "
                                         "directory)")
    check.add_argument("files", nargs="+", metavar="FILE|DIR",
                       help="model files; a directory stands for every *.wolf below it")
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
    _chart_options(check)
    check.add_argument("--show-state", action="store_true", help="show changed variables in charts")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    check.add_argument("--exact", action="store_true",
                       help="store whole states instead of 64-bit fingerprints (slower; no collision can hide a state)")
    check.add_argument("--no-reduction", dest="reduce", action="store_false",
                       help="explore every interleaving (no partial-order reduction)")
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
    report.add_argument("-j", "--jobs", type=int, metavar="N",
                        help="check N models at a time (default: one per core)")
    report.add_argument("-q", "--quiet", action="store_true", help="no line per model on stderr")
    completion = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    completion.add_argument("shell", choices=("bash", "zsh"))
    return parser


def _version() -> str:
    """The installed package's version (`pip install -e .` records it)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("wolf")
    except PackageNotFoundError:
        return "(not installed)"


def _chart_options(check: argparse.ArgumentParser) -> None:
    """Where and in which formats `wolf check` draws counterexamples. `--svg` is a flag, so it can never
    swallow the model file that follows it (`wolf check --svg model.wolf`); the directory is `--svg-dir`."""
    charts = check.add_argument_group("charts (one per violated property, in DIR/<model>/<property>.<ext>)")
    charts.add_argument("--svg", action="store_true", help="write message-sequence charts as SVG")
    charts.add_argument("--svg-dir", metavar="DIR", help="where charts go (default: reports); implies --svg "
                                                         "unless another format is asked for")
    charts.add_argument("--png", action="store_true", help="write each chart as PNG too (through dot)")
    charts.add_argument("--pdf", action="store_true", help="write each chart as PDF too (through dot)")
    charts.add_argument("--dot", action="store_true", help="write each chart's DOT source too")
    charts.add_argument("--mermaid", action="store_true", help="write each counterexample as Mermaid text (.mmd)")
    charts.add_argument("--plantuml", action="store_true",
                        help="write each counterexample as PlantUML text (.puml)")


def _chart_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The file formats asked for, in a fixed order (empty: no charts)."""
    asked = [f for f in ("svg", "png", "pdf", "dot", "mermaid", "plantuml") if getattr(args, f)]
    if "svg" not in asked and ((args.svg_dir is not None and not asked) or {"png", "pdf", "dot"} & set(asked)):
        asked.insert(0, "svg")  # PNG, PDF and DOT come with the SVG they are drawn from
    return tuple(asked)


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
    files = _model_files(args.files, args)
    if set(_chart_formats(args)) & {"svg", "png", "pdf", "dot"}:
        _require_svg()
    progress = None if args.quiet or args.format == "json" else _progress_printer(sys.stderr)
    options = Options(defines, bounds, _capabilities(args.attacker), args.untyped, tuple(args.only), progress,
                      exact=args.exact, reduce=args.reduce)
    worst = EXIT_OK
    results: list[dict[str, Any]] = []
    checked: list[tuple[str, int, Analysis | None]] = []
    for path in files:
        code, payload, analysis = _check_one(path, options, args)
        checked.append((path, code, analysis))
        if payload is not None:
            results.append(payload)
        if SEVERITY[code] > SEVERITY[worst]:
            worst = code
    if args.format == "json":
        print(json.dumps(results[0] if len(results) == 1 and len(files) == 1 else results, indent=2))
    elif len(files) > 1:
        print(_summary_table(checked))
    return worst


def _model_files(paths: Sequence[str], args: argparse.Namespace) -> list[str]:
    """The files to check: each FILE as given, each directory as every *.wolf below it, sorted."""
    out: list[str] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            out.append(given)
            continue
        found = sorted(str(p) for p in path.rglob("*.wolf"))
        if not found:
            hint = f" (to put charts there, write --svg-dir {given})" if args.svg else ""
            raise UsageError(f"{given} is a directory without *.wolf models{hint}")
        out += found
    return out


def _summary_table(checked: Sequence[tuple[str, int, Analysis | None]]) -> str:
    """One line per file after checking several: its verdicts (the failing properties named) and its time,
    then the totals."""
    rows = [("file", "verdicts", "states", "time")]
    for path, code, analysis in checked:
        if analysis is None:
            rows.append((path, "could not be checked (see above)", "", ""))
            continue
        counts = {status: [v.name for v in analysis.verdicts if v.status == status]
                  for status in ("holds", "fails", "unknown")}
        parts = [f"{len(counts['holds'])} hold" if counts["holds"] else "",
                 f"{len(counts['fails'])} FAIL: {', '.join(counts['fails'])}" if counts["fails"] else "",
                 f"{len(counts['unknown'])} unknown" if counts["unknown"] else ""]
        bound = " (bound hit)" if analysis.stop_reason else ""
        rows.append((path, "; ".join(p for p in parts if p) + bound, f"{analysis.stats.states:,}",
                     f"{analysis.stats.seconds:,.2f} s"))
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = [f"summary of {len(checked):,} models:"]
    for k, row in enumerate(rows):
        line = f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}"
        lines.append(line.rstrip())
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    outcomes = {"fail": sum(1 for _p, c, _a in checked if c == EXIT_FAIL),
                "bound": sum(1 for _p, c, _a in checked if c == EXIT_BOUND),
                "error": sum(1 for _p, c, _a in checked if c not in (EXIT_OK, EXIT_FAIL, EXIT_BOUND))}
    total = sum(a.stats.seconds for _p, _c, a in checked if a is not None)
    lines.append(f"  {outcomes['fail']} with a failing property, {outcomes['bound']} stopped by a bound, "
                 f"{outcomes['error']} could not be checked, {len(checked) - sum(outcomes.values())} all hold; "
                 f"{total:,.2f} s")
    return "\n".join(lines)


def _check_one(path: str, options: Options, args: argparse.Namespace) -> tuple[int, dict | None, Analysis | None]:
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
            return EXIT_INPUT, payload, None
        print(message, file=sys.stderr)
        if run is not None:
            print("\n" + run, file=sys.stderr)
        return EXIT_INPUT, None, None
    if options.progress is not None and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    written = _write_charts(analysis, args)
    weakest = _weakest(path, analysis, options) if args.weakest_attacker else {}
    if args.format == "json":
        return analysis.exit_code, analysis_to_json(analysis, written, weakest), analysis
    print(render_analysis(analysis, written, weakest))
    return analysis.exit_code, None, analysis


def _write_charts(analysis: Analysis, args: argparse.Namespace) -> dict[str, list[str]]:
    """Every violated property's counterexample in each asked format, under DIR/<model>/; the files written,
    by property."""
    from checker.output.render_msc import RendererUnavailable, msc_dot, render_binary, render_svg
    from checker.output.sequence_text import mermaid, plantuml
    formats = _chart_formats(args)
    out_dir = Path(args.svg_dir or "reports") / Path(analysis.path).stem
    written: dict[str, list[str]] = {}
    for v in analysis.verdicts:
        trace = v.trace
        if v.status != FAILS or trace is None or not formats:
            continue
        dot = msc_dot(trace, show_state=args.show_state) if set(formats) & {"svg", "png", "pdf", "dot"} else ""
        makers: dict[str, tuple[str, Callable[[], str | bytes]]] = {
            "svg": ("svg", lambda: render_svg(dot)), "png": ("png", lambda: render_binary(dot, "png")),
            "pdf": ("pdf", lambda: render_binary(dot, "pdf")), "dot": ("dot", lambda: dot),
            "mermaid": ("mmd", lambda: mermaid(trace)), "plantuml": ("puml", lambda: plantuml(trace))}
        written[v.name] = []
        for fmt in formats:
            ext, make = makers[fmt]
            target = out_dir / f"{_safe(v.name)}.{ext}"
            try:
                content = make()
                out_dir.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content, encoding="utf-8")
            except RendererUnavailable as err:
                raise UsageError(str(err)) from None
            except OSError as err:
                raise UsageError(f"cannot write {target}: {err.strerror}") from None
            written[v.name].append(str(target))
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
    from checker.output.stategraph import (GraphTooLarge, build_state_graph, explore_graph, interactive_svg,
                                           red_run, state_graph_dot)
    if args.max_nodes <= 0:
        raise UsageError("--max-nodes must be positive")
    if args.svg.endswith(".wolf"):
        raise UsageError(f"--svg names the SVG file to write, not the model: wolf graph FILE --svg OUT "
                         f"(here: wolf graph {args.svg} --svg reports/)")
    defines = dict(_define(d) for d in args.defines)
    _require_svg()
    try:
        system, props = load_model(args.file, defines, _capabilities(args.attacker), args.untyped)
        graph = build_state_graph(system, explore_graph(system, props, args.max_nodes), props)
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
    files = [(out, interactive_svg(render_svg(dot), red_run(graph)))] + \
        ([(out.with_suffix(".dot"), dot)] if args.dot else [])
    for target, text in files:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {target}: {err.strerror}") from None
    shown = f"; red: the shortest run violating {graph.violation} ({graph.violation_steps} steps)" \
        if graph.violation else ""
    print(f"state graph of {graph.model}: {len(graph.nodes):,} states, {len(graph.edges):,} transitions{shown}")
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
    if args.jobs is not None and args.jobs <= 0:
        raise UsageError("--jobs must be positive")
    report = run_report(root, out, _ModelLibrary(), base, progress, args.jobs or _cores())
    bound = f" --timeout {args.timeout:g}" + (f" --max-states {args.max_states}" if args.max_states else "")
    index = write_index(report, out, f"wolf report {args.dir} --out {args.out}{bound}")
    print(f"{summary(report)}; wrote {index}")
    return report.exit_code


def _cores() -> int:
    """The cores this process may use (a container's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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
        if args.command == "completion":
            from checker.completion import completion_script
            print(completion_script(parser, args.shell))
            return EXIT_OK
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
