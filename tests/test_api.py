"""The Python API: plmr.load / plmr.loads, Program.run with one or several results on each backend,
PlmrError rendering, and binding errors that name the dimension and both sources."""

from __future__ import annotations

import numpy as np
import pytest

import plmr
from stdlib import kernel_files

SOURCE = """\
# a file with two kernels
kernel scale(x: f32[N], s: f32) -> f32[N] {
  y[i] = x[i] * s
  return y
}

kernel stats(x: f32[N, D]) -> (f32[N], f32[N], f32) {
  mu[n] = sum(d) x[n, d] / D
  hi[n] = max(d) x[n, d]
  total = sum(n, d) x[n, d]
  return mu, hi, total
}

kernel add(x: f32[N], y: f32[N]) -> f32[N] {
  z[i] = x[i] + y[i]
  return z
}
"""


@pytest.fixture(scope="module")
def program() -> plmr.Program:
    return plmr.loads(SOURCE, "two.plmr")


def test_loads_gives_a_program_with_its_kernels(program):
    assert program.kernels == ("scale", "stats", "add")
    assert program.name == "two.plmr"
    assert repr(program) == "<plmr.Program two.plmr: 3 declarations>"


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "k.plmr"
    path.write_text(SOURCE)
    program = plmr.load(path)
    assert program.name == str(path) and program.kernels == ("scale", "stats", "add")
    assert plmr.load(str(path)).text == SOURCE


@pytest.mark.parametrize("backend", ["ref", "jax"])
def test_run_single_result_with_a_scalar_parameter(program, backend):
    y = program.run("scale", np.arange(4, dtype=np.float32), np.float32(2.5), backend=backend)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.0, 2.5, 5.0, 7.5])


@pytest.mark.parametrize("backend", ["ref", "jax"])
def test_run_several_results_gives_a_tuple(program, backend):
    x = np.array([[1, 2, 3], [4, 5, 9]], np.float32)
    mu, hi, total = program.run("stats", x, backend=backend)
    np.testing.assert_allclose(mu, [2.0, 6.0], rtol=1e-6)
    np.testing.assert_array_equal(hi, [3.0, 9.0])
    assert total.shape == () and float(total) == 24.0


def test_inputs_are_converted_to_the_declared_dtype(program):
    y = program.run("scale", [1, 2, 3], 2)  # Python lists and ints
    assert y.dtype == np.float32 and y.tolist() == [2.0, 4.0, 6.0]


def test_stdlib_programs_load(tmp_path):
    names = [name for path in kernel_files() for name in plmr.load(path).kernels]
    assert {"gemm", "softmax", "layernorm", "attention", "conv2d", "mlp"} <= set(names)


def test_plmr_error_str_is_the_rendered_diagnostic():
    with pytest.raises(plmr.PlmrError) as caught:
        plmr.loads("kernel f(x: f32[N]) -> f32 {\n  s = x[k]\n  return s\n}\n", "bad.plmr")
    assert str(caught.value) == (
        "bad.plmr:2:9: error[E121]: index k is used on the right but not bound\n"
        "  |\n"
        "2 |   s = x[k]\n"
        "  |         ^\n"
        "  = help: write sum(k) … (or max/min/prod) to reduce over it, or add it to the left side: s[k]")
    assert caught.value.diagnostics[0].code == "E121"


def test_plmr_error_is_an_exception_users_can_catch():
    assert issubclass(plmr.PlmrError, Exception)
    with pytest.raises(plmr.PlmrError, match="error\\[E003\\]"):
        plmr.loads("kernel kernel")


def test_binding_names_the_mismatched_dimension(program):
    with pytest.raises(plmr.PlmrError, match="N is 128 from x but 64 from y"):
        program.run("add", np.zeros(128), np.zeros(64))


def test_binding_rank_and_count_errors(program):
    with pytest.raises(plmr.PlmrError, match=r"input x should have rank 2 \(f32\[N, D\]\) but has shape \(3,\)"):
        program.run("stats", np.zeros(3))
    with pytest.raises(plmr.PlmrError, match=r"kernel add takes 2 input\(s\) \(x, y\) but got 3"):
        program.run("add", np.zeros(2), np.zeros(2), np.zeros(2))


def test_jax_and_ref_agree_on_size_one_and_empty_inputs(program):
    for n in (0, 1):
        x, y = np.ones(n, np.float32), np.full(n, 2, np.float32)
        for backend in ("ref", "jax"):
            z = program.run("add", x, y, backend=backend)
            assert z.shape == (n,) and z.tolist() == [3.0] * n
