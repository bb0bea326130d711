"""The layering rules of README's Architecture section, enforced by reading imports with `ast`."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "checker").rglob("*.py")) + sorted((ROOT / "dsl").rglob("*.py"))


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the same package
                names.add(path.parent.name)
            elif node.module:
                names.add(node.module.split(".")[0])
    return names


def importers(module: str) -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in SOURCES if module in imports(p))


def test_one_module_imports_z3():
    assert importers("z3") == ["checker/timed/constraints.py"]


def test_one_module_imports_networkx():
    assert importers("networkx") == ["checker/engine/liveness.py"]


def test_one_module_imports_graphviz():
    assert importers("graphviz") == ["checker/output/render_msc.py"]


def test_checker_core_does_not_import_the_front_end():
    roots = {"checker/analysis.py", "checker/cli.py"}
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "checker").rglob("*.py")
                 if "dsl" in imports(p) and p.relative_to(ROOT).as_posix() not in roots]
    assert offenders == []


def test_no_eval_or_exec():
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), f"{path}: {node.func.id}"
