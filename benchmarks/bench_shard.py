"""Layouts as multi-device JAX programs (compiler.lower_shard) against one-device JAX and numpy.

    python benchmarks/bench_shard.py [--repeats 15] [--quick]

For GEMM (Cannon, MeshGEMM, SUMMA), GEMV (chain, ring, K-tree allreduce), the row softmax and
prefill attention, at two or three sizes: the median wall time of one call of the sharded program
(inputs already placed on the devices, results blocked on), of the plmr JAX backend's jitted kernel
on one device (same arrays), and of the same computation written in numpy; the sharded time as a
ratio of each, all measured in this run; and the largest absolute error of the sharded and the
one-device results against the numpy computation in float64 (the reference interpreter refuses
inputs this large).

The script starts 8 virtual CPU devices itself (XLA_FLAGS, set before jax is imported). On a
machine with two cores, 8 virtual devices share those cores, so these figures measure correctness
and the overhead of the device programs (collectives, per-step launches), not a speed-up: a ratio
above 1 against one device is the expected result here, not a regression.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plmr  # noqa: E402
from compiler.bind import bind  # noqa: E402
from compiler.lower_shard import lower_shard  # noqa: E402
from runtime import jax_backend  # noqa: E402
from runtime.shard_backend import device_grid  # noqa: E402

LAYOUTS = ROOT / "stdlib" / "layouts"


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _attention(q, k, v):
    return _softmax(q @ k.T / math.sqrt(q.shape[1])) @ v


#: The computation each kernel is, written in numpy: the baseline (float32) and, in float64, the oracle.
NUMPY = {"gemm": lambda a, b: a @ b, "gemv": lambda w, v: w @ v, "softmax": _softmax, "attention": _attention}

#: (file, layout, sizes): each layout at two or three sizes, the first the --quick one.
CASES = [
    *[("gemm.plmr", f"gemm_{a}", [{"M": n, "K": n, "N": n} for n in (128, 512, 1024)])
      for a in ("cannon", "meshgemm", "summa")],
    *[("gemv.plmr", f"gemv_{r}", [{"N": n, "K": n} for n in (512, 2048, 4096)]) for r in ("chain", "ring", "ktree")],
    ("rows.plmr", "softmax_rows", [{"N": n, "D": n} for n in (128, 512, 2048)]),
    ("rows.plmr", "attention_prefill", [{"T": n, "S": n, "D": 64, "E": 64} for n in (128, 512)]),
]


def median_seconds(fn, repeats: int) -> float:
    """The median of `repeats` calls, after one warm-up call (compiles happen there)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inputs(layout, dims: dict, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal([d.evaluate(dims) for d in p.shape]).astype(np.float32)
            for p in layout.kernel.params]


def sharded(layout, arrays, jax):
    """The sharded program on the default grid for 8 devices, and its inputs already placed."""
    bound = bind(layout.kernel, arrays)
    grid = device_grid(layout, len(jax.devices()))
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:math.prod(grid)]).reshape(grid), ("y", "x"))
    program = lower_shard(layout, bound.dims, mesh)
    return program, program.placed(bound.arrays)


def one_device(layout, arrays, jax):
    """The plmr JAX backend's jitted kernel and its inputs on the default device."""
    bound = bind(layout.kernel, arrays)
    function = jax_backend.compile_kernel(layout.kernel)
    placed = [jax.device_put(a) for a in bound.arrays]
    return lambda: function(*placed, **bound.dims)


def measure(file: str, name: str, dims: dict, repeats: int, jax) -> dict:
    layout = plmr.load(LAYOUTS / file).layout(name)
    arrays = inputs(layout, dims)
    kind = "attention" if name.startswith("attention") else layout.pattern.kind
    want = NUMPY[kind](*(a.astype(np.float64) for a in arrays))
    with jax.enable_x64(True):
        program, placed = sharded(layout, arrays, jax)
        single = one_device(layout, arrays, jax)
        got = program.plan.outputs[0].from_devices(program.jitted(*placed)[0])
        alone = np.asarray(single()[0])
        t_shard = median_seconds(lambda: jax.block_until_ready(program.jitted(*placed)), repeats)
        t_one = median_seconds(lambda: jax.block_until_ready(single()), repeats)
    t_numpy = median_seconds(lambda: NUMPY[kind](*arrays), repeats)
    return {"name": name, "sizes": ",".join(f"{k}={v}" for k, v in dims.items()), "grid": program.grid,
            "shard": t_shard, "one": t_one, "numpy": t_numpy,
            "err": float(np.abs(got - want).max()), "err_one": float(np.abs(alone - want).max())}


def report(row: dict) -> str:
    gy, gx = row["grid"]
    return (f"{row['name']:<18} {row['sizes']:<24} {gy}x{gx}  shard {row['shard'] * 1e3:9.3f} ms  "
            f"one-device {row['one'] * 1e3:9.3f} ms  numpy {row['numpy'] * 1e3:9.3f} ms  "
            f"shard/one {row['shard'] / row['one']:7.2f}  shard/numpy {row['shard'] / row['numpy']:7.2f}  "
            f"max err {row['err']:.2e} (one-device {row['err_one']:.2e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="the smallest size of each case, 5 repeats")
    args = parser.parse_args()
    import jax

    repeats = 5 if args.quick else args.repeats
    print(f"{len(jax.devices())} {jax.devices()[0].platform} devices on {os.cpu_count()} cores; "
          f"median of {repeats} calls; ratios > 1: the sharded program is slower")
    for file, name, sizes in CASES:
        for dims in sizes[:1] if args.quick else sizes:
            print(report(measure(file, name, dims, repeats, jax)), flush=True)


if __name__ == "__main__":
    main()
