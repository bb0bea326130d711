"""The compact text of a formula (an expression of the syntax tree) in verdict lines: `x > 0 -> eventually y`.

A module of its own, needing only the syntax tree, so that the time constructs of security protocols
(dsl/timing.py) can write their checks without importing the compiler of process models (dsl/lower_props.py).
"""
from __future__ import annotations

from . import ast as A

_PRECEDENCE = {"->": 1, "or": 2, "and": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
               "not in": 4, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7}


def formula_operand(child: A.Expr, parent: A.BinOp, side: str) -> str:
    """A BinOp's operand as text, in parentheses where the precedence of the source needs them."""
    text = formula_text(child)
    if isinstance(child, A.BinOp):
        mine, theirs = _PRECEDENCE.get(child.op, 0), _PRECEDENCE.get(parent.op, 0)
        if mine < theirs or (mine == theirs and (side == "right" or child.op != parent.op)):
            return f"({text})"
    return text


def formula_text(e: A.Expr) -> str:
    """A compact rendering of a formula for verdict lines."""
    if isinstance(e, A.IntLit):
        return str(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.StrLit):
        return f'"{e.value}"'
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.BinOp):
        return f"{formula_operand(e.left, e, 'left')} {e.op} {formula_operand(e.right, e, 'right')}"
    if isinstance(e, A.Not):
        inner = formula_text(e.operand)
        return f"not ({inner})" if isinstance(e.operand, A.BinOp) else f"not {inner}"
    if isinstance(e, A.Neg):
        return f"-{formula_text(e.operand)}"
    if isinstance(e, A.Eventually):
        return f"eventually {formula_text(e.operand)}"
    if isinstance(e, A.Index):
        return f"{formula_text(e.target)}[{formula_text(e.index)}]"
    if isinstance(e, A.Field):
        return f"{formula_text(e.target)}.{e.name}"
    if isinstance(e, A.Call):
        return f"{e.func}({', '.join(formula_text(a) for a in e.args)})"
    if isinstance(e, A.TupleLit):
        return "(" + ", ".join(formula_text(a) for a in e.items) + ")"
    if isinstance(e, A.SetLit):
        return "{" + ", ".join(formula_text(a) for a in e.items) + "}"
    if isinstance(e, A.SeqLit):
        return "[" + ", ".join(formula_text(a) for a in e.items) + "]"
    if isinstance(e, A.MapLit):
        return "{" + ", ".join(f"{formula_text(k)}: {formula_text(v)}" for k, v in e.items) + "}"
    if isinstance(e, A.EmptyBraces):
        return "{}"
    if isinstance(e, A.RangeLit):
        return f"{formula_text(e.low)}..{formula_text(e.high)}"
    if isinstance(e, A.Comprehension):
        cond = f" where {formula_text(e.cond)}" if e.cond is not None else ""
        if e.kind == "count":
            return f"count({e.var} in {formula_text(e.source)}{cond})"
        if e.kind == "filter":
            return f"{{{e.var} in {formula_text(e.source)}{cond}}}"
        if e.kind in ("set", "map"):
            assert e.element is not None  # a set or map comprehension always builds an element
            element = formula_text(e.element)
            if e.kind == "map":
                return f"{{{e.var}: {element} for {e.var} in {formula_text(e.source)}}}"
            return f"{{{element} for {e.var} in {formula_text(e.source)}{cond}}}"
        body = formula_text(e.element) if e.element is not None else ""
        return f"{e.kind}({body} for {e.var} in {formula_text(e.source)}{cond})"
    return type(e).__name__
