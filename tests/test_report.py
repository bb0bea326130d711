"""`wolf report` on a small library in a temporary directory (never the whole bundled library: Lamport N=3
alone takes a minute), read back as HTML, in a real headless Chromium, and the thesis table's derivation on
the bundled protocols."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from browser import run_chromium
from checker.analysis import Options
from checker.cli import _ModelLibrary, main
from checker.engine.budget import Bounds
from checker.output.report import (THESIS_PROTOCOLS, Expected, PropertyResult, ProtocolResult, Report,
                                   VariantResult, mark_counts, protocol_features, render_html, run_report,
                                   thesis_column, thesis_rows)
from checker.security.secsys import SecuritySystem
from dsl.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models/security"
HOSTILE_WHY = '<script>alert("why")</script> & friends must stay text'

HOSTILE = f"""\
# expect: small fails -- deliberately wrong: {HOSTILE_WHY}
# expect: reached fails -- the note becomes the hostile string
model Hostile
process P {{
  var note = "start"
  state a, b
  final b
  a -> b {{ note = "<script>alert(1)</script> & co" }}
}}
check small: always P.note != "never"
check reached: always P.note != "<script>alert(1)</script> & co"
"""

PROTOCOL = """\
# expect: B_agrees_A fails -- eve replays the fixed "<script>&" message to bob's second run
# expect: executable holds -- the honest run completes
# expect --attacker eavesdrop,replay: B_agrees_A fails -- dropping is not needed for the replay
# expect --attacker eavesdrop,replay: executable holds -- the honest run completes
model HostileProtocol
protocol {
  roles A, B
  A knows A, B, k(A, B)
  B knows A, B, k(A, B)
  A -> B: {"<script>&", A}k(A, B)
  goal B agrees with A
}
scenario {
  honest alice, bob
  compromised eve
  run A(alice, bob)
  run B(bob, alice)
  run B(bob, alice)
  attacker eavesdrop, drop, replay
}
"""

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


class Page(HTMLParser):
    """The parts of a page the tests look at: elements with their attributes, and all text."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def rows(self, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == "tr" and cls in a.get("class", "").split()]

    def hrefs(self) -> list[str]:
        return [a["href"] for t, a in self.elements if t == "a" and "href" in a]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A three-model library (one process model from tests/data, a hostile one, a protocol in a subfolder)
    and its report. Returns (exit code, output directory)."""
    lib = tmp_path_factory.mktemp("library")
    shutil.copy(ROOT / "tests/data/counter.wolf", lib / "counter.wolf")
    (lib / "hostile.wolf").write_text(HOSTILE)
    (lib / "sec").mkdir()
    (lib / "sec/hostile_protocol.wolf").write_text(PROTOCOL)
    out = tmp_path_factory.mktemp("out") / "report"
    code = main(["report", str(lib), "--out", str(out), "--quiet", "--timeout", "20"])
    return code, out


def _assert_links_resolve(index: Path, page: Page) -> None:
    """Every link is relative and lands on a file (or, for `#name`, on an element of the page)."""
    hrefs = page.hrefs()
    assert hrefs
    ids = {a["id"] for _t, a in page.elements if "id" in a}
    for href in hrefs:
        url = urlparse(href)
        assert not url.scheme and not href.startswith("/"), f"not relative: {href}"
        if url.path:
            assert (index.parent / unquote(url.path)).is_file(), f"broken link {href}"
        else:
            assert url.fragment in ids, f"broken anchor {href}"


@needs_dot
def test_report_has_a_row_per_variant_and_flags_the_disagreement(report):
    code, out = report
    assert code == 1  # hostile.wolf's header is deliberately wrong about `small`
    page = Page((out / "index.html").read_text(encoding="utf-8"))
    runs = page.rows("run")
    assert len(runs) == 4  # counter, hostile, and the protocol's two variants
    assert [r["class"] for r in runs].count("run disagrees") == 1
    assert len(page.rows("disagrees")) == 2  # the run and its property
    assert any(a.get("class") == "alarm" for t, a in page.elements if t == "div")
    assert "#run1" in page.hrefs()  # the alarm links to hostile.wolf's row
    assert len(page.rows("protocol")) == 1


@needs_dot
def test_report_links_resolve_and_charts_are_svg(report):
    _code, out = report
    index = out / "index.html"
    page = Page(index.read_text(encoding="utf-8"))
    _assert_links_resolve(index, page)
    hrefs = page.hrefs()
    charts = sorted({h for h in hrefs if h.endswith(".svg")})
    assert charts == ["hostile/reached.svg", "hostile_protocol/B_agrees_A.svg",
                      "hostile_protocol/attacker_eavesdrop_replay/B_agrees_A.svg"]  # a variant's own folder
    for chart in charts:
        ET.parse(out / chart)
    assert sum(h.endswith(".wolf") for h in hrefs) == 4


@needs_dot
def test_report_has_contents_and_every_failure_links_to_its_chart(report):
    _code, out = report
    page = Page((out / "index.html").read_text(encoding="utf-8"))
    contents = [a["href"] for t, a in page.elements if t == "a" and a.get("href", "").startswith("#")]
    for section in ("#problems", "#verdicts", "#charts", "#protocols"):
        assert section in contents, section
    badges = [a for t, a in page.elements if t == "a" and "badge" in a.get("class", "").split()]
    assert sorted(a["href"] for a in badges) == ["hostile/reached.svg", "hostile_protocol/B_agrees_A.svg",
                                                 "hostile_protocol/attacker_eavesdrop_replay/B_agrees_A.svg"]
    assert all("fails" in a["class"] for a in badges)
    text = (out / "index.html").read_text(encoding="utf-8")
    failing_cell = text[text.index('<td class="failing">'):]
    assert failing_cell.startswith('<td class="failing"><a href="hostile_protocol/B_agrees_A.svg">B_agrees_A</a>')


def test_report_checks_models_in_parallel_with_the_same_result(tmp_path):
    """Two processes give the page one process gives (charts and verdicts), with a line per model."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("dh.wolf", "nspk.wolf", "keyserver_unsigned.wolf"):
        shutil.copy(MODELS / name, lib / name)
    lines: list[str] = []
    pages = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        report = run_report(lib, out, _ModelLibrary(), Options(bounds=Bounds(timeout=60)), lines.append, jobs)
        pages.append([(r.shown, r.variant, [(p.name, p.status, p.chart) for p in r.properties]) for r in report.runs])
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.svg")) == [
            "dh/B_agrees_A.svg", "dh/secret_M.svg", "keyserver_unsigned/B_agrees_A.svg", "nspk/B_agrees_A.svg",
            "nspk/secret_Na.svg", "nspk/secret_Nb.svg"]
    assert pages[0] == pages[1]
    assert sorted(line.split(" ")[0] for line in lines) == ["1/3", "1/3", "2/3", "2/3", "3/3", "3/3"]


@needs_dot
def test_model_text_is_escaped(report):
    _code, out = report
    raw = (out / "index.html").read_text(encoding="utf-8")
    page = Page(raw)
    assert "<script" not in raw
    assert not [t for t, _a in page.elements if t == "script"]
    text = "".join(page.text)
    assert HOSTILE_WHY in text  # shown as text, exactly as written
    assert '"<script>alert(1)</script> & co"' in text  # a string literal inside a verdict's reason
    assert '{"<script>&", alice}' not in raw and "&lt;script&gt;&amp;" in raw


def test_exit_code_is_the_most_severe_outcome():
    def run(status: str, expected: str | None = "holds", error: str | None = None) -> VariantResult:
        prop = PropertyResult("p", status, "", None, Expected("p", expected, "") if expected else None, None)
        return VariantResult(Path("m.wolf"), "m.wolf", "M", "default", (prop,), error=error)
    assert Report("x", (run("holds"),), (), None).exit_code == 0
    assert Report("x", (run("holds", None),), (), None).exit_code == 0
    assert Report("x", (run("holds"), run("unknown")), (), None).exit_code == 3
    assert Report("x", (run("unknown"), run("fails")), (), None).exit_code == 1
    assert Report("x", (run("fails"), run("holds", error="E100")), (), None).exit_code == 2


def test_bad_library_input(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no *.wolf models" in capsys.readouterr().err


@needs_dot
def test_a_broken_model_is_reported_not_fatal(tmp_path, capsys):
    (tmp_path / "bad.wolf").write_text("# expect: x holds\nmodel Bad\nprocess P { state a }\nchek\n")
    (tmp_path / "header.wolf").write_text("# expect: what\nmodel H\n")
    code = main(["report", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2 and "Traceback" not in capsys.readouterr().err
    page = Page((tmp_path / "o/index.html").read_text(encoding="utf-8"))
    assert len(page.rows("error")) == 2


# ----------------------------------------------------------------------------------------- chromium


@needs_dot
def test_report_in_headless_chromium(report, tmp_path):
    _code, out = report
    index = (out / "index.html").resolve()
    proc = run_chromium(tmp_path / "profile", "--dump-dom", index.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = Page(proc.stdout)
    assert len(dom.rows("run")) == 4
    assert len(dom.rows("protocol")) == 1
    assert not [t for t, _a in dom.elements if t == "script"]
    _assert_links_resolve(index, dom)


# ------------------------------------------------------------------------------------ table 3.4


def features(name: str):
    return protocol_features(load_model(str(MODELS / name))[0].roles)


def test_diffie_hellman_row():
    f = features("dh.wolf")
    assert (f.keys, f.distributes_key, f.challenges, f.timeliness, f.clocks, f.mutual) == \
        ("public", True, False, False, False, False)
    assert f.messages == 3  # the thesis's two half-keys, plus the message that uses the key


def test_needham_schroeder_symmetric_row():
    f = features("ns_symmetric.wolf")
    assert (f.keys, f.purpose, f.challenges, f.timeliness, f.messages) == ("shared", "at", True, False, 5)
    assert not f.mutual  # the model states B's goal about A and A's about S, never A's about B


def test_otway_rees_and_iso_rows():
    o = features("otway_rees.wolf")
    assert (o.keys, o.purpose, o.challenges, o.messages) == ("shared", "at", True, 4)
    i = features("iso9798_1.wolf")
    assert (i.keys, i.purpose, i.challenges, i.messages, i.mutual) == ("shared", "t", True, 3, True)


def test_public_key_protocols():
    n = features("nspk.wolf")
    assert (n.keys, n.purpose, n.challenges, n.mutual) == ("public", "t", True, True)
    m = features("mutual_auth.wolf")
    assert (m.keys, m.distributes_key) == ("public", True)


@pytest.mark.parametrize("narration,timeliness,clocks", [
    ("A -> B: {T, A}k(A, B)\n    B accepts T within 2", True, True),  # bob judges alice's clock with his
    ("A -> B: {T, A}k(A, B)", False, False),  # a timestamp nobody checks is just a value
    ("A -> B: A, T\n  B -> A: {T, B}k(A, B)\n    A accepts T within 2", True, False),  # alice's own clock
    ("A -> B: A, Na\n  B -> A: {Na, B}k(A, B)", False, False),
])
def test_timeliness_and_clocks_come_from_the_time_checks(tmp_path, narration, timeliness, clocks):
    model = tmp_path / "stamp.wolf"
    model.write_text(f"model Stamp\nprotocol {{\n  roles A, B\n  time T\n  A knows A, B, k(A, B)\n"
                     f"  B knows A, B, k(A, B)\n  {narration}\n  goal A alive for B\n}}\n"
                     "scenario {\n  honest alice, bob\n  run A(alice, bob)\n  run B(bob, alice)\n}\n")
    f = protocol_features(load_model(str(model))[0].roles)
    assert (f.timeliness, f.clocks) == (timeliness, clocks)


def test_thesis_columns_come_from_the_headers():
    assert thesis_column(MODELS / "dh.wolf") == 1
    assert thesis_column(MODELS / "ns_symmetric.wolf") == 2
    assert thesis_column(MODELS / "otway_rees.wolf") == 5
    assert thesis_column(MODELS / "nspk.wolf") is None
    assert len(THESIS_PROTOCOLS) == 9


def _library_protocols() -> list[ProtocolResult]:
    """Every protocol model of the bundled library as the report sees it (features and thesis column; the
    verdicts are not run here)."""
    out = []
    for path in sorted((ROOT / "models").rglob("*.wolf")):
        system = load_model(str(path))[0]
        if isinstance(system, SecuritySystem):
            out.append(ProtocolResult(path.relative_to(ROOT / "models").as_posix(), system.name,
                                      protocol_features(system.roles), thesis_column(path), ()))
    return out


def test_every_thesis_column_has_exactly_one_model():
    columns = [p.thesis for p in _library_protocols() if p.thesis is not None]
    assert sorted(columns) == list(range(1, 10))


def test_the_thesis_rows_derived_from_the_new_models():
    rows = {column: p for column, p in thesis_rows(_library_protocols())}
    derived = {c: (p.features.keys, p.features.purpose, p.features.messages, p.features.timeliness,
                   p.features.clocks, p.features.challenges, p.features.mutual)
               for c, p in rows.items() if p is not None}
    assert derived[3] == ("shared", "at", 3, True, True, False, False)  # Denning-Sacco: timestamps, no nonces
    assert derived[4] == ("shared", "at", 5, False, False, True, True)  # NS-Mullender: bob's nonce first
    assert derived[7] == ("shared", "at", 2, True, True, False, True)   # ISO II: two timestamped tokens
    assert derived[8] == ("shared", "at", 3, False, False, True, True)  # ISO III: three passes, nonces
    assert derived[9] == ("shared", "at", 7, False, False, True, True)  # ISO IV: the server, seven messages
    # the thesis's unaligned rows, compared by count: clocks (Denning-Sacco, ISO II) match the thesis's two
    counts = mark_counts(_library_protocols())
    assert counts["clocks"] == (2, 2) and counts["timeliness"][1] == 3 and counts["mutual"][1] == 8


def test_report_table_has_the_nine_thesis_rows_in_order(tmp_path):
    protocols = tuple(_library_protocols())
    page_text = render_html(Report("models", (), protocols, None), tmp_path, "wolf report models")
    page = Page(page_text)
    assert len(page.rows("thesis-row")) == 9 and not page.rows("absent")
    text = "".join(page.text)
    firsts = [text.index(f"{k + 1}. {name}") for k, name in enumerate(THESIS_PROTOCOLS)]
    assert firsts == sorted(firsts)  # the thesis's order
    assert "not in this library" not in text and "no model in this library" not in text
    assert len(page.rows("marks")) == 1
    assert len(page.rows("protocol")) == len(protocols) - 9  # the others, in their own table
    # every aligned cell of a thesis row is compared (keys, purpose, messages: nine times each), and the last
    # row compares the four counts
    assert page_text.count('class="thesis same"') + page_text.count('class="thesis differs"') == 9 * 3 + 4


def test_a_partial_library_shows_the_absent_columns_in_place(tmp_path):
    protocols = tuple(p for p in _library_protocols() if p.thesis in (None, 1, 5))
    page = Page(render_html(Report("models", (), protocols, None), tmp_path, "wolf report models"))
    assert len(page.rows("thesis-row")) == 9 and len(page.rows("absent")) == 7
