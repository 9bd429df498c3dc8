"""AST → canonical source. `parse(print_module(m)) == m` for every module (a hypothesis test checks).

Parentheses are written exactly where the grammar needs them. `format_source` also keeps the
comments of the original text: a comment on its own line stays before the item that follows it,
a comment at the end of a line stays at the end of that item's line.
"""

from __future__ import annotations

import math
import re

from dsl import ast

INDENT = "  "

# Binding strength of each printed form, loosest first (mirrors the expression section of the grammar).
CMP, ADD, MUL, TERM, UNARY, POWER, ATOM = range(7)


def level(e: ast.Expr) -> int:
    """How tightly the printed form of e binds."""
    if _signed_reduction(e):
        return MUL
    if isinstance(e, ast.Unary):
        return UNARY
    if isinstance(e, ast.Binary):
        if e.op in ast.COMPARISONS:
            return CMP
        if e.op in "+-":
            return ADD
        if e.op == "**":
            return POWER
        return MUL if _signed_reduction(e.right) else TERM
    return ATOM


def _signed_reduction(e: ast.Expr) -> bool:
    """`sum(k) …` or `-sum(k) …`: the grammar lets these stand right of `*` and `/` unparenthesised."""
    return isinstance(e, ast.Reduce) or (isinstance(e, ast.Unary) and isinstance(e.operand, ast.Reduce))


def _wrap(e: ast.Expr, at_least: int) -> str:
    text = expr(e)
    return text if level(e) >= at_least else f"({text})"


def _number(value: int | float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return str(value) if isinstance(value, int) else _float(value)


def _float(value: float) -> str:
    """repr's shortest round-trip digits, written out for small exponents: 0.00001, not 1e-05."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if not exponent or not -10 <= int(exponent) < 0:
        return text
    sign, digits = ("-", mantissa[1:]) if mantissa.startswith("-") else ("", mantissa)
    return f"{sign}0.{'0' * (-int(exponent) - 1)}{digits.replace('.', '')}"


def _binary(e: ast.Binary) -> str:
    if e.op in ast.COMPARISONS:
        return f"{_wrap(e.left, ADD)} {e.op} {_wrap(e.right, ADD)}"
    if e.op in "+-":
        return f"{_wrap(e.left, ADD)} {e.op} {_wrap(e.right, MUL)}"
    if e.op == "**":
        return f"{_wrap(e.left, ATOM)} ** {_wrap(e.right, UNARY)}"
    right = expr(e.right) if _signed_reduction(e.right) else _wrap(e.right, UNARY)
    return f"{_wrap(e.left, TERM)} {e.op} {right}"


def expr(e: ast.Expr) -> str:
    """The canonical text of an expression (or a shape expression)."""
    match e:
        case ast.Num(value):
            return _number(value)
        case ast.Name(name):
            return name
        case ast.Access(tensor, indices):
            return f"{tensor.name}[{', '.join(expr(i) for i in indices)}]"
        case ast.Call(func, args):
            return f"{func.name}({', '.join(expr(a) for a in args)})"
        case ast.Unary(op, operand):
            if isinstance(operand, ast.Reduce):
                return f"{op}{expr(operand)}"
            return f"{op}{_wrap(operand, UNARY)}"
        case ast.Binary():
            return _binary(e)
        case ast.Reduce(op, indices, body):
            return f"{op}({', '.join(i.name for i in indices)}) {_wrap(body, MUL)}"
    raise TypeError(f"not an expression: {e!r}")


def tensor_type(t: ast.TensorType) -> str:
    return f"{t.dtype}[{', '.join(expr(d) for d in t.dims)}]" if t.dims else t.dtype


def assign(a: ast.Assign) -> str:
    lhs = a.target.name + (f"[{', '.join(i.name for i in a.indices)}]" if a.indices else "")
    return f"{lhs} = {expr(a.value)}"


# ---------------------------------------------------------------- declarations
# Each declaration prints as a list of (text, node) lines; the node's span places comments.

Line = tuple[str, object]


def _kernel(k: ast.Kernel) -> list[Line]:
    params = ", ".join(f"{p.name.name}: {tensor_type(p.type)}" for p in k.params)
    results = [tensor_type(t) for t in k.results]
    result = results[0] if len(results) == 1 else f"({', '.join(results)})"
    lines: list[Line] = [(f"kernel {k.name.name}({params}) -> {result} {{", k.name)]
    lines += [(INDENT + assign(a), a) for a in k.body]
    lines.append((INDENT + "return " + ", ".join(r.name for r in k.returns), k.returns[0]))
    return lines


def _quantity(v: ast.Quantity | ast.Grid) -> str:
    if isinstance(v, ast.Grid):
        return f"{v.rows} x {v.cols}"
    unit = "" if v.unit is None else (" / " + v.unit[1:] if v.unit.startswith("/") else " " + v.unit)
    return _number(v.value) + unit


def _mesh(m: ast.Mesh) -> list[Line]:
    lines: list[Line] = [(f"mesh {m.name.name} {{", m.name)]
    lines += [(f"{INDENT}{p.name.name} = {_quantity(p.value)}", p) for p in m.props]
    return lines


def _placement(p: ast.Placement) -> str:
    dims = ", ".join(d.index.name + (f"@{d.axis.name}" if d.axis else "") for d in p.dims)
    return f"{p.tensor.name}[{dims}]"


def _setting(s: ast.Setting) -> str:
    args = f"({', '.join(map(str, s.args))})" if s.args else ""
    key = f"reduce {s.index.name}" if s.index is not None else s.key.name
    return f"{key} = {s.strategy.name}{args}"


def _layout(lay: ast.Layout) -> list[Line]:
    grid = f"[{lay.grid.rows} x {lay.grid.cols}]" if lay.grid else ""
    head = f"layout {lay.name.name} for {lay.kernel.name} on {lay.mesh.name}{grid} {{"
    lines: list[Line] = [(head, lay.name)]
    lines += [(INDENT + _placement(p), p) for p in lay.placements]
    lines += [(INDENT + _setting(s), s) for s in lay.settings]
    return lines


def _agent_item(item, depth: int) -> list[Line]:
    pad = INDENT * depth
    if isinstance(item, ast.ParamDecl):
        bounds = f"({_number(item.bounds[0])}, {_number(item.bounds[1])})" if item.bounds else ""
        default = "" if item.default is None else f" = {_number(item.default)}"
        return [(f"{pad}param {item.name.name}: {item.constraint.name}{bounds}{default}", item)]
    if isinstance(item, ast.StateDecl):
        idx = f"[{', '.join(i.name for i in item.indices)}]" if item.indices else ""
        return [(f"{pad}state {item.name.name}{idx} = {expr(item.init)}", item)]
    if isinstance(item, ast.Update):
        params = ", ".join(f"{p.name.name}: {p.type.name}" for p in item.params)
        lines: list[Line] = [(f"{pad}update({params}) {{", item.params[0] if item.params else item)]
        lines += [(pad + INDENT + assign(a), a) for a in item.body]
        return lines + [(pad + "}", _End(item))]
    return [(pad + assign(item), item)]


def _agent(a: ast.Agent) -> list[Line]:
    lines: list[Line] = [(f"agent {a.name.name}({a.option.name} = {a.actions}) {{", a.name)]
    for item in a.items:
        lines += _agent_item(item, 1)
    return lines


def _field_value(v) -> str:
    if isinstance(v, ast.Target):
        return v.name.name + (f"[{v.grid.rows} x {v.grid.cols}]" if v.grid else "")
    if isinstance(v, ast.Text):
        return f'"{v.value}"'
    if isinstance(v, ast.Sizes):
        return "(" + ", ".join(f"{name.name} = {size}" for name, size in v.sizes) + ")"
    return _quantity(v)


def _problem(p: ast.Problem) -> list[Line]:
    lines: list[Line] = [(f"problem {p.name.name} {{", p.name)]
    lines += [(f"{INDENT}{f.name.name} = {_field_value(f.value)}", f) for f in p.fields]
    return lines


_DECLS = {ast.Kernel: _kernel, ast.Mesh: _mesh, ast.Layout: _layout, ast.Agent: _agent, ast.Problem: _problem}


class _End:
    """Marks the closing brace of a block: comments before the block's last line go above it."""

    def __init__(self, node):
        self.node = node


def _lines(module: ast.Module) -> list[Line]:
    lines: list[Line] = []
    for i, decl in enumerate(module.decls):
        if i:
            lines.append(("", None))
        lines += _DECLS[type(decl)](decl)
        lines.append(("}", _End(decl)))
    return lines


def print_module(module: ast.Module) -> str:
    """Canonical source for a module, without comments."""
    return "".join(text + "\n" for text, _ in _lines(module))


# ---------------------------------------------------------------- comments

_COMMENT = re.compile(r'"[^"\n]*"|#[^\n]*')  # strings first, so a '#' inside one is not a comment


def _line_range(node) -> tuple[int, int] | None:
    if isinstance(node, _End):
        span = getattr(node.node, "span", None)
        return (span.end_line, span.end_line) if span else None
    span = getattr(node, "span", None)
    return (span.line, span.end_line) if span else None


def format_source(module: ast.Module, text: str) -> str:
    """Canonical source for a module parsed from `text`, keeping text's comments in place."""
    comments = [(text.count("\n", 0, m.start()) + 1, m.group().rstrip()) for m in _COMMENT.finditer(text)
                if m.group().startswith("#")]
    blank = {i + 1 for i, line in enumerate(text.split("\n")) if not line.strip()}
    out: list[str] = []
    for line_text, node in _lines(module):
        where = _line_range(node)
        if where is None:
            out.append(line_text)
            continue
        indent = re.match(r"\s*", line_text).group()
        if isinstance(node, _End):
            indent += INDENT  # comments just before a closing brace stay inside the block
        while comments and comments[0][0] < where[0]:
            line, comment = comments.pop(0)
            out.append(indent + comment)
            if line + 1 in blank:  # a blank line after a comment (a file header) is kept
                out.append("")
        trailing = []
        while comments and comments[0][0] <= where[1]:
            trailing.append(comments.pop(0)[1])
        out.append(line_text + ("  " + " ".join(trailing) if trailing else ""))
    out += [c for _, c in comments]
    return "\n".join(out).rstrip("\n") + "\n"
