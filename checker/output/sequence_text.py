"""A counterexample as sequence-diagram text for documents: Mermaid (`sequenceDiagram`) and PlantUML.

People paste these into wikis, slides and papers, where the SVG chart cannot be edited. They say what the
chart says, within what the two languages can draw: a participant per lane (run, process, the attacker),
each step as a note over its lane, each message as an arrow when it is sent (Mermaid and PlantUML draw a
message in one row, so a message that overtakes another shows its number at both ends), injected messages
dashed and named by capability, lost ones ending in a cross, a lasso's cycle as a `loop` block, the failing
claim as a note. Pure functions of a `Trace`; model text is escaped for each language.
"""
from __future__ import annotations

from checker.output.trace import ATTACKER_KINDS, ATTACKER_LANE, Message, Step, Trace


def mermaid(trace: Trace) -> str:
    """The trace as a Mermaid `sequenceDiagram`."""
    names = _aliases(trace)
    lines = ["sequenceDiagram", f"    title {_mm(_title(trace))}"]
    lines += [f"    participant {names[lane]} as {_mm(_header(trace, lane))}" for lane in _lanes(trace)]
    indent = "    "
    for step in trace.steps:
        if trace.loop_start is not None and step.index == trace.loop_start:
            lines.append(f"    loop steps {trace.loop_start} to {trace.steps[-1].index} repeat forever")
            indent = "        "
        lines += [indent + line for line in _mermaid_step(trace, step, names)]
    if trace.loop_start is not None:
        lines.append("    end")
    if trace.claim is not None and trace.claim.lane in names:
        lines.append(f"    Note over {names[trace.claim.lane]}: {_mm('claim ' + trace.claim.text + ' fails')}")
    lines.append(f"    Note over {names[_lanes(trace)[0]]}: {_mm('violated: ' + trace.reason)}")
    return "\n".join(lines) + "\n"


def plantuml(trace: Trace) -> str:
    """The trace as a PlantUML sequence diagram (`@startuml` ... `@enduml`)."""
    names = _aliases(trace)
    lines = ["@startuml", f"title {_pu(_title(trace))}"]
    for lane in _lanes(trace):
        kind = "actor" if lane == ATTACKER_LANE else "participant"
        lines.append(f'{kind} "{_pu_name(_header(trace, lane))}" as {names[lane]}')
    for step in trace.steps:
        if trace.loop_start is not None and step.index == trace.loop_start:
            lines.append(f"loop steps {trace.loop_start} to {trace.steps[-1].index} repeat forever")
        lines += _plantuml_step(trace, step, names)
    if trace.loop_start is not None:
        lines.append("end")
    if trace.claim is not None and trace.claim.lane in names:
        lines.append(f"note over {names[trace.claim.lane]} #FDE2E2 : {_pu('claim ' + trace.claim.text + ' fails')}")
    lines.append(f"note over {names[_lanes(trace)[0]]} : {_pu('violated: ' + trace.reason)}")
    lines.append("@enduml")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- shared


def _lanes(trace: Trace) -> tuple[str, ...]:
    """The lanes in the chart's order, with any lane a step or message names but the trace does not list."""
    out = list(trace.lanes)
    for name in [s.actor for s in trace.steps if s.kind != "lose"] + [m.receiver for m in trace.messages]:
        if name not in out:
            out.append(name)
    return tuple(out) or ("model",)


def _aliases(trace: Trace) -> dict[str, str]:
    """Short identifiers for the lanes (`P0`, `P1`, `ATK`): lane names carry `#`, brackets and spaces."""
    return {lane: ("ATK" if lane == ATTACKER_LANE else f"P{k}") for k, lane in enumerate(_lanes(trace))}


def _header(trace: Trace, lane: str) -> str:
    """`alice as A#1 (talking to B = eve)`, `attacker (eve)`, `P[0]`."""
    if lane == ATTACKER_LANE:
        return f"attacker ({', '.join(trace.attackers)})" if trace.attackers else "attacker"
    run = trace.run(lane)
    if run is None or not run.partners:
        return lane
    partners = ", ".join(f"{role} = {who or '?'}" for role, who in run.partners)
    return f"{lane} ({'talking to' if set(run.chosen) >= {r for r, _w in run.partners} else 'believes'} {partners})"


def _title(trace: Trace) -> str:
    formula = f": {trace.formula}" if trace.formula and trace.formula != trace.property else ""
    return f"violated {trace.property}{formula} ({trace.model})"


def _step_words(trace: Trace, step: Step) -> str | None:
    """What a note over the step's lane says: the step, its capability, its engine note."""
    if step.kind == "lose":
        return None
    words = f"{step.index}. {step.kind.upper() + ': ' if step.kind in ATTACKER_KINDS else ''}{step.text}"
    if step.time:
        words += f" ({step.time if '=' in step.time else 't=' + step.time})"
    if step.note:
        words += f"; note: {step.note}"
    return words


def _message_words(msg: Message) -> str:
    words = f"#{msg.id} {msg.text}"
    if msg.capability:
        words += f" [{msg.capability}, as {msg.sender}]"
    if msg.addressee and msg.receiver == ATTACKER_LANE:
        words += f" (to {msg.addressee})"
    if msg.fate != "delivered":
        words += {"pending": " (never received)", "lost": " (lost)", "dropped": " (dropped)"}.get(msg.fate, "")
    return words


def _origin(trace: Trace, msg: Message) -> str:
    return next((s.actor for s in trace.steps if s.index == msg.sent_at), msg.sender)


# ------------------------------------------------------------------------------------------- Mermaid


def _mermaid_step(trace: Trace, step: Step, names: dict[str, str]) -> list[str]:
    arrows = {"lost": "-x", "pending": "-)", "injected": "-->>", "honest": "->>"}
    return [f"Note over {who}: {_mm(words)}" if src is None else f"{src}{arrows[kind]}{who}: {_mm(words)}"
            for src, kind, who, words in _events(trace, step, names)]


def _events(trace: Trace, step: Step, names: dict[str, str]) -> list[tuple[str | None, str, str, str]]:
    """What one step shows, as (sender, arrow kind, lane, words): the note over its lane (sender None), then
    an arrow per message it sends, of kind lost (or dropped), pending, injected or honest."""
    out: list[tuple[str | None, str, str, str]] = []
    words = _step_words(trace, step)
    if words is not None and step.actor in names:
        out.append((None, "note", names[step.actor], words))
    for msg_id in step.sends:
        msg = next((m for m in trace.messages if m.id == msg_id), None)
        if msg is None or msg.receiver not in names:
            continue
        kind = "lost" if msg.fate in ("lost", "dropped") else "pending" if msg.fate == "pending" else \
            "injected" if msg.capability else "honest"
        src = names.get(_origin(trace, msg), names.get(step.actor, "ATK"))
        out.append((src, kind, names[msg.receiver], _message_words(msg)))
    return out


def _mm(text: str) -> str:
    """Model text in a Mermaid line: one line, and the characters Mermaid reads as syntax as entity codes."""
    flat = " ".join(text.split())
    return "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in flat)


#: What Mermaid would read as syntax (an entity, the end of a statement, a comment, markup), as its codes.
_MERMAID_ESCAPES = {"#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "%": "#37;", "&": "#38;", "\"": "#34;"}


# ------------------------------------------------------------------------------------------ PlantUML


def _plantuml_step(trace: Trace, step: Step, names: dict[str, str]) -> list[str]:
    arrows = {"lost": "->x", "pending": "->o", "injected": "-->", "honest": "->"}
    return [f"hnote over {who} : {_pu(words)}" if src is None else f"{src} {arrows[kind]} {who} : {_pu(words)}"
            for src, kind, who, words in _events(trace, step, names)]


def _pu(text: str) -> str:
    """Model text after a PlantUML `:`: one line, backslashes doubled, Creole markup characters escaped
    with PlantUML's tilde."""
    flat = " ".join(text.split()).replace("\\", "\\\\")
    return "".join("~" + ch if ch in _PLANTUML_MARKUP else ch for ch in flat)


#: Characters that start Creole markup in PlantUML text (`**bold**`, `--struck--`, `<b>`), escaped with `~`.
_PLANTUML_MARKUP = frozenset('*/_-~"<')


def _pu_name(text: str) -> str:
    """A participant's display name between double quotes (which PlantUML cannot escape: they become two
    single quotes), its markup escaped as in `_pu`."""
    return _pu(text.replace('"', "''"))
