"""Numeric execution of mesh steps: every tensor is an array [slots_y, slots_x, *tile] (an axis of
size 1 means replicated along it) and each step is one whole-grid numpy operation, no PE loop."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dsl.diagnostics import InternalError

from .program import (AXES, Alloc, AllReduceStep, Broadcast, Compute, Free, Gather, Keep, Loop, Mask,
                      MeshProgram, Place, Shift, Skew, TensorSpec)

MAPS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda a: 1.0 / np.sqrt(a),
    "tanh": np.tanh, "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0),
    "abs": np.abs, "neg": np.negative,
}


def to_slots(array: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Pad a host array and cut it into [slots_y, slots_x, *tile]."""
    pad = [(0, p - n) for n, p in zip(spec.shape, spec.padded)]
    data = np.pad(array, pad, constant_values=spec.pad_value) if any(p for _, p in pad) else array
    split_shape, order = [], {"y": None, "x": None}
    for size, axis in zip(spec.padded, spec.split):
        if axis is not None:
            order[axis] = len(split_shape)
            split_shape.append(spec.axis_slots(axis))
        split_shape.append(size // spec.axis_slots(axis))
    data = data.reshape(split_shape)
    for axis in AXES:
        if order[axis] is None:
            data = data[np.newaxis]
            order = {a: (o + 1 if o is not None else None) for a, o in order.items()}
            order[axis] = 0
    tile_axes = [i for i in range(data.ndim) if i not in order.values()]
    return np.array(data.transpose([order["y"], order["x"], *tile_axes]), order="C", copy=True)


def from_slots(data: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Reassemble [slots_y, slots_x, *tile] into the logical array, padding cut off."""
    for i, axis in enumerate(AXES):
        if axis not in spec.split and data.shape[i] != 1:
            raise InternalError("numeric.from_slots", f"{spec.name} still varies along {axis}")
    perm, shape = [], []
    for dim, axis in enumerate(spec.split):
        if axis is not None:
            perm.append(AXES.index(axis))
        perm.append(2 + dim)
        shape.append(spec.padded[dim])
    rest = [i for i in range(2) if i not in perm]
    full = data.transpose(rest + perm).reshape(shape)
    return full[tuple(slice(0, n) for n in spec.shape)]


class NumericRun:
    """The data of one numeric run: the tensors on the mesh and the gathered outputs."""

    def __init__(self, program: MeshProgram, inputs: dict[str, np.ndarray]):
        self.program, self.inputs = program, inputs
        self.specs = program.tensors()
        self.env: dict[str, np.ndarray] = {}
        self.outputs: dict[str, np.ndarray] = {}
        self.spare: dict[str, np.ndarray] = {}
        self.dtype = np.result_type(*inputs.values())

    def run(self) -> dict[str, np.ndarray]:
        with np.errstate(over="ignore", under="ignore"):
            self.steps(self.program.ops, 0)
        return self.outputs

    def steps(self, ops: tuple, step: int) -> None:
        for op in ops:
            RULES[type(op)](self, op, step)


def _place(run: NumericRun, op: Place, step: int) -> None:
    run.env[op.tensor.name] = to_slots(np.asarray(run.inputs[op.tensor.name], dtype=run.dtype), op.tensor)


def _alloc(run: NumericRun, op: Alloc, step: int) -> None:
    spec = op.tensor
    run.env[spec.name] = np.zeros((*spec.slots, *spec.tile), dtype=run.dtype)


def _free(run: NumericRun, op: Free, step: int) -> None:
    del run.env[op.tensor]
    run.spare.pop(op.tensor, None)


def _skew(run: NumericRun, op: Skew, step: int) -> None:
    """Line r of the other axis moves r positions: out[r, j] = in[r, (j + r) mod L] (x)."""
    data = run.env[op.tensor]
    ly, lx = data.shape[:2]
    rows, cols = np.arange(ly)[:, None], np.arange(lx)[None, :]
    if op.axis == "x":
        run.env[op.tensor] = data[rows, (cols + rows) % lx]
    else:
        run.env[op.tensor] = data[(rows + cols) % ly, cols]


def _shift(run: NumericRun, op: Shift, step: int) -> None:
    """Slot i receives slot i+1, written into the tensor's second buffer (double buffering), so a
    shift allocates nothing after the first."""
    data = run.env[op.tensor]
    spare = run.spare.pop(op.tensor, None)
    if spare is None or spare.shape != data.shape:
        spare = np.empty_like(data)
    lead = (slice(None),) * AXES.index(op.axis)
    spare[lead + (slice(0, -1),)] = data[lead + (slice(1, None),)]
    spare[lead + (slice(-1, None),)] = data[lead + (slice(0, 1),)]
    run.env[op.tensor], run.spare[op.tensor] = spare, data


def _broadcast(run: NumericRun, op: Broadcast, step: int) -> None:
    src = run.env[op.src]
    run.env[op.dst] = src[:, step:step + 1] if op.axis == "x" else src[step:step + 1]


def _compute(run: NumericRun, op: Compute, step: int) -> None:
    args = [run.env[a] if isinstance(a, str) else a for a in op.inputs]
    if op.kind == "matmul":
        out = run.env[op.out]
        scratch = run.spare.get(op.out)
        if scratch is None or scratch.shape != out.shape:
            scratch = run.spare[op.out] = np.empty_like(out)
        _batched_matmul(args[0], args[1], scratch)
        out += scratch
    elif op.kind == "matmul_bt":
        run.env[op.out] = np.matmul(args[0], np.swapaxes(args[1], -1, -2))
    elif op.kind == "gemv":
        run.env[op.out] = np.matmul(args[0], args[1][..., None])[..., 0]
    elif op.kind == "reduce_sum":
        run.env[op.out] = args[0].sum(axis=-1, keepdims=True)
    elif op.kind == "reduce_max":
        run.env[op.out] = args[0].max(axis=-1, keepdims=True)
    else:
        with np.errstate(all="ignore"):  # padding holds zeros: log(0) there is -inf, and never read back
            run.env[op.out] = np.broadcast_to(MAPS[op.kind](*args), run.env[op.out].shape).astype(run.dtype)


def _batched_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b over the slot grid, split by slot rows across cores (numpy releases the GIL),
    as numpy's own large matmul uses every core."""
    a, b = np.broadcast_to(a, out.shape[:2] + a.shape[2:]), np.broadcast_to(b, out.shape[:2] + b.shape[2:])
    bounds = np.linspace(0, out.shape[0], _workers() + 1).astype(int)
    chunks = [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
    if len(chunks) == 1 or out.size < 1 << 16:
        np.matmul(a, b, out=out)
        return
    list(_pool().map(lambda r: np.matmul(a[r[0]:r[1]], b[r[0]:r[1]], out=out[r[0]:r[1]]), chunks))


@functools.lru_cache(maxsize=1)
def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_workers(), thread_name_prefix="plmr-mesh")


def _allreduce(run: NumericRun, op: AllReduceStep, step: int) -> None:
    combine = np.sum if op.op == "sum" else np.max
    run.env[op.dst] = combine(run.env[op.src], axis=AXES.index(op.axis), keepdims=True)


def _keep(run: NumericRun, op: Keep, step: int) -> None:
    """dst[i, (i + step) mod L] = src[i]: the PE owning that block of the product stores it."""
    dst = run.env[op.dst]
    rows = np.arange(dst.shape[0])
    dst[rows, (rows + step) % dst.shape[1]] = run.env[op.src][:, 0]


def _mask(run: NumericRun, op: Mask, step: int) -> None:
    data = run.env[op.tensor]
    ly, lx, tr, tc = data.shape
    row = (np.arange(ly)[:, None, None, None] * tr + np.arange(tr)[None, None, :, None])
    col = (np.arange(lx)[None, :, None, None] * tc + np.arange(tc)[None, None, None, :])
    where = col >= run.specs[op.tensor].shape[1] if op.rule == "pad_cols" else col > row
    np.copyto(data, op.value, where=where)


def _loop(run: NumericRun, op: Loop, step: int) -> None:
    for i in range(op.count):
        run.steps(op.body, i)


def _gather(run: NumericRun, op: Gather, step: int) -> None:
    run.outputs[op.tensor] = from_slots(run.env[op.tensor], run.specs[op.tensor])


RULES = {Place: _place, Alloc: _alloc, Free: _free, Skew: _skew, Shift: _shift, Broadcast: _broadcast,
         Compute: _compute, AllReduceStep: _allreduce, Keep: _keep, Mask: _mask, Loop: _loop,
         Gather: _gather}
