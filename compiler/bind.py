"""Bind concrete arrays to a kernel's parameters: solve the dimension symbols, check every shape,
every extent and every access against them. Each backend calls this before it runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler import ir
from compiler.affine import Affine
from dsl.diagnostics import Note, error


def numpy_dtype(dtype: str) -> np.dtype:
    if dtype == "bf16":
        import ml_dtypes  # ships with jax; only bf16 needs it

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype({"f16": np.float16, "f32": np.float32, "f64": np.float64, "i32": np.int32}[dtype])


@dataclass(frozen=True)
class Bound:
    """Arrays converted to the parameters' dtypes and the value of every dimension symbol."""

    arrays: tuple[np.ndarray, ...]
    dims: dict[str, int]


def bind(kernel: ir.KernelIR, arrays) -> Bound:
    if len(arrays) != len(kernel.params):
        names = ", ".join(p.name for p in kernel.params)
        raise error("E201", f"kernel {kernel.name} takes {len(kernel.params)} input(s) ({names}) but "
                    f"got {len(arrays)}", kernel.span)
    converted = tuple(_convert(p, a) for p, a in zip(kernel.params, arrays))
    dims = _solve_dims(kernel, converted)
    _check_extents(kernel, dims)
    _check_accesses(kernel, dims)
    return Bound(converted, dims)


def _convert(param: ir.TensorDecl, value) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any failure to make an array is the user's input
        raise error("E202", f"input {param.name} is not an array: {exc}", param.span) from None
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":  # ml_dtypes' bf16 is kind "V"
        raise error("E202", f"input {param.name} has dtype {array.dtype}, not a number type", param.span)
    if array.ndim != len(param.shape):
        raise error("E203", f"input {param.name} should have rank {len(param.shape)} "
                    f"({param.dtype}[{', '.join(map(str, param.shape))}]) but has shape {array.shape}",
                    param.span)
    want = numpy_dtype(param.dtype)
    if want.kind == "i" and array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise error("E204", f"input {param.name} is declared i32 but holds fractional values", param.span)
    return np.asarray(array, dtype=want, order="C")


def _solve_dims(kernel: ir.KernelIR, arrays: tuple[np.ndarray, ...]) -> dict[str, int]:
    """Symbols from dims written as a single name first, then dims affine in one unknown symbol."""
    dims: dict[str, int] = {}
    source: dict[str, tuple[ir.TensorDecl, int]] = {}  # symbol -> (parameter, axis) it was read from
    pending = [(p, axis, size) for p, a in zip(kernel.params, arrays) for axis, size in enumerate(a.shape)]
    while pending:
        progress, still = False, []
        for p, axis, size in pending:
            d = p.shape[axis]
            unknown = [s for s in d.symbols() if s not in dims]
            if len(unknown) == 1:
                s, c = unknown[0], d.coeff(unknown[0])
                rest = d.without(s).evaluate(dims)
                if (size - rest) % c:
                    raise error("E205", f"{p.name} has {size} elements where its type says {d}: "
                                f"no integer {s} fits", _dim_span(kernel, p, axis))
                dims[s], source[s], progress = (size - rest) // c, (p, axis), True
            elif unknown:
                still.append((p, axis, size))
            elif d.evaluate(dims) != size:
                raise _mismatch(kernel, p, axis, size, dims, source)
        if not progress and still:
            p, axis, _ = still[0]
            raise error("E206", f"cannot determine {', '.join(p.shape[axis].symbols())} from the input shapes",
                        _dim_span(kernel, p, axis),
                        help="write each dimension symbol alone in some input's shape, as N in f32[N]")
        pending = still
    return dims


def _mismatch(kernel, p: ir.TensorDecl, axis: int, size: int, dims: dict, source: dict):
    d = p.shape[axis]
    names = d.symbols()
    if len(names) == 1 and d == Affine.of(names[0]):
        s = names[0]
        first, first_axis = source[s]
        where_first = Note(f"{s} = {dims[s]} was read from {first.name} here", _dim_span(kernel, first, first_axis))
        return error("E207", f"{s} is {dims[s]} from {first.name} but {size} from {p.name}",
                     _dim_span(kernel, p, axis), notes=(where_first,),
                     help="the arrays passed in must agree on every dimension they share")
    return error("E207", f"{p.name} has {size} elements where its type says {d} = {d.evaluate(dims)}",
                 _dim_span(kernel, p, axis))


def _dim_span(kernel: ir.KernelIR, p: ir.TensorDecl, axis: int):
    """Where dimension `axis` of parameter `p` is written; the kernel when a span was not kept."""
    spans = p.dim_spans
    return (spans[axis] if axis < len(spans) else None) or p.span or kernel.span


def _check_extents(kernel: ir.KernelIR, dims: dict[str, int]) -> None:
    for stmt in kernel.body:
        for var in stmt.indices:
            n = var.extent.evaluate(dims)
            if n < 0:
                raise error("E208", f"{stmt.target.name} would have {var.extent} = {n} elements along "
                            f"{var.name}", stmt.span, help="the inputs are too small for this kernel")


def _check_accesses(kernel: ir.KernelIR, dims: dict[str, int]) -> None:
    """Every load stays inside its tensor for every point of its index ranges."""
    shapes = {t.name: t.shape for t in kernel.params + tuple(s.target for s in kernel.body)}
    for stmt in kernel.body:
        ranges = {v.name: v.extent.evaluate(dims) for v in stmt.indices}
        _check_expr(stmt.value, ranges, dims, shapes)


def _check_expr(e: ir.Expr, ranges: dict[str, int], dims: dict[str, int], shapes: dict) -> None:
    if isinstance(e, ir.Reduce):
        ranges = {**ranges, **{v.name: v.extent.evaluate(dims) for v in e.vars}}
    if isinstance(e, ir.Load):
        _check_load(e, ranges, dims, shapes[e.tensor])
    for child in ir.children(e):
        _check_expr(child, ranges, dims, shapes)


def _check_load(load: ir.Load, ranges: dict[str, int], dims: dict[str, int], shape) -> None:
    if any(ranges.get(s, 1) <= 0 for i in load.indices for s in i.symbols()):
        return  # an empty range reads nothing
    for axis, (index, extent) in enumerate(zip(load.indices, shape)):
        lo = hi = index.const
        for s, c in index.terms:
            if s not in ranges:  # a dimension: a constant here
                lo, hi = lo + c * dims[s], hi + c * dims[s]
            elif c > 0:
                hi += c * (ranges[s] - 1)
            else:
                lo += c * (ranges[s] - 1)
        size = extent.evaluate(dims)
        if lo < 0 or hi >= size:
            raise error("E209", f"{load.tensor}[…] reads index {lo if lo < 0 else hi} along dimension "
                        f"{axis}, outside 0 … {size - 1}", load.span,
                        help="the index ranges inferred for this access go past the tensor's edge")
