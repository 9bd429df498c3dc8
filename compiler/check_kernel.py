"""Check one kernel and build its typed IR.

Per statement: resolve names, type the right-hand side, collect every access as a range
constraint, infer each index variable's range from them (round by round, as Tensor
Comprehensions did), then settle weak dtypes. Every violation is a diagnostic; a failed
statement is skipped so one mistake gives one message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from compiler import ir
from compiler.affine import Affine
from compiler.dtypes import at_least_float, concrete, is_float, promote
from compiler.primitives import BINARY_OPS, FUNCTIONS, PRIMITIVES
from compiler.shapes import NotAffine, to_affine
from dsl import ast
from dsl.diagnostics import Diagnostics, Note, Span


class _Skip(Exception):
    """Raised after a diagnostic was recorded, to abandon the current statement."""


@dataclass
class Scope:
    """What the statements of a kernel can see."""

    name: str
    diags: Diagnostics
    dims: dict[str, Span | None]
    tensors: dict[str, ir.TensorDecl] = field(default_factory=dict)
    defined_at: dict[str, Span | None] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)  # statements with errors: uses are not re-reported


@dataclass(frozen=True)
class Declared:
    """The result type a statement's target is returned as."""

    position: int
    type: ast.TensorType
    shape: tuple[Affine, ...]
    what: str = ""  # how messages name it: "result 1", "state q", "the logits"

    @property
    def described(self) -> str:
        return self.what or f"result {self.position + 1}"


@dataclass(frozen=True)
class _Constraint:
    """An access `tensor[... index ...]` at dimension `dim` of extent `extent`."""

    tensor: str
    dim: int
    index: Affine
    extent: Affine
    span: Span | None


def check_kernel(k: ast.Kernel, diags: Diagnostics) -> ir.KernelIR | None:
    """The kernel's IR, or None when it has errors (then they are in diags)."""
    before = len(diags.items)
    env = Scope(k.name.name, diags, {})
    params = _params(k, env)
    results = [_shape(t, env, result=True) for t in k.results]
    stmts = []
    for a in k.body:
        stmt = StatementChecker(env, a, _declared_result(k, a.target.name, results)).check()
        if stmt is None:
            env.failed.add(a.target.name)
        else:
            stmts.append(stmt)
            env.tensors[stmt.target.name] = stmt.target
            env.defined_at[stmt.target.name] = a.target.span
    outputs = _returns(k, env, results)
    if len(diags.items) > before:
        return None
    return ir.KernelIR(k.name.name, tuple(params), tuple(env.dims), tuple(stmts), tuple(outputs), k.span)


# ---------------------------------------------------------------- signature


def _shape(t: ast.TensorType, env: Scope, result: bool = False) -> tuple[Affine, ...] | None:
    shape = []
    for d in t.dims:
        try:
            a = to_affine(d, lambda n: n)
        except NotAffine as exc:
            env.diags.add("E101", f"shape {exc.text!r} is not affine", exc.span or t.span,
                          help="shapes use dimension names, integers, + - and * by an integer")
            return None
        for s in a.symbols():
            if result and s not in env.dims:
                env.diags.add("E102", f"{s} is not a dimension of any parameter", d.span,
                              help=f"name {s} in a parameter's type so its size is known")
                return None
            if not result:
                env.dims.setdefault(s, d.span)
        shape.append(a)
    return tuple(shape)


def _params(k: ast.Kernel, env: Scope) -> list[ir.TensorDecl]:
    params = []
    for p in k.params:
        shape = _shape(p.type, env)
        if p.name.name in env.tensors:
            env.diags.add("E103", f"parameter {p.name.name} is declared twice", p.name.span,
                          notes=(Note("first declared here", env.defined_at[p.name.name]),))
            continue
        if shape is None:
            env.failed.add(p.name.name)  # its uses are not reported again
            continue
        decl = ir.TensorDecl(p.name.name, p.type.dtype, shape, p.type.span, tuple(d.span for d in p.type.dims))
        env.tensors[decl.name] = decl
        env.defined_at[decl.name] = p.name.span
        params.append(decl)
    for name in env.tensors:
        if name in env.dims:
            env.diags.add("E104", f"{name} names both a parameter and a dimension", env.defined_at[name],
                          help="give the dimension a different name (dimensions are usually upper case)")
    return params


def _declared_result(k: ast.Kernel, target: str, results: list) -> Declared | None:
    """The declared type of `target` when the kernel returns it (and that type is well formed)."""
    for position, r in enumerate(k.returns):
        if r.name == target and position < len(k.results) and results[position] is not None:
            return Declared(position, k.results[position], results[position])
    return None


def _returns(k: ast.Kernel, env: Scope, results: list) -> list[ir.TensorDecl]:
    if len(k.returns) != len(k.results):
        env.diags.add("E105", f"kernel {k.name.name} declares {len(k.results)} result(s) but returns "
                      f"{len(k.returns)}", k.returns[0].span,
                      help="return one tensor for each type after '->'")
        return []
    outputs = []
    for name, declared, shape in zip(k.returns, k.results, results):
        got = env.tensors.get(name.name)
        if got is None and name.name in env.failed:
            continue
        if got is None:
            env.diags.add("E106", f"{name.name} is returned but never defined", name.span,
                          help=f"define it with a statement `{name.name}[…] = …` before `return`")
            continue
        if shape is not None and (got.shape != shape or got.dtype != declared.dtype):
            env.diags.add("E107", f"{name.name} is {_show(got)} but the kernel declares "
                          f"{declared.dtype}{_dims(shape)}", name.span,
                          help="make the declared result type match the tensor that is returned")
        outputs.append(got)
    return outputs


def _dims(shape: tuple[Affine, ...]) -> str:
    return f"[{', '.join(map(str, shape))}]" if shape else ""


def _show(t: ir.TensorDecl) -> str:
    return f"{t.dtype}{_dims(t.shape)}"


# ---------------------------------------------------------------- statements


class StatementChecker:
    """Checks one assignment: names, types, ranges."""

    def __init__(self, env: Scope, a: ast.Assign, declared: Declared | None,
                 redefinable: frozenset[str] = frozenset()):
        self.env, self.a, self.declared = env, a, declared
        self.redefinable = redefinable  # agent state, which an update assigns anew
        self.scope: dict[str, str] = {}          # surface index name → unique internal name
        self.surface: dict[str, str] = {}        # unique internal name → surface name
        self.binding_span: dict[str, Span | None] = {}
        self.constraints: list[_Constraint] = []
        self.extents: dict[str, Affine] = {}

    def error(self, code: str, message: str, span: Span | None, **kw) -> _Skip:
        self.env.diags.add(code, message, span, **kw)
        return _Skip()

    def check(self) -> ir.Stmt | None:
        try:
            return self._check()
        except _Skip:
            return None

    def _check(self) -> ir.Stmt:
        a = self.a
        self._check_target()
        lhs = [self._bind(i) for i in a.indices]
        value = self._expr(a.value)
        self._infer_ranges(lhs)
        dtype = self._statement_dtype(value)
        shape = tuple(self.extents[v] for v in lhs)
        target = ir.TensorDecl(a.target.name, dtype, shape)
        indices = tuple(ir.IndexVar(self.surface[v], self.extents[v]) for v in lhs)
        return ir.Stmt(target, indices, _Settle(self).expr(value, dtype), a.span)

    def _check_target(self) -> None:
        name, env = self.a.target, self.env
        if name.name in env.tensors and name.name not in self.redefinable:
            raise self.error("E110", f"{name.name} is already defined", name.span,
                             notes=(Note("defined here", env.defined_at.get(name.name)),),
                             help="each tensor is assigned once; give this one a new name")
        if name.name in env.dims:
            raise self.error("E111", f"{name.name} is a dimension of the kernel, not a tensor", name.span,
                             help="choose another name for the tensor")

    def _bind(self, ident: ast.Ident) -> str:
        name = ident.name
        if name in self.scope:
            raise self.error("E112", f"index {name} is bound twice", ident.span,
                             notes=(Note("first bound here", self.binding_span[self.scope[name]]),),
                             help="use a different name for the inner index")
        if name in self.env.tensors or name in self.env.dims:
            kind = "tensor" if name in self.env.tensors else "dimension"
            raise self.error("E113", f"index {name} has the name of a {kind}", ident.span,
                             help="index names must differ from tensor and dimension names")
        unique = f"{name}#{len(self.surface)}"
        self.scope[name] = unique
        self.surface[unique] = name
        self.binding_span[unique] = ident.span
        return unique

    # ------------------------------------------------------------ expressions (phase 1: weak types)

    def _expr(self, e: ast.Expr) -> ir.Expr:
        match e:
            case ast.Num(value):
                return ir.Const(value, "float" if isinstance(value, float) else "int")
            case ast.Name(name):
                return self._name(name, e.span)
            case ast.Access():
                return self._access(e)
            case ast.Unary(_, operand):
                x = self._expr(operand)
                return ir.Call("neg", (x,), x.dtype)
            case ast.Binary(op, left, right):
                return self._call(BINARY_OPS[op], (self._expr(left), self._expr(right)), e.span)
            case ast.Call(func, args):
                return self._function(func, args, e.span)
            case ast.Reduce():
                return self._reduce(e)
        raise TypeError(f"unknown expression node {e!r}")

    def _name(self, name: str, span: Span | None) -> ir.Expr:
        if name in self.scope:
            return ir.Index(self.scope[name], "int")
        if name in self.env.dims:
            return ir.Dim(name, "int")
        tensor = self.env.tensors.get(name)
        if name in self.env.failed:
            raise _Skip()
        if tensor is not None:
            if tensor.shape:
                raise self.error("E120", f"{name} has rank {len(tensor.shape)}: index it as "
                                 f"{name}[{', '.join('…' for _ in tensor.shape)}]", span)
            return ir.Load(name, (), tensor.dtype, span)
        raise self._unknown(name, span, as_index=False)

    def _unknown(self, name: str, span: Span | None, as_index: bool) -> _Skip:
        if as_index or len(name) == 1 and name.islower():
            lhs = self.a.target.name + f"[{', '.join([i.name for i in self.a.indices] + [name])}]"
            return self.error("E121", f"index {name} is used on the right but not bound", span,
                              help=f"write sum({name}) … (or max/min/prod) to reduce over it, "
                                   f"or add it to the left side: {lhs}")
        return self.error("E122", f"unknown name {name}", span,
                          help="use a parameter, a tensor defined above, an index or a dimension")

    def _access(self, e: ast.Access) -> ir.Load:
        tensor = self.env.tensors.get(e.tensor.name)
        if tensor is None and e.tensor.name in self.env.failed:
            raise _Skip()
        if tensor is None:
            if e.tensor.name in FUNCTIONS:
                raise self.error("E123", f"{e.tensor.name} is a function: call it with ( )", e.tensor.span)
            raise self.error("E124", f"unknown tensor {e.tensor.name}", e.tensor.span,
                             help="tensors must be parameters or defined by an earlier statement")
        if len(e.indices) != len(tensor.shape):
            raise self.error("E125", f"{tensor.name} has rank {len(tensor.shape)} but is indexed with "
                             f"{len(e.indices)} index(es)", e.span,
                             help=f"{tensor.name} is {_show(tensor)}")
        indices = tuple(self._index(i) for i in e.indices)
        for dim, (index, extent) in enumerate(zip(indices, tensor.shape)):
            self.constraints.append(_Constraint(tensor.name, dim, index, extent, e.indices[dim].span))
        return ir.Load(tensor.name, indices, tensor.dtype, e.span)

    def _index(self, e: ast.Expr) -> Affine:
        def resolve(name: str) -> str:
            if name in self.scope:
                return self.scope[name]
            if name in self.env.dims:
                return name
            raise self._unknown(name, e.span, as_index=True)

        try:
            return to_affine(e, resolve)
        except NotAffine as exc:
            raise self.error("E126", f"index {exc.text!r} is not affine", exc.span or e.span,
                             help="indices are sums of index variables times integers, plus dimensions "
                                  "and integer constants, as in x[i + k] or x[2 * i + 1]") from None

    def _call(self, op: str, args: tuple[ir.Expr, ...], span: Span | None) -> ir.Call:
        kind = PRIMITIVES[op].kind
        operands = args[1:] if kind == "select" else args
        dtype = functools.reduce(promote, (a.dtype for a in operands))
        if kind == "float" or op == "div":
            dtype = at_least_float(dtype)
        return ir.Call(op, args, dtype)

    def _function(self, func: ast.Ident, args: tuple[ast.Expr, ...], span: Span | None) -> ir.Call:
        prim = FUNCTIONS.get(func.name)
        if prim is None:
            raise self.error("E127", f"unknown function {func.name}", func.span,
                             help="functions: " + ", ".join(sorted(FUNCTIONS)))
        if len(args) != prim.arity:
            raise self.error("E128", f"{func.name} takes {prim.arity} argument(s), not {len(args)}", span)
        return self._call(prim.name, tuple(self._expr(a) for a in args), span)

    def _reduce(self, e: ast.Reduce) -> ir.Reduce:
        outer = dict(self.scope)
        names = tuple(self._bind(i) for i in e.indices)
        body = self._expr(e.body)
        self.scope = outer
        vars_ = tuple(ir.IndexVar(n, Affine()) for n in names)  # extents are settled later
        return ir.Reduce(e.op, vars_, body, body.dtype)

    # ------------------------------------------------------------ ranges

    def _infer_ranges(self, lhs: list[str]) -> None:
        unresolved = set(self.surface)
        while unresolved:
            progress = self._exact_round(unresolved) or self._affine_round(unresolved)
            if not progress:
                break
        self._intersect()
        for v in [v for v in lhs if v in unresolved]:
            self._from_declared(v, lhs)
            unresolved.discard(v)
        for v in sorted(unresolved):
            raise self.error("E130", f"cannot infer the range of index {self.surface[v]}",
                             self.binding_span[v],
                             help=f"use {self.surface[v]} directly as an index of a tensor, "
                                  "e.g. x[…, " + self.surface[v] + ", …]")
        self._check_declared(lhs)

    def _exact_round(self, unresolved: set[str]) -> bool:
        found: dict[str, _Constraint] = {}
        for c in self.constraints:
            if len(c.index.terms) == 1 and c.index.const == 0 and c.index.terms[0][1] == 1:
                v = c.index.terms[0][0]
                if v in unresolved and v not in found:
                    found[v] = c
        for v, first in found.items():
            self._check_conflicts(v, first)
            self.extents[v] = first.extent
            unresolved.discard(v)
        return bool(found)

    def _check_conflicts(self, v: str, first: _Constraint) -> None:
        for c in self.constraints:
            if c.index == first.index and c.extent != first.extent:
                name = self.surface[v]
                raise self.error(
                    "E131", f"index {name} ranges over {first.extent} in {first.tensor} but over "
                    f"{c.extent} in {c.tensor}", c.span,
                    notes=(Note(f"{name} indexes dimension {first.dim} of {first.tensor} here", first.span),),
                    help="if these sizes are the same, use the same dimension name in both parameter types")

    def _bound(self, c: _Constraint, v: str) -> Affine | None:
        """The extent access c allows v (x[v + k + 1] with x: f32[N] allows N - K), when v has
        coefficient 1, every other index variable of c has a range, and nothing is subtracted."""
        vars_ = [s for s in c.index.symbols() if s in self.surface]
        if c.index.coeff(v) != 1 or any(s != v and s not in self.extents for s in vars_):
            return None
        if any(c.index.coeff(s) < 0 for s in vars_) or c.index.const < 0:
            return None
        rest = c.index.without(v)
        span_of_rest = Affine((), 0)
        for s in vars_:
            if s != v:
                span_of_rest = span_of_rest + (self.extents[s] - Affine.of(1)).scale(c.index.coeff(s))
        dims_part = Affine(tuple(t for t in rest.terms if t[0] not in self.surface), rest.const)
        return c.extent - span_of_rest - dims_part

    def _affine_round(self, unresolved: set[str]) -> bool:
        for c in self.constraints:
            open_ = [s for s in c.index.symbols() if s in unresolved]
            bound = self._bound(c, open_[0]) if len(open_) == 1 else None
            if bound is not None:
                self.extents[open_[0]] = bound
                unresolved.discard(open_[0])
                return True
        return False

    def _intersect(self) -> None:
        """Narrow a range that another access provably cuts shorter: with x[i] and x[i + 1] in one
        statement, i runs over N - 1 (the ranges' intersection, as in Tensor Comprehensions)."""
        narrowed = True
        while narrowed:
            narrowed = False
            for c in self.constraints:
                for v in [s for s in c.index.symbols() if s in self.extents]:
                    bound = self._bound(c, v)
                    gap = None if bound is None else self.extents[v] - bound
                    if gap is not None and gap.is_const and gap.const > 0:
                        self.extents[v], narrowed = bound, True

    def _from_declared(self, v: str, lhs: list[str]) -> None:
        name = self.surface[v]
        if self.declared is None:
            raise self.error("E132", f"cannot infer the range of index {name} of {self.a.target.name}",
                             self.binding_span[v],
                             help=f"use {name} to index a tensor on the right, or return "
                                  f"{self.a.target.name} so its declared type gives the range")
        if len(self.declared.shape) != len(lhs):
            raise self._declared_mismatch(tuple(self.extents.get(u, Affine.of(name)) for u in lhs))
        self.extents[v] = self.declared.shape[lhs.index(v)]

    def _check_declared(self, lhs: list[str]) -> None:
        got = tuple(self.extents[v] for v in lhs)
        if self.declared is not None and self.declared.shape != got:
            raise self._declared_mismatch(got)

    def _declared_mismatch(self, got: tuple[Affine, ...]) -> _Skip:
        d = self.declared
        return self.error(
            "E133", f"{self.a.target.name} is computed with shape {_dims(got) or 'scalar'} but "
            f"{d.described} is declared {d.type.dtype}{_dims(d.shape)}", self.a.target.span,
            notes=(Note("declared here", d.type.span),),
            help="change the declared result type, or the indices of the statement")

    def _statement_dtype(self, value: ir.Expr) -> str:
        if self.declared is None:
            return concrete(value.dtype)
        declared = self.declared.type.dtype
        if value.dtype not in ("int", "float") and value.dtype != declared:
            raise self.error(
                "E134", f"{self.a.target.name} is computed as {value.dtype} but returned as {declared}",
                self.a.target.span, help=f"declare the result {value.dtype}, or give the parameters "
                f"dtype {declared}")
        if value.dtype == "float" and not is_float(declared):
            raise self.error("E135", f"{self.a.target.name} is returned as {declared} but its value is "
                             "fractional", self.a.target.span, help="declare a float result type")
        return declared


class _Settle:
    """Phase 2: give index variables their surface names and extents, and weak dtypes concrete ones."""

    def __init__(self, stmt: StatementChecker):
        self.stmt = stmt

    def affine(self, a: Affine) -> Affine:
        return Affine._make({self.stmt.surface.get(s, s): c for s, c in a.terms}, a.const)

    def expr(self, e: ir.Expr, want: str | None) -> ir.Expr:
        """e settled to dtype `want` (a cast where a strong dtype differs), or to its own dtype."""
        out = self._node(e, concrete(e.dtype, want))
        return ir.Cast(out, want) if want is not None and out.dtype != want else out

    def _node(self, e: ir.Expr, dtype: str) -> ir.Expr:
        match e:
            case ir.Const(value):
                return ir.Const(value, dtype)
            case ir.Index(name):
                return ir.Index(self.stmt.surface[name], dtype)
            case ir.Dim(name):
                return ir.Dim(name, dtype)
            case ir.Load(tensor, indices, _):
                return ir.Load(tensor, tuple(self.affine(i) for i in indices), e.dtype, e.span)
            case ir.Reduce(op, vars_, body):
                settled = tuple(ir.IndexVar(self.stmt.surface[v.name], self.stmt.extents[v.name])
                                for v in vars_)
                return ir.Reduce(op, settled, self.expr(body, dtype), dtype)
            case ir.Call():
                return self._call(e, dtype)
        raise TypeError(f"unknown IR node {e!r}")

    def _call(self, e: ir.Call, dtype: str) -> ir.Expr:
        kind = PRIMITIVES[e.op].kind
        if kind == "compare":
            operand = concrete(promote(e.args[0].dtype, e.args[1].dtype), None if is_float(dtype) else dtype)
            args = tuple(self.expr(a, operand) for a in e.args)
            return ir.Call(e.op, args, operand)
        if kind == "select":
            cond = self.expr(e.args[0], None)
            args = (cond, self.expr(e.args[1], dtype), self.expr(e.args[2], dtype))
            return ir.Call(e.op, args, dtype)
        return ir.Call(e.op, tuple(self.expr(a, dtype) for a in e.args), dtype)
