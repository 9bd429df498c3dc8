"""Comparing a backend's results with the reference: tolerance per dtype, scaled by reduction length."""

from __future__ import annotations

import math

import numpy as np

from compiler import ir

# Relative/absolute tolerance per dtype for a computation with no reduction.
BASE_TOLERANCE = {"f64": 1e-12, "f32": 2e-6, "f16": 2e-3, "bf16": 1.6e-2, "i32": 0.0}


def reduction_length(kernel: ir.KernelIR, dims: dict[str, int]) -> int:
    """The largest number of terms any reduction of the kernel combines (1 when there is none)."""
    longest = 1
    for stmt in kernel.body:
        for node in ir.walk(stmt.value):
            if isinstance(node, ir.Reduce):
                longest = max(longest, math.prod(v.extent.evaluate(dims) for v in node.vars))
    return longest


def tolerance(dtype: str, length: int) -> float:
    """Rounding error grows about as √length for a sum of `length` terms; a chain of statements
    compounds it, hence the factor 8."""
    return 8 * BASE_TOLERANCE[dtype] * math.sqrt(max(1, length))


def max_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / (1 + |want|); infinities must match exactly, NaN anywhere is an error."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    if np.isnan(got).any() or np.isnan(want).any():
        return math.inf
    same_inf = np.isinf(got) & np.isinf(want) & (np.sign(got) == np.sign(want))
    if (np.isinf(got) | np.isinf(want))[~same_inf].any():
        return math.inf
    with np.errstate(over="ignore", invalid="ignore"):  # huge finite values: the error is inf, no warning
        diff = np.where(same_inf, 0.0, np.abs(got - want) / (1.0 + np.abs(want)))
    return float(diff.max(initial=0.0))
