"""Inputs for running a kernel without data: dimension sizes and seeded random arrays."""

from __future__ import annotations

import numpy as np

from compiler import ir
from compiler.bind import numpy_dtype
from dsl.diagnostics import error


def parse_shapes(text: str | None) -> dict[str, int]:
    """`N=128,D=64` → {"N": 128, "D": 64}."""
    dims: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, value = part.partition("=")
        if not name.strip().isidentifier() or not value.strip().isdigit():
            raise error("E401", f"bad shape {part!r}", help="write sizes as NAME=INTEGER, e.g. N=128,D=64")
        dims[name.strip()] = int(value)
    return dims


def default_dims(kernel: ir.KernelIR, given: dict[str, int], base: int = 8) -> dict[str, int]:
    """Every dimension of the kernel: the given ones, else `base`, or 3 for a dimension that is
    subtracted somewhere (K in N - K + 1), so that every extent stays positive."""
    unknown = [name for name in given if name not in kernel.dims]
    if unknown:
        raise error("E402", f"kernel {kernel.name} has no dimension {unknown[0]}",
                    help="its dimensions are: " + (", ".join(kernel.dims) or "none"))
    subtracted = {s for stmt in kernel.body for v in stmt.indices for s, c in v.extent.terms if c < 0}
    subtracted |= {s for t in kernel.params for d in t.shape for s, c in d.terms if c < 0}
    return {d: given.get(d, 3 if d in subtracted else base) for d in kernel.dims}


def random_inputs(kernel: ir.KernelIR, dims: dict[str, int], seed: int = 0) -> list[np.ndarray]:
    """Standard normal floats, small integers for i32, in each parameter's shape and dtype."""
    rng = np.random.default_rng(seed)
    arrays = []
    for p in kernel.params:
        shape = tuple(d.evaluate(dims) for d in p.shape)
        if min(shape, default=1) < 0:
            raise error("E403", f"{p.name} would have shape {shape}", help="choose larger dimensions")
        if p.dtype == "i32":
            values = rng.integers(-8, 9, size=shape)
        else:
            values = rng.standard_normal(size=shape)
        arrays.append(np.asarray(values).astype(numpy_dtype(p.dtype)))
    return arrays
