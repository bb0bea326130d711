"""The `wolf` command line: a thin composition root over `checker.analysis.analyze`.

Exit codes: 0 every property holds, 1 a property fails, 2 bad input or usage, 3 a bound was hit (no
violation found within it), 4 an internal error of wolf (a bug: never a verdict). With several files the most
severe wins, in the order 2, 1, 3, 0.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from dsl.diagnostics import ModelError
from dsl.limits import MAX_INT_DIGITS

from checker.analysis import FAILS, Analysis, Options, analyze
from checker.engine.budget import BoundHit, Bounds, Budget
from checker.engine.run import Stats
from checker.output.render_text import render_text
from checker.process.capabilities import CAPABILITIES
from checker.output.summary import analysis_to_json, render_analysis
from checker.records import replace

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_BOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4
SEVERITY = {EXIT_INPUT: 3, EXIT_FAIL: 2, EXIT_BOUND: 1, EXIT_OK: 0}


#: The longest --timeout (a year): larger numbers overflow the clock arithmetic of timers.
MAX_TIMEOUT = 31_536_000
#: The smallest --max-memory: below this not even wolf's own code fits.
MIN_MEMORY = 64 * 2**20


class UsageError(Exception):
    pass


def _define(text: str) -> tuple[str, Any]:
    """`-D NAME=VALUE`: the value is true, false or a plain decimal integer (no `1_0`, `0x10`, `١٢` or
    4,301 digits: Python's int() would take the first three and choke on the last)."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise UsageError(f"-D expects NAME=VALUE, got {text!r}")
    value = value.strip()
    if value in ("true", "false"):
        return name, value == "true"
    if not re.fullmatch(r"-?[0-9]{1,%d}" % MAX_INT_DIGITS, value):
        raise UsageError(f"-D {name}: the value must be a decimal integer (at most {MAX_INT_DIGITS:,} digits), "
                         f"true or false, got {value[:40]!r}")
    return name, int(value)


def _capabilities(text: str | None) -> tuple[str, ...] | None:
    """`--attacker CAPS`: a comma-separated list of capabilities, or `none`; never empty, since an empty list
    would silently switch the attacker off. Unknown names are the front end's to report (E404, with a
    did-you-mean), like every other unknown name."""
    if text is None:
        return None
    caps = tuple(c.strip() for c in text.split(","))
    if caps == ("none",):
        return ()
    if not all(caps):
        raise UsageError(f"--attacker needs capabilities separated by commas ({', '.join(CAPABILITIES)}) or "
                         f"'none', got {text!r}")
    if "none" in caps:
        raise UsageError(f"--attacker: 'none' stands alone (no attacker), got {text!r}")
    return caps


def _positive_int(text: str) -> int:
    """argparse type of counts such as --max-states: a plain positive integer."""
    if not re.fullmatch(r"[0-9]{1,18}", text.strip()) or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    """argparse type of --attacker-limit: a plain integer, 0 or more (0: the attacker injects nothing)."""
    if not re.fullmatch(r"[0-9]{1,18}", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number (0 or more), got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    """argparse type of --timeout: a finite positive number of seconds (`nan` and `inf` never stop a run)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds up to {MAX_TIMEOUT:,}, "
                                         f"got {text!r}")
    return value


def _bytes(text: str) -> int:
    """argparse type of --max-memory: bytes, or with a unit K, M, G, T (powers of 1024), e.g. 4G or 500M."""
    m = re.fullmatch(r"\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    value = int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " ")) if m else 0
    if value < MIN_MEMORY:
        raise argparse.ArgumentTypeError(f"expected a memory size of at least {MIN_MEMORY // 2**20} MB, such as "
                                         f"2G or 500M, got {text!r}")
    return value


def default_max_memory() -> int | None:
    """80% of the memory available when wolf starts (the machine's, or its container's if less): the default
    of --max-memory, so that a growing search ends as a bound instead of swapping or being killed."""
    available = []
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            available.append(int(limit) - int(used))
    except OSError:
        pass
    if not available:
        try:
            available.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    return max(MIN_MEMORY, int(min(available) * 0.8))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wolf", description="Model checker for distributed algorithms and "
                                                              "security protocols.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check every property of one or more models (or of every model in a "
                                         "directory)")
    check.add_argument("files", nargs="+", metavar="FILE|DIR",
                       help="model files; a directory stands for every *.wolf below it")
    check.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                       help="override a constant of the model (repeatable)")
    check.add_argument("--max-states", type=_positive_int, metavar="N", help="stop after N distinct states")
    check.add_argument("--max-depth", type=_positive_int, metavar="N", help="explore runs of at most N steps")
    _add_resource_options(check)
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
                       help="explore every interleaving (no partial-order reduction, no inclusion check of zones)")
    check.add_argument("--attacker-limit", type=_count, metavar="K",
                       help="process models: the attacker injects at most K messages per run (overrides the "
                            "model's `attacker limit`)")
    graph = sub.add_parser("graph", help="draw the reachable state graph of a small model")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                       help="override a constant of the model (repeatable)")
    graph.add_argument("--attacker", metavar="CAPS", help="attacker capabilities, as for check")
    graph.add_argument("--untyped", action="store_true", default=None, help="untyped matching, as for check")
    graph.add_argument("--svg", required=True, metavar="OUT", help="the SVG file to write (or a directory)")
    graph.add_argument("--dot", action="store_true", help="also write the DOT source next to it")
    _add_resource_options(graph)
    graph.add_argument("--max-nodes", type=_positive_int, default=300, metavar="N",
                       help="refuse graphs of more than N states (default 300: larger ones are unreadable)")
    report = sub.add_parser("report", help="check every model of a library and write an HTML report")
    report.add_argument("dir", nargs="?", default="models", metavar="DIR", help="default: models")
    report.add_argument("--out", default="reports", metavar="OUT", help="default: reports")
    _add_resource_options(report, timeout=120.0)
    report.add_argument("--max-states", type=_positive_int, metavar="N", help="state bound per model and variant")
    report.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                        help="check N models at a time (default: one per core)")
    report.add_argument("-q", "--quiet", action="store_true", help="no line per model on stderr")
    completion = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    completion.add_argument("shell", choices=("bash", "zsh"))
    return parser


def _add_resource_options(command: argparse.ArgumentParser, timeout: float | None = None) -> None:
    """--timeout and --max-memory, the same for every command: the whole run, compilation included, stays
    within them."""
    command.add_argument("--timeout", type=_seconds, default=timeout, metavar="S",
                         help="stop after S seconds" + (f" per model and variant (default {timeout:g} s)"
                                                        if timeout else ""))
    command.add_argument("--max-memory", type=_bytes, metavar="SIZE",
                         help="stop when wolf's memory reaches SIZE (e.g. 4G, 500M; default: 80%% of the "
                              "memory available at start)")


def _bounds(args: argparse.Namespace) -> Bounds:
    """The bounds of a run from the options; --max-memory defaults to 80% of the memory available now."""
    memory = args.max_memory if args.max_memory is not None else default_max_memory()
    return Bounds(getattr(args, "max_states", None), getattr(args, "max_depth", None), args.timeout, memory)


class _VersionAction(argparse.Action):
    """`--version`: the installed version, looked up only when asked for (importlib.metadata is slow to load)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


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
    bounds = _bounds(args)
    files = _model_files(args.files, args)
    if set(_chart_formats(args)) & {"svg", "png", "pdf", "dot"}:
        _require_svg()
    if _chart_formats(args):
        _require_writable_dir(Path(args.svg_dir or "reports"), "--svg-dir", [Path(f).stem for f in files])
    progress = None if args.quiet or args.format == "json" else _progress_printer(sys.stderr)
    options = Options(defines, bounds, _capabilities(args.attacker), args.untyped, tuple(args.only), progress,
                      exact=args.exact, reduce=args.reduce, attacker_limit=args.attacker_limit,
                      notice=_print_notice)
    worst = EXIT_OK
    results: list[dict[str, Any]] = []
    checked: list[tuple[str, int, Analysis | None]] = []
    for path in files:
        if checked:
            gc.collect()  # the collector does not run by itself (`command_line`): this frees the last model's cycles
        code, payload, analysis = _check_one(path, options, args)
        checked.append((path, code, analysis))
        if payload is not None:
            results.append(payload)
        if SEVERITY[code] > SEVERITY[worst]:
            worst = code
    if args.format == "json":
        import json  # here, not at the top: only --format json needs it
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
    formats = _chart_formats(args)
    if not formats:
        return {}  # nothing to draw: the renderers (and graphviz) are not even imported
    from checker.output.render_msc import RendererUnavailable, msc_dot, render_binary, render_svg
    from checker.output.sequence_text import mermaid, plantuml
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
                raise UsageError(f"cannot write {target}: {err.strerror or err}") from None
            written[v.name].append(str(target))
    return written


def _print_notice(text: str) -> None:
    print(f"wolf: warning: {text}", file=sys.stderr)


def _require_writable_dir(path: Path, option: str, subdirs: Sequence[str] = ()) -> None:
    """Fail before exploring, not after, when an output directory cannot be made or written: it is created
    (as it would be anyway) and a probe file is written and removed. `subdirs` are the per-model folders
    that will be made inside it; a file in their place would stop the writing later."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write there: {err.strerror or err}") from None
    for name in subdirs:
        if (path / name).exists() and not (path / name).is_dir():
            raise UsageError(f"{option} {path}: {path / name} is a file, but the charts of {name} go into a "
                             f"folder of that name")


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
    from dsl.limits import SizeLimits
    from checker.engine.system import ModelFault
    from checker.output.render_msc import render_svg
    from checker.output.stategraph import (GraphTooLarge, GraphUnfinished, build_state_graph, explore_graph,
                                           interactive_svg, red_run, state_graph_dot)
    if args.svg.endswith(".wolf"):
        raise UsageError(f"--svg names the SVG file to write, not the model: wolf graph FILE --svg OUT "
                         f"(here: wolf graph {args.svg} --svg reports/)")
    defines = dict(_define(d) for d in args.defines)
    _require_svg()
    out = Path(args.svg)
    if out.is_dir() or args.svg.endswith(("/", os.sep)):
        out = out / f"{Path(args.file).stem}.states.svg"
    _require_writable_dir(out.parent, "--svg")
    bounds = _bounds(args)
    try:
        with Budget(bounds) as budget:
            system, props = load_model(args.file, defines, _capabilities(args.attacker), args.untyped,
                                       limits=SizeLimits.for_memory(bounds.max_memory))
            graph = build_state_graph(system, explore_graph(system, props, args.max_nodes, budget), props)
    except BoundHit as hit:
        print(f"wolf: the state graph is unfinished: {hit.reason}", file=sys.stderr)
        return EXIT_BOUND
    except GraphUnfinished as err:
        print(f"wolf: {err}", file=sys.stderr)
        return EXIT_BOUND
    except ModelError as err:
        print(_rendered(args.file, err), file=sys.stderr)
        return EXIT_INPUT
    except ModelFault as err:
        raise UsageError(f"the model failed while running: {err}") from None
    except GraphTooLarge as err:
        raise UsageError(str(err)) from None
    dot = state_graph_dot(graph)
    files = [(out, interactive_svg(render_svg(dot), red_run(graph)))] + \
        ([(out.with_suffix(".dot"), dot)] if args.dot else [])
    for target, text in files:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write {target}: {err.strerror or err}") from None
    shown = f"; red: the shortest run violating {graph.violation} ({graph.violation_steps} steps)" \
        if graph.violation else ""
    print(f"state graph of {graph.model}: {len(graph.nodes):,} states, {len(graph.edges):,} transitions{shown}")
    for target, _text in files:
        print(f"  wrote {target}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from checker.output.report import find_models, run_report, summary, write_index
    root, out = Path(args.dir), Path(args.out)
    if not root.exists():
        raise UsageError(f"{args.dir}: no such file or directory")
    if not find_models(root):
        raise UsageError(f"no *.wolf models under {args.dir}")
    _require_svg()
    _require_writable_dir(out, "--out")
    base = Options(bounds=_bounds(args), notice=_print_notice)
    progress = None if args.quiet else (lambda line: print(f"  {line}", file=sys.stderr, flush=True))
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
        finally:
            gc.collect()  # between two models (the collector does not run by itself: see `command_line`)

    def system(self, path: Path) -> Any:
        from dsl.frontend import load_model
        from checker.output.report import ModelFailure
        try:
            return load_model(str(path))[0]
        except ModelError as err:
            raise ModelFailure(_rendered(str(path), err)) from None


def _source(path: str) -> str | None:
    """The model text for showing the lines diagnostics point at; None when it cannot be read (through the
    front end's reader, which refuses devices, pipes and oversized files rather than block on them)."""
    from dsl.parser import read_source
    try:
        return read_source(path)
    except ModelError:
        return None


def command_line() -> int:
    """The `wolf` command and `python -m checker`: `main` in a process of its own. Everything imported by now
    lives as long as the process, so it is frozen out of the garbage collector's passes, and the collector does
    not run by itself: a search keeps what it makes (states, memo tables), so every automatic pass walks a heap
    that only grows, to find almost nothing. Full passes cost X.509 three-way at 3 sessions 12 of its 40 s
    (26 passes, 147 objects freed); young passes, every 700 new containers, still 6% of its time (3,933 passes,
    124 objects freed, all made before the search began). No search makes reference cycles: the one kind that
    did, a closure that calls itself, is kept out by tests/test_architecture.py. `main` collects explicitly
    between two models, when the last one's system and its cycles have become garbage."""
    gc.freeze()
    gc.disable()
    return main()


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
    except MemoryError:
        print("wolf: the machine's memory ran out before a bound stopped the run; no verdict was reached "
              "(give a lower --max-memory or --max-states)", file=sys.stderr)
        return EXIT_BOUND
    except Exception as exc:  # noqa: BLE001 - whatever escaped is a bug of wolf, and must not look like a verdict
        print(internal_error_message(exc, list(sys.argv[1:] if argv is None else argv)), file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_INPUT


def internal_error_message(exc: BaseException, argv: list[str]) -> str:
    """One paragraph for a crash: it is wolf's bug, no verdict was reached, and what to send in a report.
    The traceback goes to a file (named in the paragraph) rather than the screen."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" in {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
    text = str(exc)
    text = text if len(text) <= 200 else text[:197] + "..."
    details = ""
    try:
        with tempfile.NamedTemporaryFile("w", prefix="wolf-crash-", suffix=".txt", delete=False,
                                         encoding="utf-8") as out:
            out.write("wolf " + " ".join(argv) + "\n\n" + "".join(traceback.format_exception(exc)))
        details = f" The Python traceback is in {out.name}; please attach it."
    except OSError:
        pass
    command = " ".join(["wolf"] + argv)
    return (f"wolf: internal error: {type(exc).__name__}{place}: {text}\n"
            f"This is a bug in wolf, not a verdict about your model: the run ended without one (exit code "
            f"{EXIT_INTERNAL}). Please report it with the model file(s) and the command line ({command}).{details}")


if __name__ == "__main__":  # `python -m checker.cli`: the same process set-up as `wolf` and `python -m checker`
    sys.exit(command_line())
