"""Numeric wafer-mesh simulation: MeshGEMM 1024³ on a 32 x 32 mesh against one numpy matmul of the
same size (wall-time ratio, goal within 3x) and its peak memory against the bytes of A, B and C
(goal within 4x).

    PYTHONPATH=. python benchmarks/bench_mesh_numeric.py
"""

from __future__ import annotations

import statistics
import time
import tracemalloc

import numpy as np

from runtime.mesh import gemm, simulate, wse2

SIZE, GRID, REPEATS = 1024, (32, 32), 7


def main() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    b = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    expected = a @ b
    program, device = gemm(SIZE, SIZE, SIZE, GRID, "meshgemm"), wse2()
    run = lambda: simulate(program, device, {"A": a, "B": b}, numeric=True, expected={"C": expected})  # noqa: E731
    numpy_times, mesh_times = [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        a @ b
        numpy_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = run()
        mesh_times.append(time.perf_counter() - start)
    t_numpy, t_mesh = statistics.median(numpy_times), statistics.median(mesh_times)
    print(f"numeric meshgemm {SIZE}^3 on {GRID[0]}x{GRID[1]}: {t_mesh * 1e3:.1f} ms, numpy matmul "
          f"{t_numpy * 1e3:.1f} ms (medians of {REPEATS}): ratio {t_mesh / t_numpy:.2f}x (goal <= 3x); "
          f"max abs error {report.max_abs_error:.2g}")
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data = a.nbytes + b.nbytes + expected.nbytes
    print(f"peak traced memory {peak / 2**20:.1f} MiB vs A+B+C {data / 2**20:.1f} MiB: "
          f"ratio {peak / data:.2f}x (goal <= 4x)")


if __name__ == "__main__":
    main()
