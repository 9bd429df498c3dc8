"""Lower a checked layout and concrete sizes to a mesh program (runtime.mesh), through the runtime's
builders; elementwise kernels and a norm's scale and shift are composed here from the same steps.

Runs after check_layout (the pattern and the choices are already valid). The builders name their
tensors (A, B, C; W, v, y; x, y; Q, K, V, O), so the result also carries the kernel's names for them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from compiler import ir
from compiler.layout_ir import LayoutIR
from compiler.patterns import small_power
from dsl.diagnostics import error
from runtime.mesh import attention, gemm, gemv, row_reduction
from runtime.mesh.program import Alloc, Compute, Free, Gather, MeshProgram, Place, TensorSpec
from runtime.mesh.tiling import map_work, tensor

ELEM_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "i32": 4, "f64": 8}


@dataclass(frozen=True, slots=True)
class Lowered:
    """A mesh program and how its tensors are named in the kernel: (kernel name, program name)."""

    program: MeshProgram
    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]


def lower_layout(layout: LayoutIR, dims: dict[str, int], grid: tuple[int, int] | None = None) -> Lowered:
    """The mesh program of `layout` at the given kernel dimensions, on its grid (or `grid`)."""
    grid = _grid(layout, grid)
    sizes = tensor_sizes(layout, dims)
    lower = LOWERINGS[pattern_family(layout.pattern.kind)]
    program = lower(layout, sizes, grid, ELEM_BYTES[layout.kernel.results[0].dtype])
    roles = {r.tensor: r.builder for r in layout.pattern.roles}
    inputs = tuple((p.name, roles[p.name]) for p in layout.kernel.params)
    outputs = tuple((r.name, roles[r.name]) for r in layout.kernel.results)
    return Lowered(program, inputs, outputs)


def pattern_family(kind: str) -> str:
    """The lowering that handles a pattern kind (the three row norms share one, as do both attentions)."""
    return {"softmax": "rows", "rmsnorm": "rows", "layernorm": "rows", "attention_causal": "attention"}.get(kind, kind)


def _grid(layout: LayoutIR, grid: tuple[int, int] | None) -> tuple[int, int]:
    if grid is None:
        return layout.grid
    ny, nx = grid
    if not (0 < ny <= layout.mesh.ny and 0 < nx <= layout.mesh.nx):
        most = f"{layout.mesh.ny} x {layout.mesh.nx}"
        raise error("E753", f"a {ny} x {nx} grid does not fit mesh {layout.mesh.name} ({most})",
                    help=f"choose at most {most}")
    return ny, nx


def tensor_sizes(layout: LayoutIR, dims: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """The concrete shape of every kernel tensor the pattern names."""
    kernel = layout.kernel
    unknown = sorted(set(dims) - set(kernel.dims))
    if unknown:
        raise error("E751", f"kernel {kernel.name} has no dimension {', '.join(unknown)}",
                    help=f"its dimensions are: {', '.join(kernel.dims)}")
    missing = [d for d in kernel.dims if d not in dims]
    if missing:
        raise error("E750", f"layout {layout.name} needs the size of {', '.join(missing)}",
                    help="give every dimension, e.g. --shapes " + ",".join(f"{d}=1024" for d in kernel.dims))
    bad = [f"{d}={v}" for d, v in dims.items() if not isinstance(v, int) or v < 1]
    if bad:
        raise error("E752", f"sizes must be positive integers, got {', '.join(bad)}")
    return {r.tensor: tuple(a.evaluate(dims) for a in kernel.tensor(r.tensor).shape) for r in layout.pattern.roles}


def _shape(layout: LayoutIR, sizes: dict, builder: str) -> tuple[int, ...]:
    return sizes[next(r.tensor for r in layout.pattern.roles if r.builder == builder)]


def _gemm(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    m, k = _shape(layout, sizes, "A")
    n = _shape(layout, sizes, "C")[1]
    return gemm(m, k, n, grid, layout.algorithm, elem_bytes=elem_bytes)


def _gemm_bt(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    m, k = _shape(layout, sizes, "A")
    n = _shape(layout, sizes, "C")[1]
    return gemm(m, k, n, grid, layout.algorithm, transpose_b=True, allreduce=layout.allreduce,
                elem_bytes=elem_bytes)


def _gemv(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    m, k = _shape(layout, sizes, "W")
    return gemv(m, k, grid, layout.allreduce, elem_bytes=elem_bytes)


def _attention(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    (t, d), (s, _), (_, e) = (_shape(layout, sizes, b) for b in "QKV")
    if t != s or e != d:
        names = {r.builder: r.tensor for r in layout.pattern.roles}
        raise error("E754", f"the mesh runs attention for a prefill of one head: it needs as many queries as "
                    f"keys and values as wide as keys, but {names['Q']} is {t} x {d}, {names['K']} is {s} x {d} "
                    f"and {names['V']} is {s} x {e}", help="give the sequence dimensions one size and the "
                    "head dimensions one size")
    return attention(s, d, grid, causal=layout.pattern.kind == "attention_causal", algorithm=layout.algorithm,
                     allreduce=layout.allreduce, elem_bytes=elem_bytes)


def _rows(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    """A row reduction by the runtime's builder, then the kernel's learned scale and shift, if any."""
    rows, cols = _shape(layout, sizes, "x")
    program = row_reduction(layout.pattern.kind, rows, cols, grid, layout.allreduce, eps=layout.pattern.eps,
                            elem_bytes=elem_bytes)
    extra = [r.builder for r in layout.pattern.roles if r.builder in ("gamma", "beta")]
    if not extra:
        return program
    out = program.tensors()["y"]
    specs = [tensor(name, (1, cols), (None, "x"), grid) for name in extra]
    steps = tuple(Compute({"gamma": "mul", "beta": "add"}[s.name], "y", ("y", s.name), map_work(out, grid, "mul"))
                  for s, _ in specs)
    *body, gather = program.ops
    ops = (*(Place(s) for s, _ in specs), *body, *steps, *(Free(s.name) for s, _ in specs), gather)
    return replace(program, name=f"{program.name}_scaled", ops=ops,
                   inputs=program.inputs + tuple(s for s, _ in specs),
                   padding=program.padding + tuple(p for _, pads in specs for p in pads))


def _elementwise(layout: LayoutIR, sizes: dict, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    """Each statement as a chain of whole-grid map steps; every tensor split (y, x) like the result."""
    kernel = layout.kernel
    shape = sizes[kernel.results[0].name]
    placed = [tensor(p.name, shape, ("y", "x"), grid) for p in kernel.params]
    emitter = _MapEmitter(grid, shape)
    for stmt in kernel.body:
        emitter.statement(stmt)
    result = kernel.results[0].name
    frees = [Free(n) for n in [p.name for p in kernel.params] + emitter.targets if n != result]
    ops = (*(Place(s) for s, _ in placed), *emitter.ops, *frees, Gather(result))
    pads = tuple(p for _, ps in placed for p in ps) + tensor(result, shape, ("y", "x"), grid)[1]
    return MeshProgram(f"elementwise_{kernel.name}", grid, elem_bytes, ops, tuple(s for s, _ in placed),
                       (result,), f"kernel {kernel.name}", 0, pads)


class _MapEmitter:
    """Emits map steps for pointwise statements; temporaries are freed after their statement."""

    def __init__(self, grid: tuple[int, int], shape: tuple[int, ...]):
        self.grid, self.shape = grid, shape
        self.ops: list = []
        self.targets: list[str] = []
        self.count = 0

    def spec(self, name: str) -> TensorSpec:
        return tensor(name, self.shape, ("y", "x"), self.grid)[0]

    def statement(self, stmt: ir.Stmt) -> None:
        target = self.spec(stmt.target.name)
        self.ops.append(Alloc(target))
        self.targets.append(target.name)
        temps: list[str] = []
        operand = self.expr(stmt.value, temps, target.name)
        if operand != target.name:
            self.map("mul", target.name, (operand, 1.0))
        self.ops += [Free(t) for t in temps]

    def expr(self, e: ir.Expr, temps: list[str], into: str | None = None) -> str | float:
        if isinstance(e, ir.Cast):
            return self.expr(e.operand, temps, into)
        if isinstance(e, ir.Load):
            return e.tensor
        if isinstance(e, ir.Const):
            return float(e.value)
        args = tuple(self.expr(a, temps) for a in e.args)
        out = into or self.temp(temps)
        power = small_power(e)
        if power is None:
            self.map(e.op, out, args)
        else:
            self.map("mul", out, (args[0], 1.0))
            for _ in range(power - 1):
                self.map("mul", out, (out, args[0]))
        return out

    def temp(self, temps: list[str]) -> str:
        self.count += 1
        name = f"_t{self.count}"
        self.ops.append(Alloc(self.spec(name)))
        temps.append(name)
        return name

    def map(self, op: str, out: str, args: tuple) -> None:
        self.ops.append(Compute(op, out, args, map_work(self.spec(out), self.grid, op)))


LOWERINGS = {"gemm": _gemm, "gemm_bt": _gemm_bt, "gemv": _gemv, "attention": _attention, "rows": _rows,
             "elementwise": _elementwise}
