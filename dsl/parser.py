"""Text to syntax tree: Lark (LALR) parses, a transformer builds dsl/ast.py nodes.

Parse errors become diagnostics that name what was expected in the user's words, not Lark's token names.
"""
from __future__ import annotations

import os
import stat
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from checker.records import replace

from . import ast as A
from .diagnostics import Diagnostic, ModelError, did_you_mean
from .limits import MAX_INT_DIGITS, MAX_TERM_DEPTH

GRAMMAR = Path(__file__).with_name("wolf.lark")
#: The largest model file wolf reads (the library's largest model is under 3 kB).
MAX_SOURCE_BYTES = 1_000_000

#: Lark's terminal names, in words a modeller recognises.
TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "STRING": "a string",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "SEMICOLON": "';'",
    "EQUAL": "'='",
    "DOT": "'.'",
    "CMP": "a comparison",
    "ADDOP": "'+' or '-'",
    "MULOP": "'*', '/' or '%'",
    "AUGOP": "'+=' or '-='",
    "MINUS": "'-'",
    "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True, maybe_placeholders=True,
                cache=True)  # the LALR tables are cached on disk: building them takes most of a second


def _span(meta_or_token) -> A.Span:
    if isinstance(meta_or_token, Token):
        return A.Span(meta_or_token.line or 0, meta_or_token.column or 0,
                      meta_or_token.end_line or 0, meta_or_token.end_column or 0)
    m = meta_or_token
    if getattr(m, "empty", True):
        return A.NO_SPAN
    return A.Span(m.line, m.column, m.end_line, m.end_column)


def _words(expected: set[str]) -> str:
    names = []
    for tok in sorted(expected):
        if tok in TOKEN_WORDS:
            names.append(TOKEN_WORDS[tok])
        elif tok.startswith("__ANON"):  # operators such as '->' and '..' have no name of their own
            pattern = _lark().get_terminal(tok).pattern
            if pattern.type == "str":
                names.append(f"'{pattern.value}'")
        elif tok.startswith("_"):
            continue
        else:
            pattern = _lark().get_terminal(tok).pattern
            names.append(f"'{pattern.value}'" if pattern.type == "str" else tok.lower())
    names = sorted(set(names), key=lambda w: (w.startswith("'"), w))  # "a name", "a number" first
    if not names:
        return "something else"
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


def _syntax_error(err: UnexpectedInput) -> Diagnostic:
    line, col = err.line or 1, err.column or 1
    if isinstance(err, UnexpectedCharacters):
        char = err.char
        return Diagnostic("E101", f"unexpected character {char!r}", A.Span(line, col, line, col + 1),
                          hint="names are letters, digits and '_'; comments start with '#'")
    if isinstance(err, UnexpectedEOF):
        return Diagnostic("E101", f"the file ends too early: expected {_words(set(err.expected))}",
                          A.Span(line, col, line, col + 1), hint="is a '}' or ')' missing?")
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    # `accepts` is what the parser really takes here; `expected` also lists the lookaheads that LALR state
    # merging adds (a ')' at the top level, say), which would mislead.
    expected = set(getattr(err, "accepts", None) or err.expected)
    if tok.type == "$END":
        return Diagnostic("E101", f"the file ends too early: expected {_words(expected)}",
                          A.Span(line, col, line, col + 1), hint="is a '}' or ')' missing?")
    width = max(1, len(str(tok)))
    hint = None
    keyword = did_you_mean(str(tok), _keywords(expected)) if tok.type == "NAME" else None
    if keyword is not None:
        hint = f"did you mean '{keyword}'?"
    elif tok.type == "NAME" and str(tok) in ("and", "or", "not", "in", "where", "for", "to", "when"):
        hint = f"'{tok}' is a keyword and cannot be used as a name"
    elif tok.type not in ("NAME", "INT") and str(tok).isidentifier() and "NAME" in expected:
        hint = f"'{tok}' is a keyword and cannot be used as a name"
    elif tok.type == "EQUAL" and "CMP" in expected:
        hint = "to compare two values write '=='; '=' only assigns, inside { ... }"
    elif "RBRACE" in expected and tok.type != "RBRACE":
        hint = "a statement or declaration may be incomplete, or a '}' is missing"
    shown = str(tok) if len(str(tok)) <= 40 else str(tok)[:37] + "..."
    return Diagnostic("E101", f"unexpected {shown!r}: expected {_words(expected)}",
                      A.Span(line, col, line, col + width), hint=hint)


def _keywords(expected: set[str]) -> list[str]:
    """The keywords among the tokens the parser would accept (`protocol`, `network`, ...)."""
    out = []
    for tok in expected:
        if tok.startswith("_") and not tok.startswith("__ANON"):
            continue
        try:
            pattern = _lark().get_terminal(tok).pattern
        except KeyError:
            continue
        if pattern.type == "str" and str(pattern.value).isidentifier():
            out.append(str(pattern.value))
    return out


def read_source(path: str) -> str:
    """Read a model file, refusing binary and empty files with a diagnostic instead of a traceback."""
    raw = _read_bytes(path)
    if b"\x00" in raw:
        raise ModelError([Diagnostic("E103", "this is a binary file, not a wolf model", A.NO_SPAN,
                                     hint="model files are UTF-8 text, usually named *.wolf")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ModelError([Diagnostic("E103", "the file is not valid UTF-8 text", A.Span(line, col, line, col + 1),
                                     hint="save the model as UTF-8")])
    return text[1:] if text.startswith("\ufeff") else text  # a byte-order mark some editors write


#: Characters that reorder the text around them on screen ("Trojan Source", CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refuse_bidi_controls(text: str) -> None:
    """A bidirectional control character anywhere, even in a comment, can make the model display differently
    from what wolf reads, as rustc and GCC warn: refused with its position, like an unexpected character."""
    for number, line in enumerate(text.split("\n"), start=1):
        for column, ch in enumerate(line, start=1):
            if ch in BIDI_CONTROLS:
                raise ModelError([Diagnostic(
                    "E101", f"invisible bidirectional control character {_char_name(ch)}",
                    A.Span(number, column, number, column + 1),
                    hint="it can make the text display in another order than wolf reads it; delete it")])


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X}" + (f" ({unicodedata.name(ch)})" if unicodedata.name(ch, "") else "")


def _read_bytes(path: str) -> bytes:
    """The bytes of a regular file of at most MAX_SOURCE_BYTES. Anything else is refused before it is read:
    a device such as /dev/zero never ends, and a named pipe would block until a writer comes (it is opened
    non-blocking, so even that open returns at once)."""
    def refuse(message: str, hint: str | None = None) -> ModelError:
        return ModelError([Diagnostic("E100", message, A.NO_SPAN, hint=hint)])
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise refuse(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a named pipe" if stat.S_ISFIFO(info.st_mode) \
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file"
            raise refuse(f"this is {kind}, not a model file", "wolf reads models from regular files (*.wolf)")
        chunks, size = [], 0
        while size <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, MAX_SOURCE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise refuse(f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > MAX_SOURCE_BYTES:
        raise refuse(f"the file is larger than {MAX_SOURCE_BYTES:,} bytes, the most wolf reads as a model",
                     "a model is a page or two of text: is this the right file?")
    return b"".join(chunks)


def parse(text: str) -> A.Model:
    """Parse model text into a syntax tree or raise ModelError with one diagnostic."""
    if not any(line.split("#", 1)[0].strip() for line in text.splitlines()):
        raise ModelError([Diagnostic("E102", "the model is empty: it declares nothing", A.Span(1, 1, 1, 1),
                                     hint="a model needs at least one `process` (see docs/language.md)")])
    _refuse_bidi_controls(text)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        raise ModelError([_misspelt_statement(_syntax_error(err), text)]) from None
    return _Builder().transform(tree)


def _misspelt_statement(diag: Diagnostic, text: str) -> Diagnostic:
    """A hint for a misspelt keyword that opens the offending line (`sesions 2` reads as a name followed by
    something unexpected), when the error has no better hint."""
    lines = text.splitlines()
    if diag.hint is not None or not 0 < diag.span.line <= len(lines):
        return diag
    words = lines[diag.span.line - 1].split("#", 1)[0].split()
    keywords = {str(t.pattern.value) for t in _lark().terminals
                if t.pattern.type == "str" and str(t.pattern.value).isidentifier()}
    if not words or words[0] in keywords:
        return diag
    guess = did_you_mean(words[0], keywords)
    return replace(diag, hint=f"did you mean '{guess}'?") if guess else diag


# ---------------------------------------------------------------------------------------------- tree -> AST
@v_args(meta=True)
class _Builder(Transformer):
    """Builds AST nodes bottom-up. Chained binary rules arrive as flat lists (operand, op, operand, ...)."""

    # ---- expressions
    def int_lit(self, meta, c):
        return A.IntLit(_integer(c[0]), span=_span(meta))

    def true_lit(self, meta, c):
        return A.BoolLit(True, span=_span(meta))

    def false_lit(self, meta, c):
        return A.BoolLit(False, span=_span(meta))

    def string_lit(self, meta, c):
        return A.StrLit(_string(c[0]), span=_span(meta))

    def name(self, meta, c):
        return A.Name(str(c[0]), span=_span(meta))

    def _chain(self, meta, c, op=None):
        if len(c) == 1:
            return c[0]
        left = c[0]
        if op is None:  # operands and operator tokens alternate
            for i in range(1, len(c), 2):
                left = A.BinOp(str(c[i]), left, c[i + 1], span=_span(meta))
        else:
            for right in c[1:]:
                left = A.BinOp(op, left, right, span=_span(meta))
        return left

    def arith(self, meta, c):
        return self._chain(meta, c)

    def or_op(self, meta, c):
        return self._chain(meta, c, "or")

    def and_op(self, meta, c):
        return self._chain(meta, c, "and")

    def implies_op(self, meta, c):
        c = [x for x in c if x is not None]
        return c[0] if len(c) == 1 else A.BinOp("->", c[0], c[1], span=_span(meta))

    def not_op(self, meta, c):
        return A.Not(c[0], span=_span(meta))

    def eventually_op(self, meta, c):
        return A.Eventually(c[0], span=_span(meta))

    def neg(self, meta, c):
        return A.Neg(c[0], span=_span(meta))

    def compare(self, meta, c):
        return A.BinOp(str(c[1]), c[0], c[2], span=_span(meta))

    def member(self, meta, c):
        return A.BinOp("in", c[0], c[1], span=_span(meta))

    def not_member(self, meta, c):
        return A.BinOp("not in", c[0], c[1], span=_span(meta))

    def range_lit(self, meta, c):
        return A.RangeLit(c[0], c[1], span=_span(meta))

    def index(self, meta, c):
        return A.Index(c[0], c[1], span=_span(meta))

    def field(self, meta, c):
        return A.Field(c[0], str(c[1]), span=_span(meta))

    def tuple_lit(self, meta, c):
        return A.TupleLit(tuple(c), span=_span(meta))

    def empty_braces(self, meta, c):
        return A.EmptyBraces(span=_span(meta))

    def set_lit(self, meta, c):
        return A.SetLit(tuple(c), span=_span(meta))

    def seq_lit(self, meta, c):
        return A.SeqLit(tuple(x for x in c if x is not None), span=_span(meta))

    def map_lit(self, meta, c):
        return A.MapLit(tuple((c[i], c[i + 1]) for i in range(0, len(c), 2)), span=_span(meta))

    def set_comp(self, meta, c):
        element, var, source, cond = c
        return A.Comprehension("set", str(var), source, element, cond, span=_span(meta))

    def map_comp(self, meta, c):
        key, value, var, source = c
        if not (isinstance(key, A.Name) and key.id == str(var)):
            raise _AstError(Diagnostic("E401", "a map comprehension is written {k: value for k in S}",
                                       key.span, hint=f"use the loop variable {var} as the key"))
        return A.Comprehension("map", str(var), source, value, None, span=_span(meta))

    def set_filter(self, meta, c):
        binder, cond = c
        var, source = _binder(binder)
        return A.Comprehension("filter", var, source, None, cond, span=_span(meta))

    def plain_args(self, meta, c):
        return ("plain", tuple(c))

    def gen_args(self, meta, c):
        element, var, source, cond = c
        return ("gen", element, str(var), source, cond)

    def where_args(self, meta, c):
        binder, cond = c
        var, source = _binder(binder)
        return ("where", var, source, cond)

    def call(self, meta, c):
        func = str(c[0])
        args: tuple[Any, ...] = c[1] if c[1] is not None else ("plain", ())
        span = _span(meta)
        if args[0] == "plain":
            return A.Call(func, args[1], span=span)
        if func not in ("all", "any", "count", "sum", "min", "max"):
            raise _AstError(Diagnostic("E401", f"'{func}' does not take a generator",
                                       span, hint="generators work with all, any, count, sum, min and max"))
        if args[0] == "gen":
            _, element, var, source, cond = args
            if func == "count":
                raise _AstError(Diagnostic("E401", "count is written count(x in S where condition)", span))
            return A.Comprehension(func, var, source, element, cond, span=span)
        _, var, source, cond = args
        if func != "count":
            raise _AstError(Diagnostic("E401", f"{func} is written {func}(expression for x in S)", span))
        return A.Comprehension("count", var, source, None, cond, span=span)

    # ---- types
    def simple_type(self, meta, c):
        return A.TypeExpr(str(c[0]), (), _span(meta))

    def generic_type(self, meta, c):
        return A.TypeExpr(str(c[0]), tuple(c[1:]), _span(meta))

    def tuple_type(self, meta, c):
        return A.TypeExpr("tuple", tuple(c), _span(meta))

    # ---- statements
    def block(self, meta, c):
        return tuple(c)

    def lvalue(self, meta, c):
        return (str(c[0]), tuple(c[1:]), _span(meta))

    def assign(self, meta, c):
        name, idx, _ = c[0]
        return A.Assign(name, idx, "=", c[1], span=_span(meta))

    def aug_assign(self, meta, c):
        name, idx, _ = c[0]
        return A.Assign(name, idx, str(c[1]), c[2], span=_span(meta))

    def proc_target(self, meta, c):
        return A.ProcTarget(str(c[0]), c[1] if len(c) > 1 else None, _span(meta))

    def send_stmt(self, meta, c):
        return A.Send(str(c[0]), tuple(x for x in c[1:-1] if x is not None), c[-1], span=_span(meta))

    def broadcast_stmt(self, meta, c):
        fam = c[-1]
        return A.Broadcast(str(c[0]), tuple(x for x in c[1:-1] if x is not None),
                           str(fam) if fam is not None else None, span=_span(meta))

    def if_stmt(self, meta, c):
        orelse = c[-1] if c[-1] is not None else ()
        body = c[:-1]
        branches = tuple((body[i], body[i + 1]) for i in range(0, len(body), 2))
        return A.If(branches, orelse, span=_span(meta))

    def for_stmt(self, meta, c):
        return A.For(str(c[0]), c[1], c[2], span=_span(meta))

    def goto_stmt(self, meta, c):
        return A.Goto(str(c[0]), span=_span(meta))

    def skip_stmt(self, meta, c):
        return A.Skip(span=_span(meta))

    # ---- declarations
    def param(self, meta, c):
        return A.Param(str(c[0]), c[1], _span(meta))

    def message_decl(self, meta, c):
        return A.MessageDecl(str(c[0]), tuple(x for x in c[1:] if x is not None), _span(meta))

    def var_decl(self, meta, c):
        return A.VarDecl(str(c[0]), c[1], c[2], _span(meta))

    def state_decl(self, meta, c):
        return ("states", tuple(str(x) for x in c), tuple(_span(x) for x in c))

    def final_decl(self, meta, c):
        return ("finals", tuple(str(x) for x in c), _span(meta))

    def label(self, meta, c):
        return str(c[0])

    def transition(self, meta, c):
        src, dst, label, guard, body = c
        return A.Transition(str(src), str(dst), label, guard, body or (), _span(meta))

    def from_clause(self, meta, c):
        return str(c[0])

    def in_states(self, meta, c):
        return tuple(str(x) for x in c)

    def handler(self, meta, c):
        name = str(c[0])
        body = c[-1]
        guard = c[-2]
        states = c[-3] or ()
        sender = c[-4]
        params = tuple(str(x) for x in c[1:-4] if x is not None)
        return A.Handler(name, params, sender, states, guard, body, _span(meta))

    def family(self, meta, c):
        return ("family", str(c[0]), c[1])

    def process_decl(self, meta, c):
        name = str(c[0])
        fam = c[1][1:] if len(c) > 1 and isinstance(c[1], tuple) and c[1][0] == "family" else None
        members = c[2:] if fam is not None else c[1:]
        vars_, states, state_spans, finals, transitions, handlers = [], [], [], [], [], []
        for m in members:
            if isinstance(m, A.VarDecl):
                vars_.append(m)
            elif isinstance(m, A.Transition):
                transitions.append(m)
            elif isinstance(m, A.Handler):
                handlers.append(m)
            elif isinstance(m, tuple) and m[0] == "states":
                states.extend(m[1])
                state_spans.extend(m[2])
            elif isinstance(m, tuple) and m[0] == "finals":
                finals.extend(m[1])
        return A.ProcessDecl(name, fam[0] if fam else None, fam[1] if fam else None, tuple(vars_), tuple(states),
                             tuple(finals), tuple(transitions), tuple(handlers), _span(meta), tuple(state_spans))

    def const_decl(self, meta, c):
        return A.ConstDecl(str(c[0]), c[1], _span(meta))

    def model_decl(self, meta, c):
        return ("model", str(c[0]))

    def network_decl(self, meta, c):
        return ("network", tuple(str(x) for x in c), _span(meta))

    def attacker_limit(self, meta, c):
        return ("attacker_limit", c[0])

    def attacker_decl(self, meta, c):
        return ("attacker", tuple(str(x) for x in c), _span(meta))

    def crash_decl(self, meta, c):
        return A.CrashDecl(c[0], c[1] if len(c) > 1 else None, _span(meta))

    def cmp_tail(self, meta, c):
        return (str(c[0]), c[1])

    def always(self, meta, c):
        return ("always", c[0])

    def eventually(self, meta, c):
        return ("eventually", c[0])

    def messages_per(self, meta, c):
        return ("messages_per", str(c[0]), str(c[1]), c[2])

    def check_decl(self, meta, c):
        name, body = str(c[0]), c[1]
        span = _span(meta)
        if body is None:
            return A.CheckDecl(name, "deadlock_free" if name == "deadlock_free" else "missing", span=span)
        if body[0] == "messages_per":
            _, fam, state, (op, bound) = body
            return A.CheckDecl(name, "messages_per", family=fam, state=state, op=op, bound=bound, span=span)
        return A.CheckDecl(name, body[0], formula=body[1], span=span)

    # ---- security protocols: narrations and scenarios
    def t_name(self, meta, c):
        return A.TName(str(c[0]), span=_span(meta))

    def t_string(self, meta, c):
        return A.TString(_string(c[0]), span=_span(meta))

    def t_call(self, meta, c):
        return _shallow(A.TCall(str(c[0]), c[1], span=_span(meta)))

    def t_enc(self, meta, c):
        return _shallow(A.TEnc(c[0], c[1], span=_span(meta)))

    def t_paren(self, meta, c):
        items = c[0]
        return items[0] if len(items) == 1 else _shallow(A.TTuple(items, span=_span(meta)))

    def term_list(self, meta, c):
        return tuple(c)

    def roles_decl(self, meta, c):
        return ("roles", tuple(str(x) for x in c), _span(meta))

    def knows_decl(self, meta, c):
        return A.KnowsDecl(str(c[0]), c[1], _span(meta))

    def narr_msg(self, meta, c):
        return A.NarrationMsg(str(c[0]), str(c[1]), c[2], _span(meta))

    def sort_kw(self, meta, c):
        return str(c[0])

    def sort_decl(self, meta, c):
        return ("sorts", tuple((str(x), c[0], _span(x)) for x in c[1:]))

    def secret_decl(self, meta, c):
        return ("secrets", tuple((str(x), _span(x)) for x in c))

    def secret_goal(self, meta, c):
        return A.GoalDecl("secret", terms=(c[0],), span=_span(meta))

    def goal_decl(self, meta, c):
        return ("goals", tuple(c))

    def _agreement(self, kind, meta, c):
        terms = c[2] if len(c) > 2 and c[2] is not None else ()
        return ("goals", (A.GoalDecl(kind, str(c[0]), str(c[1]), terms, _span(meta)),))

    def goal_agree(self, meta, c):
        return self._agreement("agree", meta, c)

    def goal_niagree(self, meta, c):
        return self._agreement("niagree", meta, c)

    def goal_wagree(self, meta, c):
        return self._agreement("wagree", meta, c)

    def goal_alive(self, meta, c):  # `goal A alive for B`: B is the one who claims
        return ("goals", (A.GoalDecl("alive", str(c[1]), str(c[0]), (), _span(meta)),))

    def protocol_decl(self, meta, c):
        roles, roles_span, knows, msgs, goals, secrets = (), A.NO_SPAN, [], [], [], []
        sorts: list[Any] = []
        timing, counters = [], []
        for item in c:
            if isinstance(item, A.KnowsDecl):
                knows.append(item)
            elif isinstance(item, A.NarrationMsg):
                msgs.append(item)
            elif isinstance(item, A.TimeCheckDecl):  # guards the message line written before it
                timing.append(A.TimeCheckDecl(item.kind, item.role, item.value, item.expr, len(msgs), item.span))
            elif item[0] == "counters":  # a counter's values are numbers
                counters.extend(item[1])
                sorts.extend((name, "number", span) for name, span in item[1])
            elif item[0] == "roles":
                roles, roles_span = roles + item[1], item[2]
            elif item[0] == "goals":
                goals.extend(item[1])
            elif item[0] == "sorts":
                sorts.extend(item[1])
            elif item[0] == "secrets":
                secrets.extend(item[1])
        return A.ProtocolDecl(roles, roles_span, tuple(knows), tuple(msgs), tuple(goals), tuple(sorts),
                              tuple(secrets), _span(meta), tuple(timing), tuple(counters))

    def time_check(self, meta, c):
        return A.TimeCheckDecl("check", None, None, self._chain(meta, list(c), "and"), 0, _span(meta))

    def check_cmp(self, meta, c):
        return A.BinOp(str(c[1]), c[0], c[2], span=_span(meta))

    def check_sum(self, meta, c):
        return self._chain(meta, c)

    def check_term(self, meta, c):
        return self._chain(meta, c)

    def check_int(self, meta, c):
        return A.IntLit(_integer(c[0]), span=_span(meta))

    def check_name(self, meta, c):
        return A.Name(str(c[0]), span=_span(meta))

    def check_call(self, meta, c):
        return A.Call(str(c[0]), (A.Name(str(c[1]), span=_span(c[1])),), span=_span(meta))

    def check_neg(self, meta, c):
        return A.Neg(c[0], span=_span(meta))

    def accepts_within(self, meta, c):
        return A.TimeCheckDecl("within", str(c[0]), str(c[1]), c[2], 0, _span(meta))

    def accepts_lifetime(self, meta, c):
        return A.TimeCheckDecl("lifetime", str(c[0]), str(c[1]), c[2], 0, _span(meta))

    def accepts_increasing(self, meta, c):
        return A.TimeCheckDecl("increasing", str(c[0]), str(c[1]), None, 0, _span(meta))

    def counter_decl(self, meta, c):
        return ("counters", tuple((str(x), _span(x)) for x in c))

    def skew_decl(self, meta, c):
        tok = c[0]
        return ("skew", (_integer(tok) if tok.type == "INT" else str(tok), _span(tok)))

    def pace_decl(self, meta, c):
        tok = c[0]
        return ("pace", (_integer(tok) if tok.type == "INT" else str(tok), _span(tok)))

    def cache_decl(self, meta, c):
        return self._names("cache", c)

    def _names(self, tag, c):
        return (tag, tuple((str(x), _span(x)) for x in c))

    def honest_decl(self, meta, c):
        return self._names("honest", c)

    def compromised_decl(self, meta, c):
        return self._names("compromised", c)

    def reveal_decl(self, meta, c):
        return self._names("reveal", c)

    def sessions_decl(self, meta, c):
        tok = c[0]
        return ("sessions", (_integer(tok) if tok.type == "INT" else str(tok), _span(tok)))

    def run_decl(self, meta, c):
        return A.RunDecl(str(c[0]), tuple(str(x) for x in c[1:] if x is not None), _span(meta))

    def played_decl(self, meta, c):
        return ("played", (str(c[0]), tuple(str(x) for x in c[1:]), _span(meta)))

    def untyped_decl(self, meta, c):
        return ("untyped",)

    def scenario_decl(self, meta, c):
        honest, compromised, runs, reveals, played = [], [], [], [], []
        sessions, attacker, attacker_span, untyped = None, None, A.NO_SPAN, False
        skew, pace, caches = None, None, []
        for item in c:
            if isinstance(item, A.RunDecl):
                runs.append(item)
            elif item[0] == "honest":
                honest.extend(item[1])
            elif item[0] == "compromised":
                compromised.extend(item[1])
            elif item[0] == "reveal":
                reveals.extend(item[1])
            elif item[0] == "sessions":
                sessions = item[1]
            elif item[0] == "attacker":
                attacker, attacker_span = (attacker or ()) + item[1], item[2]
            elif item[0] == "untyped":
                untyped = True
            elif item[0] == "played":
                played.append(item[1])
            elif item[0] == "skew":
                skew = item[1]
            elif item[0] == "pace":
                pace = item[1]
            elif item[0] == "cache":
                caches.extend(item[1])
        return A.ScenarioDecl(tuple(honest), tuple(compromised), sessions, tuple(runs), tuple(reveals), attacker,
                              attacker_span, untyped, _span(meta), tuple(played), skew, pace, tuple(caches))

    def start(self, meta, c):
        name, network, network_span, attacker, attacker_span = None, (), A.NO_SPAN, None, A.NO_SPAN
        consts, crashes, messages, procs, checks = [], [], [], [], []
        protocol, scenario, limit = None, None, None
        for item in c:
            if isinstance(item, A.ProtocolDecl):
                protocol = item
                continue
            if isinstance(item, A.ScenarioDecl):
                scenario = item
                continue
            if isinstance(item, A.ConstDecl):
                consts.append(item)
            elif isinstance(item, A.CrashDecl):
                crashes.append(item)
            elif isinstance(item, A.MessageDecl):
                messages.append(item)
            elif isinstance(item, A.ProcessDecl):
                procs.append(item)
            elif isinstance(item, A.CheckDecl):
                checks.append(item)
            elif item[0] == "model":
                name = item[1]
            elif item[0] == "network":
                network, network_span = network + item[1], item[2]
            elif item[0] == "attacker":
                attacker, attacker_span = (attacker or ()) + item[1], item[2]
            elif item[0] == "attacker_limit":
                limit = item[1]
        return A.Model(name, tuple(consts), network, network_span, attacker, attacker_span, tuple(crashes),
                       tuple(messages), tuple(procs), tuple(checks), protocol, scenario, limit)


class _AstError(Exception):
    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def _term_depth(t: A.TermExpr, limit: int) -> int:
    """How deeply `t` nests (1 for a name), counted no further than `limit` + 1."""
    if limit < 0:
        return 1
    inner: tuple[A.TermExpr, ...] = ()
    if isinstance(t, A.TCall):
        inner = t.args
    elif isinstance(t, A.TEnc):
        inner = t.body + (t.key,)
    elif isinstance(t, A.TTuple):
        inner = t.items
    return 1 + max((_term_depth(x, limit - 1) for x in inner), default=0)


def _shallow(t: A.TermExpr) -> A.TermExpr:
    """A message term, refused when it nests deeper than MAX_TERM_DEPTH: real protocols nest a few levels,
    and the attacker's analysis of a term recurses once per level."""
    if _term_depth(t, MAX_TERM_DEPTH) > MAX_TERM_DEPTH:
        raise _AstError(Diagnostic("E101", f"this message term is nested more than {MAX_TERM_DEPTH} levels deep",
                                   t.span, hint="real protocols nest encryptions and functions a few levels"))
    return t


def _integer(tok: Token) -> int:
    """An INT token's value; longer numbers than dsl/limits.py allows are refused (Python itself will not
    convert more than 4,300 digits, and no model needs them)."""
    text = str(tok)
    if len(text) > MAX_INT_DIGITS:
        raise _AstError(Diagnostic("E101", f"this number has {len(text):,} digits, more than the {MAX_INT_DIGITS:,} "
                                           f"wolf reads", _span(tok), hint="no model needs numbers this large"))
    return int(text)


def _string(tok: Token) -> str:
    """A STRING token's text. Invisible format characters (zero-width spaces and joiners, soft hyphens) are
    refused: two strings that print alike in a counterexample would be different values."""
    text = str(tok)[1:-1]
    for k, ch in enumerate(text):
        if unicodedata.category(ch) == "Cf":
            col = (tok.column or 0) + 1 + k
            raise _AstError(Diagnostic("E101", f"invisible character {_char_name(ch)} in a string",
                                       A.Span(tok.line or 0, col, tok.line or 0, col + 1),
                                       hint="strings are shown in traces and charts: use visible characters"))
    return text


def _binder(expr: A.Expr) -> tuple[str, A.Expr]:
    """`x in S` written before `where` binds x over S."""
    if isinstance(expr, A.BinOp) and expr.op == "in" and isinstance(expr.left, A.Name):
        return expr.left.id, expr.right
    raise _AstError(Diagnostic("E401", "expected `x in S` before `where`", expr.span,
                               hint="for example {q in queue where q[1] == j}"))


def parse_model(text: str) -> A.Model:
    """Parse, turning AST construction errors into ModelError like syntax errors."""
    try:
        return parse(text)
    except _AstError as err:
        raise ModelError([err.diag]) from None
    except Exception as err:  # lark wraps transformer exceptions
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, _AstError):
            raise ModelError([inner.diag]) from None
        if isinstance(err, RecursionError) or isinstance(inner, RecursionError):
            raise ModelError([_TOO_DEEP]) from None
        raise


_TOO_DEEP = Diagnostic("E101", "the model is nested too deeply to read (about 100 levels of parentheses, "
                               "blocks or operators)", A.NO_SPAN, hint="split the expression or block")
