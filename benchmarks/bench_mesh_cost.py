"""Cost-only wafer-mesh simulation: wall time of a large MeshGEMM on the whole wafer, and the
simulator's cycle estimates for MeshGEMM vs Cannon vs SUMMA and MeshGEMV vs chain vs ring on
meshes from 8² to 720² (the shapes of WaferLLM's comparison).

    PYTHONPATH=. python benchmarks/bench_mesh_cost.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import time

from runtime.mesh import Allreduce, gemm, gemv, simulate, wse2

GOAL_SECONDS = 1.0


def _median_wall(fn, repeats: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def full_wafer(size: int, grid: tuple[int, int]) -> None:
    device = wse2()
    wall, report = _median_wall(lambda: simulate(gemm(size, size, size, grid, "meshgemm"), device))
    build, _ = _median_wall(lambda: gemm(size, size, size, grid, "meshgemm"))
    flags = ", ".join(v["kind"] for v in report.violations) or "fits"
    print(f"meshgemm {size}^3 on {grid[0]}x{grid[1]}: build+simulate {wall:.3f} s (build {build:.4f} s), "
          f"{wall / GOAL_SECONDS:.2f}x the 1 s goal; {report.cycles:.4g} cycles = "
          f"{report.seconds * 1e3:.3f} ms, efficiency {report.compute_efficiency:.3f}, "
          f"{report.steps} steps, {flags}")


def _flag(report) -> str:
    return "".join(v["kind"][0].upper() for v in report.violations)


def gemm_table(size: int, meshes: list[int]) -> None:
    device = wse2()
    print(f"\nGEMM {size}^3 fp16, cycles (M = memory violation, R = route violation)")
    print(f"{'mesh':>8} {'meshgemm':>12} {'cannon':>14} {'summa':>14} {'cannon/mesh':>12} {'summa/mesh':>11}")
    for n in meshes:
        r = {a: simulate(gemm(size, size, size, (n, n), a), device) for a in ("meshgemm", "cannon", "summa")}
        cells = [f"{r[a].cycles:.4g}{_flag(r[a])}" for a in ("meshgemm", "cannon", "summa")]
        base = r["meshgemm"].cycles
        print(f"{n:>4}x{n:<3} {cells[0]:>12} {cells[1]:>14} {cells[2]:>14} "
              f"{r['cannon'].cycles / base:>12.2f} {r['summa'].cycles / base:>11.2f}")


def gemv_table(size: int, meshes: list[int]) -> None:
    device = wse2()
    methods = {"ktree(2)": Allreduce("ktree", 2), "chain": Allreduce("chain"), "ring": Allreduce("ring")}
    print(f"\nGEMV {size}x{size} fp16, cycles")
    print(f"{'mesh':>8} {'meshgemv':>12} {'chain':>12} {'ring':>12} {'chain/mesh':>11} {'ring/mesh':>10}")
    for n in meshes:
        r = {name: simulate(gemv(size, size, (n, n), m), device) for name, m in methods.items()}
        cells = [f"{r[m].cycles:.4g}{_flag(r[m])}" for m in methods]
        base = r["ktree(2)"].cycles
        print(f"{n:>4}x{n:<3} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12} "
              f"{r['chain'].cycles / base:>11.2f} {r['ring'].cycles / base:>10.2f}")


def main() -> None:
    quick = "--quick" in sys.argv
    full_wafer(16384, (750, 994))
    full_wafer(16384, (750, 750))
    full_wafer(32768, (750, 750))
    meshes = [8, 16, 32, 64] if quick else [8, 16, 32, 64, 128, 256, 512, 720]
    gemm_table(8192, meshes)
    gemv_table(8192, meshes)


if __name__ == "__main__":
    main()
