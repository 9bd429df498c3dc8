"""Recognise which distributed pattern a kernel is, from its checked IR (never from its name).

Contractions (GEMM, GEMM with Bᵀ, GEMV) and elementwise kernels are matched by structure. Row
reductions and attention are many statements that can be spelled many ways, so they are matched by
signature (ranks, shared dimensions, a reduction inside) and then confirmed by running the kernel in
the reference interpreter on small random inputs against each candidate's numpy meaning: a kernel
that is merely shaped like softmax (log-softmax, say) is not taken for one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from compiler import ir
from compiler.affine import Affine

#: IR primitives the mesh runtime can apply elementwise (runtime.mesh.numeric.MAPS).
MAP_OPS = ("add", "sub", "mul", "div", "maximum", "minimum", "exp", "log", "sqrt", "rsqrt", "tanh",
           "sigmoid", "relu", "abs", "neg")
#: The runtime's algorithms for a kernel kind; a kind not listed takes no `algorithm =`.
ALGORITHMS = {"gemm": ("meshgemm", "cannon", "summa"), "gemm_bt": ("meshgemm", "cannon"),
              "attention": ("meshgemm", "cannon"), "attention_causal": ("meshgemm", "cannon")}
ROW_KINDS = ("softmax", "rmsnorm", "layernorm")
DESCRIPTIONS = {
    "gemm": "a GEMM (C[i, j] = sum(k) A[i, k] * B[k, j])", "gemm_bt": "a GEMM with B transposed "
    "(C[i, j] = sum(k) A[i, k] * B[j, k])", "gemv": "a GEMV (y[j] = sum(k) W[j, k] * v[k])",
    "elementwise": "an elementwise kernel", "softmax": "a row softmax", "rmsnorm": "a row RMS norm",
    "layernorm": "a row layer norm", "attention": "prefill attention",
    "attention_causal": "causal prefill attention",
}


@dataclass(frozen=True, slots=True)
class Role:
    """One kernel tensor in a pattern: the runtime builder's name for it and its required placement."""

    tensor: str
    builder: str
    indices: tuple[str, ...]
    axes: tuple[str | None, ...]

    def written(self) -> str:
        """The placement as a user writes it: `A[i@y, k@x]`."""
        dims = ", ".join(f"{i}@{a}" if a else i for i, a in zip(self.indices, self.axes))
        return f"{self.tensor}[{dims}]"


@dataclass(frozen=True, slots=True)
class Pattern:
    """Which distributed computation a kernel is, with the kernel's names for its parts.

    `reduced` are the kernel's index names whose reduction crosses PEs (what `reduce IDX =` names);
    `eps` is a row norm's epsilon, read from the kernel."""

    kind: str
    roles: tuple[Role, ...]
    reduced: tuple[str, ...] = ()
    eps: float = 0.0

    @property
    def algorithms(self) -> tuple[str, ...]:
        return ALGORITHMS.get(self.kind, ())

    def describe(self) -> str:
        return DESCRIPTIONS[self.kind]

    def role(self, tensor: str) -> Role | None:
        return next((r for r in self.roles if r.tensor == tensor), None)


def recognise(kernel: ir.KernelIR) -> Pattern | None:
    """The pattern a kernel is, or None when the mesh runtime has none for it."""
    if len(kernel.results) != 1:
        return None
    for matcher in (_contraction, _elementwise, _row_reduction, _attention):
        found = matcher(kernel)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- structure


def _strip(e: ir.Expr) -> ir.Expr:
    while isinstance(e, ir.Cast):
        e = e.operand
    return e


def _plain(index: Affine) -> str | None:
    """The index variable an affine index is, when it is exactly one variable."""
    return index.terms[0][0] if index.const == 0 and len(index.terms) == 1 and index.terms[0][1] == 1 else None


def _names(load: ir.Load) -> tuple[str | None, ...]:
    return tuple(_plain(i) for i in load.indices)


def _contraction(kernel: ir.KernelIR) -> Pattern | None:
    """One statement `out[...] = sum(k) P[...] * Q[...]` of two parameters."""
    if len(kernel.body) != 1:
        return None
    stmt = kernel.body[0]
    red = _strip(stmt.value)
    if not (isinstance(red, ir.Reduce) and red.op == "sum" and len(red.vars) == 1):
        return None
    body = _strip(red.body)
    if not (isinstance(body, ir.Call) and body.op == "mul"):
        return None
    loads = [_strip(a) for a in body.args]
    params = {p.name for p in kernel.params}
    if not all(isinstance(x, ir.Load) and x.tensor in params for x in loads) or loads[0].tensor == loads[1].tensor:
        return None
    out = tuple(v.name for v in stmt.indices)
    by_names = {_names(x): x.tensor for x in loads}
    return _match_contraction(out, red.vars[0].name, by_names, stmt.target.name)


def _match_contraction(out: tuple[str, ...], k: str, loads: dict, result: str) -> Pattern | None:
    if len(out) == 2 and (out[0], k) in loads:
        i, j = out
        a = Role(loads[(i, k)], "A", (i, k), ("y", "x"))
        c = Role(result, "C", (i, j), ("y", "x"))
        if (k, j) in loads:
            return Pattern("gemm", (a, Role(loads[(k, j)], "B", (k, j), ("y", "x")), c))
        if (j, k) in loads:
            return Pattern("gemm_bt", (a, Role(loads[(j, k)], "B", (j, k), ("y", "x")), c), (k,))
    if len(out) == 1 and (out[0], k) in loads and (k,) in loads:
        j = out[0]
        return Pattern("gemv", (Role(loads[(j, k)], "W", (j, k), ("y", "x")),
                                Role(loads[(k,)], "v", (k,), ("x",)), Role(result, "y", (j,), ("y",))), (k,))
    return None


def _elementwise(kernel: ir.KernelIR) -> Pattern | None:
    """Every statement maps rank-2 tensors pointwise (same indices everywhere) with runtime maps."""
    shape = kernel.results[0].shape
    tensors = kernel.params + tuple(s.target for s in kernel.body)
    if len(shape) != 2 or any(t.shape != shape for t in tensors):
        return None
    for stmt in kernel.body:
        names = tuple(v.name for v in stmt.indices)
        if not all(_pointwise(node, names) for node in ir.walk(stmt.value)):
            return None
    named = [(t.name, _first_names(kernel, t.name)) for t in kernel.params + kernel.results]
    if not kernel.body or any(n is None for _, n in named):
        return None
    return Pattern("elementwise", tuple(Role(t, t, n, ("y", "x")) for t, n in named))


def _pointwise(node: ir.Expr, names: tuple[str, ...]) -> bool:
    if isinstance(node, ir.Load):
        return _names(node) == names
    if isinstance(node, ir.Call):
        return node.op in MAP_OPS or small_power(node) is not None
    return isinstance(node, (ir.Const, ir.Cast))


def small_power(call: ir.Call) -> int | None:
    """The exponent of `a ** n` for a whole n in 1..4 (lowered to multiplies), else None."""
    if call.op != "pow":
        return None
    exponent = _strip(call.args[1])
    if isinstance(exponent, ir.Const) and exponent.value in (1, 2, 3, 4):
        return int(exponent.value)
    return None


# ---------------------------------------------------------------- signature, then a numeric probe


def _symbols(*shapes: tuple[Affine, ...]) -> list[str] | None:
    """The dimension symbols of shapes made only of plain symbols (else None)."""
    found = [_plain(d) for shape in shapes for d in shape]
    return None if None in found else found


def _first_names(kernel: ir.KernelIR, tensor: str) -> tuple[str, ...] | None:
    """The index names a tensor is read or written with, from its first plain access."""
    for stmt in kernel.body:
        if stmt.target.name == tensor:
            return tuple(v.name for v in stmt.indices)
        for node in ir.walk(stmt.value):
            if isinstance(node, ir.Load) and node.tensor == tensor and None not in _names(node):
                return _names(node)
    return None


def _has_reduction(kernel: ir.KernelIR) -> bool:
    return any(isinstance(n, ir.Reduce) for s in kernel.body for n in ir.walk(s.value))


def _row_reduction(kernel: ir.KernelIR) -> Pattern | None:
    """One [N, D] input, up to two [D] vectors (scale, shift), one [N, D] result, reductions."""
    mats = [p for p in kernel.params if len(p.shape) == 2]
    vecs = [p for p in kernel.params if len(p.shape) == 1]
    out = kernel.results[0]
    if len(mats) != 1 or len(vecs) > 2 or len(mats) + len(vecs) != len(kernel.params):
        return None
    x = mats[0]
    if out.shape != x.shape or any(v.shape != x.shape[1:] for v in vecs) or not _has_reduction(kernel):
        return None
    if _symbols(x.shape) is None or _first_names(kernel, x.name) is None:
        return None
    for kind, extras, eps in _row_candidates(kernel, len(vecs)):
        order = [v.name for v in vecs]
        for names in itertools.permutations(order):
            if _probe_rows(kernel, kind, x.name, names[:len(extras)], eps):
                return _row_pattern(kernel, kind, x.name, dict(zip(extras, names)), eps)
    return None


def _row_candidates(kernel: ir.KernelIR, n_vectors: int):
    """(kind, its vector roles, eps) worth probing: eps from the kernel's own small constants."""
    consts = {0.0} | {float(n.value) for s in kernel.body for n in ir.walk(s.value)
                      if isinstance(n, ir.Const) and 0 < n.value < 0.01}
    if n_vectors == 0:
        yield "softmax", (), 0.0
    for eps in sorted(consts):
        if n_vectors <= 1:
            yield "rmsnorm", ("gamma",)[:n_vectors], eps
        yield "layernorm", ("gamma", "beta")[:n_vectors], eps


def _row_meaning(kind: str, x: np.ndarray, vectors: list[np.ndarray], eps: float) -> np.ndarray:
    from runtime.mesh.reference import REFERENCES

    y = REFERENCES[kind]({"x": x}, {"eps": eps})["y"]
    scale_shift = vectors + [np.zeros_like(x[0])] * (2 - len(vectors))
    return y * (scale_shift[0] if vectors else 1.0) + scale_shift[1]


def _probe_rows(kernel: ir.KernelIR, kind: str, x: str, vectors: tuple[str, ...], eps: float) -> bool:
    """Does the kernel compute `kind` (times gamma, plus beta) at two input scales?"""
    rng = np.random.default_rng(7)
    rows, cols = 3, 5
    for scale in (1.0, 1e-3):
        arrays = {x: rng.standard_normal((rows, cols)) * scale}
        arrays |= {v: rng.standard_normal(cols) for v in vectors}
        want = _row_meaning(kind, arrays[x], [arrays[v] for v in vectors], eps)
        if not _agrees(kernel, arrays, want):
            return False
    return True


def _row_pattern(kernel: ir.KernelIR, kind: str, x: str, vectors: dict[str, str], eps: float) -> Pattern:
    n, d = _first_names(kernel, x)
    out = kernel.results[0].name
    roles = [Role(x, "x", (n, d), ("y", "x")), Role(out, "y", (n, d), ("y", "x"))]
    roles += [Role(tensor, role, (d,), ("x",)) for role, tensor in vectors.items()]
    return Pattern(kind, tuple(roles), (d,), eps)


def _attention(kernel: ir.KernelIR) -> Pattern | None:
    """Three [seq, head] inputs and one result; which is q, k, v is found by probing."""
    mats = [p for p in kernel.params if len(p.shape) == 2]
    out = kernel.results[0]
    if len(mats) != 3 or len(kernel.params) != 3 or len(out.shape) != 2 or not _has_reduction(kernel):
        return None
    for q, k, v in itertools.permutations(mats):
        if q.shape[1] != k.shape[1] or k.shape[0] != v.shape[0] or out.shape != (q.shape[0], v.shape[1]):
            continue
        symbols = _symbols(q.shape, k.shape, v.shape)
        if symbols is None:
            continue
        for kind in ("attention", "attention_causal"):
            if _probe_attention(kernel, kind, (q.name, k.name, v.name)):
                return _attention_pattern(kernel, kind, q.name, k.name, v.name)
    return None


def _probe_attention(kernel: ir.KernelIR, kind: str, qkv: tuple[str, str, str]) -> bool:
    from runtime.mesh.reference import REFERENCES

    rng = np.random.default_rng(7)
    arrays = {name: rng.standard_normal((4, 3)) for name in qkv}
    want = REFERENCES[kind](dict(zip("QKV", (arrays[n] for n in qkv))), {})["O"]
    return _agrees(kernel, arrays, want)


def _attention_pattern(kernel: ir.KernelIR, kind: str, q: str, k: str, v: str) -> Pattern | None:
    names = [_first_names(kernel, t) for t in (q, k, v, kernel.results[0].name)]
    if None in names:
        return None
    roles = tuple(Role(t, b, n, ("y", "x")) for t, b, n in zip((q, k, v, kernel.results[0].name), "QKVO", names))
    j, d = names[1]
    return Pattern(kind, roles, (d, j))


def _agrees(kernel: ir.KernelIR, arrays: dict[str, np.ndarray], want: np.ndarray) -> bool:
    """Run the kernel in the reference interpreter; True when it matches `want` closely."""
    from dsl.diagnostics import PlmrError
    from runtime.reference import run_kernel

    try:
        got = run_kernel(kernel, [arrays[p.name] for p in kernel.params])[0]
    except (PlmrError, KeyError):
        return False
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-3, atol=1e-4))
