"""Verify a layout candidate: it lays out the problem's kernel, fits the target sub-mesh, computes
the reference's results on the simulated wafer, and scores by simulated cycles with no PLMR
violation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler.layout_ir import LayoutIR
from dsl.diagnostics import PlmrError
from runtime.compare import reduction_length, tolerance
from runtime.search.verdict import Verdict
from runtime.search.worker import enter_stage


@dataclass(frozen=True)
class LayoutProblem:
    """The kernel's sizes to score at, the largest sub-mesh allowed, and the reference's cycles."""

    shapes: dict
    target: tuple[int, int] | None = None
    reference_cycles: float | None = None
    test_grid: int = 4        # the numeric test runs on at most test_grid x test_grid PEs
    test_size: int = 12       # … with every dimension at most this


def verify_layout(layout: LayoutIR, problem: LayoutProblem, seed: int | None) -> Verdict:
    from runtime.layouts import simulate_layout

    ny, nx = layout.grid
    if problem.target and (ny > problem.target[0] or nx > problem.target[1]):
        return Verdict.failed("limits", f"the layout uses a {ny} x {nx} sub-mesh but the problem allows at most "
                              f"{problem.target[0]} x {problem.target[1]}")
    # no cap on the problem's tensor sizes here: the score is a cost-only simulation that allocates
    # nothing at those sizes (the numeric test runs at test_size), and a PE's share is checked
    # against its memory by the simulator itself
    enter_stage("compile")
    try:
        simulate_layout(layout, _small(problem, layout), mesh=_test_grid(layout, problem))
    except PlmrError as err:
        return Verdict.from_error("compile", err)
    enter_stage("test")
    failure = _numeric_test(layout, problem, seed)
    if failure:
        return failure
    enter_stage("score")
    report = simulate_layout(layout, dict(problem.shapes))
    return _score(report.to_dict(), problem)


def _small(problem: LayoutProblem, layout: LayoutIR) -> dict:
    return {d: min(v, problem.test_size) for d, v in problem.shapes.items() if d in layout.kernel.dims}


def _test_grid(layout: LayoutIR, problem: LayoutProblem) -> tuple[int, int]:
    ny, nx = layout.grid
    return min(ny, problem.test_grid), min(nx, problem.test_grid)


def _numeric_test(layout: LayoutIR, problem: LayoutProblem, seed: int | None) -> Verdict | None:
    from runtime.layouts import simulate_layout

    dims = _small(problem, layout)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        report = simulate_layout(layout, dims, mesh=_test_grid(layout, problem), numeric=True,
                                 seed=int(rng.integers(2**31)))
        error = report.to_dict().get("max_abs_error")
        tol = 10 * tolerance("f32", reduction_length(layout.kernel, dims))
        if error is None or not error <= tol:
            shown = ", ".join(f"{k}={v}" for k, v in dims.items())
            return Verdict.failed("test", f"on the simulated wafer the layout's results differ from the "
                                  f"reference by {error} for {shown} (tolerance {tol:.2g})",
                                  {"max_abs_error": error, "dims": dims})
    return None


def _score(report: dict, problem: LayoutProblem) -> Verdict:
    cycles = float(report["cycles"])
    versus = ""
    if problem.reference_cycles:
        versus = f" against the reference's {problem.reference_cycles:,.0f} ({problem.reference_cycles / cycles:.2f}x)"
    if report["violations"]:
        listed = "; ".join(v["message"] if isinstance(v, dict) else str(v) for v in report["violations"])
        return Verdict.failed("score", f"the layout violates the device's limits: {listed} "
                              f"({cycles:,.0f} cycles{versus})", {"report": report})
    feedback = (f"{cycles:,.0f} simulated cycles{versus}; {report['max_hops_per_step']} hops per step, "
                f"{report['max_routes_per_pe']} routes per PE, {report['max_memory_per_pe_bytes']:,} B per PE")
    return Verdict.passed(cycles, feedback, {"report": report})
