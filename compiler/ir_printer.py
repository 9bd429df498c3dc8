"""KernelIR → readable text, for `plmr compile --emit ir` and golden tests.

Every index variable shows its range and every node its dtype, which is what the checker added.
"""

from __future__ import annotations

from compiler import ir
from compiler.primitives import BINARY_OPS

_SYMBOL = {name: op for op, name in BINARY_OPS.items()}


def _shape(t: ir.TensorDecl) -> str:
    return t.dtype + (f"[{', '.join(map(str, t.shape))}]" if t.shape else "")


def _vars(vars_: tuple[ir.IndexVar, ...]) -> str:
    return ", ".join(f"{v.name} < {v.extent}" for v in vars_)


def expr(e: ir.Expr) -> str:
    match e:
        case ir.Const(value, dtype):
            return f"{value}:{dtype}"
        case ir.Index(name, dtype) | ir.Dim(name, dtype):
            return f"{name}:{dtype}"
        case ir.Load(tensor, indices):
            return f"{tensor}[{', '.join(map(str, indices))}]" if indices else tensor
        case ir.Cast(operand, dtype):
            return f"{dtype}({expr(operand)})"
        case ir.Call(op, args):
            if op in _SYMBOL:
                return f"({expr(args[0])} {_SYMBOL[op]} {expr(args[1])})"
            return f"{op}({', '.join(expr(a) for a in args)})"
        case ir.Reduce(op, vars_, body):
            return f"{op}({_vars(vars_)}) {expr(body)}"
    raise TypeError(f"unknown IR node {e!r}")


def print_kernel(k: ir.KernelIR) -> str:
    params = ", ".join(f"{p.name}: {_shape(p)}" for p in k.params)
    results = ", ".join(f"{r.name}: {_shape(r)}" for r in k.results)
    lines = [f"kernel {k.name}({params}) -> ({results})  dims {', '.join(k.dims) or '-'}"]
    for s in k.body:
        lhs = s.target.name + (f"[{_vars(s.indices)}]" if s.indices else "")
        lines.append(f"  {lhs}: {_shape(s.target)} = {expr(s.value)}")
    return "\n".join(lines) + "\n"
