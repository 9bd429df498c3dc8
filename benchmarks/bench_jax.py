"""Generated JAX code against hand-written `jax.numpy` (both jitted), and compile-to-first-result.

    python benchmarks/bench_jax.py [--repeats 30] [--quick]

For each kernel and size: the median time of one call of each (after warm-up, inputs already on
the device, results blocked on), and their ratio (goal ≤ 1.1). Then the latency from source text to
the first result through `plmr.loads(...).run(..., backend="jax")` against jitting the
hand-written function and calling it once.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plmr  # noqa: E402
from compiler.bind import bind  # noqa: E402
from runtime import jax_backend  # noqa: E402

jax = jax_backend._jax()  # the backend's own configuration (x64 on)
jnp = jax.numpy


# ---------------------------------------------------------------- hand-written baselines


def gemm(a, b):
    return a @ b


def softmax(x):
    return jax.nn.softmax(x, axis=-1)


def layernorm(x, gamma, beta):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + 1e-5) * gamma + beta


def attention(q, k, v):
    s = q @ k.T / math.sqrt(q.shape[1])
    return jax.nn.softmax(s, axis=-1) @ v


# kernel → (stdlib file, hand-written function, sizes as parameter shapes)
CASES = {
    "gemm": ("linalg.plmr", gemm, [((128, 128), (128, 128)), ((512, 512), (512, 512)),
                                   ((1024, 1024), (1024, 1024))]),
    "softmax": ("norms.plmr", softmax, [((256, 1024),), ((2048, 1024),), ((4096, 4096),)]),
    "layernorm": ("norms.plmr", layernorm, [((256, 1024), (1024,), (1024,)), ((2048, 1024), (1024,), (1024,)),
                                           ((4096, 4096), (4096,), (4096,))]),
    "attention": ("attention.plmr", attention, [((128, 64), (128, 64), (128, 64)),
                                                ((512, 64), (512, 64), (512, 64)),
                                                ((2048, 128), (2048, 128), (2048, 128))]),
}


def _batch(fn, args) -> int:
    """Calls per timed batch, so that one batch lasts about 20 ms."""
    jax.block_until_ready(fn(*args))  # warm-up: compile
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return max(1, int(0.02 / max(time.perf_counter() - start, 1e-6)))


def _time_batch(fn, args, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(batch):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / batch


def median_calls(ours, theirs, args, repeats: int) -> tuple[float, float]:
    """Median seconds per call of each; batches alternate, so load from other processes hits both."""
    batch = min(_batch(ours, args), _batch(theirs, args))
    times = [(_time_batch(ours, args, batch), _time_batch(theirs, args, batch)) for _ in range(repeats)]
    return statistics.median(t for t, _ in times), statistics.median(t for _, t in times)


def inputs(shapes, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def steady_state(repeats: int, quick: bool) -> None:
    print(f"{'kernel':<11}{'shapes':<34}{'plmr ms':>10}{'jnp ms':>10}{'ratio':>8}")
    ratios = []
    for name, (file, hand, sizes) in CASES.items():
        program = plmr.load(ROOT / "stdlib" / "kernels" / file)
        kernel = program.kernel(name)
        generated = jax_backend.compile_kernel(kernel)
        for shapes in sizes[:2] if quick else sizes:
            arrays = inputs(shapes)
            dims = bind(kernel, arrays).dims
            device = [jnp.asarray(a) for a in arrays]
            ours, theirs = median_calls(functools.partial(generated, **dims), jax.jit(hand), device, repeats)
            ratios.append(ours / theirs)
            shown = " ".join("x".join(map(str, s)) for s in shapes)
            print(f"{name:<11}{shown:<34}{ours * 1e3:>10.3f}{theirs * 1e3:>10.3f}{ours / theirs:>8.2f}")
    geo = math.exp(statistics.fmean(math.log(r) for r in ratios))
    print(f"geometric mean ratio {geo:.2f}  (max {max(ratios):.2f}; goal <= 1.1)")


def first_result(repeats: int) -> None:
    """Source → first result, against jit + first call of the hand-written function."""
    print(f"\n{'kernel':<11}{'plmr: source to result ms':>28}{'jnp: jit + first call ms':>27}{'ratio':>8}")
    for name, (file, hand, sizes) in CASES.items():
        text = (ROOT / "stdlib" / "kernels" / file).read_text()
        arrays = inputs(sizes[0])
        ours, theirs = [], []
        for _ in range(max(3, repeats // 10)):
            jax_backend.compile_kernel.cache_clear()
            start = time.perf_counter()
            plmr.loads(text, file).run(name, *arrays, backend="jax")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            np.asarray(jax.jit(functools.partial(hand))(*arrays))  # a new callable: jit compiles again
            theirs.append(time.perf_counter() - start)
        ours_ms, theirs_ms = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
        print(f"{name:<11}{ours_ms:>28.1f}{theirs_ms:>27.1f}{ours_ms / theirs_ms:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="only the two smaller sizes")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
    steady_state(args.repeats, args.quick)
    first_result(args.repeats)


if __name__ == "__main__":
    main()
