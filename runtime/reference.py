"""The reference interpreter: the meaning of a kernel, in numpy, for every other backend to match.

Each statement is evaluated on the whole index space at once: index variable number p is an
`arange` laid along axis p, a load is numpy advanced indexing with those aranges, a reduction
adds its variables as trailing axes and reduces them away. Half-precision values are stored in
their dtype and computed in f32 within a statement.
"""

from __future__ import annotations

import numpy as np

from compiler import ir
from compiler.affine import Affine
from compiler.bind import bind, numpy_dtype
from compiler.primitives import PRIMITIVES, REDUCERS
from dsl.diagnostics import error

MAX_ELEMENTS = 1 << 27  # the oracle is for test-sized inputs; beyond this, say so instead of swapping


def compute_dtype(dtype: str) -> np.dtype:
    return numpy_dtype("f32" if dtype in ("f16", "bf16") else dtype)


def run_kernel(kernel: ir.KernelIR, arrays) -> tuple[np.ndarray, ...]:
    """Evaluate a kernel on concrete arrays; one array per declared result."""
    bound = bind(kernel, arrays)
    env = {p.name: a for p, a in zip(kernel.params, bound.arrays)}
    with np.errstate(all="ignore"):  # inf and nan are values like any other here
        for stmt in kernel.body:
            env[stmt.target.name] = evaluate_statement(stmt, env, bound.dims)
    return tuple(env[r.name] for r in kernel.results)


def evaluate_statement(stmt: ir.Stmt, env: dict, dims: dict[str, int]) -> np.ndarray:
    axes = tuple((v.name, v.extent.evaluate(dims)) for v in stmt.indices)
    value = _Eval(env, dims, stmt).expr(stmt.value, axes)
    shape = tuple(n for _, n in axes)
    return np.broadcast_to(value, shape).astype(numpy_dtype(stmt.target.dtype))


class _Eval:
    def __init__(self, env: dict, dims: dict[str, int], stmt: ir.Stmt):
        self.env, self.dims, self.stmt = env, dims, stmt

    def expr(self, e: ir.Expr, axes: tuple[tuple[str, int], ...]) -> np.ndarray:
        match e:
            case ir.Const(value, dtype):
                return np.asarray(value, compute_dtype(dtype))
            case ir.Index(name, dtype):
                return self.index(Affine.of(name), axes).astype(compute_dtype(dtype))
            case ir.Dim(name, dtype):
                return np.asarray(self.dims[name], compute_dtype(dtype))
            case ir.Load(tensor, indices):
                data = self.env[tensor].astype(compute_dtype(e.dtype), copy=False)
                return data[tuple(self.index(i, axes) for i in indices)] if indices else data
            case ir.Cast(operand, dtype):
                return self.expr(operand, axes).astype(compute_dtype(dtype))
            case ir.Call(op, args, dtype):
                out = PRIMITIVES[op].numpy(*(self.expr(a, axes) for a in args))
                return np.asarray(out).astype(compute_dtype(dtype), copy=False)
            case ir.Reduce():
                return self.reduce(e, axes)
        raise TypeError(f"unknown IR node {e!r}")

    def index(self, a: Affine, axes) -> np.ndarray:
        """The integer values of an affine index at every point of the index space."""
        out = np.asarray(a.const)
        position = {name: p for p, (name, _) in enumerate(axes)}
        for s, c in a.terms:
            if s in position:
                shape = [1] * len(axes)
                shape[position[s]] = axes[position[s]][1]
                out = out + c * np.arange(axes[position[s]][1]).reshape(shape)
            else:
                out = out + c * self.dims[s]
        return out

    def reduce(self, e: ir.Reduce, axes) -> np.ndarray:
        inner = axes + tuple((v.name, v.extent.evaluate(self.dims)) for v in e.vars)
        shape = tuple(n for _, n in inner)
        if int(np.prod(shape)) > MAX_ELEMENTS:
            raise error("E301", f"the reference interpreter would hold {int(np.prod(shape)):,} values at "
                        "once for this statement", self.stmt.span,
                        help="it is the oracle for small inputs; use the jax backend for large ones")
        body = np.broadcast_to(self.expr(e.body, inner), shape)
        identity, reducer, _ = REDUCERS[e.op]
        if e.dtype == "i32" and e.op in ("max", "min"):
            info = np.iinfo(np.int32)
            identity = info.min if e.op == "max" else info.max
        trailing = tuple(range(len(axes), len(inner)))
        out = reducer(body, axis=trailing, initial=identity)
        return np.asarray(out).astype(compute_dtype(e.dtype), copy=False)
