"""Kernel IR → the source text of a JAX function (shown by `plmr compile --emit jax`).

Every value is an array whose axes are named by index variables, kept in one canonical order per
statement (the left side's indices, then reduction variables as they appear), so operands line up
by inserting `None` axes, never by transposing. A sum of products becomes one `jnp.einsum`
(XLA turns it into a dot), other reductions `jnp.sum/max/min/prod` over named axes. Dimensions
are static arguments, so `jax.jit` compiles once per shape and dtype. Half-precision values are
computed in f32 within a statement, as the reference interpreter does.
"""

from __future__ import annotations

import math
import string

from compiler import ir
from compiler.affine import Affine
from compiler.primitives import PRIMITIVES, REDUCERS

_JNP_DTYPE = {"f16": "jnp.float16", "bf16": "jnp.bfloat16", "f32": "jnp.float32", "f64": "jnp.float64",
              "i32": "jnp.int32"}
_COMPARE = frozenset(p.name for p in PRIMITIVES.values() if p.kind == "compare")


def compute_dtype(dtype: str) -> str:
    return "f32" if dtype in ("f16", "bf16") else dtype


def lower_kernel(kernel: ir.KernelIR) -> str:
    """Python source defining `kernel_<name>(params…, *, dims…)`, returning a tuple of results."""
    params = ", ".join(p.name for p in kernel.params)
    dims = ", ".join(kernel.dims)
    signature = params + (", *, " + dims if dims else "")
    lines = [f"def kernel_{kernel.name}({signature}):"]
    shapes = {t.name: t.shape for t in kernel.params + tuple(s.target for s in kernel.body)}
    for stmt in kernel.body:
        lines.append(f"    {stmt.target.name} = {StatementLowering(stmt, shapes).code()}")
    results = ", ".join(r.name for r in kernel.results)
    lines.append(f"    return ({results},)")
    return "\n".join(lines) + "\n"


def _affine(a: Affine) -> str:
    return str(a)


class StatementLowering:
    """Lowers one statement's value; each method returns (code, axes)."""

    def __init__(self, stmt: ir.Stmt, shapes: dict[str, tuple[Affine, ...]] | None = None):
        self.stmt = stmt
        self.shapes = shapes or {}  # tensor shapes, to slice a tensor its index ranges only partly cover
        self.ranges: dict[str, Affine] = {v.name: v.extent for v in stmt.indices}
        self.extent: dict[str, str] = {v.name: _affine(v.extent) for v in stmt.indices}
        self.rank: dict[str, int] = {v.name: i for i, v in enumerate(stmt.indices)}

    def code(self) -> str:
        stmt = self.stmt
        code, axes = self.expr(stmt.value)
        want = tuple(v.name for v in stmt.indices)
        if axes != want:
            shape = ", ".join(self.extent[v] for v in want)
            comma = "," if len(want) == 1 else ""
            code = f"jnp.broadcast_to({self.align(code, axes, want)}, ({shape}{comma}))"
            axes = want
        if compute_dtype(stmt.target.dtype) != stmt.target.dtype or not axes:
            code = f"jnp.asarray({code}, {_JNP_DTYPE[stmt.target.dtype]})"
        return code

    # ------------------------------------------------------------ axes

    def sort(self, axes) -> tuple[str, ...]:
        return tuple(sorted(set(axes), key=self.rank.__getitem__))

    def align(self, code: str, axes: tuple[str, ...], to: tuple[str, ...]) -> str:
        """Insert None axes so an array with `axes` broadcasts against one with `to`."""
        if axes == to[len(to) - len(axes):]:
            return code  # numpy broadcasting aligns from the right
        first = to.index(axes[0]) if axes else len(to)
        index = ", ".join(":" if a in axes else "None" for a in to[first:])
        return f"{code}[{index}]"

    # ------------------------------------------------------------ expressions

    def expr(self, e: ir.Expr) -> tuple[str, tuple[str, ...]]:
        match e:
            case ir.Const(value, dtype):
                literal = "jnp.inf" if math.isinf(value) and value > 0 else repr(value)
                return f"{_JNP_DTYPE[compute_dtype(dtype)]}({literal})", ()
            case ir.Index(name, dtype):
                return f"jnp.arange({self.extent[name]}, dtype={_JNP_DTYPE[compute_dtype(dtype)]})", (name,)
            case ir.Dim(name, dtype):
                return f"{_JNP_DTYPE[compute_dtype(dtype)]}({name})", ()
            case ir.Load():
                return self.load(e)
            case ir.Cast(operand, dtype):
                code, axes = self.expr(operand)
                return f"{code}.astype({_JNP_DTYPE[compute_dtype(dtype)]})", axes
            case ir.Call():
                return self.call(e)
            case ir.Reduce():
                return self.reduce(e)
        raise TypeError(f"unknown IR node {e!r}")

    def load(self, e: ir.Load, any_order: bool = False) -> tuple[str, tuple[str, ...]]:
        """The loaded array and its axes: canonical order, or the tensor's own when `any_order`."""
        code = e.tensor
        plain = tuple(i.terms[0][0] for i in e.indices if self.is_plain(i))
        if len(plain) == len(e.indices) and len(set(plain)) == len(plain):
            code = self.slice(code, e.tensor, plain)
        if e.dtype != compute_dtype(e.dtype):
            code = f"{code}.astype({_JNP_DTYPE[compute_dtype(e.dtype)]})"
        if len(plain) == len(e.indices) and len(set(plain)) == len(plain):
            axes = self.sort(plain)
            if any_order or plain == axes:
                return code, plain
            return f"jnp.transpose({code}, {tuple(plain.index(a) for a in axes)})", axes
        return self.gather(code, e.indices)

    def slice(self, code: str, tensor: str, plain: tuple[str, ...]) -> str:
        """x[:N - 1] where an index runs over less than the tensor's dimension (x[i] beside x[i + 1])."""
        shape = self.shapes.get(tensor)
        if shape is None or all(self.ranges[v] == d for v, d in zip(plain, shape)):
            return code
        cuts = [":" if self.ranges[v] == d else ":" + self.extent[v] for v, d in zip(plain, shape)]
        return f"{code}[{', '.join(cuts)}]"

    def is_plain(self, index: Affine) -> bool:
        """An index that is just one index variable."""
        return len(index.terms) == 1 and index.terms[0][1] == 1 and index.const == 0 \
            and index.terms[0][0] in self.rank

    def gather(self, code: str, indices: tuple[Affine, ...]) -> tuple[str, tuple[str, ...]]:
        """x[i + k, 2 * j] by advanced indexing with broadcast aranges."""
        axes = self.sort(s for i in indices for s in i.symbols() if s in self.rank)
        parts = []
        for index in indices:
            terms = [str(index.const)] if index.const or not index.terms else []
            for s, c in index.terms:
                if s in self.rank:
                    shape = ", ".join(":" if a == s else "None" for a in axes)
                    term = f"jnp.arange({self.extent[s]})[{shape}]"
                else:
                    term = s
                terms.append(term if c == 1 else f"{c} * {term}")
            parts.append(" + ".join(terms))
        return f"{code}[{', '.join(parts)}]", axes

    def call(self, e: ir.Call) -> tuple[str, tuple[str, ...]]:
        lowered = [self.expr(a) for a in e.args]
        axes = self.sort(a for _, ax in lowered for a in ax)
        args = [self.align(code, ax, axes) for code, ax in lowered]
        exponent = _small_integer(e.args[1]) if e.op == "pow" else None
        if exponent is not None:  # x ** 2 as multiplies: XLA's pow is exp(log) and several times slower
            return f"lax.integer_pow({args[0]}, {exponent})", axes
        code = PRIMITIVES[e.op].jax.format(*args)
        if e.op in _COMPARE:
            code = f"{code}.astype({_JNP_DTYPE[compute_dtype(e.dtype)]})"
        return code, axes

    def reduce(self, e: ir.Reduce) -> tuple[str, tuple[str, ...]]:
        for position, v in enumerate(e.vars, start=len(self.rank)):
            self.rank[v.name] = position
            self.ranges[v.name] = v.extent
            self.extent[v.name] = _affine(v.extent)
        body, divisors = e.body, []
        if e.op == "sum":
            fused = self.einsum(e)
            if fused is not None:
                return fused
            body, divisors = _peel_divisors(e.body, {v.name for v in e.vars})
        code, out_axes = self.reduce_body(e, body)
        return self.divide(e, code, out_axes, divisors)

    def reduce_body(self, e: ir.Reduce, body: ir.Expr) -> tuple[str, tuple[str, ...]]:
        code, axes = self.expr(body)
        names = [v.name for v in e.vars]
        missing = [v for v in names if v not in axes]
        if missing:  # the body does not depend on these variables: broadcast it over them
            axes_all = self.sort(list(axes) + missing)
            shape = ", ".join(self.extent[a] for a in axes_all)
            code, axes = f"jnp.broadcast_to({self.align(code, axes, axes_all)}, ({shape},))", axes_all
        positions = tuple(axes.index(v) for v in names)
        _, _, jnp_name = REDUCERS[e.op]
        if e.op in ("sum", "prod"):  # with x64 on, jnp.sum of i32 would give i64
            initial = ", dtype=jnp.int32" if e.dtype == "i32" else ""
        else:
            initial = f", initial={self.identity(e)}"
        out_axes = tuple(a for a in axes if a not in names)
        return f"jnp.{jnp_name}({code}, axis={positions}{initial})", out_axes

    def identity(self, e: ir.Reduce) -> str:
        if e.dtype == "i32":
            return "jnp.iinfo(jnp.int32).min" if e.op == "max" else "jnp.iinfo(jnp.int32).max"
        return "-jnp.inf" if e.op == "max" else "jnp.inf"

    def einsum(self, e: ir.Reduce) -> tuple[str, tuple[str, ...]] | None:
        """sum(k) a * b * … / c as one einsum (divided by c after, when c does not depend on k)."""
        names = {v.name for v in e.vars}
        factors, divisors = _factors(e.body, names)
        lowered = [self.load(f, any_order=True) if isinstance(f, ir.Load) else self.expr(f) for f in factors]
        with_axes = [x for x in lowered if x[1]]
        used = {a for _, ax in lowered for a in ax}
        if len(with_axes) < 2 or not names <= used or len(used) > len(string.ascii_letters):
            return None
        letter = {a: string.ascii_letters[i] for i, a in enumerate(sorted(used, key=self.rank.__getitem__))}
        out = self.sort(used - names)
        spec = ",".join("".join(letter[a] for a in ax) for _, ax in lowered)
        spec += "->" + "".join(letter[a] for a in out)
        code = f"jnp.einsum('{spec}', {', '.join(c for c, _ in lowered)})"
        return self.divide(e, code, out, divisors)

    def divide(self, e: ir.Reduce, code: str, out: tuple[str, ...], divisors: list[ir.Expr]):
        """(Σ …) / c, divided once after the sum. An empty sum stays 0 as in the reference (not 0 / 0):
        extents are static, so the test is plain Python at trace time."""
        count = " * ".join(f"({self.extent[v.name]})" for v in e.vars)
        for d in divisors:
            d_code, d_axes = self.expr(d)
            axes = self.sort(out + d_axes)
            aligned = self.align(code, out, axes)
            empty = aligned if axes == out else \
                f"jnp.broadcast_to({aligned}, ({', '.join(self.extent[a] for a in axes)},))"
            code = f"(({aligned} / {self.align(d_code, d_axes, axes)}) if {count} > 0 else {empty})"
            out = axes
        return code, out


def _small_integer(e: ir.Expr) -> int | None:
    """The value of a constant whole exponent 0…16 (a float one, or an integer one)."""
    if isinstance(e, ir.Cast):
        e = e.operand
    if isinstance(e, ir.Const) and not math.isinf(e.value) and float(e.value).is_integer() \
            and 0 <= e.value <= 16:
        return int(e.value)
    return None


def _peel_divisors(e: ir.Expr, names: set[str]) -> tuple[ir.Expr, list[ir.Expr]]:
    """sum(k) a / c → (a, [c]) when c does not depend on k, so c divides once after the sum."""
    divisors = []
    while isinstance(e, ir.Call) and e.op == "div" and not _depends(e.args[1], names):
        divisors.append(e.args[1])
        e = e.args[0]
    return e, divisors


def _factors(e: ir.Expr, names: set[str]) -> tuple[list[ir.Expr], list[ir.Expr]]:
    """Split a product into factors, and divisors that do not depend on the reduced variables."""
    if isinstance(e, ir.Call) and e.op == "mul":
        left, right = _factors(e.args[0], names), _factors(e.args[1], names)
        return left[0] + right[0], left[1] + right[1]
    if isinstance(e, ir.Call) and e.op == "div" and not _depends(e.args[1], names):
        factors, divisors = _factors(e.args[0], names)
        return factors, divisors + [e.args[1]]
    return [e], []


def _depends(e: ir.Expr, names: set[str]) -> bool:
    for node in ir.walk(e):
        if isinstance(node, ir.Index) and node.name in names:
            return True
        if isinstance(node, ir.Load) and any(s in names for i in node.indices for s in i.symbols()):
            return True
    return False
