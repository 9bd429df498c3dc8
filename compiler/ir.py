"""The checked, typed IR that every lowering and the reference interpreter share.

Plain frozen data. Every expression node knows its concrete dtype; every index variable knows its
extent as an affine expression of the kernel's dimension symbols; every load's indices are affine
in index variables and dimensions. Nothing here refers back to the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.affine import Affine
from dsl.diagnostics import Span
from runtime.agents.model import ParamSpec  # plain data the fitting engine fits, shared with the checker

_span = field(default=None, compare=False, repr=False)

FLOAT_DTYPES = ("f16", "bf16", "f32", "f64")
DTYPES = FLOAT_DTYPES + ("i32",)


@dataclass(frozen=True, slots=True)
class TensorDecl:
    """A named tensor of the kernel: a parameter, an intermediate or a result. Rank 0 is a scalar.
    A parameter keeps the spans of its type and of each written dimension, for binding errors."""

    name: str
    dtype: str
    shape: tuple[Affine, ...]
    span: Span | None = _span
    dim_spans: tuple[Span | None, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IndexVar:
    """An index variable and the half-open range [0, extent) it runs over."""

    name: str
    extent: Affine


@dataclass(frozen=True, slots=True)
class Const:
    """A literal, already in the dtype of its context."""

    value: int | float
    dtype: str


@dataclass(frozen=True, slots=True)
class Index:
    """The value of an index variable (an integer), as `i` in `s[i, j] + (i - j)`."""

    name: str
    dtype: str


@dataclass(frozen=True, slots=True)
class Dim:
    """The value of a dimension symbol, as `D` in `sum(d) x[n, d] / D`."""

    name: str
    dtype: str


@dataclass(frozen=True, slots=True)
class Load:
    """Read tensor[indices]; each index is affine in index variables and dimensions."""

    tensor: str
    indices: tuple[Affine, ...]
    dtype: str
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Cast:
    """Convert a value to another dtype (inserted by the checker where types meet)."""

    operand: Expr
    dtype: str


@dataclass(frozen=True, slots=True)
class Call:
    """A primitive from compiler.primitives applied elementwise: neg, add, exp, where, lt …"""

    op: str
    args: tuple[Expr, ...]
    dtype: str


@dataclass(frozen=True, slots=True)
class Reduce:
    """Reduce body over index variables with sum, max, min or prod."""

    op: str
    vars: tuple[IndexVar, ...]
    body: Expr
    dtype: str


Expr = Const | Index | Dim | Load | Cast | Call | Reduce


@dataclass(frozen=True, slots=True)
class Stmt:
    """target[indices] = value for every point of the indices' ranges."""

    target: TensorDecl
    indices: tuple[IndexVar, ...]
    value: Expr
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class KernelIR:
    """A checked kernel: parameters, the dimension symbols they bind, statements, results."""

    name: str
    params: tuple[TensorDecl, ...]
    dims: tuple[str, ...]
    body: tuple[Stmt, ...]
    results: tuple[TensorDecl, ...]
    span: Span | None = _span

    def tensor(self, name: str) -> TensorDecl:
        for t in self.params + tuple(s.target for s in self.body):
            if t.name == name:
                return t
        raise KeyError(name)


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node."""
    if isinstance(e, Cast):
        return (e.operand,)
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Reduce):
        return (e.body,)
    return ()


def walk(e: Expr):
    """Every node of an expression, parents before children."""
    yield e
    for child in children(e):
        yield from walk(child)


# ---------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class AgentIR:
    """A checked agent. Per session `state` runs once; per trial `policy` computes `logits` (and any
    helpers before it) from params and state, then `update` assigns state in order, seeing the
    trial's `choice` (an i32 symbol, usable as an index) and `reward` (an f32 scalar tensor)."""

    name: str
    n_actions: int
    params: tuple[ParamSpec, ...]
    state: tuple[Stmt, ...]
    policy: tuple[Stmt, ...]
    update: tuple[Stmt, ...]
    choice: str
    reward: str
    span: Span | None = _span
