"""Mermaid and PlantUML text of every counterexample of the library: one participant per lane, one arrow per
message in the right style, the cycle as a loop block, the claim as a note, and model text that cannot break
out of its line (hostile names from tests/test_render.py)."""
from __future__ import annotations

import re

import pytest

from checker.output.sequence_text import mermaid, plantuml
from checker.output.trace import Trace
from library_charts import library_charts
from test_render import hostile_trace, lasso_trace, lossy_trace

CHARTS = library_charts()


@pytest.mark.parametrize("trace", [c.trace for c in CHARTS], ids=[c.name for c in CHARTS])
def test_mermaid_has_a_participant_per_lane_and_an_arrow_per_message(trace: Trace):
    text = mermaid(trace)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram" and lines[1].startswith("    title violated ")
    participants = [l for l in lines if l.startswith("    participant ")]
    assert len(participants) == len(set(trace.lanes) | {m.receiver for m in trace.messages})
    arrows = [l for l in lines if re.match(r"\s+\w+(->>|-->>|-x|-\))\w+: ", l)]
    assert len(arrows) == len(trace.messages)
    assert sum("-->>" in a for a in arrows) == sum(1 for m in trace.messages if m.capability and m.fate == "delivered")
    if trace.claim is not None:
        assert " ".join(f"claim {trace.claim.text} fails".split()) in text
    bare = [re.sub(r"#\d+;", "", l) for l in lines[1:]]
    assert not [l for l in bare if ";" in l or "#" in l or "%" in l], "model text is escaped"


@pytest.mark.parametrize("trace", [c.trace for c in CHARTS], ids=[c.name for c in CHARTS])
def test_plantuml_has_a_participant_per_lane_and_an_arrow_per_message(trace: Trace):
    lines = plantuml(trace).splitlines()
    assert lines[0] == "@startuml" and lines[-1] == "@enduml"
    participants = [l for l in lines if re.match(r'(participant|actor) "', l)]
    assert len(participants) == len(set(trace.lanes) | {m.receiver for m in trace.messages})
    arrows = [l for l in lines if re.match(r"\w+ (->|-->|->x|->o) \w+ : ", l)]
    assert len(arrows) == len(trace.messages)


def test_a_lasso_is_a_loop_block():
    text = mermaid(lasso_trace())
    assert "    loop steps 2 to 4 repeat forever" in text and "\n    end\n" in text
    assert text.index("loop") < text.index("2. ") and text.index("\n    end") > text.index("4. ")
    assert "loop steps 2 to 4 repeat forever" in plantuml(lasso_trace())


def test_lost_and_pending_messages_end_in_a_cross_or_stay_open():
    text = mermaid(lossy_trace())
    assert "P0-xP1: #35;1 ping(1) (lost)" in text
    assert "P0-)P1: #35;3 ping(3) (never received)" in text
    puml = plantuml(lossy_trace())
    assert "P0 ->x P1 : #1 ping(1) (lost)" in puml and "P0 ->o P1 : #3 ping(3) (never received)" in puml


def test_model_text_cannot_break_out_of_its_line():
    assert "<script>" not in mermaid(hostile_trace())
    puml = plantuml(hostile_trace())
    assert not re.search(r"(?<!~)<", puml.replace("@startuml", "")), "every < escaped with ~ in PlantUML"
    for text in (mermaid(hostile_trace()), puml):
        assert "\r" not in text
    assert "second line" in mermaid(hostile_trace()).splitlines()[5]  # a newline in a step stays on its line
