"""Kernel IR → LLVM IR (an llvmlite.ir.Module): one function per kernel, a loop nest per statement.

The function is `void kernel_<name>(ptr noalias <tensor>…, i64 <dim>…)`: one pointer per parameter and
per statement target (intermediates and results alike; the caller allocates them, row-major), then the
value of every dimension symbol in `kernel.dims` order. Values are computed in f32, f64 or i32; f16 is
stored as `half` and bf16 as its 16 bits, widened to f32 at a load and rounded to nearest even at a
store, as the reference interpreter computes half precision in f32 within a statement.

A reduction accumulates into a scalar from its identity. A statement that is one reduction, whose last
index reads memory more contiguously than its innermost reduction variable, accumulates in the target
instead with that index innermost: C[i, j] = sum(k) A[i, k] * B[k, j] runs i, k, j and vectorises
along j, in the same order of terms. Float ops carry reassoc/contract/nsz, never nnan or ninf: -inf
and NaN are values here. Run compiler.bind first: loads are not bounds-checked.
"""

from __future__ import annotations

from llvmlite import ir as ll

from compiler import ir
from compiler.affine import Affine
from compiler.primitives import PRIMITIVES
from dsl.diagnostics import InternalError, error

I1, I16, I32, I64 = (ll.IntType(n) for n in (1, 16, 32, 64))
F32, F64 = ll.FloatType(), ll.DoubleType()
COMPUTE = {"f32": F32, "f64": F64, "i32": I32}
STORAGE = {**COMPUTE, "f16": ll.HalfType(), "bf16": I16}
FAST = ("reassoc", "contract", "nsz")
LIBM = {"tanh": "tanh", "erf": "erf", "log1p": "log1p"}  # + "f" for f32
INT_LIMITS = {"max": -(2**31), "min": 2**31 - 1}


def compute_dtype(dtype: str) -> str:
    return "f32" if dtype in ("f16", "bf16") else dtype


def function_name(kernel: ir.KernelIR) -> str:
    return f"kernel_{kernel.name}"


def buffers(kernel: ir.KernelIR) -> tuple[ir.TensorDecl, ...]:
    """Every tensor the function reads or writes, in argument order: parameters, then targets."""
    seen: dict[str, ir.TensorDecl] = {}
    for t in kernel.params + tuple(s.target for s in kernel.body):
        seen.setdefault(t.name, t)
    return tuple(seen.values())


def lower_kernel(kernel: ir.KernelIR) -> ll.Module:
    module = ll.Module(name=kernel.name)
    tensors = buffers(kernel)
    signature = ll.FunctionType(ll.VoidType(), [ll.PointerType()] * len(tensors) + [I64] * len(kernel.dims))
    function = ll.Function(module, signature, function_name(kernel))
    for arg, name in zip(function.args, [t.name for t in tensors] + list(kernel.dims)):
        arg.name = name
    for arg in function.args[:len(tensors)]:
        arg.add_attribute("noalias")
    _Function(kernel, function, tensors).emit()
    return module


class _Function:
    """Emits the body of one kernel function: loops, addresses, conversions, expressions."""

    def __init__(self, kernel: ir.KernelIR, function: ll.Function, tensors: tuple[ir.TensorDecl, ...]):
        self.kernel, self.function = kernel, function
        self.entry = function.append_basic_block("entry")  # stack slots only, then a branch to start
        self.b = ll.IRBuilder(function.append_basic_block("start"))
        self.pointers = dict(zip((t.name for t in tensors), function.args))
        self.decls = {t.name: t for t in tensors}
        self.env: dict[str, ll.Value] = dict(zip(kernel.dims, function.args[len(tensors):]))

    def emit(self) -> None:
        for stmt in self.kernel.body:
            if _accumulates_in_memory(stmt):
                self.accumulate(stmt)
            else:
                self.loops(stmt.indices, lambda s=stmt: self.store(s, self.expr(s.value), s.value.dtype))
        self.b.ret_void()
        ll.IRBuilder(self.entry).branch(self.function.blocks[1])

    # ------------------------------------------------------------ loops and memory

    def loops(self, variables: tuple[ir.IndexVar, ...], body) -> None:
        if not variables:
            body()
            return
        first, rest = variables[0], variables[1:]
        self.loop(first.name, self.affine(first.extent), lambda: self.loops(rest, body))

    def loop(self, name: str, extent: ll.Value, body) -> None:
        """for name in [0, extent): body(), with `name` bound in self.env meanwhile."""
        b = self.b
        before = b.block
        head, inner, done = (b.append_basic_block(f"{name}.{part}") for part in ("head", "body", "done"))
        b.branch(head)
        b.position_at_end(head)
        index = b.phi(I64, name=name)
        index.add_incoming(ll.Constant(I64, 0), before)
        b.cbranch(b.icmp_signed("<", index, extent), inner, done)
        b.position_at_end(inner)
        self.env[name] = index
        body()
        del self.env[name]
        index.add_incoming(b.add(index, ll.Constant(I64, 1), flags=("nsw",)), b.block)
        b.branch(head)
        b.position_at_end(done)

    def affine(self, a) -> ll.Value:
        """An affine expression of loop variables and dimensions, as i64."""
        value = None
        for symbol, coeff in a.terms:
            if symbol not in self.env:
                raise InternalError("lower_llvm", f"{symbol} is neither a dimension nor a bound index")
            term = self.env[symbol] if coeff == 1 else self.b.mul(self.env[symbol], ll.Constant(I64, coeff),
                                                                   flags=("nsw",))
            value = term if value is None else self.b.add(value, term, flags=("nsw",))
        if value is None or a.const:
            const = ll.Constant(I64, a.const)
            value = const if value is None else self.b.add(value, const, flags=("nsw",))
        return value

    def address(self, tensor: str, indices) -> ll.Value:
        """The element tensor[indices] of a row-major buffer."""
        decl = self.decls[tensor]
        offset = None
        for index, extent in zip(indices, decl.shape):
            position = self.affine(index)
            scaled = None if offset is None else self.b.mul(offset, self.affine(extent), flags=("nsw",))
            offset = position if scaled is None else self.b.add(scaled, position, flags=("nsw",))
        if offset is None:
            return self.pointers[tensor]
        return self.b.gep(self.pointers[tensor], [offset], inbounds=True, source_etype=STORAGE[decl.dtype])

    def target_address(self, stmt: ir.Stmt) -> ll.Value:
        return self.address(stmt.target.name, [Affine.of(v.name) for v in stmt.indices])

    def store(self, stmt: ir.Stmt, value: ll.Value, dtype: str) -> None:
        """Store a value computed in compute_dtype(dtype) into the statement's target."""
        stored = to_storage(self.b, value, compute_dtype(dtype), stmt.target.dtype)
        self.b.store(stored, self.target_address(stmt))

    def scalar(self, dtype: str) -> ll.Value:
        """A stack slot in the entry block (promoted to a register by the optimiser)."""
        return ll.IRBuilder(self.entry).alloca(COMPUTE[dtype])

    # ------------------------------------------------------------ reductions

    def reduce(self, e: ir.Reduce) -> ll.Value:
        dtype = compute_dtype(e.dtype)
        slot = self.scalar(dtype)
        self.b.store(identity(e.op, dtype), slot)

        def step():
            term = self.coerced(e.body, dtype)
            self.b.store(combine(self.b, e.op, self.b.load(slot), term, dtype), slot)

        self.loops(e.vars, step)
        return self.b.load(slot)

    def accumulate(self, stmt: ir.Stmt) -> None:
        """target = identity everywhere, then target[…] ⊕= body with the last index innermost."""
        e: ir.Reduce = stmt.value
        dtype = compute_dtype(e.dtype)
        self.loops(stmt.indices, lambda: self.store(stmt, identity(e.op, dtype), e.dtype))

        def step():
            term = self.coerced(e.body, dtype)
            address = self.target_address(stmt)
            old = self.b.load(address, typ=COMPUTE[dtype])
            self.b.store(combine(self.b, e.op, old, term, dtype), address)

        self.loops(stmt.indices[:-1] + e.vars + stmt.indices[-1:], step)

    # ------------------------------------------------------------ expressions

    def coerced(self, e: ir.Expr, dtype: str) -> ll.Value:
        """The value of e, converted to the compute dtype `dtype`."""
        return convert(self.b, self.expr(e), compute_dtype(e.dtype), dtype)

    def expr(self, e: ir.Expr) -> ll.Value:
        """The value of e in compute_dtype(e.dtype)."""
        dtype = compute_dtype(e.dtype)
        match e:
            case ir.Const(value):
                return constant(value, dtype)
            case ir.Index(name) | ir.Dim(name):
                return from_i64(self.b, self.env[name], dtype)
            case ir.Load():
                return self.load(e)
            case ir.Cast(operand):
                return self.coerced(operand, dtype)
            case ir.Call():
                return self.call(e)
            case ir.Reduce():
                return self.reduce(e)
        raise InternalError("lower_llvm", f"unknown IR node {e!r}")

    def load(self, e: ir.Load) -> ll.Value:
        decl = self.decls[e.tensor]
        raw = self.b.load(self.address(e.tensor, e.indices), typ=STORAGE[decl.dtype])
        value = from_storage(self.b, raw, decl.dtype)
        return convert(self.b, value, compute_dtype(decl.dtype), compute_dtype(e.dtype))

    def call(self, e: ir.Call) -> ll.Value:
        if e.op not in _LOWERINGS:
            raise error("E310", f"the llvm backend cannot lower primitive {e.op!r} yet",
                        help="run this kernel with backend 'ref' or 'jax'")
        dtype = compute_dtype(e.dtype)
        exponent = _small_integer(e.args[1]) if e.op == "pow" else None
        if exponent is not None:
            return power(self.b, self.coerced(e.args[0], dtype), exponent, dtype)
        kind = PRIMITIVES[e.op].kind
        if kind == "select":
            args = [self.expr(e.args[0])] + [self.coerced(a, dtype) for a in e.args[1:]]
            return select(self.b, args, compute_dtype(e.args[0].dtype))
        if kind == "compare":
            operand = _promoted(compute_dtype(a.dtype) for a in e.args)
            args = [self.coerced(a, operand) for a in e.args]
            return compare(self.b, e.op, args, operand, dtype)
        args = [self.coerced(a, dtype) for a in e.args]
        return _LOWERINGS[e.op](_Ops(self.b), args, dtype)


def _promoted(dtypes) -> str:
    found = set(dtypes)
    return "f64" if "f64" in found else "f32" if "f32" in found else "i32"


def _small_integer(e: ir.Expr) -> int | None:
    """The value of a constant whole exponent 0…16, which becomes multiplies instead of pow."""
    if isinstance(e, ir.Cast):
        e = e.operand
    if isinstance(e, ir.Const) and float(e.value).is_integer() and 0 <= e.value <= 16:
        return int(e.value)
    return None


# ---------------------------------------------------------------- choosing where a reduction accumulates


def _accumulates_in_memory(stmt: ir.Stmt) -> bool:
    """True when the statement is one reduction whose last index walks memory better than its
    innermost reduction variable (counting the target's own contiguous accesses)."""
    e = stmt.value
    if not isinstance(e, ir.Reduce) or not stmt.indices or not e.vars:
        return False
    if stmt.target.dtype != compute_dtype(e.dtype):
        return False  # accumulating in f16 or bf16 would round every partial sum
    loads = [n.indices for n in ir.walk(e.body) if isinstance(n, ir.Load)]
    last, innermost = stmt.indices[-1].name, e.vars[-1].name
    return _contiguity(last, loads) + 1 > _contiguity(innermost, loads)


def _contiguity(var: str, accesses) -> int:
    """+1 for each access that steps through memory one element at a time as `var` advances,
    -1 for each that strides."""
    score = 0
    for indices in accesses:
        axes = [k for k, index in enumerate(indices) if index.coeff(var)]
        if axes:
            unit = axes == [len(indices) - 1] and indices[-1].coeff(var) == 1
            score += 1 if unit else -1
    return score


# ---------------------------------------------------------------- values and conversions


def constant(value, dtype: str) -> ll.Constant:
    return ll.Constant(I32, int(value)) if dtype == "i32" else ll.Constant(COMPUTE[dtype], float(value))


def identity(op: str, dtype: str) -> ll.Constant:
    if dtype == "i32" and op in INT_LIMITS:
        return ll.Constant(I32, INT_LIMITS[op])
    return constant({"sum": 0.0, "prod": 1.0, "max": float("-inf"), "min": float("inf")}[op], dtype)


def combine(b: ll.IRBuilder, op: str, acc: ll.Value, term: ll.Value, dtype: str) -> ll.Value:
    name = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum"}[op]
    return _LOWERINGS[name](_Ops(b), [acc, term], dtype)


def from_i64(b: ll.IRBuilder, value: ll.Value, dtype: str) -> ll.Value:
    return b.trunc(value, I32) if dtype == "i32" else b.sitofp(value, COMPUTE[dtype])


def convert(b: ll.IRBuilder, value: ll.Value, src: str, dst: str) -> ll.Value:
    """Between compute dtypes (f32, f64, i32), as numpy's astype does."""
    if src == dst:
        return value
    if dst == "i32":
        return b.fptosi(value, I32)
    if src == "i32":
        return b.sitofp(value, COMPUTE[dst])
    return b.fpext(value, F64) if dst == "f64" else b.fptrunc(value, F32)


def from_storage(b: ll.IRBuilder, raw: ll.Value, dtype: str) -> ll.Value:
    if dtype == "f16":
        return b.fpext(raw, F32)
    if dtype == "bf16":  # the high half of an f32
        return b.bitcast(b.shl(b.zext(raw, I32), ll.Constant(I32, 16)), F32)
    return raw


def to_storage(b: ll.IRBuilder, value: ll.Value, src: str, dtype: str) -> ll.Value:
    if dtype not in ("f16", "bf16"):
        return convert(b, value, src, dtype)
    value = convert(b, value, src, "f32")
    return b.fptrunc(value, STORAGE["f16"]) if dtype == "f16" else _round_bf16(b, value)


def _round_bf16(b: ll.IRBuilder, value: ll.Value) -> ll.Value:
    """f32 → bf16 bits, rounding to nearest even; a NaN stays a (quiet) NaN."""
    bits = b.bitcast(value, I32)
    lsb = b.and_(b.lshr(bits, ll.Constant(I32, 16)), ll.Constant(I32, 1))
    rounded = b.add(bits, b.add(ll.Constant(I32, 0x7FFF), lsb))
    high = b.trunc(b.lshr(rounded, ll.Constant(I32, 16)), I16)
    quiet = b.or_(b.trunc(b.lshr(bits, ll.Constant(I32, 16)), I16), ll.Constant(I16, 0x40))
    return b.select(b.fcmp_unordered("uno", value, value), quiet, high)


# ---------------------------------------------------------------- primitives


class _Ops:
    """Float and integer operations at one builder: intrinsics, libm calls, NaN-aware max/min."""

    def __init__(self, b: ll.IRBuilder):
        self.b = b

    def intrinsic(self, name: str, args: list[ll.Value]) -> ll.Value:
        kind = args[0].type
        fn = self.b.module.declare_intrinsic(name, [kind], ll.FunctionType(kind, [kind] * len(args)))
        return self.b.call(fn, args)

    def libm(self, name: str, x: ll.Value) -> ll.Value:
        symbol = LIBM[name] + ("f" if x.type == F32 else "")
        fn = self.b.module.globals.get(symbol)
        if fn is None:
            fn = ll.Function(self.b.module, ll.FunctionType(x.type, [x.type]), symbol)
        return self.b.call(fn, [x])

    def arith(self, float_op: str, int_op: str, args: list[ll.Value], dtype: str) -> ll.Value:
        if dtype == "i32":
            return getattr(self.b, int_op)(*args)
        return getattr(self.b, float_op)(*args, flags=FAST)

    def extreme(self, largest: bool, args: list[ll.Value], dtype: str) -> ll.Value:
        """maximum/minimum: NaN-propagating for floats, as numpy's are."""
        if dtype == "i32":
            keep = self.b.icmp_signed(">" if largest else "<", *args)
            return self.b.select(keep, *args)
        return self.intrinsic("llvm.maximum" if largest else "llvm.minimum", args)

    def fabs(self, x: ll.Value, dtype: str) -> ll.Value:
        if dtype == "i32":
            return self.b.select(self.b.icmp_signed("<", x, ll.Constant(I32, 0)), self.b.neg(x), x)
        return self.intrinsic("llvm.fabs", [x])

    def const(self, value: float, like: ll.Value) -> ll.Constant:
        return ll.Constant(like.type, value)


def _divide(ops: _Ops, args, dtype):
    if dtype != "i32":
        return ops.b.fdiv(*args, flags=FAST)
    wide = [ops.b.sitofp(a, F64) for a in args]  # numpy: i32 / i32 is f64, then cast back
    return ops.b.fptosi(ops.b.fdiv(*wide), I32)


def _floor_divide(ops: _Ops, args, dtype):
    if dtype != "i32":
        return ops.intrinsic("llvm.floor", [ops.b.fdiv(*args)])
    a, d = args
    b, zero, one = ops.b, ll.Constant(I32, 0), ll.Constant(I32, 1)
    unsafe = b.or_(b.icmp_signed("==", d, zero), b.icmp_signed("==", d, ll.Constant(I32, -1)))
    safe = b.select(unsafe, one, d)  # x86 traps on / 0 and on INT_MIN / -1
    quotient, rest = b.sdiv(a, safe), b.srem(a, safe)
    signs_differ = b.icmp_signed("<", b.xor(rest, safe), zero)
    adjust = b.and_(b.icmp_signed("!=", rest, zero), signs_differ)
    floored = b.sub(quotient, b.zext(adjust, I32))
    special = b.select(b.icmp_signed("==", d, zero), zero, b.neg(a))  # numpy: x // 0 is 0
    return b.select(unsafe, special, floored)


def _pow(ops: _Ops, args, dtype):
    if dtype != "i32":
        return ops.intrinsic("llvm.pow", args)
    return ops.b.call(_ipow_function(ops.b.module), args)


def _ipow_function(module: ll.Module) -> ll.Function:
    """i32 ** i32 by repeated squaring (wrapping, as numpy's); a negative exponent gives 1."""
    existing = module.globals.get("plmr.ipow")
    if existing is not None:
        return existing
    fn = ll.Function(module, ll.FunctionType(I32, [I32, I32]), "plmr.ipow")
    fn.linkage = "internal"
    entry, head, body, done = (fn.append_basic_block(n) for n in ("entry", "head", "body", "done"))
    b = ll.IRBuilder(entry)
    b.branch(head)
    b.position_at_end(head)
    result, base, exponent = b.phi(I32), b.phi(I32), b.phi(I32)
    for phi, start in zip((result, base, exponent), (ll.Constant(I32, 1), *fn.args)):
        phi.add_incoming(start, entry)
    b.cbranch(b.icmp_signed(">", exponent, ll.Constant(I32, 0)), body, done)
    b.position_at_end(body)
    odd = b.trunc(exponent, I1)
    result.add_incoming(b.select(odd, b.mul(result, base), result), body)
    base.add_incoming(b.mul(base, base), body)
    exponent.add_incoming(b.ashr(exponent, ll.Constant(I32, 1)), body)
    b.branch(head)
    b.position_at_end(done)
    b.ret(result)
    return fn


def power(b: ll.IRBuilder, x: ll.Value, exponent: int, dtype: str) -> ll.Value:
    """x ** n for a constant n in 0…16 as multiplies (numpy's x ** 0 is 1 even for NaN)."""
    value = constant(1, dtype)
    for _ in range(exponent):
        value = b.mul(value, x) if dtype == "i32" else b.fmul(value, x, flags=FAST)
    return value


def select(b: ll.IRBuilder, args, cond_dtype: str) -> ll.Value:
    cond, a, other = args
    zero = constant(0, cond_dtype)
    nonzero = b.icmp_signed("!=", cond, zero) if cond_dtype == "i32" else b.fcmp_unordered("!=", cond, zero)
    return b.select(nonzero, a, other)


_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def compare(b: ll.IRBuilder, op: str, args, operand: str, dtype: str) -> ll.Value:
    """1 or 0 in `dtype`; like numpy, only != holds when a NaN is involved."""
    if operand == "i32":
        truth = b.icmp_signed(_SYMBOL[op], *args)
    elif op == "ne":
        truth = b.fcmp_unordered("!=", *args)
    else:
        truth = b.fcmp_ordered(_SYMBOL[op], *args)
    return b.zext(truth, I32) if dtype == "i32" else b.uitofp(truth, COMPUTE[dtype])


def _softplus(ops: _Ops, args, dtype):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), without overflow."""
    (x,) = args
    tail = ops.libm("log1p", _exp(ops, [ops.b.fneg(ops.fabs(x, dtype))], dtype))
    return ops.b.fadd(ops.extreme(True, [x, ops.const(0.0, x)], dtype), tail)


# Cephes expf: exp(x) = 2^n · p(r), n = round(x / ln 2), r = x - n ln 2 in two parts.
_EXP_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
_LN2_HI, _LN2_LO, _EXP_LOW, _EXP_HIGH = 0.693359375, -2.12194440e-4, -86.5, 88.72283935546875


def _exp(ops: _Ops, args, dtype):
    """f32 exp inline (it vectorises; LLVM would call expf once per element). Below -86.5 it gives 0
    instead of a value under 3e-38; above ln(FLT_MAX) inf; NaN stays NaN. f64 calls libm."""
    (x,) = args
    if dtype != "f32":
        return ops.intrinsic("llvm.exp", args)
    b, c = ops.b, (lambda v: ops.const(v, x))
    inside = ops.intrinsic("llvm.minnum", [ops.intrinsic("llvm.maxnum", [x, c(_EXP_LOW)]), c(_EXP_HIGH)])
    n = ops.intrinsic("llvm.floor", [b.fadd(b.fmul(inside, c(1.4426950408889634)), c(0.5))])
    r = b.fsub(b.fsub(inside, b.fmul(n, c(_LN2_HI))), b.fmul(n, c(_LN2_LO)))
    p = c(_EXP_POLY[0])
    for coeff in _EXP_POLY[1:]:
        p = b.fadd(b.fmul(p, r, flags=("contract",)), c(coeff), flags=("contract",))
    y = b.fadd(b.fadd(b.fmul(b.fmul(p, r), r), r), c(1.0))
    scale = b.bitcast(b.shl(b.add(b.fptosi(n, I32), ll.Constant(I32, 126)), ll.Constant(I32, 23)), F32)
    value = b.fmul(b.fmul(y, c(2.0)), scale)  # 2^n as 2 · 2^(n-1): n = 128 stays a normal exponent
    value = b.select(b.fcmp_ordered("<", x, c(_EXP_LOW)), c(0.0), value)
    value = b.select(b.fcmp_ordered(">", x, c(_EXP_HIGH)), c(float("inf")), value)
    return b.select(b.fcmp_unordered("uno", x, x), x, value)


def _sigmoid(ops: _Ops, args, dtype):
    """0.5 (tanh(x / 2) + 1), the reference's formula: no overflow at either end."""
    (x,) = args
    half = ops.const(0.5, x)
    return ops.b.fmul(half, ops.b.fadd(ops.libm("tanh", ops.b.fmul(half, x)), ops.const(1.0, x)))


_LOWERINGS = {
    "neg": lambda o, a, t: o.b.neg(a[0]) if t == "i32" else o.b.fneg(a[0], flags=FAST),
    "add": lambda o, a, t: o.arith("fadd", "add", a, t),
    "sub": lambda o, a, t: o.arith("fsub", "sub", a, t),
    "mul": lambda o, a, t: o.arith("fmul", "mul", a, t),
    "div": _divide,
    "floordiv": _floor_divide,
    "pow": _pow,
    "maximum": lambda o, a, t: o.extreme(True, a, t),
    "minimum": lambda o, a, t: o.extreme(False, a, t),
    "abs": lambda o, a, t: o.fabs(a[0], t),
    "relu": lambda o, a, t: o.extreme(True, [a[0], ll.Constant(a[0].type, 0)], t),
    "exp": _exp,
    "log": lambda o, a, t: o.intrinsic("llvm.log", a),
    "sqrt": lambda o, a, t: o.intrinsic("llvm.sqrt", a),
    "rsqrt": lambda o, a, t: o.b.fdiv(o.const(1.0, a[0]), o.intrinsic("llvm.sqrt", a)),
    "sin": lambda o, a, t: o.intrinsic("llvm.sin", a),
    "cos": lambda o, a, t: o.intrinsic("llvm.cos", a),
    "tanh": lambda o, a, t: o.libm("tanh", a[0]),
    "erf": lambda o, a, t: o.libm("erf", a[0]),
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    # compare and select kinds are lowered by compare() and select(); listed so call() knows them
    **{name: None for name in ("eq", "ne", "lt", "le", "gt", "ge", "where")},
}
