"""Numeric mode of the wafer-mesh simulator equals numpy for every builder, on random shapes and
meshes (square and not, sizes that need padding)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.diagnostics import PlmrError
from runtime.mesh import (BINARY, ROW_KINDS, UNARY, Allreduce, attention, elementwise, gemm, gemv,
                          row_reduction, simulate, wse2)

DEVICE = wse2()
sizes = st.integers(1, 17)
grids = st.tuples(st.integers(1, 4), st.integers(1, 4))
methods = st.sampled_from([Allreduce("chain"), Allreduce("ring"), Allreduce("ktree", 2),
                           Allreduce("ktree", 3)])


def _normal(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, sizes, grids, st.sampled_from(["meshgemm", "cannon", "summa"]))
def test_gemm_equals_numpy(m, k, n, grid, algorithm):
    a, b = _normal(1, m, k), _normal(2, k, n)
    report = simulate(gemm(m, k, n, grid, algorithm), DEVICE, {"A": a, "B": b}, numeric=True)
    np.testing.assert_allclose(report.outputs["C"], a @ b, atol=1e-9, rtol=1e-9)
    assert report.max_abs_error < 1e-9


@settings(max_examples=20, deadline=None)
@given(sizes, sizes, sizes, grids, st.sampled_from(["meshgemm", "cannon"]), methods)
def test_gemm_transposed_b_equals_numpy(m, k, n, grid, algorithm, method):
    a, b = _normal(3, m, k), _normal(4, n, k)
    program = gemm(m, k, n, grid, algorithm, transpose_b=True, allreduce=method)
    report = simulate(program, DEVICE, {"A": a, "B": b}, numeric=True)
    np.testing.assert_allclose(report.outputs["C"], a @ b.T, atol=1e-9, rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(sizes, sizes, grids, methods)
def test_gemv_equals_numpy(m, k, grid, method):
    w, v = _normal(5, m, k), _normal(6, k)
    report = simulate(gemv(m, k, grid, method), DEVICE, {"W": w, "v": v}, numeric=True)
    np.testing.assert_allclose(report.outputs["y"], w @ v, atol=1e-9, rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(sizes, sizes, grids, st.sampled_from(UNARY + BINARY))
def test_elementwise_equals_numpy(m, n, grid, fn):
    x, y = np.abs(_normal(7, m, n)) + 0.5, _normal(8, m, n)
    inputs = {"x": x, "y": y} if fn in BINARY else {"x": x}
    report = simulate(elementwise(fn, m, n, grid), DEVICE, inputs, numeric=True)
    expected = {"add": x + y, "sub": x - y, "mul": x * y, "div": x / y, "maximum": np.maximum(x, y),
                "minimum": np.minimum(x, y), "exp": np.exp(x), "log": np.log(x), "sqrt": np.sqrt(x),
                "rsqrt": 1 / np.sqrt(x), "tanh": np.tanh(x), "sigmoid": 1 / (1 + np.exp(-x)),
                "relu": np.maximum(x, 0), "abs": np.abs(x), "neg": -x}[fn]
    np.testing.assert_allclose(report.outputs["z"], expected, rtol=1e-12)


def _row_expected(kind: str, x: np.ndarray, eps: float) -> np.ndarray:
    if kind == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == "rmsnorm":
        return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + eps)
    return (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, grids, st.sampled_from(ROW_KINDS), methods)
def test_row_reductions_equal_numpy(rows, cols, grid, kind, method):
    x = 3 * _normal(9, rows, cols)
    report = simulate(row_reduction(kind, rows, cols, grid, method, eps=1e-5), DEVICE, {"x": x}, numeric=True)
    np.testing.assert_allclose(report.outputs["y"], _row_expected(kind, x, 1e-5), atol=1e-10, rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(sizes, sizes, grids, st.booleans(), st.sampled_from(["meshgemm", "cannon"]))
def test_prefill_attention_equals_numpy(s, d, grid, causal, algorithm):
    q, k, v = _normal(10, s, d), _normal(11, s, d), _normal(12, s, d)
    scores = q @ k.T / np.sqrt(d)
    if causal:
        scores = np.where(np.tril(np.ones((s, s), dtype=bool)), scores, -np.inf)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected = probs / probs.sum(axis=1, keepdims=True) @ v
    program = attention(s, d, grid, causal=causal, algorithm=algorithm)
    report = simulate(program, DEVICE, {"Q": q, "K": k, "V": v}, numeric=True)
    np.testing.assert_allclose(report.outputs["O"], expected, atol=1e-10, rtol=1e-9)


def test_float32_inputs_are_simulated_in_float32_within_tolerance():
    report = simulate(gemm(64, 64, 64, (4, 4)), DEVICE, numeric=True, seed=3)
    assert report.outputs["C"].dtype == np.float32
    assert 0 < report.max_abs_error < 1e-4


def test_padding_is_reported():
    report = simulate(gemm(10, 12, 9, (2, 3), "meshgemm"), DEVICE, numeric=True)
    assert {"tensor": "A", "dim": 0, "size": 10, "padded": 12} in report.to_dict()["padding"]
    assert {"tensor": "B", "dim": 1, "size": 9, "padded": 12} in report.to_dict()["padding"]
    assert "padded: A dim 0 10 -> 12" in report.to_table()


@pytest.mark.parametrize("program", [
    gemm(9, 7, 5, (3, 2), "summa"), gemm(9, 7, 5, (2, 3), transpose_b=True),
    gemv(9, 7, (2, 3), Allreduce("ring")), row_reduction("layernorm", 5, 7, (2, 2)),
    attention(7, 5, (2, 3), causal=True)])
def test_cost_only_and_numeric_report_the_same_costs(program):
    cost = simulate(program, DEVICE).to_dict()
    numeric = simulate(program, DEVICE, numeric=True).to_dict()
    assert numeric.pop("max_abs_error") < 1e-5
    assert cost == numeric


def test_wrong_input_shape_is_a_plain_error():
    with pytest.raises(PlmrError, match=r"input A has shape \(3, 3\) but gemm_meshgemm expects \(4, 4\)"):
        simulate(gemm(4, 4, 4, (2, 2)), DEVICE, {"A": np.zeros((3, 3)), "B": np.zeros((4, 4))}, numeric=True)


def test_missing_input_is_a_plain_error():
    with pytest.raises(PlmrError, match="input B of gemm_meshgemm is missing"):
        simulate(gemm(4, 4, 4, (2, 2)), DEVICE, {"A": np.zeros((4, 4))}, numeric=True)


def test_inputs_are_left_untouched():
    a, b = np.arange(9.0).reshape(3, 3), np.eye(3)
    simulate(gemm(3, 3, 3, (3, 3), transpose_b=True), DEVICE, {"A": a, "B": b}, numeric=True)
    np.testing.assert_array_equal(b, np.eye(3))
    np.testing.assert_array_equal(a, np.arange(9.0).reshape(3, 3))
