"""The charts as Chromium draws them: real text extents measured in the browser, and screenshots.

tests/test_chart_geometry.py checks the layout wolf computes; this checks what a reader sees: every chart
of the library is drawn by `dot`, opened in headless Chromium, and each text's box measured there: no text
of one element overlaps another's, and the text of a box stays inside it. Then one chart of each kind (an
attack, a process run, a lasso, a crash, a state graph) is screenshot at its natural size; the pictures must
show something (a blank page compresses to almost nothing). Set WOLF_SCREENSHOTS=DIR to keep them.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from checker.cli import main
from checker.output.render_msc import msc_svg
from browser import run_chromium
from library_charts import library_charts

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
ROOT = Path(__file__).resolve().parent.parent


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_chromium(tmp_path / "profile", *args)


_MEASURE = """
<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var nodes = [];
    svg.querySelectorAll("g.node").forEach(function (g) {
      var texts = Array.from(g.querySelectorAll("text")).map(function (t) {
        var r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
      var shape = g.querySelector("polygon, path");
      var box = null;
      if (shape) { var r = shape.getBoundingClientRect(); box = [r.left, r.top, r.right, r.bottom]; }
      if (texts.length) nodes.push({id: g.id, texts: texts, box: box});
    });
    out.push({name: svg.getAttribute("data-name"), nodes: nodes});
  });
  var pre = document.createElement("pre"); pre.id = "result";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>
"""


@needs_dot
def test_text_measured_by_chromium_neither_overlaps_nor_leaves_its_box(tmp_path):
    charts = library_charts()
    parts = []
    for chart in charts:
        svg = msc_svg(chart.trace)
        svg = svg[svg.index("<svg"):]
        svg = svg.replace("<svg", f'<svg class="chart" data-name="{chart.name}"', 1)
        parts.append(f"<div>{svg}</div>")
    page = tmp_path / "charts.html"
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8"></head><body>{"".join(parts)}'
                    f"{_MEASURE}</body></html>", encoding="utf-8")
    proc = _run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert found, proc.stdout[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                          .replace("&gt;", ">"))
    assert len(measured) == len(charts)
    assert all(len(c["nodes"]) >= 5 for c in measured), "every chart's headers, boxes and labels were measured"
    problems = []
    for chart in measured:
        extents = []
        for node in chart["nodes"]:
            texts = node["texts"]
            extent = [min(t[0] for t in texts), min(t[1] for t in texts), max(t[2] for t in texts),
                      max(t[3] for t in texts)]
            box = node["box"]
            if box is not None and node["id"] and not node["id"].startswith(("legend", "m", "cycle")):
                if not (box[0] - 1 <= extent[0] and extent[2] <= box[2] + 1):
                    problems.append(f"{chart['name']}: the text of {node['id']} sticks out of its box")
            extents.append((node["id"], extent))
        for k, (a, ra) in enumerate(extents):
            for b, rb in extents[k + 1:]:
                if ra[0] + 1 < rb[2] and rb[0] + 1 < ra[2] and ra[1] + 1 < rb[3] and rb[1] + 1 < ra[3]:
                    problems.append(f"{chart['name']}: the text of {a} overlaps that of {b}")
    assert problems == []


# ---------------------------------------------------------------------------------------- screenshots


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _natural_size(svg: Path) -> tuple[int, int]:
    """The SVG's size in CSS pixels at 100% zoom (Graphviz writes points)."""
    m = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg.read_text(encoding="utf-8"))
    assert m, "a chart has a natural size"
    return tuple(int(float(v) * 4 / 3) + 16 for v in m.groups())  # type: ignore[return-value]


def _screenshot(tmp_path: Path, target: Path, size: tuple[int, int], name: str) -> bytes:
    png = tmp_path / f"{name}.png"
    proc = _run_chromium(tmp_path, f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", target.as_uri())
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
    keep = os.environ.get("WOLF_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    return png.read_bytes()


KINDS = [
    pytest.param(["models/security/nspk.wolf", "-p", "secret_Na"], "nspk/secret_Na.svg", id="attack"),
    pytest.param(["models/mutex/lamport_unordered.wolf", "-p", "mutex"], "lamport_unordered/mutex.svg",
                 id="process"),
    pytest.param(["tests/data/ping_lasso.wolf", "-p", "served"], "ping_lasso/served.svg", id="lasso"),
    pytest.param(["models/mutex/central.wolf", "-D", "CRASH=true", "-p", "deadlock_free"],
                 "central/deadlock_free.svg", id="crash"),
]


@needs_dot
@pytest.mark.parametrize("argv, chart", KINDS)
def test_a_chart_of_each_kind_shows_in_chromium_at_its_natural_size(argv, chart, tmp_path, capsys):
    args = [str(ROOT / a) if a.endswith(".wolf") else a for a in argv]
    assert main(["check", *args, "--svg-dir", str(tmp_path / "charts"), "--quiet"]) == 1
    capsys.readouterr()
    svg = tmp_path / "charts" / chart
    size = _natural_size(svg)
    assert size[0] < 1600, "readable without scrolling sideways on a laptop"
    data = _screenshot(tmp_path, svg, size, chart.replace("/", "_")[:-4])
    assert _png_size(data) == size
    assert len(data) > 15_000, "the screenshot shows a chart, not a blank page"


@needs_dot
def test_the_state_graph_shows_in_chromium(tmp_path, capsys):
    out = tmp_path / "ra.svg"
    assert main(["graph", str(ROOT / "models/mutex/ricart_agrawala_no_priority.wolf"), "-D", "N=2",
                 "--svg", str(out)]) == 0
    capsys.readouterr()
    data = _screenshot(tmp_path, out, (1366, 768), "state_graph")
    assert _png_size(data) == (1366, 768)
    assert len(data) > 30_000, "opened on the red run at a readable size, not a speck in a white page"
