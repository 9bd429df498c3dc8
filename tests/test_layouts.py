"""Meshes and layouts in the language: the checker's diagnostics (one small program per mistake under
tests/errors_layout/), the DESIGN.md §3 examples, the stdlib prelude, and pattern recognition."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import plmr
from compiler.patterns import recognise
from dsl.diagnostics import PlmrError
from runtime.mesh import wse2
from design_examples import DESIGN_MESH_LAYOUTS
from stdlib import kernel_files, layout_files

ROOT = Path(__file__).parent.parent
ERRORS = Path(__file__).parent / "errors_layout"
FILES = sorted(ERRORS.glob("*.plmr"))
EXPECT = re.compile(r"# expect: (E\d{3}) (\d+:\d+|-) (.+)")

DESIGN_EXAMPLES = DESIGN_MESH_LAYOUTS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_error(path):
    code, where, message = EXPECT.match(path.read_text()).groups()
    with pytest.raises(PlmrError) as caught:
        plmr.loads(path.read_text(), path.name)
    first = caught.value.diagnostics[0]
    assert len(caught.value.diagnostics) == 1, caught.value.render()
    assert (first.code, first.message) == (code, message)
    assert (f"{first.span.line}:{first.span.col}" if first.span else "-") == where
    assert f"{path.name}:{where}" in caught.value.render()


def test_every_mesh_and_layout_code_has_a_file():
    sources = [ROOT / "compiler/check_mesh.py", ROOT / "compiler/check_layout.py"]
    codes = {c for s in sources for c in re.findall(r'"(E\d{3})"', s.read_text())}
    covered = {EXPECT.match(p.read_text()).group(1) for p in FILES}
    assert codes and codes - covered == set()


def test_design_examples_check_as_written():
    program = plmr.loads(DESIGN_EXAMPLES)
    assert program.checked.meshes["wse2"] == wse2()
    gemm = program.layout("gemm_on_wafer")
    assert (gemm.grid, gemm.algorithm, gemm.pattern.kind) == ((64, 64), "meshgemm", "gemm")
    gemv = program.layout("gemv_on_wafer")
    assert (gemv.pattern.kind, str(gemv.allreduce)) == ("gemv", "ktree(2)")


def test_mesh_units_scale_to_base_units():
    program = plmr.loads("mesh m {\n pes = 3 x 5\n memory = 1 MiB\n clock = 850 MHz\n link = 8 B/cycle\n"
                         " hop = 2 cycles\n relay = 7 cycles\n routes = 16\n reserved = 2\n fmac = 8 / cycle\n"
                         " overhead = 10 cycles\n code = 1 KB\n}")
    device = program.checked.meshes["m"]
    assert (device.ny, device.nx, device.memory_bytes, device.clock_hz) == (3, 5, 1 << 20, 850e6)
    assert (device.link_bytes_per_cycle, device.alpha, device.beta) == (8, 2.0, 7.0)
    assert (device.routes, device.reserved_routes, device.fmac_per_cycle) == (16, 2, 8)
    assert (device.task_overhead_cycles, device.code_bytes) == (10, 1000)


def test_stdlib_layouts_check_and_cover_the_algorithms():
    seen = set()
    for path in layout_files():
        program = plmr.load(path)
        for name in program.layouts:
            layout = program.layout(name)
            seen.add((layout.pattern.kind, layout.algorithm, str(layout.allreduce)))
    kinds = {k for k, _, _ in seen}
    assert {"gemm", "gemm_bt", "gemv", "softmax", "rmsnorm", "attention"} <= kinds
    assert {a for k, a, _ in seen if k == "gemm"} == {"meshgemm", "cannon", "summa"}
    assert {r for k, _, r in seen if k == "gemv"} == {"chain", "ring", "ktree(2)"}


def test_a_user_file_uses_the_prelude_and_its_own_declarations_first():
    program = plmr.loads("""
kernel gemm(X: f32[M, N], Y: f32[M, N]) -> f32[M, N] {
  z[m, n] = X[m, n] * Y[m, n]
  return z
}
layout mine for gemm on wse3[32 x 16] { }
layout theirs for gemv on mesh8 { reduce k = ring }
""")
    assert program.layout("mine").kernel.params[0].name == "X"
    assert program.layout("mine").mesh.name == "wse3" and program.layout("mine").grid == (32, 16)
    assert program.layout("theirs").grid == (8, 8)


def _stdlib_kernels():
    return {name: plmr.load(path).kernel(name) for path in kernel_files() for name in plmr.load(path).kernels}


def test_patterns_of_the_stdlib_kernels():
    kinds = {name: getattr(recognise(k), "kind", None) for name, k in _stdlib_kernels().items()}
    assert kinds["gemm"] == "gemm" and kinds["gemm_bt"] == "gemm_bt" and kinds["gemv"] == "gemv"
    assert kinds["softmax"] == "softmax" and kinds["rmsnorm"] == "rmsnorm" and kinds["layernorm"] == "layernorm"
    assert kinds["attention"] == "attention" and kinds["causal_attention"] == "attention_causal"
    assert kinds["gelu"] == "elementwise"
    # shaped like a row reduction or attention, but computing something else: not taken for one
    assert kinds["log_softmax"] is None and kinds["attention_relbias"] is None
    assert kinds["conv1d"] is None and kinds["bmm"] is None


def test_patterns_come_from_the_ir_not_the_names():
    program = plmr.loads("""
kernel softmax(P: f32[R, S], Q: f32[S, T]) -> f32[R, T] {
  out[a, b] = sum(c) Q[c, b] * P[a, c]
  return out
}
kernel gemm(v: f32[S, E], q: f32[T, D], k: f32[S, D]) -> f32[T, E] {
  s[t, u] = sum(d) q[t, d] * k[u, d] / sqrt(D)
  w[t, u] = exp(s[t, u] - max(r) s[t, r])
  o[t, e] = sum(u) w[t, u] * v[u, e] / sum(r) w[t, r]
  return o
}
kernel rms(x: f32[N, D]) -> f32[N, D] {
  y[n, d] = x[n, d] / sqrt(sum(e) x[n, e] * x[n, e] / D + 0.000001)
  return y
}
""")
    gemm = recognise(program.kernel("softmax"))
    assert gemm.kind == "gemm" and [r.written() for r in gemm.roles] == ["P[a@y, c@x]", "Q[c@y, b@x]",
                                                                        "out[a@y, b@x]"]
    attention = recognise(program.kernel("gemm"))
    assert attention.kind == "attention" and [r.tensor for r in attention.roles] == ["q", "k", "v", "o"]
    rms = recognise(program.kernel("rms"))
    assert rms.kind == "rmsnorm" and rms.eps == pytest.approx(1e-6)


def test_check_does_not_import_heavy_backends():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "plmr", "check", "stdlib/layouts"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not imported & {"jax", "numba", "llvmlite", "matplotlib", "scipy"}
