"""Source text → AST. One cached LALR parser; a Transformer that only builds nodes with spans.

Lark's own error text never reaches a user: `parse` turns it into a diagnostic that names the
token found, what would have been valid there, and where.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import re
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dsl import ast
from dsl.diagnostics import PlmrError, Source, Span, error

GRAMMAR = Path(__file__).with_name("grammar.lark")

# Words the grammar reserves; a test checks this list against the grammar's keywords.
RESERVED = frozenset(
    "kernel mesh layout agent problem return for on reduce param state update inf "
    "sum max min prod f16 bf16 f32 f64 i32".split()
)


@functools.cache
def _lark() -> Lark:
    # cache=True keeps the LALR tables in a temp file keyed by the grammar's hash: building them
    # takes ~0.3 s, loading them ~0.01 s, and `plmr check` should start in a fraction of a second.
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=True, cache=True)


def parse(text: str, name: str = "<string>") -> ast.Module:
    """Parse one source file; on bad input raise PlmrError with the first syntax error of every
    declaration that has one."""
    source = Source(name, text)
    with _no_gc():
        try:
            tree = _lark().parse(text)
        except UnexpectedInput as exc:
            raise PlmrError(_syntax_errors(source, exc)) from None
        return _Build(source).transform(tree)


DECLARATION_START = re.compile(r"^(?:kernel|mesh|layout|agent|problem)\b", re.MULTILINE)
MAX_SYNTAX_ERRORS = 20


def _syntax_errors(source: Source, first: UnexpectedInput) -> list:
    """The first error, then one per later declaration: parsing resumes at the next line that starts
    a declaration after each error (with the text before it blanked, so positions stay true), so
    one mistake gives one message and the declarations after it are still read."""
    found = _syntax_error(source, first).diagnostics
    last, resumed_at = first, 0
    while len(found) < MAX_SYNTAX_ERRORS:
        resume = next((m.start() for m in DECLARATION_START.finditer(source.text, _position(last))
                       if m.start() > resumed_at), None)
        if resume is None:
            break
        blanked = re.sub(r"[^\n]", " ", source.text[:resume]) + source.text[resume:]
        try:
            _lark().parse(blanked)
            break
        except UnexpectedInput as exc:
            last, resumed_at = exc, resume
            found.extend(_syntax_error(source, exc).diagnostics)
    return found


def _position(exc: UnexpectedInput) -> int:
    """Where in the text an error was found (the end of the text when it ran out)."""
    if isinstance(exc, UnexpectedCharacters):
        return exc.pos_in_stream
    token = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or token is None or token.type == "$END":
        return 1 << 62
    return token.start_pos


@contextlib.contextmanager
def _no_gc():
    """The cycle collector off while a parse allocates its many small objects (none of them cyclic
    garbage): 3x faster on large files (benchmarks/bench_frontend.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- the tree builder


def _span_of(source: Source, meta_or_token) -> Span | None:
    start = getattr(meta_or_token, "start_pos", None)
    if start is None:
        return None
    return Span(source, start, meta_or_token.end_pos)


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"[0-9]+", text) else float(text)


def _binary_builder(op: str):
    def build(self, meta, left, right):
        return ast.Binary(op, left, right, self._s(meta))
    return build


@v_args(meta=True, inline=True)
class _Build(Transformer):
    """One method per grammar rule; each returns a node carrying its span, nothing more."""

    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _s(self, meta) -> Span | None:
        return _span_of(self.source, meta) if not getattr(meta, "empty", False) else None

    def start(self, meta, *decls):
        return ast.Module(tuple(decls), self._s(meta))

    def ident(self, meta, token):
        return ast.Ident(str(token), self._s(meta))

    # kernels
    def kernel(self, meta, name, *rest):
        *items, results, returns = _split_kernel(rest)
        params, body = items
        return ast.Kernel(name, params, results, body, returns, self._s(meta))

    def param(self, meta, name, type_):
        return ast.Param(name, type_, self._s(meta))

    def results(self, meta, *types):
        return tuple(types)

    def type(self, meta, dtype, *dims):
        dims = () if dims == (None,) else dims
        return ast.TensorType(dtype, tuple(dims), self._s(meta))

    def dtype(self, meta, token):
        return str(token)

    def assign(self, meta, target, *rest):
        *indices, value = rest
        indices = () if indices == [None] else tuple(indices)
        return ast.Assign(target, indices, value, self._s(meta))

    def return_stmt(self, meta, *names):
        return ("return", tuple(names))

    # expressions
    def number(self, meta, token):
        return ast.Num(_number(str(token)), self._s(meta))

    def infinity(self, meta):
        return ast.Num(math.inf, self._s(meta))

    def name(self, meta, ident):
        return ast.Name(ident.name, self._s(meta))

    def access(self, meta, tensor, *indices):
        return ast.Access(tensor, tuple(indices), self._s(meta))

    def call(self, meta, func, *args):
        args = () if args == (None,) else args
        return ast.Call(func, tuple(args), self._s(meta))

    def neg(self, meta, operand):
        return ast.Unary("-", operand, self._s(meta))

    add, sub, mul, div, pow = (_binary_builder(op) for op in ("+", "-", "*", "/", "**"))

    def compare(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, self._s(meta))

    def reduction(self, meta, op, *rest):
        *indices, body = rest
        return ast.Reduce(op, tuple(indices), body, self._s(meta))

    def red_op(self, meta, token):
        return str(token)

    # meshes and layouts
    def mesh(self, meta, name, *props):
        return ast.Mesh(name, tuple(props), self._s(meta))

    def mesh_prop(self, meta, name, token):
        span = _span_of(self.source, token)
        if token.type == "GRID":
            return ast.MeshProp(name, _grid(token, span), self._s(meta))
        return ast.MeshProp(name, _quantity(str(token), span), self._s(meta))

    def layout(self, meta, name, kernel, mesh, grid, *items):
        grid = None if grid is None else _grid(grid, _span_of(self.source, grid))
        placements = tuple(i for i in items if isinstance(i, ast.Placement))
        settings = tuple(i for i in items if isinstance(i, ast.Setting))
        return ast.Layout(name, kernel, mesh, grid, placements, settings, self._s(meta))

    def placement(self, meta, tensor, *dims):
        return ast.Placement(tensor, tuple(dims), self._s(meta))

    def dim_map(self, meta, index, axis):
        return ast.DimMap(index, axis, self._s(meta))

    def setting(self, meta, key, strategy):
        return ast.Setting(key, None, strategy[0], strategy[1], self._s(meta))

    def reduce_setting(self, meta, index, strategy):
        key = ast.Ident("reduce", self._s(meta))
        return ast.Setting(key, index, strategy[0], strategy[1], self._s(meta))

    def strategy(self, meta, name, *args):
        args = () if args == (None,) else args
        return (name, tuple(int(a) for a in args))

    # problems
    def problem(self, meta, name, *fields):
        return ast.Problem(name, tuple(fields), self._s(meta))

    def problem_field(self, meta, name, value):
        if isinstance(value, Token) and value.type == "STRING":
            value = ast.Text(str(value)[1:-1], _span_of(self.source, value))
        elif isinstance(value, Token):
            value = _quantity(str(value), _span_of(self.source, value))
        return ast.ProblemField(name, value, self._s(meta))

    def target(self, meta, name, grid):
        grid = None if grid is None else _grid(grid, _span_of(self.source, grid))
        return ast.Target(name, grid, self._s(meta))

    def sizes(self, meta, *sizes):
        return ast.Sizes(tuple(sizes), self._s(meta))

    def size(self, meta, name, value):
        return (name, int(value))

    # agents
    def agent(self, meta, name, option, actions, *items):
        return ast.Agent(name, option, int(actions), tuple(items), self._s(meta))

    def param_decl(self, meta, name, constraint, low, high, default):
        bounds = None if low is None else (low, high)
        return ast.ParamDecl(name, constraint, bounds, default, self._s(meta))

    def state_decl(self, meta, name, *rest):
        *indices, init = rest
        indices = () if indices == [None] else tuple(indices)
        return ast.StateDecl(name, indices, init, self._s(meta))

    def update(self, meta, *items):
        params = tuple(i for i in items if isinstance(i, ast.TypedName))
        body = tuple(i for i in items if isinstance(i, ast.Assign))
        return ast.Update(params, body, self._s(meta))

    def typed_name(self, meta, name, type_):
        return ast.TypedName(name, type_, self._s(meta))

    def signed(self, meta, token):
        return float(token)

    def negative(self, meta, token):
        return -float(token)


def _split_kernel(rest) -> tuple:
    """Kernel children after the name: params…, results, assigns…, ("return", names)."""
    rest = list(rest)
    returns = rest.pop()[1]
    results_at = next(i for i, item in enumerate(rest) if isinstance(item, tuple))
    params = tuple(p for p in rest[:results_at] if p is not None)
    body = tuple(rest[results_at + 1:])
    return params, body, rest[results_at], returns


def _grid(token: Token, span: Span | None) -> ast.Grid:
    rows, cols = re.split(r"\s*x\s*", str(token))
    return ast.Grid(int(rows), int(cols), span)


def _quantity(text: str, span: Span | None) -> ast.Quantity:
    m = re.fullmatch(r"([0-9.eE+-]+?)(?:[ \t]*(/?[ \t]*[A-Za-z]+(?:/[A-Za-z]+)?))?", text)
    number, unit = m.group(1), m.group(2)
    unit = None if unit is None else re.sub(r"[ \t]+", "", unit)
    return ast.Quantity(_number(number), unit, span)


# ---------------------------------------------------------------- syntax errors

_TOKEN_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "INT": "an integer", "GRID": "a grid size like 64 x 64",
    "QUANTITY": "a number with a unit", "CMP": "a comparison", "LSQB": "'['", "RSQB": "']'",
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "COMMA": "','", "COLON": "':'",
    "EQUAL": "'='", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'",
    "AT": "'@'", "$END": "the end of the file",
}


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_WORDS:
        return _TOKEN_WORDS[terminal]
    pattern = _lark().get_terminal(terminal).pattern.value if terminal in _terminal_names() else terminal
    return f"'{pattern}'"


@functools.cache
def _terminal_names() -> frozenset[str]:
    return frozenset(t.name for t in _lark().terminals)


def _expected(exc: UnexpectedInput) -> str:
    terminals = set(getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ())
    if {"NAME", "NUMBER"} <= terminals:
        return "expected an expression"
    expected = sorted({_describe(t) for t in terminals})
    if not expected:
        return ""
    if len(expected) > 6:
        expected = expected[:6] + ["…"]
    return "expected " + ", ".join(expected)


def _syntax_error(source: Source, exc: UnexpectedInput) -> PlmrError:
    if isinstance(exc, UnexpectedCharacters):
        span = Span(source, exc.pos_in_stream, exc.pos_in_stream + 1)
        char = source.text[exc.pos_in_stream]
        return error("E001", f"unexpected character {char!r}", span,
                     help="plmr source uses names, numbers, operators and brackets; remove this character")
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        end = len(source.text.rstrip())
        span = Span(source, max(0, end - 1), max(1, end))
        return error("E002", "the file ends too early", span,
                     help=f"{_expected(exc)}; is a closing '}}' or ')' missing?")
    token = exc.token
    span = Span(source, token.start_pos, max(token.end_pos, token.start_pos + 1))
    found = f"'{token}'" if str(token) else _describe(token.type)
    return error("E003", f"unexpected {found}", span, help=_hint(source, token, exc) or None)


def _hint(source: Source, token: Token, exc: UnexpectedInput) -> str:
    hint = _expected(exc)
    if str(token) not in RESERVED or "NAME" not in (getattr(exc, "accepts", None) or exc.expected):
        return hint
    before = source.text[:token.start_pos].rstrip().removesuffix("-").rstrip()
    if str(token) in ast.REDUCTIONS and before.endswith("**"):
        return f"put a reduction in an exponent in parentheses: … ** ({token}(…) …)"
    if re.match(r"\s*[:\[=,)@]", source.text[token.end_pos:]):  # the word is used where a name goes
        return f"'{token}' is a reserved word and cannot be used as a name; {hint}"
    return hint
