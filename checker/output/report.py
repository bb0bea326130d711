"""`wolf report`: check every model of a library, variant by variant, and write one HTML page about it.

The page is the library's claims next to the checker's findings: for each model and each `# expect:`
variant, every property's verdict beside the verdict its author expected (disagreements flagged at the top
and in red), the state count and time, messages per entry where measured, and a link to the sequence chart
of every violation. Under it, the thesis's comparison of authentication protocols (Taulukko 3.4), recomputed
from the compiled narrations rather than copied, with the thesis's printed values beside.

Each run has its own bounds (a time limit by default), so one slow model cannot hold up the rest; a run
stopped by a bound says so instead of claiming a verdict. The front end (headers, parsing, compilation) is
reached only through a `Library` the composition root (checker/cli.py) passes in: checker/ does not import
dsl/. Every string from a model (names, reasons, the header's `why` texts, string literals in terms) is
escaped with `html.escape` on its way into the page, and its invisible format characters (bidirectional
controls above all) are replaced by U+FFFD.
"""
from __future__ import annotations

import html
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence
from urllib.parse import quote

from checker.analysis import FAILS, UNKNOWN, Analysis, Options
from checker.output.render_msc import msc_svg
from checker.output.textblock import visible
from checker.records import record
from checker.security.roles import RoleSpec
from checker.security.secsys import SecuritySystem
from checker.security.terms import App, Pattern, Var, subterms

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_BOUND = 0, 1, 2, 3


# ----------------------------------------------------------------------------------------- the inputs


@record
class Expected:
    """One `# expect:` line: the verdict the model's author claims for a property, and why."""

    prop: str
    status: str
    why: str


@record
class Variant:
    """One way to check a model (`default`, `-D CRASH=true`, ...) and what its header expects of it."""

    label: str
    options: Options
    expected: tuple[Expected, ...]


class ModelFailure(Exception):
    """The front end rejected a model or its header; the message is what it said, ready to show."""


class Library(Protocol):
    """What the report needs from the front end, supplied by the composition root."""

    def variants(self, path: Path, options: Options) -> list[Variant]:
        """The header's variants with `options` as the base (one `default` when there is no header)."""

    def analyze(self, path: Path, options: Options) -> Analysis:
        """The whole pipeline; raises ModelFailure for bad input."""

    def system(self, path: Path) -> Any:
        """The compiled transition system (a SecuritySystem for a protocol); raises ModelFailure."""


# ----------------------------------------------------------------------------------------- the results


@record
class PropertyResult:
    name: str
    status: str
    reason: str
    value: str | None
    expected: Expected | None
    chart: str | None  # href of the violation's chart, relative to index.html

    @property
    def agreement(self) -> str:
        """agrees | DISAGREES | bound hit | no expectation."""
        if self.expected is None:
            return "no expectation"
        if self.status == self.expected.status:
            return "agrees"
        return "bound hit" if self.status == UNKNOWN else "DISAGREES"


@record
class VariantResult:
    path: Path
    shown: str  # the path relative to the library root
    model: str
    variant: str
    properties: tuple[PropertyResult, ...] = ()
    missing: tuple[Expected, ...] = ()  # expected properties the model does not have
    states: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    error: str | None = None

    @property
    def outcome(self) -> str:
        """error | disagrees | bound hit | agrees: the worst of its properties."""
        if self.error is not None:
            return "error"
        agreements = {p.agreement for p in self.properties}
        if "DISAGREES" in agreements or self.missing:
            return "disagrees"
        if "bound hit" in agreements or self.stopped:
            return "bound hit"
        return "agrees"


@record
class Features:
    """A protocol's row of the thesis's table 3.4, computed from its compiled roles."""

    keys: str             # public | shared | public + shared | none
    distributes_key: bool  # a fresh key is sent, or one is agreed by exponentiation
    authenticates: bool   # some role claims an agreement (or aliveness) goal
    timeliness: bool      # a receiver checks a timestamp against its clock (a guard reading `now`)
    challenges: bool      # a role sends a fresh nonce and later receives it back
    clocks: bool          # such a guard judges a timestamp another role's clock made: clocks must agree
    messages: int
    mutual: bool          # two roles each claim a goal about the other

    @property
    def purpose(self) -> str:
        """The thesis's a / t / at: key distribution, authentication, or both."""
        return ("a" if self.distributes_key else "") + ("t" if self.authenticates else "") or "-"


@record
class ProtocolResult:
    shown: str
    model: str
    features: Features
    thesis: int | None     # column of Taulukko 3.4 the model's header names, if any
    failing: tuple[str, ...]  # properties that fail in the default variant (attacks, or `executable`)
    charts: tuple[str | None, ...] = ()  # the chart of each failing property (href), in the same order


@record
class Report:
    root: str
    runs: tuple[VariantResult, ...]
    protocols: tuple[ProtocolResult, ...]
    timeout: float | None

    @property
    def exit_code(self) -> int:
        """2 a model could not be checked, 1 a verdict disagrees with its header, 3 a bound was hit, else 0."""
        outcomes = {r.outcome for r in self.runs}
        for outcome, code in (("error", EXIT_INPUT), ("disagrees", EXIT_FAIL), ("bound hit", EXIT_BOUND)):
            if outcome in outcomes:
                return code
        return EXIT_OK


# ------------------------------------------------------------------------------------------ checking


def find_models(root: Path) -> list[Path]:
    """Every `*.wolf` below root (or root itself), in a stable order."""
    return [root] if root.is_file() else sorted(root.rglob("*.wolf"))


def run_report(root: Path, out: Path, library: Library, base: Options,
               progress: Callable[[str], None] | None = None, jobs: int = 1) -> Report:
    """Check every variant of every model under root with `base`'s bounds, writing each violation's
    chart under out as it goes; `jobs` models at a time (each in its own process when more than one), with
    a line per finished model for `progress`."""
    paths = find_models(root)
    chart_dirs = _chart_dirs(paths)
    shown = {p: p.name if root.is_file() else p.relative_to(root).as_posix() for p in paths}
    done: dict[Path, tuple[list[VariantResult], ProtocolResult | None]] = {}
    start = time.perf_counter()

    def finished(path: Path, result: tuple[list[VariantResult], ProtocolResult | None]) -> None:
        done[path] = result
        if progress is not None:
            runs = result[0]
            outcome = "; ".join(f"[{r.variant}] {r.outcome}, {r.states:,} states, {r.seconds:,.1f} s" for r in runs)
            progress(f"{len(done)}/{len(paths)} {shown[path]}: {outcome} ({time.perf_counter() - start:,.0f} s so far)")

    if jobs > 1 and len(paths) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
            futures = {pool.submit(check_model, path, shown[path], library, base, out, chart_dirs[path]): path
                       for path in paths}
            pending = set(futures)
            while pending:
                ready, pending = wait(pending, timeout=_QUIET_SECONDS, return_when=FIRST_COMPLETED)
                for future in ready:
                    finished(futures[future], future.result())
                if not ready and progress is not None:
                    running = [shown[futures[f]] for f in pending if f.running()]
                    progress(f"... still checking {', '.join(running)} ({time.perf_counter() - start:,.0f} s so far)")
    else:
        for path in paths:
            finished(path, check_model(path, shown[path], library, base, out, chart_dirs[path]))
    runs = [r for p in paths for r in done[p][0]]
    protocols = [row for p in paths if (row := done[p][1]) is not None]
    return Report(root.as_posix(), tuple(runs), tuple(protocols), base.bounds.timeout)


_QUIET_SECONDS = 15.0  # how long the progress may stay silent while slow models are being checked


def check_model(path: Path, shown: str, library: Library, base: Options, out: Path,
                chart_dir: str) -> tuple[list[VariantResult], ProtocolResult | None]:
    """One model: every variant of its header, and its row of table 3.4 (a protocol). A pure function of its
    arguments, so that models can be checked in parallel processes."""
    try:
        variants = library.variants(path, base)
    except ModelFailure as err:
        return [VariantResult(path, shown, path.stem, "header", error=str(err))], None
    runs = []
    default: VariantResult | None = None
    for variant in variants:
        folder = chart_dir + ("" if variant.label == "default" else f"/{_slug(variant.label)}")
        result = _run_variant(path, shown, variant, library, out, folder)
        runs.append(result)
        if variant.label == "default":
            default = result
    return runs, _protocol(path, shown, library, default)


def _run_variant(path: Path, shown: str, variant: Variant, library: Library, out: Path,
                 folder: str) -> VariantResult:
    start = time.perf_counter()
    try:
        analysis = library.analyze(path, variant.options)
    except ModelFailure as err:
        return VariantResult(path, shown, path.stem, variant.label, error=str(err),
                             seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    expected = {e.prop: e for e in variant.expected}
    props = []
    for v in analysis.verdicts:
        chart = None
        if v.status == FAILS and v.trace is not None:
            chart = f"{folder}/{_safe(v.name)}.svg"
            target = out / chart
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(msc_svg(v.trace), encoding="utf-8")
        props.append(PropertyResult(v.name, v.status, v.reason, v.value, expected.get(v.name), chart))
    names = {v.name for v in analysis.verdicts}
    missing = tuple(e for e in variant.expected if e.prop not in names)
    return VariantResult(path, shown, analysis.model, variant.label, tuple(props), missing,
                         analysis.stats.states, seconds, analysis.stop_reason)


def _protocol(path: Path, shown: str, library: Library, default: VariantResult | None) -> ProtocolResult | None:
    """The table 3.4 row of a protocol model (None for process models and models that do not compile)."""
    try:
        system = library.system(path)
    except ModelFailure:
        return None
    if not isinstance(system, SecuritySystem):
        return None
    failed = [p for p in default.properties if p.status == FAILS] if default is not None else []
    return ProtocolResult(shown, system.name, protocol_features(system.roles), thesis_column(path),
                          tuple(p.name for p in failed), tuple(p.chart for p in failed))


def _chart_dirs(paths: Sequence[Path]) -> dict[Path, str]:
    """Charts go to OUT/<model>/ as with `wolf check --svg`; two files of the same name in different
    folders are told apart by their folder's name."""
    stems: dict[str, int] = {}
    for p in paths:
        stems[p.stem] = stems.get(p.stem, 0) + 1
    return {p: p.stem if stems[p.stem] == 1 else f"{p.parent.name}_{p.stem}" for p in paths}


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _slug(label: str) -> str:
    """A variant's folder: `-D CRASH=true --untyped` becomes `CRASH=true_untyped`."""
    words = [w for w in label.replace("--", " ").split() if w != "-D"]
    return _safe("_".join(words)) or "variant"


# --------------------------------------------------------------------------------- table 3.4, derived

_PUBLIC_OPS = frozenset({"pk", "sk", "aenc", "sign", "exp"})


def protocol_features(roles: Sequence[RoleSpec]) -> Features:
    """The thesis's comparison columns, read off the compiled roles (dsl/narration.py's output).

    Keys: `k(A, B)` is a long-term shared key; `pk`, `sk`, `aenc`, `sign` and `exp` are public-key
    cryptography (Diffie-Hellman counts as public, as in the thesis). Key distribution: a role creates a
    fresh value of sort `key` and sends it, or encrypts under an exponentiated (agreed) key. Challenges: a
    role creates a nonce and a later message it receives must carry it as data (`_data_names`). Timeliness
    and clocks come from what the roles do with time, not from sorts or comments: a receiver that checks a
    timestamp against its own clock (a guard reading `now` and a value of sort `time`) checks timeliness,
    and when that timestamp was read off another role's clock, the check is only meaningful if the clocks
    agree (synchronised clocks). A timestamp that is only carried along, or a counter, is neither. Mutual
    authentication: two roles each claim a goal (agreement or aliveness) about the other.
    """
    ops: set[str] = set()
    distributes = False
    received: dict[str, set[str]] = {}  # role -> names in the messages it receives
    created: dict[str, tuple[str, str]] = {}  # name -> (creating role, sort)
    claims: set[tuple[str, str]] = set()
    messages = 0
    for role in roles:
        for step in role.steps:
            for slot, sort in step.fresh:
                created[role.slots[slot]] = (role.name, sort)
            if step.receive is not None:
                ops |= _ops(step.receive)
                received.setdefault(role.name, set()).update(_data_names(step.receive))
            for send in step.sends:
                ops |= _ops(send.recipe)
                messages = max(messages, send.number)
                names = {v.name for v in subterms(send.recipe) if isinstance(v, Var)}
                fresh_keys = {role.slots[s] for s, sort in step.fresh if sort == "key"}
                distributes |= bool(fresh_keys & names) or _agreed_key(send.recipe)
            claims |= {(role.name, role.slots[s.peer]) for s in step.signals if s.kind == "commit"}
    times = {n for n, (_r, sort) in created.items() if sort == "time"}
    judged = _clock_checked(roles, times)
    keys = " + ".join(kind for kind, used in (("public", bool(ops & _PUBLIC_OPS)), ("shared", "k" in ops)) if used)
    return Features(
        keys=keys or "none",
        distributes_key=distributes,
        authenticates=bool(claims),
        timeliness=bool(judged),
        challenges=any(creator in received and n in received[creator]
                       for n, (creator, sort) in created.items() if sort == "nonce"),
        clocks=any(created[n][0] != r for r, n in judged),
        messages=messages,
        mutual=any((b, a) in claims for a, b in claims),
    )


def _clock_checked(roles: Sequence[RoleSpec], times: set[str]) -> set[tuple[str, str]]:
    """(role, timestamp) for every guard in which a role compares a timestamp with its own clock `now`."""
    out: set[tuple[str, str]] = set()
    for role in roles:
        for step in role.steps:
            for check in step.timing.checks if step.timing is not None else ():
                operands = {name for name, _coeff in check.terms}
                if "now" in operands:
                    out |= {(role.name, n) for n in operands & times}
    return out


def _ops(t: Pattern) -> set[str]:
    return {s.op for s in subterms(t) if isinstance(s, App)}


def _data_names(t: Pattern) -> set[str]:
    """The names a message carries as data: not the key it is encrypted or signed with, nor the exponents
    of a Diffie-Hellman term (B decrypting under exp(g^x, y) checks nothing about its own y)."""
    if isinstance(t, Var):
        return {t.name}
    if not isinstance(t, App) or t.op == "exp":
        return set()
    args = t.args[:1] if t.op in ("senc", "aenc", "sign") else t.args
    return set().union(*(_data_names(a) for a in args))


def _agreed_key(t: Pattern) -> bool:
    """Whether a recipe encrypts under a key built by exponentiation (a Diffie-Hellman key)."""
    return any(isinstance(s, App) and s.op == "senc" and isinstance(s.args[1], App) and s.args[1].op == "exp"
               for s in subterms(t))


#: Taulukko 3.4 of the thesis as printed in the seed: its nine protocols, then the rows whose nine values
#: survived the text extraction (key: j = julkinen, public / s = salainen, shared; purpose: a = key
#: distribution, t = authentication; message counts).
THESIS_PROTOCOLS = ("Diffie-Hellman", "Needham-Schroeder", "Denning-Sacco (Kerberos)",
                    "Needham-Schroeder-Muellender", "Otway-Rees", "ISO DP 9798 alg. I", "ISO DP 9798 alg. II",
                    "ISO DP 9798 alg. III", "ISO DP 9798 alg. IV")
THESIS_KEYS = ("public", "shared", "shared", "shared", "shared", "shared", "shared", "shared", "shared")
THESIS_PURPOSE = ("a", "at", "at", "at", "at", "t", "at", "at", "at")
THESIS_MESSAGES = (2, 5, 3, 5, 4, 3, 5, 4, 7)
#: Rows with fewer marks than protocols: which column each mark belongs to was lost with the layout, so only
#: the number of marks can be compared. (Features field, the row's label, its marks as the seed prints them.)
THESIS_UNALIGNED = (
    ("timeliness", "checks timeliness (tarkastaa oikea-aikaisuuden)", "X X X"),
    ("challenges", "checks a challenge (tarkastaa haasteen)", "X X X X X"),
    ("clocks", "needs synchronised clocks (tarvitsee saman ajan)", "X X"),
    ("mutual", "mutual authentication (molemminpuolinen tunnistus)", "X +i X X X X X X"),
)
_THESIS_TAG = re.compile(r"thesis table 3\.4,?\s+protocol\s+(\d)", re.IGNORECASE)


def thesis_column(path: Path) -> int | None:
    """The protocol number (1-9) of Taulukko 3.4 that a model's leading comments name
    (`# ... (thesis table 3.4, protocol 5)`), or None."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        m = _THESIS_TAG.search(line)
        if m and 1 <= int(m.group(1)) <= len(THESIS_PROTOCOLS):
            return int(m.group(1))
    return None


# ------------------------------------------------------------------------------------------- the page


def write_index(report: Report, out: Path, command: str) -> Path:
    """OUT/index.html: self-contained (inline style, no script), every link relative to it."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    target.write_text(render_html(report, out, command), encoding="utf-8")
    return target


def _escape(text: str, quote: bool = True) -> str:
    """Model text (and file names) for the page: HTML-escaped, invisible format characters made visible."""
    return html.escape(visible(text), quote)


def render_html(report: Report, out: Path, command: str) -> str:
    """The whole page; `command` is quoted at its foot so a reader knows how it was made."""
    e = _escape
    runs = report.runs
    models = len({r.path for r in runs})
    bound = f"{report.timeout:g} s per run" if report.timeout else "none"
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>wolf report: {e(report.root)}</title>", f"<style>{_CSS}</style></head><body>",
        f"<h1>wolf: the models in <code>{e(report.root)}</code></h1>",
        f'<p class="summary">{_count(models, "model")}, one run per <code># expect</code> variant. '
        f"{e(summary(report))}. Time bound: {e(bound)}.</p>",
    ]
    parts += _contents(report)
    parts += _alarm(runs)
    parts += _results_table(runs, out)
    parts += _charts(runs)
    parts += _protocol_table(report.protocols)
    parts.append(f'<p class="footer">Generated by <code>{e(command)}</code>. Verdicts: <b>holds</b> in every '
                 f"reachable state (security goals: within the scenario's sessions), <b>fails</b> with a "
                 f"shortest counterexample, <b>unknown</b> when a bound stopped the search first.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _contents(report: Report) -> list[str]:
    """The table of contents: the problems, the verdicts folder by folder, the charts, the protocol table."""
    e = _escape
    items = []
    problems = len(_problems(report.runs))
    if problems:
        items.append(f'<li><a href="#problems">{_count(problems, "problem")} with the headers\' claims</a></li>')
    folders = [f'<a href="#run{k}">{e(folder)}</a>' for k, folder in _folders(report.runs)]
    items.append(f'<li><a href="#verdicts">Verdicts</a>' + (f": {', '.join(folders)}" if len(folders) > 1 else "")
                 + "</li>")
    charts = sum(1 for r in report.runs for p in r.properties if p.chart)
    if charts:
        items.append(f'<li><a href="#charts">Counterexample charts</a> ({charts})</li>')
    if report.protocols:
        items.append('<li><a href="#protocols">Authentication protocols compared (Taulukko 3.4)</a></li>')
    return ['<nav class="toc"><b>Contents</b><ul>', *items, "</ul></nav>"]


def _folders(runs: Sequence[VariantResult]) -> list[tuple[int, str]]:
    """The first row of each folder of the library (`mutex/`, `security/`), for the contents."""
    out: list[tuple[int, str]] = []
    for k, r in enumerate(runs):
        folder = r.shown.rsplit("/", 1)[0] + "/" if "/" in r.shown else "./"
        if not out or out[-1][1] != folder:
            out.append((k, folder))
    return out


def _charts(runs: Sequence[VariantResult]) -> list[str]:
    """Every chart of the report in one list, by model and variant."""
    e = _escape
    items = []
    for k, r in enumerate(runs):
        links = [f'<a href="{e(_href(p.chart))}">{e(p.name)}</a>' for p in r.properties if p.chart]
        if links:
            variant = "" if r.variant == "default" else f" [{e(r.variant)}]"
            items.append(f'<li><a href="#run{k}">{e(r.shown)}</a>{variant}: {", ".join(links)}</li>')
    if not items:
        return []
    return ['<h2 id="charts">Counterexample charts</h2>', '<ul class="charts">', *items, "</ul>"]


def _problems(runs: Sequence[VariantResult]) -> list[str]:
    """Every disagreement with a header, every missing property and every model that could not be checked,
    as list items linked to their rows."""
    e = _escape
    items = []
    for k, r in enumerate(runs):
        where = f'<a href="#run{k}">{e(r.shown)} [{e(r.variant)}]</a>'
        if r.error is not None:
            items.append(f"<li>{where}: could not be checked</li>")
        for p in r.properties:
            if p.agreement == "DISAGREES" and p.expected is not None:
                items.append(f"<li>{where} <b>{e(p.name)}</b>: the header expects {e(p.expected.status)}, "
                             f"the checker says {e(p.status)}</li>")
        for m in r.missing:
            items.append(f"<li>{where}: the header expects a property <b>{e(m.prop)}</b> the model does not "
                         f"have</li>")
    return items


def _alarm(runs: Sequence[VariantResult]) -> list[str]:
    """A red box at the top listing every disagreement and error, each linked to its row: they must not
    hide in a long table."""
    items = _problems(runs)
    if not items:
        return []
    return ['<div class="alarm" id="problems">', f"<h2>{len(items)} problem{'s' if len(items) != 1 else ''} "
            f"with the headers' claims</h2><ul>", *items, "</ul></div>"]


def _results_table(runs: Sequence[VariantResult], out: Path) -> list[str]:
    e = _escape
    rows = ['<h2 id="verdicts">Verdicts</h2>', '<table class="results"><thead><tr><th>model</th><th>variant</th>'
            '<th>properties: verdict, expected, why</th><th>states</th><th>time</th></tr></thead><tbody>']
    for k, r in enumerate(runs):
        source = os.path.relpath(r.path.resolve(), out.resolve())
        head = (f'<td class="model"><a href="{e(_href(source))}">{e(r.shown)}</a>'
                f'<div class="sub">{e(r.model)}</div></td><td class="variant">{e(r.variant)}</td>')
        if r.error is not None:
            body = f'<td class="props"><pre class="error">{e(r.error)}</pre></td><td></td><td></td>'
        else:
            states = f"{r.states:,}" + (f'<div class="stopped">bound hit: {e(r.stopped)}</div>' if r.stopped else "")
            body = (f'<td class="props">{_properties(r)}</td><td class="num">{states}</td>'
                    f'<td class="num">{r.seconds:.2f} s</td>')
        rows.append(f'<tr class="run {_css_class(r.outcome)}" id="run{k}">{head}{body}</tr>')
    rows.append("</tbody></table>")
    return rows


def _properties(r: VariantResult) -> str:
    e = _escape
    lines = ['<table class="props"><col class="name"><col class="verdict"><col><col class="chart">']
    for p in r.properties:
        expected = ('<span class="none">no expect line</span>' if p.expected is None else
                    f'<span class="badge {p.expected.status}">{e(p.expected.status)}</span> {e(p.expected.why)}')
        figure = f'<div class="figure">{e(p.value)} messages per entry</div>' if p.value else ""
        chart = f'<a class="chart" href="{e(_href(p.chart))}">chart</a>' if p.chart else ""
        flag = f'<span class="flag {_css_class(p.agreement)}">{e(p.agreement)}</span>' \
            if p.agreement in ("DISAGREES", "bound hit") else ""
        lines.append(
            f'<tr class="prop {_css_class(p.agreement)}"><td class="name">{e(p.name)}</td>'
            f'<td>{_badge(p.status, p.chart)}{flag}</td>'
            f'<td class="reason">{e(p.reason)}{figure}<div class="expected">expected: {expected}</div></td>'
            f"<td>{chart}</td></tr>")
    for m in r.missing:
        lines.append(f'<tr class="prop disagrees"><td class="name">{e(m.prop)}</td><td><span class="flag">'
                     f'DISAGREES</span></td><td class="reason">the model has no such property'
                     f'<div class="expected">expected: {e(m.status)} {e(m.why)}</div></td><td></td></tr>')
    lines.append("</table>")
    return "".join(lines)


def thesis_rows(protocols: Sequence[ProtocolResult]) -> list[tuple[int, ProtocolResult | None]]:
    """Taulukko 3.4's protocols in the thesis's order, each with every model whose header names its column
    (a column no model names appears once, with None)."""
    rows: list[tuple[int, ProtocolResult | None]] = []
    for column in range(1, len(THESIS_PROTOCOLS) + 1):
        models = [p for p in protocols if p.thesis == column]
        rows += [(column, p) for p in models] or [(column, None)]
    return rows


def mark_counts(protocols: Sequence[ProtocolResult]) -> dict[str, tuple[int, int]]:
    """For each of the thesis's unaligned rows, (marks derived from the models of the nine columns, marks the
    thesis prints): with the layout lost, the count is what can still be compared."""
    first = {c: p for c, p in reversed(thesis_rows(protocols)) if p is not None}
    return {field: (sum(bool(getattr(p.features, field)) for p in first.values()), len(marks.split()))
            for field, _label, marks in THESIS_UNALIGNED}


_PROTOCOL_HEAD = (
    '<th>keys</th><th>purpose<br><span class="sub">a key distribution, t authentication</span></th>'
    '<th>timeliness<br><span class="sub">timestamps checked</span></th><th>challenges<br><span class="sub">'
    'nonces</span></th><th>synchronised clocks</th><th>messages</th><th>mutual authentication</th>'
    '<th>fails<br><span class="sub">default variant</span></th></tr></thead><tbody>')


def _protocol_table(protocols: Sequence[ProtocolResult]) -> list[str]:
    """Taulukko 3.4 recomputed, in the thesis's order, then the library's other protocol models."""
    if not protocols:
        return []
    rows = ['<h2 id="protocols">Authentication protocols compared (thesis, Taulukko 3.4)</h2>']
    if any(p.thesis is not None for p in protocols):
        rows += _thesis_table(protocols)
    others = [p for p in protocols if p.thesis is None]
    if others:
        rows.append('<h3>The library\'s other protocol models</h3><table class="protocols"><thead><tr>'
                    f"<th>protocol model</th>{_PROTOCOL_HEAD}")
        rows += [_protocol_row(p, None) for p in others]
        rows.append("</tbody></table>")
    return rows


def _thesis_table(protocols: Sequence[ProtocolResult]) -> list[str]:
    """The thesis's nine protocols, one row per model that names its column; the thesis's printed value sits
    under ours where its column survived (keys, purpose, messages), and the last row compares the number of
    marks of the rows whose columns did not."""
    e = _escape
    rows = [
        '<p class="note">Every value below is computed from the compiled narration (which primitives its '
        "messages use, which fresh values it sends and gets back, which timestamps a receiver checks against "
        "its clock, its goals), not copied. A model's header names its column of the thesis's table "
        "(<code>thesis table 3.4, protocol N</code>); the thesis's printed value follows as <i>thesis:</i>, in "
        "red where it differs, and each model's header says why.</p>",
        f'<table class="protocols"><thead><tr><th>thesis protocol, model</th>{_PROTOCOL_HEAD}',
    ]
    for column, p in thesis_rows(protocols):
        rows.append(_absent_row(column) if p is None else _protocol_row(p, column))
    counts = mark_counts(protocols)
    models = {c for c, p in thesis_rows(protocols) if p is not None}
    cells = {field: _cell(f"{ours} of {len(models)}", f"{thesis} of {len(THESIS_PROTOCOLS)}",
                          same=ours == thesis) for field, (ours, thesis) in counts.items()}
    rows.append('<tr class="marks"><td class="model">marks per row<div class="sub">the thesis\'s rows whose '
                "columns were lost: only the number of marks compares</div></td><td></td><td></td>"
                f"{cells['timeliness']}{cells['challenges']}{cells['clocks']}<td></td>{cells['mutual']}"
                "<td></td></tr>")
    rows.append("</tbody></table>")
    unaligned = "".join(f"<li>{e(label)}: <code>{e(marks)}</code></li>" for _f, label, marks in THESIS_UNALIGNED)
    rows.append('<p class="note">In the seed\'s text the thesis\'s rows for timeliness, challenges, '
                "synchronised clocks and mutual authentication have fewer marks than protocols, and which protocol "
                "each mark belongs to was lost with the layout, so their cells are compared by count (last row):"
                f"</p><ul class=\"note\">{unaligned}</ul>")
    return rows


def _protocol_row(p: ProtocolResult, column: int | None) -> str:
    """One protocol model's derived row; under a thesis column, the thesis's printed values beside ours."""
    e = _escape
    k = column - 1 if column is not None else None
    f = p.features
    cells = [
        _cell(f.keys, THESIS_KEYS[k] if k is not None else None),
        _cell(f.purpose, THESIS_PURPOSE[k] if k is not None else None),
        _cell(_yes(f.timeliness)), _cell(_yes(f.challenges)), _cell(_yes(f.clocks)),
        _cell(str(f.messages), str(THESIS_MESSAGES[k]) if k is not None else None),
        _cell(_yes(f.mutual)),
        f'<td class="failing">{_failing(p)}</td>',
    ]
    if k is None:
        return (f'<tr class="protocol"><td class="model">{e(p.shown)}<div class="sub">{e(p.model)}</div></td>'
                f'{"".join(cells)}</tr>')
    return (f'<tr class="thesis-row"><td class="model">{column}. {e(THESIS_PROTOCOLS[k])}<div class="sub">'
            f'{e(p.shown)}</div></td>{"".join(cells)}</tr>')


def _absent_row(column: int) -> str:
    """A thesis column no model of the library names: the thesis's printed values alone."""
    e = _escape
    k = column - 1
    keys, purpose, messages = (f'<td><div class="thesis">thesis: {e(v)}</div></td>'
                               for v in (THESIS_KEYS[k], THESIS_PURPOSE[k], str(THESIS_MESSAGES[k])))
    return (f'<tr class="thesis-row absent"><td class="model">{column}. {e(THESIS_PROTOCOLS[k])}<div class="sub">'
            f"no model in this library names this column</div></td>{keys}{purpose}<td></td><td></td><td></td>"
            f"{messages}<td></td><td></td></tr>")


def _badge(status: str, chart: str | None) -> str:
    """A verdict; a failing one links to its chart."""
    if chart:
        return f'<a class="badge {status}" href="{_escape(_href(chart))}" title="open the chart">{status}</a>'
    return f'<span class="badge {status}">{_escape(status)}</span>'


def _failing(row: ProtocolResult) -> str:
    """The failing properties of a protocol's row of table 3.4, each linked to its chart."""
    charts = row.charts or (None,) * len(row.failing)
    names = [f'<a href="{_escape(_href(c))}">{_escape(n)}</a>' if c else _escape(n)
             for n, c in zip(row.failing, charts)]
    return ", ".join(names) or "nothing"


def _cell(ours: str, thesis: str | None = None, same: bool | None = None) -> str:
    """Our value, and the thesis's under it (green when they agree; `same` overrides the comparison)."""
    e = _escape
    if thesis is None:
        return f"<td>{e(ours)}</td>"
    cls = "same" if (thesis == ours if same is None else same) else "differs"
    return f'<td>{e(ours)}<div class="thesis {cls}">thesis: {e(thesis)}</div></td>'


def summary(report: Report) -> str:
    """`50 runs: 48 agree, 1 disagrees, 1 bound hit, 0 errors`, for the terminal."""
    counts = {k: sum(1 for r in report.runs if r.outcome == k) for k in ("agrees", "disagrees", "bound hit", "error")}
    return (f"{_count(len(report.runs), 'run')}: {counts['agrees']} agree with their header, {counts['disagrees']} "
            f"disagree, {counts['bound hit']} hit a bound, {counts['error']} could not be checked")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _css_class(word: str) -> str:
    return {"agrees": "agrees", "DISAGREES": "disagrees", "disagrees": "disagrees", "bound hit": "bound",
            "error": "error"}.get(word, "plain")


def _href(relative: str) -> str:
    """A relative path as a URL path: forward slashes, each segment percent-encoded where needed."""
    return "/".join(quote(part) for part in relative.replace(os.sep, "/").split("/"))


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
code{background:#f3f3f3;padding:0 3px}
.summary,.note,.footer{color:#444;font-size:14px}
.alarm{border:2px solid #c81e1e;background:#fde8e8;padding:8px 16px;margin:12px 0}
.alarm h2{color:#c81e1e;margin:4px 0}
table.results,table.protocols{border-collapse:collapse;width:100%;font-size:13px}
table.results>thead th,table.protocols th{background:#eee;text-align:left;padding:6px;border-bottom:2px solid #999}
tr.run>td,tr.protocol>td,tr.thesis-row>td,tr.marks>td{border-bottom:1px solid #ccc;padding:6px;vertical-align:top}
tr.run.disagrees>td,tr.run.error>td{background:#fde8e8}
tr.run.bound>td{background:#fff6dc}
td.model a{font-weight:bold}
.sub{color:#777;font-size:11px}
td.num{text-align:right;white-space:nowrap}
table.props{border-collapse:collapse;width:100%;table-layout:fixed}
table.props col.name{width:13em}table.props col.verdict{width:8.5em}table.props col.chart{width:3.5em}
table.props td{padding:3px 6px;vertical-align:top;border-bottom:1px dotted #ddd}
table.props td.name{font-family:monospace;overflow-wrap:anywhere}
tr.prop.disagrees td{background:#f9c9c9}
.badge{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;font-weight:bold;color:#fff}
.badge.holds{background:#2e7d32}.badge.fails{background:#c81e1e}.badge.unknown{background:#9a6b00}
.flag{display:inline-block;margin-left:4px;color:#c81e1e;font-weight:bold;font-size:11px}
.expected{color:#555;font-size:12px;margin-top:2px}.none{color:#999}
.figure{color:#35608a}.stopped{color:#9a6b00;font-size:11px}.flag.bound{color:#9a6b00}
pre.error{white-space:pre-wrap;color:#8a1010;margin:0}
.thesis{font-size:11px}.thesis.same{color:#2e7d32}.thesis.differs{color:#c81e1e;font-weight:bold}
a.chart{white-space:nowrap}a.badge{text-decoration:none}a.badge.fails:hover{background:#8a1010}
nav.toc{background:#f6f6f6;border:1px solid #ddd;padding:6px 14px;margin:12px 0;font-size:14px;display:inline-block}
nav.toc ul{margin:4px 0;padding-left:20px}ul.charts{font-size:13px;columns:2}
"""
