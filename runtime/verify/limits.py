"""Resource limits a candidate must respect before anything is allocated or compiled."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dsl import ast


@dataclass(frozen=True)
class Limits:
    """Caps on what a candidate may ask for; every verifier stage after `limits` runs under `seconds`."""

    source_chars: int = 20_000
    declarations: int = 16
    statements: int = 64
    depth: int = 32
    rank: int = 6
    elements: int = 1 << 24      # per tensor, at the shapes the verifier tests and scores with
    seconds: float = 120.0       # wall-clock cap for the stages after limits


def source_problems(text: str, module: ast.Module, limits: Limits) -> list[str]:
    """What in the source exceeds the caps (empty when it fits)."""
    problems = []
    if len(text) > limits.source_chars:
        problems.append(f"the source is {len(text):,} characters; the cap is {limits.source_chars:,}")
    if len(module.decls) > limits.declarations:
        problems.append(f"it has {len(module.decls)} declarations; the cap is {limits.declarations}")
    for decl in module.decls:
        problems.extend(_declared_shape_problems(decl, limits))
        statements = _statements(decl)
        if len(statements) > limits.statements:
            problems.append(f"{decl.name.name} has {len(statements)} statements; the cap is {limits.statements}")
        deepest = max((_depth(s.value) for s in statements), default=0)
        if deepest > limits.depth:
            problems.append(f"{decl.name.name} nests expressions {deepest} deep; the cap is {limits.depth}")
    return problems


def shape_problems(shapes: dict[str, tuple[int, ...]], limits: Limits) -> list[str]:
    """Tensors whose rank or element count exceeds the caps."""
    problems = []
    for name, shape in shapes.items():
        if len(shape) > limits.rank:
            problems.append(f"{name} has rank {len(shape)}; the cap is {limits.rank}")
        if math.prod(shape) > limits.elements:
            problems.append(f"{name} would hold {math.prod(shape):,} elements; the cap is {limits.elements:,}")
    return problems


def _declared_shape_problems(decl, limits: Limits) -> list[str]:
    """A kernel's parameters and results whose written integer extents alone exceed the caps
    (`x: f32[N, 100000000]`), refused before any input of that size is allocated."""
    if not isinstance(decl, ast.Kernel):
        return []
    typed = [(f"{decl.name.name}'s parameter {p.name.name}", p.type) for p in decl.params]
    typed += [(f"{decl.name.name}'s result {i + 1}", t) for i, t in enumerate(decl.results)]
    shapes = {name: tuple(d.value for d in t.dims if isinstance(d, ast.Num) and isinstance(d.value, int))
              + (1,) * sum(not isinstance(d, ast.Num) for d in t.dims) for name, t in typed}
    return shape_problems(shapes, limits)


def _statements(decl) -> list[ast.Assign]:
    if isinstance(decl, ast.Kernel):
        return list(decl.body)
    if isinstance(decl, ast.Agent):
        out = []
        for item in decl.items:
            if isinstance(item, ast.Assign):
                out.append(item)
            elif isinstance(item, ast.StateDecl):
                out.append(ast.Assign(item.name, item.indices, item.init))
            elif isinstance(item, ast.Update):
                out.extend(item.body)
        return out
    return []


def _depth(e) -> int:
    children = ()
    if isinstance(e, ast.Access):
        children = e.indices
    elif isinstance(e, ast.Call):
        children = e.args
    elif isinstance(e, ast.Unary):
        children = (e.operand,)
    elif isinstance(e, ast.Binary):
        children = (e.left, e.right)
    elif isinstance(e, ast.Reduce):
        children = (e.body,)
    return 1 + max((_depth(c) for c in children), default=0)
