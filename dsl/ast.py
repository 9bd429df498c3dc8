"""The syntax tree: what the user wrote, as frozen dataclasses, each node with its span.

Spans are excluded from equality, so `parse(print(tree)) == tree` compares structure only.
Names are resolved later, by the checker; here a bare `x` is just a `Name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl.diagnostics import Span

_span = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Ident:
    """A name as written at a binding or use site."""

    name: str
    span: Span | None = _span


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Num:
    """A numeric literal (an int when written without '.' or exponent); `inf` is Num(math.inf)."""

    value: int | float
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Name:
    """A bare name: a scalar tensor, an index variable or a dimension, used as a value."""

    name: str
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Access:
    """An indexed read `x[i + k, j]`; each index is an expression (the checker wants it affine)."""

    tensor: Ident
    indices: tuple[Expr, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a built-in scalar function: exp(x), where(c, a, b), maximum(a, b) …"""

    func: Ident
    args: tuple[Expr, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Unary:
    """Negation `-x` (the only unary operator)."""

    op: str
    operand: Expr
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operation: + - * / ** and the comparisons == != < <= > >=."""

    op: str
    left: Expr
    right: Expr
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Reduce:
    """`sum(k) body`: reduce `body` over the index variables `indices` with sum/max/min/prod."""

    op: str
    indices: tuple[Ident, ...]
    body: Expr
    span: Span | None = _span


Expr = Num | Name | Access | Call | Unary | Binary | Reduce

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
REDUCTIONS = ("sum", "max", "min", "prod")
DTYPES = ("f16", "bf16", "f32", "f64", "i32")


# ---------------------------------------------------------------- kernels


@dataclass(frozen=True, slots=True)
class TensorType:
    """`f32[N, D]`; a scalar is `f32` with no dims. Dims are shape expressions (Num, Name, Binary)."""

    dtype: str
    dims: tuple[Expr, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Param:
    """A kernel parameter `x: f32[N, D]`."""

    name: Ident
    type: TensorType
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Assign:
    """`y[i, j] = expr`: defines every element of y over the ranges of its indices."""

    target: Ident
    indices: tuple[Ident, ...]
    value: Expr
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Kernel:
    """A tensor computation: typed parameters, typed results, statements, returned names."""

    name: Ident
    params: tuple[Param, ...]
    results: tuple[TensorType, ...]
    body: tuple[Assign, ...]
    returns: tuple[Ident, ...]
    span: Span | None = _span


# ---------------------------------------------------------------- meshes and layouts


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with an optional unit as written: `48 KiB`, `4 B/cycle`, `24`."""

    value: int | float
    unit: str | None
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Grid:
    """A PE grid size `rows x cols`."""

    rows: int
    cols: int
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class MeshProp:
    """One property of a mesh: `memory = 48 KiB`."""

    name: Ident
    value: Quantity | Grid
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Mesh:
    """A device: a grid of processing elements and its costs."""

    name: Ident
    props: tuple[MeshProp, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class DimMap:
    """`i@y`: index i of a tensor split over mesh axis y; no axis means not split."""

    index: Ident
    axis: Ident | None
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Placement:
    """`A[i@y, k@x]`: how one tensor of the kernel is spread over the mesh."""

    tensor: Ident
    dims: tuple[DimMap, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Setting:
    """`algorithm = meshgemm` or `reduce k = ktree(2)` (then `index` is k)."""

    key: Ident
    index: Ident | None
    strategy: Ident
    args: tuple[int, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Layout:
    """How a kernel is spread over a mesh (optionally a sub-grid of it)."""

    name: Ident
    kernel: Ident
    mesh: Ident
    grid: Grid | None
    placements: tuple[Placement, ...]
    settings: tuple[Setting, ...]
    span: Span | None = _span


# ---------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class ParamDecl:
    """`param alpha: unit = 0.3`: a fitted parameter, its constraint (bounds for `bounded(lo, hi)`)."""

    name: Ident
    constraint: Ident
    bounds: tuple[float, float] | None
    default: float | None
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class StateDecl:
    """`state q[a] = 0.5`: per-session state and its initial value."""

    name: Ident
    indices: tuple[Ident, ...]
    init: Expr
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class TypedName:
    """`c: choice` in an update's parameter list."""

    name: Ident
    type: Ident
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Update:
    """`update(c: choice, r: reward) { … }`: the state after each trial."""

    params: tuple[TypedName, ...]
    body: tuple[Assign, ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Agent:
    """A cognitive program: parameters, state, a policy (`logits`) and an update rule."""

    name: Ident
    option: Ident
    actions: int
    items: tuple[ParamDecl | StateDecl | Assign | Update, ...]
    span: Span | None = _span


# ---------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class Target:
    """A named thing, optionally with a grid: `gemm_summa`, `wse2[32 x 32]`, `cycles`."""

    name: Ident
    grid: Grid | None
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Text:
    """A string literal (file names in problems): `"behaviour.csv"`, without the quotes."""

    value: str
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Sizes:
    """`(M = 1024, N = 512)`: sizes of named dimensions."""

    sizes: tuple[tuple[Ident, int], ...]
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class ProblemField:
    """One setting of a problem: `score = cycles`."""

    name: Ident
    value: Target | Text | Quantity | Sizes
    span: Span | None = _span


@dataclass(frozen=True, slots=True)
class Problem:
    """What a search optimises: where it starts, the target, the score, shapes or data, budget."""

    name: Ident
    fields: tuple[ProblemField, ...]
    span: Span | None = _span


Decl = Kernel | Mesh | Layout | Agent | Problem


@dataclass(frozen=True, slots=True)
class Module:
    """One source file: its declarations in order."""

    decls: tuple[Decl, ...]
    span: Span | None = _span
