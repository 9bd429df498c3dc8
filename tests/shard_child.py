"""Runs the sharded layout programs for tests/test_shard.py in a fresh process with 16 virtual CPU
devices (jax fixes its device count when it first starts, and the pytest process has one) and
prints one JSON object of findings. Most cases use 8 of the devices; MeshGEMM's interleaved ring
only differs from Cannon's plain ring on 3 x 3 devices and more, so those use 9 and 16."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICES = 16

#: Layouts the stdlib does not ship but the shard lowering supports: elementwise kernels (one from
#: the stdlib, one of two inputs), layernorm with scale and shift, A·Bᵀ by Cannon, attention by the
#: default allreduce and causal attention by Cannon and a ring.
EXTRA_LAYOUTS = """
kernel axpby(a: f32[N, D], b: f32[N, D]) -> f32[N, D] {
  t[n, d] = exp(a[n, d]) * 0.5 - b[n, d] ** 2
  y[n, d] = maximum(t[n, d], sigmoid(b[n, d]))
  return y
}
layout axpby_tiles for axpby on wse2[64 x 64] { a[n@y, d@x]  b[n@y, d@x]  y[n@y, d@x] }
layout gelu_tiles for gelu on wse2[16 x 16] { x[n@y, d@x]  y[n@y, d@x] }
layout layernorm_rows for layernorm on wse2[64 x 64] {
  x[n@y, d@x]  gamma[d@x]  beta[d@x]  y[n@y, d@x]
  reduce d = ring
}
layout gemm_bt_cannon for gemm_bt on wse2[64 x 64] {
  A[i@y, k@x]  B[j@y, k@x]  C[i@y, j@x]
  algorithm = cannon
}
layout attention_tiles for attention on wse2[64 x 64] {
  q[i@y, d@x]  k[j@y, d@x]  v[j@y, e@x]  o[i@y, e@x]
}
layout causal_attention_cannon for causal_attention on wse2[64 x 64] {
  q[i@y, d@x]  k[j@y, d@x]  v[j@y, e@x]  o[i@y, e@x]
  algorithm = cannon
  reduce j = ring
}
"""
#: Layouts whose pattern has no device program (none today: E780 is checked with one plan withdrawn).
UNSUPPORTED = ()
COLLECTIVES = ("ppermute", "all_gather", "psum", "pmax")


def layouts() -> dict:
    """Every layout the tests run: the stdlib's and EXTRA_LAYOUTS, by name."""
    import plmr
    from stdlib import layout_files

    found = {}
    for program in [plmr.load(p) for p in layout_files()] + [plmr.loads(EXTRA_LAYOUTS, "<shard-test>")]:
        found.update({name: program.layout(name) for name in program.layouts})
    return found


def inputs(layout, dims: dict, seed: int) -> list:
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.standard_normal([d.evaluate(dims) for d in p.shape]).astype(np.float32)
            for p in layout.kernel.params]


def error_of(layout, arrays, devices, grid=None) -> float:
    """The largest scaled error of the sharded results against the reference, over tolerance."""
    from runtime.compare import max_error, reduction_length, tolerance
    from runtime.reference import run_kernel
    from runtime.shard_backend import run_layout

    got = run_layout(layout, arrays, devices, grid)
    want = run_kernel(layout.kernel, arrays)
    dims = _dims(layout, arrays)
    allowed = tolerance(layout.kernel.results[0].dtype, reduction_length(layout.kernel, dims))
    return max(max_error(g, w) for g, w in zip(got, want)) / allowed


def _dims(layout, arrays) -> dict:
    from compiler.bind import bind

    return bind(layout.kernel, arrays).dims


def differential(found: dict, devices) -> dict:
    """Per supported layout: hypothesis-drawn sizes (1 to 13, so most do not divide the grid)."""
    results = {}
    for name, layout in found.items():
        if name not in UNSUPPORTED:
            results[name] = _differential_one(layout, devices[:8])
    return results


def _differential_one(layout, devices, grid=None, examples: int = 5) -> dict:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seen = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True)
    @given(st.fixed_dictionaries({d: st.integers(1, 13) for d in layout.kernel.dims}), st.integers(0, 99))
    def check(dims, seed):
        ratio = error_of(layout, inputs(layout, dims, seed), devices, grid)
        seen.append(ratio)
        assert ratio <= 1.0, f"{dims}: error {ratio:.3g} x tolerance"

    try:
        check()
    except AssertionError as exc:
        return {"examples": len(seen), "failure": str(exc)}
    return {"examples": len(seen), "failure": None}


#: The allreduces tested on 1 x gx grids: ktree(2) on 3 and 8 devices and ktree(3) on 2, 4 and 8
#: are trees over counts that are not powers of K.
ALLREDUCES = ("chain", "ring", "ktree(2)", "ktree(3)")
ALONG_X = (1, 2, 3, 4, 8)


def allreduce_of(name: str):
    from runtime.mesh.program import Allreduce

    return Allreduce("ktree", int(name[6])) if name.startswith("ktree") else Allreduce(name)


def allreduces(found: dict, devices) -> dict:
    """Per allreduce and row width gx: GEMV (a sum) and softmax (a max and a sum) against the
    reference on a 1 x gx grid, and the GEMV program's collectives and ppermute count."""
    from dataclasses import replace

    out = {}
    for name in ALLREDUCES:
        gemv = replace(found["gemv_chain"], allreduce=allreduce_of(name))
        softmax = replace(found["softmax_rows"], allreduce=allreduce_of(name))
        for gx in ALONG_X:
            grid = (1, gx)
            runs = [_differential_one(gemv, devices[:8], grid, 2), _differential_one(softmax, devices[:8], grid, 1)]
            out[f"{name}@{gx}"] = {"examples": sum(r["examples"] for r in runs),
                                   "failure": next((r["failure"] for r in runs if r["failure"]), None),
                                   **collectives(gemv, devices[:8], grid)}
    return out


def _walk(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            for inner in value if isinstance(value, (tuple, list)) else [value]:
                inner = getattr(inner, "jaxpr", inner)
                if hasattr(inner, "eqns"):
                    yield from _walk(inner)


def collectives(layout, devices, grid=None, dims=None) -> dict:
    """The collectives in the layout's program, and per single-axis ppermute its longest hop."""
    import jax
    import numpy as np

    from compiler.lower_shard import lower_shard
    from runtime.shard_backend import device_grid

    dims = dims or {d: 12 for d in layout.kernel.dims}
    shape = device_grid(layout, len(devices), grid)
    mesh = jax.sharding.Mesh(np.array(devices[:shape[0] * shape[1]]).reshape(shape), ("y", "x"))
    program = lower_shard(layout, dims, mesh)
    closed = jax.make_jaxpr(program.jitted)(*program.placed(inputs(layout, dims, 0)))
    eqns = list(_walk(closed.jaxpr))
    hops = [max(abs(s - d) for s, d in e.params["perm"]) for e in eqns
            if e.primitive.name == "ppermute" and len(e.params["axis_name"]) == 1]
    return {"grid": list(program.grid), "hops": max(hops, default=0),
            "ppermutes": sum(e.primitive.name == "ppermute" for e in eqns),
            "used": sorted({_collective(e.primitive.name) for e in eqns} - {None})}


def _collective(primitive: str) -> str | None:
    """The collective a jaxpr primitive is: psum shows as psum_invariant when its result is replicated."""
    return next((c for c in COLLECTIVES if primitive == c or primitive.startswith(c + "_")), None)


def rings(found: dict, devices) -> dict:
    """Cannon and MeshGEMM on 3 x 3 and 4 x 4 devices: correct, and how far their shifts reach."""
    out = {}
    for name in ("gemm_cannon", "gemm_meshgemm", "gemm_bt_meshgemm", "attention_prefill"):
        for side in (3, 4):
            layout = found[name]
            dims = {d: 10 + side for d in layout.kernel.dims}
            ratio = error_of(layout, inputs(layout, dims, side), devices[:side * side])
            out[f"{name}@{side}"] = {"error": ratio, **collectives(layout, devices[:side * side], dims=dims)}
    return out


def errors(found: dict, devices) -> dict:
    """The rendered user errors: a pattern with no device program (every pattern has one today, so
    attention's plan is withdrawn for this case), too few devices, a non-square Cannon grid."""
    from unittest import mock

    from compiler.lower_shard import PLANS

    gemm = found["gemm_cannon"]
    out = {case: _error_of(gemm, devs, grid) for case, devs, grid in
           [("one_device", devices[:1], None), ("too_few", devices[:8], (3, 3)), ("not_square", devices[:8], (2, 4))]}
    with mock.patch.dict(PLANS, {}) as plans:
        del plans["attention"]
        out["unsupported"] = _error_of(found["attention_tiles"], devices[:8], None)
    return out


def _error_of(layout, devices, grid) -> str:
    from dsl.diagnostics import PlmrError
    from runtime.shard_backend import run_layout

    try:
        run_layout(layout, inputs(layout, {d: 4 for d in layout.kernel.dims}, 0), devices, grid)
    except PlmrError as exc:
        return str(exc)
    return "no error"


def api(devices) -> dict:
    """plmr.run_sharded on a stdlib layout file, on an explicit 4 x 2 grid: its error over tolerance."""
    import numpy as np

    import plmr
    from runtime.compare import max_error, tolerance

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((9, 14)).astype(np.float32), rng.standard_normal((14, 7)).astype(np.float32)
    got = plmr.run_sharded(ROOT / "stdlib/layouts/gemm.plmr", "gemm_summa", a, b, grid=(4, 2), devices=devices[:8])
    return {"shape": list(got.shape), "error": max_error(got, a.astype(np.float64) @ b) / tolerance("f32", 14)}


def main() -> None:
    import jax

    devices = jax.devices()
    if len(devices) != DEVICES:
        raise SystemExit(f"expected {DEVICES} devices, jax has {len(devices)}")
    found = layouts()
    report = {"differential": differential(found, devices), "rings": rings(found, devices),
              "errors": errors(found, devices), "api": api(devices), "allreduce": allreduces(found, devices),
              "collectives": {name: collectives(layout, devices[:8]) for name, layout in found.items()
                              if name not in UNSUPPORTED}}
    print(json.dumps(report))


if __name__ == "__main__":
    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={DEVICES}")
    sys.path.insert(0, str(ROOT))
    main()
