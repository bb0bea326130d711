"""`wolf check --format json` against the JSON Schema that docs/json.md documents, on real output: every
model of the library (processes, protocols, timed protocols, with their counterexamples), a directory, bad
input, a model that fails while running, and the attacker as data rather than words."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "json.md"


def _schema() -> dict:
    """The schema block of docs/json.md (the one after the marker comment)."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- the JSON Schema[^>]*-->\s*```json\n(.*?)```", text, re.DOTALL)
    assert block, "docs/json.md must end with its JSON Schema"
    return json.loads(block.group(1))


SCHEMA = _schema()


def _check(capsys, *argv: str) -> tuple[int, object]:
    code = main(["check", *argv, "--format", "json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_the_documented_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("inputs", [
    ["models/security"],  # a directory: every protocol of the library
    ["models/time/kerberos_no_cache.wolf", "models/time/timestamp_window_large.wolf",
     "models/time/timestamp_skew.wolf", "models/time/sequence_numbers_unchecked.wolf"],  # timed, with schedules
], ids=["security", "time"])
def test_library_output_follows_the_documented_schema(inputs, capsys):
    code, results = _check(capsys, *(str(ROOT / i) for i in inputs))
    assert code == 1 and isinstance(results, list) and len(results) >= 4
    for result in results:
        jsonschema.validate(result, SCHEMA)
    traces = [p["trace"] for r in results for p in r["properties"] if p["trace"]]
    attacks = [t for t in traces if t["runs"] and "attacker" in t["lanes"]]
    assert attacks and all(t["claim"] for t in attacks)


def test_process_models_and_a_lasso_follow_the_schema(capsys):
    for args in (["models/mutex/central.wolf", "-D", "CRASH=true"], ["models/mutex/central_attacked.wolf"],
                 ["tests/data/ping_lasso.wolf"]):
        code, result = _check(capsys, *(str(ROOT / a) if a.endswith(".wolf") else a for a in args))
        assert code == 1
        jsonschema.validate(result, SCHEMA)


def test_the_attacker_is_data_not_words(capsys):
    _code, nspk = _check(capsys, str(ROOT / "models/security/nspk.wolf"), "--attacker", "replay,eavesdrop")
    assert nspk["attacker"] == {"capabilities": ["eavesdrop", "replay"], "limit": None, "typed": True}
    _code, central = _check(capsys, str(ROOT / "models/mutex/central_attacked.wolf"))
    assert central["attacker"] == {"capabilities": ["eavesdrop", "replay"], "limit": 2, "typed": None}
    _code, plain = _check(capsys, str(ROOT / "models/mutex/central.wolf"))
    assert plain["attacker"] is None


def test_errors_follow_the_schema(capsys):
    for name in ("malformed.wolf", "type_error.wolf", "runtime_error.wolf", "empty.wolf"):
        code, result = _check(capsys, str(ROOT / "tests/data" / name))
        assert code == 2
        jsonschema.validate(result, SCHEMA)


def test_identical_counterexamples_name_the_first(capsys):
    _code, nspk = _check(capsys, str(ROOT / "models/security/nspk.wolf"))
    same = {p["name"]: p["same_run_as"] for p in nspk["properties"] if p["verdict"] == "fails"}
    assert same == {"secret_Na": None, "secret_Nb": "secret_Na", "B_agrees_A": "secret_Na"}
