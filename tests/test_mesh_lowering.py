"""Layouts lowered to mesh programs and simulated: numeric results equal the reference interpreter's
(every stdlib layout, random shapes and meshes), PLMR scaling measured through the DSL path, and the
`plmr simulate` / `plmr compile --emit mesh` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plmr
from dsl.diagnostics import PlmrError
from stdlib import layout_files

ROOT = Path(__file__).parent.parent
LAYOUTS = ROOT / "stdlib" / "layouts"
#: Small sizes per stdlib layout: none divides the 3 x 5 mesh they run on, so all are padded.
SMALL = {"gemm_meshgemm": "M=17,K=11,N=13", "gemm_cannon": "M=17,K=11,N=13", "gemm_summa": "M=17,K=11,N=13",
         "gemm_bt_meshgemm": "M=17,K=11,N=13", "gemv_chain": "N=19,K=23", "gemv_ring": "N=19,K=23",
         "gemv_ktree": "N=19,K=23", "softmax_rows": "N=7,D=23", "rmsnorm_rows": "N=7,D=23",
         "attention_prefill": "T=16,S=16,D=7,E=7"}
TOLERANCE = 1e-4


def _stdlib_layouts():
    return [(path, name) for path in layout_files() for name in plmr.load(path).layouts]


def _shapes(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (p.split("=") for p in text.split(","))}


@pytest.mark.parametrize("path,name", _stdlib_layouts(), ids=lambda x: getattr(x, "stem", x))
def test_every_stdlib_layout_equals_the_reference(path, name):
    report = plmr.simulate(path, name, _shapes(SMALL[name]), mesh=(3, 5), numeric=True, seed=1)
    assert report.padding, "these sizes were chosen to need padding"
    assert report.max_abs_error is not None and report.max_abs_error < TOLERANCE
    assert report.grid == (3, 5) and report.violations == ()


def test_numeric_outputs_are_the_kernels_results():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((9, 6)).astype(np.float32), rng.standard_normal((6, 5)).astype(np.float32)
    report = plmr.simulate(LAYOUTS / "gemm.plmr", "gemm_summa", mesh=(2, 3), numeric=True,
                           inputs={"A": a, "B": b})
    np.testing.assert_allclose(report.outputs["C"], a @ b, rtol=1e-5, atol=1e-5)


COMPOSED = """
kernel mix(a: f32[M, N], b: f32[M, N]) -> f32[M, N] {
  t[i, j] = exp(a[i, j]) * 0.5
  z[i, j] = maximum(t[i, j], b[i, j]) - 1 + a[i, j] ** 3 / (2 + abs(b[i, j]))
  return z
}
layout mix_mesh for mix on mesh8 { a[i@y, j@x] z[i@y, j@x] }
layout gelu_mesh for gelu on mesh8 { }
layout ln_mesh for layernorm on mesh8 { reduce d = chain }
layout causal for causal_attention on mesh8 { algorithm = cannon reduce j = ring }
"""


@settings(max_examples=40)
@given(which=st.sampled_from(sorted(SMALL) + ["mix_mesh", "gelu_mesh", "ln_mesh", "causal"]),
       ny=st.integers(1, 6), nx=st.integers(1, 6), a=st.integers(1, 24), b=st.integers(1, 24),
       c=st.integers(1, 24), seed=st.integers(0, 1000))
def test_random_shapes_and_meshes_equal_the_reference(which, ny, nx, a, b, c, seed):
    program = _program_for(which)
    kernel = program.layout(which).kernel
    dims = dict(zip(kernel.dims, (a, b, c, c)))
    if program.layout(which).pattern.kind.startswith("attention"):  # one head of a prefill: T = S, E = D
        dims = {d: (a if d in ("T", "S") else b) for d in kernel.dims}
    report = plmr.simulate(program, which, dims, mesh=(ny, nx), numeric=True, seed=seed)
    assert report.max_abs_error < TOLERANCE * max(1, max(dims.values()) / 8)


def _program_for(which: str):
    if which in SMALL:
        return next(plmr.load(p) for p in layout_files() if which in plmr.load(p).layouts)
    return plmr.loads(COMPOSED)


def test_the_error_is_measured_against_the_reference_interpreter(monkeypatch):
    """A reference that disagrees with the mesh shows up as the error: nothing compares the mesh with itself."""
    import runtime.layouts

    ones = {"W": np.ones((5, 4), np.float32), "v": np.ones(4, np.float32)}
    honest = plmr.simulate(LAYOUTS / "gemv.plmr", "gemv_ring", mesh=(2, 2), numeric=True, inputs=ones)
    assert honest.max_abs_error == 0.0 and np.all(honest.outputs["y"] == 4.0)
    monkeypatch.setattr(runtime.layouts, "run_kernel", lambda kernel, arrays: (np.zeros(5),))
    lying = plmr.simulate(LAYOUTS / "gemv.plmr", "gemv_ring", mesh=(2, 2), numeric=True, inputs=ones)
    assert lying.max_abs_error == 4.0


def test_missing_and_mismatched_sizes_are_plain_errors():
    with pytest.raises(PlmrError, match="needs the size of N") as caught:
        plmr.simulate(LAYOUTS / "gemv.plmr", "gemv_ring", {"K": 8})
    assert caught.value.diagnostics[0].code == "E750"
    with pytest.raises(PlmrError, match="as many queries as keys"):
        plmr.simulate(LAYOUTS / "rows.plmr", "attention_prefill", {"T": 8, "S": 16, "D": 4, "E": 4})
    with pytest.raises(PlmrError, match="does not fit mesh wse2"):
        plmr.simulate(LAYOUTS / "gemv.plmr", "gemv_ring", {"N": 8, "K": 8}, mesh=(800, 8))


# ---------------------------------------------------------------- PLMR scaling, through the DSL path


def _cost(name: str, n: int, size: int):
    return plmr.simulate(LAYOUTS / "gemm.plmr", name, {"M": size, "K": size, "N": size}, mesh=(n, n))


def test_meshgemm_hops_stay_at_two_and_routes_constant_while_summa_routes_grow():
    meshes = (4, 8, 16, 32, 64)
    mesh_gemm = [_cost("gemm_meshgemm", n, 16 * n) for n in meshes]
    summa = [_cost("gemm_summa", n, 16 * n) for n in meshes]
    cannon = [_cost("gemm_cannon", n, 16 * n) for n in meshes]
    assert all(r.max_hops_per_step <= 2 for r in mesh_gemm)
    assert len({r.max_routes_per_pe for r in mesh_gemm}) == 1
    routes = [r.max_routes_per_pe for r in summa]
    assert routes == sorted(routes) and routes[-1] >= 8 * routes[0]
    latency = [r.max_step_latency_cycles for r in cannon]
    assert latency == sorted(latency) and latency[-1] > 10 * latency[0]


def test_memory_and_route_overflows_are_reported_as_violations():
    big = _cost("gemm_meshgemm", 4, 1024)  # 256 x 256 f32 tiles on 48 KiB PEs
    assert [v["kind"] for v in big.violations] == ["memory"] and big.max_memory_per_pe_bytes > 48 * 1024
    routes = _cost("gemm_summa", 32, 512)  # a multicast tag per root: far more than 21
    assert [v["kind"] for v in routes.violations] == ["routes"] and routes.max_routes_per_pe > 21
    assert _cost("gemm_meshgemm", 32, 512).violations == ()


# ---------------------------------------------------------------- the commands


def _plmr(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plmr", *args], cwd=cwd, capture_output=True, text=True)


def test_simulate_json_has_the_plmr_figures():
    out = _plmr("simulate", "stdlib/layouts/gemm.plmr", "gemm_meshgemm", "--shapes", "M=8192,K=8192,N=8192",
                "--mesh", "720x720", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    for key in ("cycles", "seconds", "steps", "max_step_cycles", "max_hops_per_step", "max_memory_per_pe_bytes",
                "max_routes_per_pe", "compute_efficiency", "link_bytes", "violations", "padding"):
        assert key in report
    assert report["grid"] == [720, 720] and report["max_hops_per_step"] <= 2 and report["violations"] == []


def test_simulate_numeric_writes_the_gathered_results(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 9)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    out = _plmr("simulate", "stdlib/layouts/rows.plmr", "softmax_rows", "--mesh", "2x4", "--numeric",
                "--inputs", str(tmp_path / "in.npz"), "--out", str(tmp_path / "out.npz"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["max_abs_error"] < TOLERANCE
    with np.load(tmp_path / "out.npz") as saved:
        e = np.exp(x - x.max(axis=1, keepdims=True))
        np.testing.assert_allclose(saved["y"], e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_simulate_prints_violations_and_still_exits_zero():
    out = _plmr("simulate", "stdlib/layouts/gemm.plmr", "gemm_summa", "--shapes", "M=512,K=512,N=512",
                "--mesh", "32x32")
    assert out.returncode == 0 and "VIOLATION (routes)" in out.stdout and "max routes per pe" in out.stdout


@pytest.mark.parametrize("args,words", [
    (["--shapes", "N=8"], "needs the size of K"),
    (["--shapes", "N=8,K=8", "--mesh", "7by7"], "bad --mesh size '7by7'"),
    (["--shapes", "N=8,K=8", "--out", "x.npz"], "--inputs and --out need --numeric"),
    (["--shapes", "N=8,K=x"], "bad shape 'K=x'"),
])
def test_bad_simulate_flags_exit_2_without_traceback(args, words):
    out = _plmr("simulate", "stdlib/layouts/gemv.plmr", "gemv_ktree", *args)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr


def test_compile_emits_the_mesh_program_and_keeps_the_other_stages():
    out = _plmr("compile", "stdlib/layouts/gemv.plmr", "--layout", "gemv_ktree", "--emit", "mesh",
                "--shapes", "N=100,K=64", "--mesh", "4x4")
    assert out.returncode == 0, out.stderr
    assert "mesh program gemv_ktree(2) on 4 x 4 PEs" in out.stdout
    assert "allreduce y = sum of y_part along x by ktree(2)" in out.stdout
    ir = _plmr("compile", "stdlib/kernels/linalg.plmr", "gemv", "--emit", "ir")
    assert ir.returncode == 0 and "sum(k < K)" in ir.stdout
