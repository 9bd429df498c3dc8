"""Lower a checked layout to a real multi-device JAX program: `jax.shard_map` over a
`jax.sharding.Mesh` with axes ("y", "x"), one device per grid position (DESIGN §7).

The structure mirrors the mesh runtime's programs (runtime.mesh.gemm / rows): Cannon and MeshGEMM
skew A and B with one `ppermute` each, then shift A along x and B along y by `ppermute` every step;
MeshGEMM is the same program on the INTERLEAVE ring (blocks are placed so logical ring neighbours are
at most two devices apart, and the shifts follow the ring); SUMMA broadcasts a K panel along rows
and columns with `all_gather` each step; C = A·Bᵀ shifts B along y and allreduces each partial block
along x; GEMV allreduces its partial sums along x; row reductions allreduce row maxima and sums along
x; prefill attention (causal or not) composes the A·Bᵀ program, the row softmax and the GEMM
program; elementwise kernels run the kernel itself on every device's block. Every allreduce is the layout's
own (chain, ring or K-tree) as rounds of `ppermute` that follow runtime.mesh.collectives step for
step (`allreduce_schedule`), never XLA's psum.

Runs after check_layout. Sizes that do not divide the device grid are padded (as the mesh lowering
pads them), with values that leave the result unchanged, and cut off again when gathered.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from compiler.bind import bind, numpy_dtype
from compiler.layout_ir import LayoutIR
from compiler.lower_mesh import pattern_family, tensor_sizes
from compiler.shard_collectives import Schedule, allreduce, allreduce_schedule, ring_positions
from dsl.diagnostics import error
from runtime.mesh.rows import SOFTMAX_PAD

AXES = ("y", "x")
#: Kernel kinds with a device program, by what `lower_shard` calls them.
SUPPORTED = ("gemm (cannon, meshgemm, summa)", "gemm_bt (cannon, meshgemm)", "gemv", "elementwise",
             "softmax", "rmsnorm", "layernorm", "attention and causal attention (cannon, meshgemm)")
#: Algorithms that shift tiles around a ring: they need a square device grid.
SHIFTING = ("cannon", "meshgemm")
_HIGHEST = "highest"


@dataclass(frozen=True, slots=True)
class Placement:
    """How one kernel tensor lies on the devices: mesh axis per dimension, padded shape, pad value,
    per split dimension the logical-to-physical block order (None: identity), and for a result every
    device along an axis holds whole (`copies`), that axis: the program stacks one copy per device."""

    tensor: str
    shape: tuple[int, ...]
    padded: tuple[int, ...]
    split: tuple[str | None, ...]
    pad_value: float = 0.0
    order: tuple[tuple[int, ...] | None, ...] = ()
    copies: str | None = None

    def spec(self):
        from jax.sharding import PartitionSpec

        return PartitionSpec(*((self.copies,) if self.copies else ()), *self.split)

    def to_devices(self, array: np.ndarray) -> np.ndarray:
        """Pad, then move logical block p of each ring-ordered dimension to its physical position."""
        pads = [(0, p - n) for n, p in zip(self.shape, self.padded)]
        data = np.pad(array, pads, constant_values=self.pad_value) if any(p for _, p in pads) else array
        for dim, pos in enumerate(self.order):
            if pos is not None:
                data = _blocks(data, dim, np.argsort(pos))
        return data

    def from_devices(self, array: np.ndarray) -> np.ndarray:
        """The inverse of to_devices: logical block order, padding cut off."""
        data = np.asarray(array)[0] if self.copies else np.asarray(array)
        for dim, pos in enumerate(self.order):
            if pos is not None:
                data = _blocks(data, dim, np.asarray(pos))
        return data[tuple(slice(0, n) for n in self.shape)]


def _blocks(data: np.ndarray, dim: int, take: np.ndarray) -> np.ndarray:
    """Reorder the len(take) equal blocks of `dim`: block i of the result is block take[i]."""
    n = len(take)
    shape = data.shape[:dim] + (n, data.shape[dim] // n) + data.shape[dim + 1:]
    return np.take(data.reshape(shape), take, axis=dim).reshape(data.shape)


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """A device program before it meets a mesh: the per-device body and where its tensors lie."""

    body: Callable
    inputs: tuple[Placement, ...]
    outputs: tuple[Placement, ...]


@dataclass(frozen=True)
class ShardedLayout:
    """A layout compiled for a device mesh: call it with the kernel's arrays (numpy, in parameter
    order) to get its results; `jitted` is the jax function on placed arrays (for make_jaxpr)."""

    name: str
    grid: tuple[int, int]
    plan: ShardPlan
    jitted: Callable
    mesh: object

    def placed(self, arrays) -> list:
        """The inputs padded, block-ordered and put on the devices with their shardings."""
        import jax
        from jax.sharding import NamedSharding

        return [jax.device_put(p.to_devices(np.asarray(a)), NamedSharding(self.mesh, p.spec()))
                for p, a in zip(self.plan.inputs, arrays)]

    def __call__(self, *arrays) -> tuple[np.ndarray, ...]:
        outputs = self.jitted(*self.placed(arrays))
        return tuple(p.from_devices(o) for p, o in zip(self.plan.outputs, outputs))


def lower_shard(layout: LayoutIR, dims: dict[str, int], mesh) -> ShardedLayout:
    """The device program of `layout` at kernel sizes `dims` on `mesh` (a jax Mesh, axes y and x)."""
    import jax

    family = pattern_family(layout.pattern.kind)
    if family not in PLANS:
        raise error("E780", f"layout {layout.name} is {layout.pattern.describe()}, which has no multi-device "
                    "JAX program yet", layout.span,
                    help="run_sharded supports: " + ", ".join(SUPPORTED) + "; simulate this layout with "
                         "plmr simulate instead")
    grid = (mesh.shape["y"], mesh.shape["x"])
    if layout.algorithm in SHIFTING and grid[0] != grid[1]:
        raise error("E781", f"{layout.algorithm} shifts tiles around square rings, but the device grid is "
                    f"{grid[0]} x {grid[1]}", layout.span,
                    help="pass a square grid: grid=(2, 2) in Python, --grid 2x2 to plmr shard")
    plan = PLANS[family](layout, tensor_sizes(layout, dims), grid)
    mapped = jax.shard_map(plan.body, mesh=mesh, in_specs=tuple(p.spec() for p in plan.inputs),
                           out_specs=tuple(p.spec() for p in plan.outputs))
    return ShardedLayout(layout.name, grid, plan, jax.jit(mapped), mesh)


# ---------------------------------------------------------------- placements


def _place(tensor: str, shape: tuple[int, ...], split: tuple[str | None, ...], counts: tuple[int, ...],
           pad_value: float = 0.0, ring: tuple[int, ...] | None = None) -> Placement:
    """`shape` padded so dimension d cuts into counts[d] equal blocks; ring orders split dimensions."""
    padded = tuple(-(-n // c) * c for n, c in zip(shape, counts))
    order = tuple(ring if axis is not None else None for axis in split)
    return Placement(tensor, shape, padded, split, pad_value, order)


def _names(layout: LayoutIR) -> dict[str, str]:
    """Builder name (A, B, C; W, v, y; x, y, gamma, beta) -> the kernel's tensor name."""
    return {r.builder: r.tensor for r in layout.pattern.roles}


def _varying(value):
    """Mark a fresh accumulator as differing per device, as loop carries that collectives update must be."""
    import jax

    return jax.lax.pcast(value, AXES, to="varying")


def _matmul(a, b):
    import jax.numpy as jnp

    return jnp.matmul(a, b, precision=_HIGHEST)


# ---------------------------------------------------------------- GEMM


def _gemm(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    return (_summa if layout.algorithm == "summa" else _shift_gemm)(layout, sizes, grid)


def _shift_gemm(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """Cannon / MeshGEMM: skew, then g compute-and-shift steps (A left along x, B up along y)."""
    g = grid[0]
    names, ring = _names(layout), ring_positions(layout.algorithm, g)
    place = [_place(names[b], sizes[names[b]], AXES, (g, g), ring=ring) for b in "ABC"]
    return ShardPlan(_cannon_body(g, ring), tuple(place[:2]), (place[2],))


def _cannon_body(g: int, pos: tuple[int, ...]) -> Callable:
    """Logical block (p, q) lives on device (pos[p], pos[q]); every shift follows the logical ring."""
    import jax

    def device(p: int, q: int) -> int:
        return pos[p % g] * g + pos[q % g]

    skew_a = [(device(p, c), device(p, c - p)) for p in range(g) for c in range(g)]
    skew_b = [(device(r, q), device(r - q, q)) for r in range(g) for q in range(g)]
    back = [(pos[(i + 1) % g], pos[i]) for i in range(g)]  # logical i receives from i + 1

    def body(a, b):
        a = jax.lax.ppermute(a, AXES, skew_a)
        b = jax.lax.ppermute(b, AXES, skew_b)

        def step(_, carry):
            a, b, c = carry
            a, b = jax.lax.ppermute(a, "x", back), jax.lax.ppermute(b, "y", back)
            return a, b, c + _matmul(a, b)

        return (jax.lax.fori_loop(0, g - 1, step, (a, b, _matmul(a, b)))[2],)

    return body


def _summa(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """SUMMA on any grid: K cut into lcm(gy, gx) panels; each step all_gathers one A panel along x and
    one B panel along y, and every device adds their product to its C block."""
    gy, gx = grid
    panels = math.lcm(gy, gx)
    names = _names(layout)
    a = _place(names["A"], sizes[names["A"]], AXES, (gy, panels))
    b = _place(names["B"], sizes[names["B"]], AXES, (panels, gx))
    c = _place(names["C"], sizes[names["C"]], AXES, (gy, gx))
    return ShardPlan(_summa_body(grid, panels, a.padded[1] // panels), (a, b), (c,))


def _summa_body(grid: tuple[int, int], panels: int, width: int) -> Callable:
    import jax
    import jax.numpy as jnp

    per_x, per_y = panels // grid[1], panels // grid[0]

    def body(a, b):
        def step(s, c):
            a_own = jax.lax.dynamic_slice_in_dim(a, (s % per_x) * width, width, axis=1)
            b_own = jax.lax.dynamic_slice_in_dim(b, (s % per_y) * width, width, axis=0)
            a_panel = jax.lax.all_gather(a_own, "x")[s // per_x]
            b_panel = jax.lax.all_gather(b_own, "y")[s // per_y]
            return c + _matmul(a_panel, b_panel)

        zero = _varying(jnp.zeros((a.shape[0], b.shape[1]), a.dtype))
        return (jax.lax.fori_loop(0, panels, step, zero),)

    return body


def _gemm_bt(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """C = A·Bᵀ: each step a local A·Bᵀ allreduced along x, the owning device keeps the block, B shifts up."""
    g = grid[0]
    names, ring = _names(layout), ring_positions(layout.algorithm, g)
    place = [_place(names[b], sizes[names[b]], AXES, (g, g), ring=ring) for b in "ABC"]
    body = _abt_body(g, ring, allreduce_schedule(layout.allreduce, g))
    return ShardPlan(lambda a, b: (body(a, b),), tuple(place[:2]), (place[2],))


def _abt_body(g: int, pos: tuple[int, ...], schedule: Schedule) -> Callable:
    """The C blocks of A·Bᵀ, A and B placed on the ring `pos` (attention reuses it for Q·Kᵀ)."""
    import jax
    import jax.numpy as jnp

    logical = jnp.asarray(np.argsort(pos))
    back = [(pos[(i + 1) % g], pos[i]) for i in range(g)]

    def body(a, b):
        p, q = logical[jax.lax.axis_index("y")], logical[jax.lax.axis_index("x")]

        def keep(s, b, c):
            row = allreduce(_matmul(a, b.T), "sum", schedule)  # C block (p, p + s) along row p
            return jnp.where(q == (p + s) % g, row, c)

        def step(s, carry):
            b, c = carry
            b = jax.lax.ppermute(b, "y", back)
            return b, keep(s, b, c)

        first = keep(0, b, _varying(jnp.zeros((a.shape[0], b.shape[0]), a.dtype)))
        return jax.lax.fori_loop(1, g, step, (b, first))[1]

    return body


# ---------------------------------------------------------------- GEMV, rows, elementwise


def _gemv(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """Local W·v on each device, then the split reduction over k by the layout's allreduce along x;
    every device of a row ends with the row's y block, returned as one copy per device."""
    gy, gx = grid
    names = _names(layout)
    schedule = allreduce_schedule(layout.allreduce, gx)
    w = _place(names["W"], sizes[names["W"]], AXES, (gy, gx))
    v = _place(names["v"], sizes[names["v"]], ("x",), (gx,))
    y = replace(_place(names["y"], sizes[names["y"]], ("y",), (gy,)), copies="x")
    return ShardPlan(lambda w, v: (allreduce(_matmul(w, v), "sum", schedule)[None],), (w, v), (y,))


def _rows(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """Rows over y, the reduced dimension over x; gamma and beta split along x like the row."""
    names = _names(layout)
    kind = layout.pattern.kind
    shape = sizes[names["x"]]
    x = _place(names["x"], shape, AXES, grid, SOFTMAX_PAD if kind == "softmax" else 0.0)
    y = _place(names["y"], shape, AXES, grid)
    vectors = [_place(names[v], sizes[names[v]], ("x",), grid[1:]) for v in ("gamma", "beta") if v in names]
    order = {p.name: i for i, p in enumerate(layout.kernel.params)}
    inputs = sorted([x, *vectors], key=lambda p: order[p.tensor])
    roles = [next(r.builder for r in layout.pattern.roles if r.tensor == p.tensor) for p in inputs]
    schedule = allreduce_schedule(layout.allreduce, grid[1])
    return ShardPlan(_rows_body(kind, roles, shape[1], layout.pattern.eps, schedule), tuple(inputs), (y,))


def _rows_body(kind: str, roles: list[str], cols: int, eps: float, schedule: Schedule) -> Callable:
    def body(*arrays):
        named = dict(zip(roles, arrays))
        y = ROW_BODIES[kind](named["x"], cols, eps, schedule)
        if "gamma" in named:
            y = y * named["gamma"]
        if "beta" in named:
            y = y + named["beta"]
        return (y,)

    return body


def _row_sum(x, schedule: Schedule):
    return allreduce(x.sum(axis=1, keepdims=True), "sum", schedule)


def _softmax(x, cols: int, eps: float, schedule: Schedule):
    import jax.numpy as jnp

    e = jnp.exp(x - allreduce(x.max(axis=1, keepdims=True), "max", schedule))
    return e / _row_sum(e, schedule)


def _rmsnorm(x, cols: int, eps: float, schedule: Schedule):
    import jax

    return x * jax.lax.rsqrt(_row_sum(x * x, schedule) / cols + eps)


def _layernorm(x, cols: int, eps: float, schedule: Schedule):
    """Two passes; padded columns are zeroed after centring so they stay out of the variance."""
    import jax
    import jax.numpy as jnp

    centred = x - _row_sum(x, schedule) / cols
    column = jax.lax.axis_index("x") * x.shape[1] + jnp.arange(x.shape[1])
    centred = jnp.where(column < cols, centred, 0.0)
    return centred * jax.lax.rsqrt(_row_sum(centred * centred, schedule) / cols + eps)


ROW_BODIES = {"softmax": _softmax, "rmsnorm": _rmsnorm, "layernorm": _layernorm}


def _elementwise(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """The kernel is pointwise, so every device runs the kernel itself on its own block."""
    from runtime.jax_backend import compile_kernel

    kernel = layout.kernel
    shape = sizes[kernel.results[0].name]
    inputs = tuple(_place(p.name, shape, AXES, grid) for p in kernel.params)
    output = _place(kernel.results[0].name, shape, AXES, grid)
    block = tuple(n // g for n, g in zip(output.padded, grid))
    local = bind(kernel, [np.zeros(block, numpy_dtype(p.dtype)) for p in kernel.params]).dims
    function = compile_kernel(kernel)
    return ShardPlan(lambda *blocks: function(*blocks, **local), inputs, (output,))


# ---------------------------------------------------------------- prefill attention


def _attention(layout: LayoutIR, sizes: dict, grid: tuple[int, int]) -> ShardPlan:
    """O = softmax(Q·Kᵀ/√D)·V composed as runtime.mesh.attention composes it: the A·Bᵀ program for the
    scores, the row softmax with the layout's allreduce, the Cannon / MeshGEMM program for P·V."""
    g = grid[0]
    names, ring = _names(layout), ring_positions(layout.algorithm, g)
    place = {b: _place(names[b], sizes[names[b]], AXES, (g, g), ring=ring) for b in "QKVO"}
    order = [p.name for p in layout.kernel.params]
    roles = sorted("QKV", key=lambda b: order.index(names[b]))
    s, d = sizes[names["K"]]
    schedule, product = allreduce_schedule(layout.allreduce, g), _cannon_body(g, ring)
    scores = _scores(g, ring, schedule, (s, d), layout.pattern.kind == "attention_causal")

    def body(*arrays):
        named = dict(zip(roles, arrays))
        return product(_softmax(scores(named["Q"], named["K"]), s, 0.0, schedule), named["V"])

    return ShardPlan(body, tuple(place[b] for b in roles), (place["O"],))


def _scores(g: int, pos: tuple[int, ...], schedule: Schedule, sizes: tuple[int, int], causal: bool) -> Callable:
    """The S blocks Q·Kᵀ/√D, with padded key columns (and, if causal, later keys) at the softmax pad."""
    import jax
    import jax.numpy as jnp

    s, d = sizes
    logical, abt = jnp.asarray(np.argsort(pos)), _abt_body(g, pos, schedule)

    def scores(q, k):
        block = abt(q, k) * (1.0 / math.sqrt(d))
        rows = logical[jax.lax.axis_index("y")] * block.shape[0] + jnp.arange(block.shape[0])[:, None]
        cols = logical[jax.lax.axis_index("x")] * block.shape[1] + jnp.arange(block.shape[1])[None, :]
        masked = (cols >= s) | ((cols > rows) if causal else False)
        return jnp.where(masked, SOFTMAX_PAD, block)

    return scores


PLANS = {"gemm": _gemm, "gemm_bt": _gemm_bt, "gemv": _gemv, "rows": _rows, "elementwise": _elementwise,
         "attention": _attention}
