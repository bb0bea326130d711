"""Differential test: wolf and SPIN agree on Ricart-Agrawala and its broken variant.

tests/spin/ricart_agrawala.pml is an independent Promela model of the algorithm in
models/mutex/ricart_agrawala.wolf (mailboxes with random receive, like wolf's unordered network). SPIN
checks mutual exclusion (an LTL claim) and invalid end states (deadlocks); wolf must give the same verdicts.
`make test` installs Debian's spin; without it (not root, no package) the test is skipped.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from checker.analysis import FAILS, Options, analyze

ROOT = Path(__file__).resolve().parent.parent
PROMELA = ROOT / "tests" / "spin" / "ricart_agrawala.pml"

pytestmark = pytest.mark.skipif(shutil.which("spin") is None or shutil.which("gcc") is None,
                                reason="spin or gcc is not installed (make test installs spin when root)")


def spin_errors(tmp_path: Path, n: int, broken: bool, claim: bool) -> int:
    defines = [f"-DN={n}"] + (["-DNOPRIORITY"] if broken else [])
    subprocess.run(["spin", "-a", *defines, str(PROMELA)], cwd=tmp_path, check=True, capture_output=True)
    flags = ["-DSAFETY"] + ([] if claim else ["-DNOCLAIM"])
    subprocess.run(["gcc", "-O1", *flags, "-o", "pan", "pan.c"], cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["./pan"] + (["-N", "mutex"] if claim else []), cwd=tmp_path, capture_output=True,
                         text=True, check=False).stdout
    return int(out.split("errors: ")[1].split()[0])


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("broken", [False, True], ids=["ricart_agrawala", "no_priority"])
def test_wolf_and_spin_agree(tmp_path, n, broken):
    model = "ricart_agrawala_no_priority.wolf" if broken else "ricart_agrawala.wolf"
    verdicts = {v.name: v.status for v in analyze(str(ROOT / "models" / "mutex" / model),
                                                   Options(defines={"N": n}, only=("mutex", "deadlock_free"))
                                                   ).verdicts}
    assert (verdicts["mutex"] == FAILS) == (spin_errors(tmp_path, n, broken, claim=True) > 0)
    assert (verdicts["deadlock_free"] == FAILS) == (spin_errors(tmp_path, n, broken, claim=False) > 0)
    assert verdicts["mutex"] == (FAILS if broken else "holds")  # and the shared answer is the known one
