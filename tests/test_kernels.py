"""Differential tests: every stdlib kernel, and kernels written here, on random shapes and values.

`ref` (the numpy interpreter) must match a direct numpy formula computed in f64, and `jax` must
match `ref`, both within runtime.compare.tolerance(dtype, reduction length).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import erf

import plmr
from compiler.bind import bind, numpy_dtype
from runtime.compare import max_error, reduction_length, tolerance

# Each new shape costs JAX one compilation: few examples per kernel keep the file fast.
FEW = settings(max_examples=8)

SIZES = st.integers(1, 12)


def _tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def check_against(program: plmr.Program, name: str, inputs: list, want) -> None:
    """ref ≈ want (numpy, f64) and jax ≈ ref, each result within its dtype's tolerance."""
    kernel = program.kernel(name)
    length = reduction_length(kernel, bind(kernel, inputs).dims)
    ref = _tuple(program.run(name, *inputs, backend="ref"))
    jax = _tuple(program.run(name, *inputs, backend="jax"))
    want = _tuple(want)
    assert len(ref) == len(jax) == len(want) == len(kernel.results)
    for decl, r, j, w in zip(kernel.results, ref, jax, want):
        tol = tolerance(decl.dtype, length)
        assert r.dtype == j.dtype == numpy_dtype(decl.dtype), (r.dtype, j.dtype)
        assert r.shape == j.shape == np.shape(w), (r.shape, j.shape, np.shape(w))
        assert max_error(r, w) <= tol, f"{name}.{decl.name}: ref differs from numpy: {max_error(r, w):.3g}"
        assert max_error(j, r) <= tol, f"{name}.{decl.name}: jax differs from ref: {max_error(j, r):.3g}"


def normal(rng, *shape, dtype=np.float32) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ---------------------------------------------------------------- numpy formulas


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_attention(q, k, v, bias=None, causal=False):
    s = q @ k.T / math.sqrt(q.shape[1])
    if bias is not None:
        s = s + bias
    if causal:
        s = np.where(np.tril(np.ones(s.shape, bool)), s, -np.inf)
    return np_softmax(s) @ v


def np_relative_bias(bias, t):
    i, j = np.indices((t, t))
    return bias[i - j + t - 1]


def np_layernorm(x, gamma, beta):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * gamma + beta


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def np_conv2d(x, w):
    r, s = w.shape[2:]
    windows = sliding_window_view(x, (r, s), axis=(1, 2))  # [C, H-R+1, W-S+1, R, S]
    return np.einsum("cijrs,fcrs->fij", windows, w)


def np_mlp(x, w1, b1, w2, b2):
    h = x @ w1 + b1
    return (0.5 * h * (1 + erf(h / math.sqrt(2)))) @ w2 + b2


# ---------------------------------------------------------------- the stdlib, kernel by kernel


def _draw(data, *names):
    return [data.draw(SIZES, label=n) for n in names]


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def case_gemm(data):
    m, k, n = _draw(data, "M", "K", "N")
    rng = _rng(data)
    a, b = normal(rng, m, k), normal(rng, k, n)
    return [a, b], np.matmul(*f64(a, b))


def case_gemm_bt(data):
    m, k, n = _draw(data, "M", "K", "N")
    rng = _rng(data)
    a, b = normal(rng, m, k), normal(rng, n, k)
    a64, b64 = f64(a, b)
    return [a, b], a64 @ b64.T


def case_gemv(data):
    n, k = _draw(data, "N", "K")
    rng = _rng(data)
    w, v = normal(rng, n, k), normal(rng, k)
    return [w, v], np.matmul(*f64(w, v))


def case_bmm(data):
    b, m, k, n = _draw(data, "B", "M", "K", "N")
    rng = _rng(data)
    a, x = normal(rng, b, m, k), normal(rng, b, k, n)
    return [a, x], np.matmul(*f64(a, x))


def case_softmax(data):
    n, d = _draw(data, "N", "D")
    x = normal(_rng(data), n, d) * 4
    return [x], np_softmax(*f64(x))


def case_log_softmax(data):
    n, d = _draw(data, "N", "D")
    x32 = normal(_rng(data), n, d) * 4
    (x,) = f64(x32)
    shifted = x - x.max(1, keepdims=True)
    return [x32], shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def case_layernorm(data):
    n, d = _draw(data, "N", "D")
    rng = _rng(data)
    x, gamma, beta = normal(rng, n, d), normal(rng, d), normal(rng, d)
    return [x, gamma, beta], np_layernorm(*f64(x, gamma, beta))


def case_rmsnorm(data):
    n, d = _draw(data, "N", "D")
    rng = _rng(data)
    x, gamma = normal(rng, n, d), normal(rng, d)
    x64, g64 = f64(x, gamma)
    return [x, gamma], x64 / np.sqrt((x64**2).mean(1, keepdims=True) + 1e-5) * g64


def case_gelu(data):
    n, d = _draw(data, "N", "D")
    x = normal(_rng(data), n, d) * 3
    return [x], np_gelu_tanh(*f64(x))


def case_mlp(data):
    b, d, h, e = _draw(data, "B", "D", "H", "E")
    rng = _rng(data)
    arrays = [normal(rng, b, d), normal(rng, d, h), normal(rng, h), normal(rng, h, e), normal(rng, e)]
    return arrays, np_mlp(*f64(*arrays))


def case_attention(data):
    t, s, d, e = _draw(data, "T", "S", "D", "E")
    rng = _rng(data)
    q, k, v = normal(rng, t, d), normal(rng, s, d), normal(rng, s, e)
    return [q, k, v], np_attention(*f64(q, k, v))


def case_causal_attention(data):
    t, d, e = _draw(data, "T", "D", "E")
    rng = _rng(data)
    q, k, v = normal(rng, t, d), normal(rng, t, d), normal(rng, t, e)
    return [q, k, v], np_attention(*f64(q, k, v), causal=True)


def case_attention_relbias(data):
    t, d, e = _draw(data, "T", "D", "E")
    rng = _rng(data)
    q, k, v, bias = normal(rng, t, d), normal(rng, t, d), normal(rng, t, e), normal(rng, 2 * t - 1)
    q64, k64, v64, b64 = f64(q, k, v, bias)
    return [q, k, v, bias], np_attention(q64, k64, v64, bias=np_relative_bias(b64, t))


def case_conv1d(data):
    k, out = _draw(data, "K", "N - K + 1")
    rng = _rng(data)
    x, w = normal(rng, out + k - 1), normal(rng, k)
    return [x, w], np.correlate(*f64(x, w), mode="valid")


def case_conv2d(data):
    c, f, r, s = (data.draw(st.integers(1, 5), label=n) for n in "CFRS")
    oh, ow = _draw(data, "H - R + 1", "W - S + 1")
    rng = _rng(data)
    x, w = normal(rng, c, oh + r - 1, ow + s - 1), normal(rng, f, c, r, s)
    return [x, w], np_conv2d(*f64(x, w))


CASES = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}


def test_every_stdlib_kernel_has_a_numpy_case(stdlib):
    assert set(CASES) == set(stdlib)


@pytest.mark.parametrize("name", sorted(CASES))
@FEW
@given(data=st.data())
def test_stdlib_kernel_matches_numpy(stdlib, name, data):
    inputs, want = CASES[name](data)
    check_against(stdlib[name], name, inputs, want)


# ---------------------------------------------------------------- kernels that are not in the stdlib

EXTRA = plmr.loads("""
kernel transpose(x: f32[N, M]) -> f32[M, N] {
  y[j, i] = x[i, j]
  return y
}

kernel diagonal(x: f32[N, N]) -> f32[N] {
  y[i] = x[i, i]
  return y
}

kernel trace(x: f64[N, N]) -> f64 {
  t = sum(i) x[i, i]
  return t
}

kernel strided(x: f32[2 * N + 1]) -> f32[N] {
  y[i] = x[2 * i + 1]
  return y
}

kernel reversed(x: f32[N]) -> f32[N] {
  y[i] = x[N - 1 - i]
  return y
}

kernel moments(x: f32[N], shift: f32) -> (f32, f32) {
  mu = sum(i) x[i] / N + shift
  var = sum(i) (x[i] - mu) ** 2 / N
  return mu, var
}

kernel int_ops(a: i32[M, K], b: i32[K]) -> (i32[M], i32[M], i32[M], i32[M]) {
  y[i] = sum(k) a[i, k] * b[k]
  hi[i] = max(k) a[i, k]
  lo[i] = min(k) a[i, k] - 1
  sq[i] = sum(k) a[i, k] ** 2 + i * 10
  return y, hi, lo, sq
}

kernel half_rowsum(x: f16[N, D]) -> f16[N] {
  y[n] = sum(d) x[n, d] * 2
  return y
}

kernel bf16_rowmax(x: bf16[N, D]) -> bf16[N] {
  y[n] = max(d) x[n, d] * 2
  return y
}

kernel f64_meanexp(x: f64[N, D]) -> f64[N] {
  y[n] = sum(d) exp(x[n, d]) / D
  return y
}

kernel relative(s: f32[N, M]) -> f32[N, M] {
  y[i, j] = s[i, j] + (i - j) * 0.5
  return y
}

kernel causal_mask(s: f32[N, N]) -> f32[N, N] {
  y[i, j] = where(j <= i, s[i, j], -inf)
  return y
}

kernel empty_reductions(x: f32[N, K]) -> (f32[N], f32[N], f32[N], f32[N]) {
  s[i] = sum(k) x[i, k]
  p[i] = prod(k) x[i, k]
  hi[i] = max(k) x[i, k]
  lo[i] = min(k) x[i, k]
  return s, p, hi, lo
}

kernel means(x: f32[N, K], w: f32[K]) -> (f32[N], f32[N], f32[N]) {
  mean[i] = sum(k) x[i, k] / K
  sq[i] = sum(k) x[i, k] ** 2 / K / 2
  dot[i] = sum(k) x[i, k] * w[k] / K
  return mean, sq, dot
}

kernel mixed(a: f16[N], b: f32[N], c: i32[N]) -> f32[N] {
  y[i] = a[i] * b[i] + c[i] / 2
  return y
}

kernel functions(a: f32[N], b: f32[N]) -> f32[N] {
  y[i] = exp(a[i]) + log(abs(a[i]) + 1) + sqrt(abs(b[i])) + rsqrt(abs(b[i]) + 1) + tanh(a[i])
         + sigmoid(b[i]) + relu(a[i]) + maximum(a[i], b[i]) - minimum(a[i], b[i]) + softplus(a[i])
         + erf(a[i]) + sin(a[i]) + cos(b[i]) + (a[i] < b[i]) + (a[i] != b[i]) * 2
  return y
}

kernel window(x: f32[H, W], w: f32[R, S]) -> f32[H - R + 1, W - S + 1] {
  y[i, j] = sum(r) sum(s) x[i + r, j + s] * w[r, s]
  return y
}

kernel max_row_sum(x: f32[N, M]) -> f32 {
  y = max(i) sum(j) x[i, j] + 1
  return y
}

kernel dims_as_values(x: f32[N, D]) -> f32[N] {
  y[n] = sum(d) x[n, d] * D - N
  return y
}

kernel iota(x: f32[N]) -> i32[N] {
  y[i] = i * 2 + 1
  return y
}
""", "extra.plmr")


def sized(data, *names, low=1, high=12):
    return [data.draw(st.integers(low, high), label=n) for n in names]


def extra_transpose(data):
    n, m = sized(data, "N", "M")
    x = normal(_rng(data), n, m)
    return [x], x.T


def extra_diagonal(data):
    (n,) = sized(data, "N")
    x = normal(_rng(data), n, n)
    return [x], np.diag(x)


def extra_trace(data):
    (n,) = sized(data, "N")
    x = normal(_rng(data), n, n, dtype=np.float64)
    return [x], np.trace(x)


def extra_strided(data):
    (n,) = sized(data, "N")
    x = normal(_rng(data), 2 * n + 1)
    return [x], x[1::2]


def extra_reversed(data):
    (n,) = sized(data, "N")
    x = normal(_rng(data), n)
    return [x], x[::-1]


def extra_moments(data):
    (n,) = sized(data, "N")
    rng = _rng(data)
    x, shift = normal(rng, n), np.float32(rng.standard_normal())
    (x64,) = f64(x)
    mu = x64.mean() + float(shift)
    return [x, shift], (mu, ((x64 - mu) ** 2).mean())


def extra_int_ops(data):
    m, k = sized(data, "M", "K")
    rng = _rng(data)
    a, b = rng.integers(-50, 50, (m, k)).astype(np.int32), rng.integers(-50, 50, k).astype(np.int32)
    return [a, b], (a @ b, a.max(1), a.min(1) - 1, (a**2).sum(1) + np.arange(m) * 10)


def extra_half_rowsum(data):
    n, d = sized(data, "N", "D")
    x = normal(_rng(data), n, d, dtype=np.float16)
    return [x], (f64(x)[0] * 2).sum(1)


def extra_bf16_rowmax(data):
    import ml_dtypes

    n, d = sized(data, "N", "D")
    x = normal(_rng(data), n, d).astype(ml_dtypes.bfloat16)
    return [x], f64(x)[0].max(1) * 2


def extra_f64_meanexp(data):
    n, d = sized(data, "N", "D")
    x = normal(_rng(data), n, d, dtype=np.float64)
    return [x], np.exp(x).mean(1)


def extra_relative(data):
    n, m = sized(data, "N", "M")
    s = normal(_rng(data), n, m)
    i, j = np.indices((n, m))
    return [s], s + (i - j) * 0.5


def extra_causal_mask(data):
    (n,) = sized(data, "N")
    s = normal(_rng(data), n, n)
    return [s], np.where(np.tril(np.ones((n, n), bool)), s, -np.inf)


def extra_empty_reductions(data):
    (n,) = sized(data, "N")
    (k,) = sized(data, "K", low=0, high=3)
    x = normal(_rng(data), n, k)
    return [x], (x.sum(1), x.prod(1), x.max(1, initial=-np.inf), x.min(1, initial=np.inf))


def extra_means(data):
    """Division after a sum: an empty sum (K = 0) is 0, never 0 / 0."""
    (n,) = sized(data, "N")
    (k,) = sized(data, "K", low=0, high=5)
    rng = _rng(data)
    x, w = normal(rng, n, k), normal(rng, k)
    x64, w64 = f64(x, w)
    k1 = max(k, 1)
    return [x, w], (x64.sum(1) / k1, (x64**2).sum(1) / k1 / 2, x64 @ w64 / k1)


def extra_mixed(data):
    (n,) = sized(data, "N")
    rng = _rng(data)
    a, b, c = normal(rng, n, dtype=np.float16), normal(rng, n), rng.integers(-9, 9, n).astype(np.int32)
    a64, b64, c64 = f64(a, b, c)
    return [a, b, c], a64 * b64 + c64 / 2


def extra_functions(data):
    (n,) = sized(data, "N")
    rng = _rng(data)
    a, b = normal(rng, n), normal(rng, n)
    a, b = f64(a, b)
    want = (np.exp(a) + np.log(np.abs(a) + 1) + np.sqrt(np.abs(b)) + 1 / np.sqrt(np.abs(b) + 1) + np.tanh(a)
            + 1 / (1 + np.exp(-b)) + np.maximum(a, 0) + np.maximum(a, b) - np.minimum(a, b)
            + np.log1p(np.exp(a)) + erf(a) + np.sin(a) + np.cos(b) + (a < b) + (a != b) * 2)
    return [a.astype(np.float32), b.astype(np.float32)], want


def extra_window(data):
    r, s, oh, ow = sized(data, "R", "S", "H - R + 1", "W - S + 1", high=6)
    rng = _rng(data)
    x, w = normal(rng, oh + r - 1, ow + s - 1), normal(rng, r, s)
    return [x, w], np_conv2d(*f64(x[None], w[None, None]))[0]


def extra_max_row_sum(data):
    n, m = sized(data, "N", "M")
    x = normal(_rng(data), n, m)
    return [x], f64(x)[0].sum(1).max() + 1


def extra_dims_as_values(data):
    n, d = sized(data, "N", "D")
    x = normal(_rng(data), n, d)
    return [x], f64(x)[0].sum(1) * d - n


def extra_iota(data):
    (n,) = sized(data, "N")
    return [normal(_rng(data), n)], np.arange(n) * 2 + 1


EXTRA_CASES = {name[6:]: fn for name, fn in dict(globals()).items() if name.startswith("extra_")}


def test_every_extra_kernel_has_a_case():
    assert set(EXTRA_CASES) == set(EXTRA.kernels)


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
@FEW
@given(data=st.data())
def test_extra_kernel_matches_numpy(name, data):
    inputs, want = EXTRA_CASES[name](data)
    check_against(EXTRA, name, inputs, want)


def test_integer_kernels_are_exact():
    a = np.array([[2**20, 3], [-7, 5]], np.int32)
    b = np.array([2**10, -1], np.int32)
    y, hi, lo, sq = EXTRA.run("int_ops", a, b, backend="jax")
    assert y.dtype == np.int32 and y.tolist() == [2**30 - 3, -7 * 2**10 - 5]
    assert hi.tolist() == [2**20, 5] and lo.tolist() == [2, -8]


def test_jax_backend_is_cached_per_kernel_and_shape():
    from runtime import jax_backend

    kernel = EXTRA.kernel("transpose")
    assert jax_backend.compile_kernel(kernel) is jax_backend.compile_kernel(kernel)
