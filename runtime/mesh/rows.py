"""GEMV, elementwise kernels and row reductions (softmax, rmsnorm, layernorm) on the mesh.

A row reduction is a local reduce over each PE's columns, an allreduce along x (the split axis),
and local maps that use the reduced row, which every PE of the row now holds.
"""

from __future__ import annotations

from dsl.diagnostics import error

from .program import (KTREE2, Alloc, Allreduce, AllReduceStep, Compute, Free, Gather, Mask, MeshProgram,
                      Place, TensorSpec, Work)
from .tiling import check_allreduce, check_grid, check_sizes, map_work, scratch, tensor

UNARY = ("exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "abs", "neg")
BINARY = ("add", "sub", "mul", "div", "maximum", "minimum")
ROW_KINDS = ("softmax", "rmsnorm", "layernorm")
#: Padding for a softmax row: finite, so padded rows give no NaN, and exp() of it is exactly 0.
SOFTMAX_PAD = -1e30


def gemv(m: int, k: int, grid: tuple[int, int], allreduce: Allreduce = KTREE2, *,
         elem_bytes: int = 2) -> MeshProgram:
    """y[M] = W[M,K]·v[K]: W split (y, x), v split along x and replicated along y, partial sums
    allreduced along x."""
    check_sizes("gemv", M=m, K=k)
    ny, nx = check_grid(grid)
    allreduce = check_allreduce(allreduce)
    w, pw = tensor("W", (m, k), ("y", "x"), (ny, nx))
    v, pv = tensor("v", (k,), ("x",), (1, nx))
    part = scratch("y_part", (w.padded[0],), ("y",), (ny, nx))
    y, py = tensor("y", (m,), ("y",), (ny, 1))
    rows, cols = w.tile
    work = Work(cols, rows, rows * cols)
    ops = (Place(w), Place(v), Alloc(part), Alloc(y), Compute("gemv", "y_part", ("W", "v"), work),
           AllReduceStep("y_part", "y", "x", "sum", allreduce), Free("y_part"), Free("W"), Free("v"),
           Gather("y"))
    return MeshProgram(f"gemv_{allreduce}", grid, elem_bytes, ops, (w, v), ("y",), "gemv", m * k,
                       pw + pv + py)


def elementwise(fn: str, m: int, n: int, grid: tuple[int, int], *, elem_bytes: int = 2) -> MeshProgram:
    """z = fn(x) or z = fn(x, y) on [M, N] tensors split (y, x)."""
    check_sizes("elementwise", M=m, N=n)
    grid = check_grid(grid)
    if fn not in UNARY + BINARY:
        raise error("M015", f"unknown elementwise function {fn!r}",
                    help=f"use one of {', '.join(UNARY + BINARY)}")
    names = ("x", "y") if fn in BINARY else ("x",)
    specs = [tensor(name, (m, n), ("y", "x"), grid) for name in names]
    z, pz = tensor("z", (m, n), ("y", "x"), grid)
    ops = (*(Place(s) for s, _ in specs), Alloc(z), Compute(fn, "z", names, map_work(z, grid, fn)),
           *(Free(name) for name in names), Gather("z"))
    pads = tuple(p for _, ps in specs for p in ps) + pz
    return MeshProgram(f"elementwise_{fn}", grid, elem_bytes, ops, tuple(s for s, _ in specs), ("z",),
                       f"elementwise_{fn}", 0, pads)


def row_reduction(kind: str, rows: int, cols: int, grid: tuple[int, int],
                  allreduce: Allreduce = KTREE2, *, eps: float = 1e-5,
                  elem_bytes: int = 2) -> MeshProgram:
    """y = softmax / rmsnorm / layernorm of each row of x[ROWS, COLS], rows on y and columns on x."""
    check_sizes(kind, ROWS=rows, COLS=cols)
    grid = check_grid(grid)
    allreduce = check_allreduce(allreduce)
    if kind not in ROW_KINDS:
        raise error("M016", f"unknown row reduction {kind!r}", help="use softmax, rmsnorm or layernorm")
    x, px = tensor("x", (rows, cols), ("y", "x"), grid, SOFTMAX_PAD if kind == "softmax" else 0.0)
    y, py = tensor("y", (rows, cols), ("y", "x"), grid)
    emit = {"softmax": softmax_ops, "rmsnorm": rmsnorm_ops, "layernorm": layernorm_ops}[kind]
    args = (x, y, grid, allreduce) if kind == "softmax" else (x, y, grid, allreduce, eps)
    ops = (Place(x), Alloc(y), *emit(*args), Free("x"), Gather("y"))
    params = () if kind == "softmax" else (("eps", eps),)
    return MeshProgram(f"{kind}_{allreduce}", grid, elem_bytes, ops, (x,), ("y",), kind, 0, px + py, params)


class _Rows:
    """Emits the steps of one row reduction over a tensor split (y, x)."""

    def __init__(self, like: TensorSpec, grid: tuple[int, int], allreduce: Allreduce):
        self.like, self.grid, self.allreduce, self.ops = like, grid, allreduce, []
        self.temps: list[str] = []

    def map(self, fn: str, out: TensorSpec, *args: str | float) -> None:
        self.ops.append(Compute(fn, out.name, args, map_work(out, self.grid, fn)))

    def reduce(self, op: str, src: TensorSpec, name: str) -> TensorSpec:
        """Row `op` of src: local reduce of each tile row, then allreduce along x."""
        local = scratch(f"{name}_local", (src.padded[0], src.slots[1]), ("y", "x"), src.slots)
        row = scratch(name, (src.padded[0], 1), ("y", None), (src.slots[0], 1))
        self.ops += [Alloc(local), Alloc(row), Compute(f"reduce_{op}", local.name, (src.name,),
                                                       map_work(src, self.grid, "add")),
                     AllReduceStep(local.name, row.name, "x", op, self.allreduce), Free(local.name)]
        self.temps.append(row.name)
        return row

    def done(self) -> tuple:
        return (*self.ops, *(Free(t) for t in self.temps))


def softmax_ops(x: TensorSpec, y: TensorSpec, grid: tuple[int, int], allreduce: Allreduce) -> tuple:
    """y = exp(x - max) / sum(exp(x - max)) along each row."""
    r = _Rows(x, grid, allreduce)
    peak = r.reduce("max", x, f"{y.name}_max")
    r.map("sub", y, x.name, peak.name)
    r.map("exp", y, y.name)
    total = r.reduce("sum", y, f"{y.name}_sum")
    r.map("div", y, y.name, total.name)
    return r.done()


def rmsnorm_ops(x: TensorSpec, y: TensorSpec, grid: tuple[int, int], allreduce: Allreduce,
                eps: float) -> tuple:
    """y = x / sqrt(mean(x²) + eps) along each row (padding is zero, so sums are exact)."""
    r = _Rows(x, grid, allreduce)
    r.map("mul", y, x.name, x.name)
    scale = r.reduce("sum", y, f"{y.name}_ss")
    r.map("mul", scale, scale.name, 1.0 / x.shape[1])
    r.map("add", scale, scale.name, eps)
    r.map("rsqrt", scale, scale.name)
    r.map("mul", y, x.name, scale.name)
    return r.done()


def layernorm_ops(x: TensorSpec, y: TensorSpec, grid: tuple[int, int], allreduce: Allreduce,
                  eps: float) -> tuple:
    """y = (x - mean) / sqrt(var + eps), two passes; padded columns are masked out of the variance."""
    r = _Rows(x, grid, allreduce)
    mean = r.reduce("sum", x, f"{y.name}_mean")
    r.map("mul", mean, mean.name, 1.0 / x.shape[1])
    r.map("sub", y, x.name, mean.name)
    if x.padded[1] != x.shape[1]:
        r.ops.append(Mask(y.name, "pad_cols", 0.0))
    square = scratch(f"{y.name}_sq", y.padded, y.split, y.slots)
    r.ops.append(Alloc(square))
    r.map("mul", square, y.name, y.name)
    var = r.reduce("sum", square, f"{y.name}_var")
    r.ops.append(Free(square.name))
    r.map("mul", var, var.name, 1.0 / x.shape[1])
    r.map("add", var, var.name, eps)
    r.map("rsqrt", var, var.name)
    r.map("mul", y, y.name, var.name)
    return r.done()
