"""The llvm backend: compile time per kernel, and run time against numpy and against the jax backend.

    python benchmarks/bench_llvm.py [--repeats 15] [--quick]

Compile time is source-free: lowering, -O3 and MCJIT of one kernel from its checked IR (cache cleared
first). Run time is the median of `repeats` timed batches (each about 20 ms) of a whole backend call
(binding, allocating, running, returning numpy arrays) after warm-up, for the llvm and jax backends;
numpy is the hand-written formula on the same arrays. Ratios above 1 mean llvm is slower.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plmr  # noqa: E402
from runtime import llvm_backend  # noqa: E402
from stdlib import ROOT as STDLIB  # noqa: E402


def np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_layernorm(x, gamma, beta):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * gamma + beta


# kernel → (stdlib file, numpy formula, parameter shapes per size)
CASES = {
    "gemm": ("linalg.plmr", np.matmul, [((128, 128), (128, 128)), ((256, 256), (256, 256)),
                                        ((512, 512), (512, 512))]),
    "softmax": ("norms.plmr", np_softmax, [((256, 1024),), ((2048, 1024),), ((4096, 4096),)]),
    "layernorm": ("norms.plmr", np_layernorm, [((256, 1024), (1024,), (1024,)), ((2048, 1024), (1024,), (1024,)),
                                               ((4096, 4096), (4096,), (4096,))]),
}


def median_seconds(fn, repeats: int) -> float:
    """Median time of one call, from batches of about 20 ms after a warm-up call."""
    fn()
    start = time.perf_counter()
    fn()
    batch = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)


def compile_seconds(kernel, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        llvm_backend.compile_kernel.cache_clear()
        times.append(llvm_backend.compile_kernel(kernel).compile_seconds)
    return statistics.median(times)


def measure(program, name: str, formula, inputs: list, repeats: int) -> tuple[float, float, float]:
    """Median seconds per call: the llvm backend, the numpy formula, the jax backend."""
    llvm = median_seconds(lambda: program.run(name, *inputs, backend="llvm"), repeats)
    numpy = median_seconds(lambda: formula(*inputs), repeats)
    jax = median_seconds(lambda: program.run(name, *inputs, backend="jax"), repeats)
    return llvm, numpy, jax


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="the smallest size of each kernel only")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'kernel':<10}{'shapes':<34}{'compile ms':>11}{'llvm ms':>10}{'numpy ms':>10}{'jax ms':>9}"
          f"{'llvm/numpy':>12}{'llvm/jax':>10}")
    for name, (file, formula, sizes) in CASES.items():
        program = plmr.load(STDLIB / "kernels" / file)
        compile_ms = compile_seconds(program.kernel(name), 5) * 1e3
        for shapes in sizes[:1] if args.quick else sizes:
            inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            llvm, numpy, jax = measure(program, name, formula, inputs, args.repeats)
            shown = " ".join("x".join(map(str, s)) for s in shapes)
            print(f"{name:<10}{shown:<34}{compile_ms:>11.1f}{llvm * 1e3:>10.3f}{numpy * 1e3:>10.3f}"
                  f"{jax * 1e3:>9.3f}{llvm / numpy:>12.2f}{llvm / jax:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
