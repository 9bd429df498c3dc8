"""A mesh program as plain data: tensors tiled over a PE grid and a list of whole-grid steps.

Each step is one data-parallel operation on every PE at once (a local compute, a shift along a
mesh axis, a broadcast, an allreduce, ...). Tensors live on a grid of virtual *slots*: a tensor
dimension split over mesh axis y is cut into `slots[0]` pieces (a multiple of the PE rows, so a PE
may hold several slots, which is how a non-square mesh tiles by lcm); an axis with one slot means
the tensor is replicated along it. The simulator executes these steps; `to_text()` prints them
(`plmr compile --emit mesh`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AXES = ("y", "x")


@dataclass(frozen=True, slots=True)
class Ring:
    """The logical ring 0..slots-1 along one mesh axis and where each position sits physically.

    `identity` keeps logical order (Cannon: the wrap-around edge crosses the whole axis);
    `interleave` places evens one way and odds back (MeshGEMM: every edge at most 2 slots apart).
    Slot p lives on PE p // (slots // pes).
    """

    kind: str
    slots: int
    pes: int

    def __str__(self) -> str:
        return f"{self.kind} ring of {self.slots} slots on {self.pes} PEs"


@dataclass(frozen=True, slots=True)
class Allreduce:
    """How partial results are combined along a mesh axis: chain, ring or ktree(k)."""

    method: str
    k: int = 2

    def __str__(self) -> str:
        return f"ktree({self.k})" if self.method == "ktree" else self.method


#: The default allreduce: WaferLLM's K-tree with K = 2.
KTREE2 = Allreduce("ktree", 2)


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A tensor on the mesh: logical shape, padded shape, which mesh axis splits each dim, slots."""

    name: str
    shape: tuple[int, ...]
    padded: tuple[int, ...]
    split: tuple[str | None, ...]
    slots: tuple[int, int]
    pad_value: float = 0.0

    @property
    def tile(self) -> tuple[int, ...]:
        """The shape of one slot's block."""
        return tuple(p // self.axis_slots(a) for p, a in zip(self.padded, self.split))

    @property
    def tile_elems(self) -> int:
        return math.prod(self.tile)

    def axis_slots(self, axis: str | None) -> int:
        return 1 if axis is None else self.slots[AXES.index(axis)]

    def slots_per_pe(self, grid: tuple[int, int]) -> int:
        """How many slots one PE holds (a replicated axis contributes one)."""
        return math.prod(max(1, s // g) for s, g in zip(self.slots, grid))

    def describe(self) -> str:
        dims = ", ".join(f"{n}@{a}" if a else f"{n}" for n, a in zip(self.padded, self.split))
        tile = "x".join(map(str, self.tile)) or "scalar"
        return f"{self.name}[{dims}] slots {self.slots[0]}x{self.slots[1]}, tile {tile}"


@dataclass(frozen=True, slots=True)
class Work:
    """Per-PE work of one local compute: vector instructions of a given length, and multiply-adds."""

    vector_ops: int
    vector_length: int
    macs: int
    weight: int = 1

    def __str__(self) -> str:
        cost = f" x{self.weight}" if self.weight > 1 else ""
        return f"{self.macs} ops/PE as {self.vector_ops} vector ops of {self.vector_length}{cost}"


@dataclass(frozen=True, slots=True)
class Place:
    """Host -> mesh: the input is padded, cut into slots and resident before the run (not costed)."""

    tensor: TensorSpec

    def text(self) -> str:
        pad = f", padded with {self.tensor.pad_value:g}" if self.tensor.padded != self.tensor.shape else ""
        return f"place     {self.tensor.describe()}{pad}"


@dataclass(frozen=True, slots=True)
class Alloc:
    """A zero-filled result or scratch tensor on every PE."""

    tensor: TensorSpec

    def text(self) -> str:
        return f"alloc     {self.tensor.describe()}"


@dataclass(frozen=True, slots=True)
class Free:
    """A tensor no longer needed: its memory is released on every PE."""

    tensor: str

    def text(self) -> str:
        return f"free      {self.tensor}"


@dataclass(frozen=True, slots=True)
class Skew:
    """Cannon's pre-skew: the line at index r of the other axis moves r positions along `axis`."""

    tensor: str
    axis: str
    ring: Ring

    def text(self) -> str:
        other = AXES[1 - AXES.index(self.axis)]
        return f"skew      {self.tensor} along {self.axis} by its {other} index ({self.ring})"


@dataclass(frozen=True, slots=True)
class Shift:
    """Every slot moves one position back along the ring of `axis` (slot i receives slot i+1)."""

    tensor: str
    axis: str
    ring: Ring
    double_buffered: bool

    def text(self) -> str:
        from .rings import shift_streams  # geometry needs numpy; the data classes do not

        db = ", double-buffered (overlaps the compute before it)" if self.double_buffered else ""
        hops = shift_streams(self.ring).max_hops()
        return f"shift     {self.tensor} along {self.axis} by 1 ({self.ring}, max {hops} hops){db}"


@dataclass(frozen=True, slots=True)
class Broadcast:
    """SUMMA: slot `loop index` of src along `axis` is multicast to every PE on that axis."""

    src: str
    dst: str
    axis: str

    def text(self) -> str:
        return f"broadcast {self.dst} = slot[step] of {self.src} along {self.axis}"


@dataclass(frozen=True, slots=True)
class Compute:
    """A local computation on each PE's slots. kind: matmul (out += a @ b), matmul_bt
    (out = a @ b^T), gemv (out = a @ v), reduce_sum / reduce_max over the last tile dim, or a
    map function of runtime.mesh.numeric.MAPS."""

    kind: str
    out: str
    inputs: tuple[str | float, ...]
    work: Work

    def text(self) -> str:
        args = [a if isinstance(a, str) else f"{a:g}" for a in self.inputs]
        forms = {"matmul": "{o} += {0} @ {1}", "matmul_bt": "{o} = {0} @ {1}^T", "gemv": "{o} = {0} @ {1}",
                 "reduce_sum": "{o} = sum of each row of {0}", "reduce_max": "{o} = max of each row of {0}"}
        call = "{o} = " + self.kind + "(" + ", ".join("{%d}" % i for i in range(len(args))) + ")"
        body = forms.get(self.kind, call)
        return f"compute   {body.format(*args, o=self.out)}  [{self.work}]"


@dataclass(frozen=True, slots=True)
class AllReduceStep:
    """Combine src along `axis` (first the slots a PE holds, then across PEs); dst is replicated."""

    src: str
    dst: str
    axis: str
    op: str
    method: Allreduce

    def text(self) -> str:
        return f"allreduce {self.dst} = {self.op} of {self.src} along {self.axis} by {self.method}"


@dataclass(frozen=True, slots=True)
class Keep:
    """After a per-step allreduce of A·B^T, the PE owning block (i, i + step) stores it (no copy moves)."""

    src: str
    dst: str

    def text(self) -> str:
        return f"keep      {self.dst}[i, i + step] = {self.src}[i]"


@dataclass(frozen=True, slots=True)
class Mask:
    """Overwrite elements by global index: `pad_cols` (columns past the logical width) or `causal`."""

    tensor: str
    rule: str
    value: float

    def text(self) -> str:
        return f"mask      {self.tensor} where {self.rule} := {self.value:g}"


@dataclass(frozen=True, slots=True)
class Loop:
    """The body repeated `count` times; `step` in the body is the iteration number."""

    count: int
    body: tuple

    def text(self) -> str:
        return f"loop      {self.count} times:"


@dataclass(frozen=True, slots=True)
class Gather:
    """Mesh -> host: the slots are reassembled and the padding cut off (host I/O, not costed)."""

    tensor: str

    def text(self) -> str:
        return f"gather    {self.tensor}"


Op = Place | Alloc | Free | Skew | Shift | Broadcast | Compute | AllReduceStep | Keep | Mask | Loop | Gather


@dataclass(frozen=True, slots=True)
class Padding:
    """One tensor dimension padded so that it divides into slots."""

    tensor: str
    dim: int
    size: int
    padded: int

    def to_dict(self) -> dict:
        return {"tensor": self.tensor, "dim": self.dim, "size": self.size, "padded": self.padded}


@dataclass(frozen=True, slots=True)
class MeshProgram:
    """A whole mesh program: the grid, the element size, the steps, and what it computes."""

    name: str
    grid: tuple[int, int]
    elem_bytes: int
    ops: tuple[Op, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[str, ...]
    reference: str
    useful_macs: int
    padding: tuple[Padding, ...] = ()
    params: tuple[tuple[str, float], ...] = ()

    def tensors(self) -> dict[str, TensorSpec]:
        """Every tensor the program places or allocates, by name."""
        found: dict[str, TensorSpec] = {}
        for op in _flat(self.ops):
            if isinstance(op, (Place, Alloc)):
                found[op.tensor.name] = op.tensor
        return found

    def to_text(self) -> str:
        ny, nx = self.grid
        lines = [f"mesh program {self.name} on {ny} x {nx} PEs, {self.elem_bytes} B per element"]
        lines += [f"  padding: {p.tensor} dim {p.dim}: {p.size} -> {p.padded}" for p in self.padding]
        lines += _op_lines(self.ops, "  ")
        return "\n".join(lines) + "\n"


def _op_lines(ops: tuple, indent: str) -> list[str]:
    lines = []
    for op in ops:
        lines.append(indent + op.text())
        if isinstance(op, Loop):
            lines += _op_lines(op.body, indent + "  ")
    return lines


def _flat(ops: tuple):
    for op in ops:
        yield op
        if isinstance(op, Loop):
            yield from _flat(op.body)
