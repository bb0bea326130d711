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


def checker_imports(path: Path) -> set[str]:
    """The checker subpackages (or top-level modules) a module imports: `engine`, `process`, `analysis`..."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("checker."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("checker.")}
    return names


#: Modules every layer may import: they import nothing of wolf's own.
LEAVES = {"records"}


def test_the_leaves_import_nothing_of_wolf():
    for name in LEAVES:
        path = ROOT / "checker" / f"{name}.py"
        assert not imports(path) & {"checker", "dsl"}, path.name


def test_the_engine_knows_nothing_of_what_it_searches():
    for path in sorted((ROOT / "checker" / "engine").glob("*.py")):
        assert checker_imports(path) <= {"engine"} | LEAVES, path.name


def test_the_process_runtime_needs_only_the_engine():
    for path in sorted((ROOT / "checker" / "process").glob("*.py")):
        assert checker_imports(path) <= {"engine", "process"} | LEAVES, path.name


def test_the_z3_door_stands_alone():
    assert checker_imports(ROOT / "checker" / "timed" / "constraints.py") <= {"timed"} | LEAVES


def test_classes_with_fields_are_records():
    """Classes with fields use `checker.records.record`, a dataclass that compiles one method instead of three to
    six (checker/records.py); a plain `@dataclass` elsewhere would bring the cost back one class at a time."""
    assert importers("dataclasses") == ["checker/records.py"]


def test_only_the_entry_points_import_the_command_line():
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "checker").rglob("*.py")
                 if "cli" in checker_imports(p) and p.name not in ("__main__.py", "launch.py", "completion.py")]
    assert offenders == []


def test_no_closure_calls_itself():
    """A function defined inside another that calls itself holds itself through a closure cell: a reference
    cycle made on every call. `wolf` runs with the garbage collector switched off (checker/cli.py
    `command_line`), so each would stay in memory for the rest of the run; make it a method or a function."""
    found = []
    for path in SOURCES:
        for outer in ast.walk(ast.parse(path.read_text())):
            if not isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(outer):
                if inner is not outer and isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        any(isinstance(n, ast.Name) and n.id == inner.name for n in ast.walk(inner)):
                    found.append(f"{path.relative_to(ROOT)}:{inner.lineno} {inner.name}")
    assert found == []
