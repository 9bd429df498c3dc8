"""AST expression → Affine, for shapes in signatures and for index expressions."""

from __future__ import annotations

from typing import Callable

from compiler.affine import Affine
from dsl import ast
from dsl.diagnostics import Span
from dsl.printer import expr as show


class NotAffine(Exception):
    """The expression (or the part of it at `span`) is not an affine integer expression."""

    def __init__(self, e: ast.Expr):
        self.text = show(e)
        self.span: Span | None = e.span


def to_affine(e: ast.Expr, resolve: Callable[[str], str]) -> Affine:
    """`resolve` maps a name to its symbol (or raises for an unknown name)."""
    match e:
        case ast.Num(value) if isinstance(value, int):
            return Affine.of(value)
        case ast.Name(name):
            return Affine.of(resolve(name))
        case ast.Unary("-", operand):
            return -to_affine(operand, resolve)
        case ast.Binary("+", left, right):
            return to_affine(left, resolve) + to_affine(right, resolve)
        case ast.Binary("-", left, right):
            return to_affine(left, resolve) - to_affine(right, resolve)
        case ast.Binary("*", left, right):
            a, b = to_affine(left, resolve), to_affine(right, resolve)
            if a.is_const:
                return b.scale(a.const)
            if b.is_const:
                return a.scale(b.const)
    raise NotAffine(e)
