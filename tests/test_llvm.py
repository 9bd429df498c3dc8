"""The llvm backend against the reference interpreter: every stdlib kernel and the extra kernels of
test_kernels on random shapes, plus the edges numpy defines (NaN, infinities, integer wrap-around,
division by zero), the loop order chosen for a reduction, caching, errors and the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plmr
from compiler import ir
from compiler.affine import Affine
from compiler.bind import bind, numpy_dtype
from compiler.lower_llvm import _accumulates_in_memory
from dsl.diagnostics import PlmrError
from runtime import llvm_backend, reference
from runtime.compare import max_error, reduction_length, tolerance
from stdlib import kernel_files
from test_kernels import CASES, EXTRA, EXTRA_CASES

# Compiled once per kernel, not per shape: examples are cheap.
SOME = settings(max_examples=12, deadline=None)


def _tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def check_llvm(program: plmr.Program, name: str, inputs: list) -> None:
    """llvm ≈ ref for every result: same dtype, same shape, within the dtype's tolerance."""
    kernel = program.kernel(name)
    length = reduction_length(kernel, bind(kernel, inputs).dims)
    want = _tuple(program.run(name, *inputs, backend="ref"))
    got = _tuple(program.run(name, *inputs, backend="llvm"))
    assert len(got) == len(want) == len(kernel.results)
    for decl, g, w in zip(kernel.results, got, want):
        assert g.dtype == numpy_dtype(decl.dtype) and g.shape == w.shape, (g.dtype, g.shape, w.shape)
        error = max_error(g, w)
        assert error <= tolerance(decl.dtype, length), f"{name}.{decl.name}: llvm differs from ref by {error:.3g}"


@pytest.mark.parametrize("name", sorted(CASES))
@SOME
@given(data=st.data())
def test_stdlib_kernel_matches_reference(stdlib, name, data):
    inputs, _ = CASES[name](data)
    check_llvm(stdlib[name], name, inputs)


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
@SOME
@given(data=st.data())
def test_extra_kernel_matches_reference(name, data):
    inputs, _ = EXTRA_CASES[name](data)
    check_llvm(EXTRA, name, inputs)


EDGES = plmr.loads("""
kernel extremes(a: f32[N], b: f32[N]) -> (f32[N], f32[N], f32, f32, f32[N]) {
  hi[i] = maximum(a[i], b[i])
  lo[i] = minimum(a[i], b[i])
  top = max(i) a[i]
  total = sum(i) a[i]
  ne[i] = (a[i] != b[i]) + (a[i] < b[i]) * 2 + where(a[i], 4, 0)
  return hi, lo, top, total, ne
}

kernel ipow(a: i32[N], b: i32[N]) -> i32[N] {
  y[i] = a[i] ** b[i]
  return y
}

kernel wrap(a: i32[N]) -> (i32[N], i32) {
  y[i] = a[i] * a[i] + 7
  p = prod(i) a[i]
  return y, p
}

kernel functions64(a: f64[N]) -> f64[N] {
  y[i] = tanh(a[i]) + erf(a[i]) + softplus(a[i]) + sigmoid(a[i]) + a[i] ** 3 + exp(a[i] / 8)
  return y
}
""", "edges.plmr")


SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 3e38])


@SOME
@given(a=st.lists(SPECIAL, min_size=1, max_size=8), data=st.data())
def test_nan_and_infinities_follow_numpy(a, data):
    b = data.draw(st.lists(SPECIAL, min_size=len(a), max_size=len(a)))
    inputs = [np.array(a, np.float32), np.array(b, np.float32)]
    with np.errstate(all="ignore"):
        want = EDGES.run("extremes", *inputs, backend="ref")
    got = EDGES.run("extremes", *inputs, backend="llvm")
    for g, w in zip(got, want):  # NaN where numpy has NaN, infinities where it has them
        np.testing.assert_allclose(g, w, rtol=1e-6, equal_nan=True)


@SOME
@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 12)), min_size=1, max_size=10))
def test_integer_power_wraps_as_numpy(pairs):
    a, b = (np.array(column, np.int32) for column in zip(*pairs))
    (got,) = _tuple(EDGES.run("ipow", a, b, backend="llvm"))
    assert got.dtype == np.int32 and got.tolist() == (a ** b).tolist()


def test_integer_arithmetic_wraps_and_is_exact():
    a = np.array([2**16, -3, 2**20, 5], np.int32)
    y, p = EDGES.run("wrap", a, backend="llvm")
    want_y, want_p = EDGES.run("wrap", a, backend="ref")
    assert y.tolist() == want_y.tolist() and int(p) == int(want_p)


@SOME
@given(st.lists(st.floats(-30, 30, width=64), min_size=1, max_size=10))
def test_f64_functions_match_libm_closely(values):
    check_llvm(EDGES, "functions64", [np.array(values)])


EXP = plmr.loads("kernel e(x: f32[N]) -> f32[N] {\n  y[i] = exp(x[i])\n  return y\n}", "exp.plmr")


@SOME
@given(st.lists(st.floats(-120, 100, width=32) | SPECIAL, min_size=1, max_size=64))
def test_inline_f32_exp_is_within_two_ulp_of_numpy(values):
    x = np.array(values, np.float32)
    got = EXP.run("e", x, backend="llvm")
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan among the special values, on purpose
        want = np.exp(x.astype(np.float64))
        normal = (want > 3e-38) & (want < 3.4e38)
        assert np.all(np.abs(got - want)[normal] <= 2.5 * np.spacing(np.float32(want[normal])))
        np.testing.assert_array_equal(got[~normal & ~(x < -86.5)], np.float32(want[~normal & ~(x < -86.5)]))
    assert np.all(got[x < -86.5] == 0)  # documented: 0 below -86.5 rather than a value under 3e-38


def test_casts_truncate_toward_zero():
    n = Affine.of("N")
    x, t = ir.TensorDecl("x", "f64", (n,)), ir.TensorDecl("t", "i32", (n,))
    load = ir.Load("x", (Affine.of("i"),), "f64")
    value = ir.Cast(ir.Call("mul", (load, ir.Const(3.0, "f64")), "f64"), "i32")
    kernel = ir.KernelIR("casts", (x,), ("N",), (ir.Stmt(t, (ir.IndexVar("i", n),), value),), (t,))
    (got,) = llvm_backend.run_kernel(kernel, [np.array([1.9, -1.9, 0.2, -0.4])])
    assert got.dtype == np.int32 and got.tolist() == [5, -5, 0, -1]


def _floordiv_kernel(dtype: str) -> ir.KernelIR:
    """a[i] // b[i], built as IR (the surface language has no // operator)."""
    n = Affine.of("N")
    a, b = (ir.TensorDecl(name, dtype, (n,)) for name in "ab")
    loads = tuple(ir.Load(name, (Affine.of("i"),), dtype) for name in "ab")
    y = ir.TensorDecl("y", dtype, (n,))
    stmt = ir.Stmt(y, (ir.IndexVar("i", n),), ir.Call("floordiv", loads, dtype))
    return ir.KernelIR("floordiv", (a, b), ("N",), (stmt,), (y,))


@SOME
@given(st.lists(st.tuples(st.integers(-2**31, 2**31 - 1), st.sampled_from([0, -1, 1, 3, -7, 2**31 - 1])),
                min_size=1, max_size=10))
def test_integer_floor_division_never_traps(pairs):
    kernel = _floordiv_kernel("i32")
    a, b = (np.array(column, np.int32) for column in zip(*pairs))
    with np.errstate(all="ignore"):
        (want,) = reference.run_kernel(kernel, [a, b])
    (got,) = llvm_backend.run_kernel(kernel, [a, b])
    assert got.tolist() == want.tolist()


def test_float_floor_division_floors():
    kernel = _floordiv_kernel("f32")
    (got,) = llvm_backend.run_kernel(kernel, [np.array([7, -7, 7.5], np.float32), np.array([2, 2, -2], np.float32)])
    assert got.tolist() == [3, -4, -4]


def test_gemm_accumulates_along_its_columns_and_gemv_in_a_register(stdlib):
    gemm, gemv = stdlib["gemm"].kernel("gemm"), stdlib["gemv"].kernel("gemv")
    assert _accumulates_in_memory(gemm.body[0]) and not _accumulates_in_memory(gemv.body[0])
    text = llvm_backend.llvm_ir(gemm)
    assert text.index('"k.head"') < text.index('"j.head.1"')  # the second nest runs i, k, j


def test_compiled_kernels_are_cached_and_vectorised(stdlib):
    kernel = stdlib["gemm"].kernel("gemm")
    compiled = llvm_backend.compile_kernel(kernel)
    assert llvm_backend.compile_kernel(kernel) is compiled
    assert "<8 x float>" in compiled.optimized_ir or "<16 x float>" in compiled.optimized_ir


def test_large_gemm_matches_numpy(stdlib):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((67, 129)).astype(np.float32), rng.standard_normal((129, 45)).astype(np.float32)
    got = stdlib["gemm"].run("gemm", a, b, backend="llvm")
    assert max_error(got, a.astype(np.float64) @ b) <= tolerance("f32", 129)


def test_unknown_primitive_is_a_plmr_error():
    kernel = _floordiv_kernel("f32")
    stmt = kernel.body[0]
    broken = ir.KernelIR("broken", kernel.params, kernel.dims,
                         (ir.Stmt(stmt.target, stmt.indices, ir.Call("frobnicate", stmt.value.args, "f32")),),
                         kernel.results)
    with pytest.raises(PlmrError, match=r"E310.*cannot lower primitive 'frobnicate'"):
        llvm_backend.run_kernel(broken, [np.ones(2, np.float32)] * 2)


def test_bad_inputs_are_plmr_errors(stdlib):
    with pytest.raises(PlmrError, match="K is 3 from A but 4 from B"):
        stdlib["gemm"].run("gemm", np.ones((2, 3)), np.ones((4, 2)), backend="llvm")


def _plmr(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plmr", *args], capture_output=True, text=True, timeout=120)


def test_cli_emits_llvm_ir_and_runs_on_llvm():
    path = str(next(p for p in kernel_files() if p.name == "norms.plmr"))
    shown = _plmr("compile", path, "softmax", "--emit", "llvm")
    assert shown.returncode == 0, shown.stderr
    assert 'define void @"kernel_softmax"(ptr noalias %"x"' in shown.stdout and "llvm.floor.f32" in shown.stdout
    ran = _plmr("run", path, "softmax", "--backend", "llvm", "--shapes", "N=3,D=5")
    assert ran.returncode == 0, ran.stderr
    assert "y: float32[3, 5]" in ran.stdout and "Traceback" not in ran.stderr
