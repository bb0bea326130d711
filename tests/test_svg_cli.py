"""Counterexample charts end to end: `wolf check --svg` on real models, a golden DOT of NSPK's attack, and
the message a machine without Graphviz gets.

tests/test_render.py covers the renderer on hand-built traces; here the traces come from the explorer, and
the SVG is parsed (never grepped) to count lanes and arrows against the trace the JSON output carries.
Regenerate the goldens after an intended change with `WOLF_UPDATE_GOLDENS=1 pytest tests/test_svg_cli.py`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.analysis import FAILS, analyze
from checker.cli import main
from checker.output.render_msc import msc_dot

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
UPDATE = os.environ.get("WOLF_UPDATE_GOLDENS") == "1"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")

CASES = [
    pytest.param(["models/mutex/lamport_unordered.wolf", "-D", "N=2"], id="lamport_unordered"),
    pytest.param(["models/security/nspk.wolf"], id="nspk"),
]


def _groups(root: ET.Element, pattern: str) -> dict[str, ET.Element]:
    """The SVG groups whose id matches `pattern`, by id (Graphviz carries DOT ids over)."""
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if re.fullmatch(pattern, g.get("id") or "")}


def _text(group: ET.Element) -> str:
    return " ".join(t.text or "" for t in group.iter(f"{SVG}text"))


@needs_dot
@pytest.mark.parametrize("args", CASES)
def test_check_svg_draws_one_lane_per_participant_and_one_arrow_per_message(args, tmp_path, capsys):
    code = main(["check", *args, "--svg-dir", str(tmp_path), "--format", "json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = [p for p in result["properties"] if p["verdict"] == "fails"]
    assert failed
    stem = Path(args[0]).stem
    for prop in failed:
        target = tmp_path / stem / f"{prop['name']}.svg"
        assert prop["files"] == [str(target)]
        root = ET.parse(target).getroot()  # well-formed XML, or this raises
        trace = prop["trace"]
        lanes = _groups(root, r"lane\d+")
        headers = sorted(" ".join(_text(g).replace("\u00a0", " ").split()) for g in lanes.values())
        names = {lane: lane if lane != "attacker" or not trace["attackers"] else
                 f"attacker ({', '.join(trace['attackers'])})" for lane in trace["lanes"]}
        assert len(headers) == len(names)
        assert all(any(h.startswith(n) for h in headers) for n in names.values()), (headers, names)
        arrows = _groups(root, r"msg\d+")
        assert sorted(arrows) == sorted(f"msg{m['id']}" for m in trace["messages"])


@needs_dot
@pytest.mark.parametrize("args", CASES)
def test_check_text_output_names_every_file_written(args, tmp_path, capsys):
    code = main(["check", *args, "--svg-dir", str(tmp_path), "--dot", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    written = re.findall(r"^\s+wrote (\S+)$", out, re.MULTILINE)
    on_disk = sorted(str(p) for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(written) == on_disk
    assert {Path(w).suffix for w in written} == {".svg", ".dot"}


# ------------------------------------------------------------------------------------------- goldens


@pytest.fixture(scope="module")
def nspk_failures():
    analysis = analyze(str(ROOT / "models/security/nspk.wolf"))
    failures = {v.name: v.trace for v in analysis.verdicts if v.status == FAILS}
    assert set(failures) == {"secret_Na", "secret_Nb", "B_agrees_A"}
    return failures


@pytest.mark.parametrize("prop", ["secret_Na", "secret_Nb", "B_agrees_A"])
def test_nspk_attack_dot_matches_golden(prop, nspk_failures):
    dot = msc_dot(nspk_failures[prop])
    golden = GOLDEN / f"nspk_{prop}.dot"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(dot, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing: run WOLF_UPDATE_GOLDENS=1 pytest {__file__}"
    assert dot == golden.read_text(encoding="utf-8"), \
        f"the chart changed: inspect it, then WOLF_UPDATE_GOLDENS=1 pytest {Path(__file__).name}"


# -------------------------------------------------------------------------------------- without dot


@pytest.mark.parametrize("argv", [
    ["check", "models/security/nspk.wolf", "--svg-dir", "{out}"],
    ["graph", "tests/data/counter.wolf", "--svg", "{out}/g.svg"],
    ["report", "tests/data", "--out", "{out}"],
], ids=["check", "graph", "report"])
def test_svg_without_dot_fails_before_work_with_install_hint(argv, tmp_path):
    """A PATH without `dot`: exit 2, the install command, no traceback, nothing written."""
    no_dot = tmp_path / "bin"
    no_dot.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, PATH=str(no_dot))
    proc = subprocess.run([sys.executable, "-m", "checker.cli", *(a.format(out=out) for a in argv)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "apt-get install graphviz" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
