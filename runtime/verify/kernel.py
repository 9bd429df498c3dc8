"""Verify a kernel candidate against a reference kernel: signature, compile, differential test
with hypothesis-drawn shapes and fresh random values, then a timed score on the JAX backend."""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import dataclass

import numpy as np

from compiler import ir
from compiler.bind import bind
from dsl.diagnostics import PlmrError
from runtime import reference
from runtime.compare import max_error, reduction_length, tolerance
from runtime.inputs import default_dims, random_inputs
from runtime.search.verdict import Verdict
from runtime.search.worker import enter_stage
from runtime.verify.limits import Limits, shape_problems

SPEEDUP_IMPLAUSIBLE = 20.0  # faster than the reference by more than this: look before trusting it


@dataclass(frozen=True)
class KernelProblem:
    """What a kernel candidate is judged against."""

    reference: ir.KernelIR
    max_dim: int = 12          # test shapes draw every dimension in 1 … max_dim
    trials: int = 25           # examples hypothesis tries before it trusts the candidate
    score_dims: dict | None = None  # shapes the score times at (default: every dimension 64)
    repeats: int = 7


def signature_problem(candidate: ir.KernelIR, ref: ir.KernelIR) -> str | None:
    def show(ts):
        return ", ".join(f"{t.dtype}[{len(t.shape)}d]" for t in ts)

    if [(p.dtype, len(p.shape)) for p in candidate.params] != [(p.dtype, len(p.shape)) for p in ref.params]:
        return (f"kernel {candidate.name} takes ({show(candidate.params)}) but the problem passes "
                f"({show(ref.params)}); keep the reference's parameters in order")
    if [(r.dtype, len(r.shape)) for r in candidate.results] != [(r.dtype, len(r.shape)) for r in ref.results]:
        return (f"kernel {candidate.name} returns ({show(candidate.results)}) but the problem expects "
                f"({show(ref.results)})")
    return None


def verify_kernel(candidate: ir.KernelIR, problem: KernelProblem, limits: Limits, seed: int | None) -> Verdict:
    ref = problem.reference
    enter_stage("compile")
    try:
        from runtime.jax_backend import compile_kernel, run_kernel

        compile_kernel(candidate)
        dims = default_dims(ref, {}, base=3)
        run_kernel(candidate, random_inputs(ref, dims, 0))  # traces and compiles once
    except PlmrError as err:
        return Verdict.from_error("compile", err)
    enter_stage("test")
    failure = _differential_test(candidate, problem, seed)
    if isinstance(failure, Verdict):
        return failure
    enter_stage("score")
    return _score(candidate, problem, limits)


def _run_pair(candidate: ir.KernelIR, ref: ir.KernelIR, dims: dict, seed: int):
    """(error, tolerance, where, detail) for one fresh draw of inputs; None if the reference cannot run."""
    from runtime.jax_backend import run_kernel

    inputs = random_inputs(ref, dims, seed)
    try:
        want = reference.run_kernel(ref, [a.copy() for a in inputs])
    except PlmrError:
        return None  # shapes the reference itself refuses (an extent below zero) say nothing
    if any(not np.isfinite(np.asarray(w, np.float64)).all() for w in want):
        return None
    try:
        got = run_kernel(candidate, inputs)
    except PlmrError as err:
        return (float("inf"), 0.0, None, err.diagnostics[0].message)
    tol = max(tolerance(r.dtype, reduction_length(ref, bind(ref, inputs).dims)) for r in ref.results)
    worst = (0.0, tol, None, "")
    for result, g, w in zip(ref.results, got, want):
        err = max_error(g, w)
        if err > worst[0]:
            worst = (err, tol, _where(g, w), _what(result.name, g, w))
    return worst


def _what(name: str, got, want) -> str:
    """Which result is wrong, and how when it is not a plain numeric error (NaN, infinity, shape)."""
    got = np.asarray(got, np.float64)
    if got.shape != np.shape(want):
        return f"result {name} has shape {list(got.shape)}, not {list(np.shape(want))}"
    if not np.isfinite(got).all():
        return f"NaN or infinity (the reference's values are finite) in result {name}"
    return f"result {name}"


def _where(got, want) -> list[int] | None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape or got.size == 0:
        return None
    diff = np.where(np.isnan(got) | np.isnan(want), np.inf, np.abs(np.nan_to_num(got - want, nan=np.inf)))
    return [int(i) for i in np.unravel_index(int(np.argmax(diff)), got.shape)]


def _differential_test(candidate: ir.KernelIR, problem: KernelProblem, seed: int | None) -> Verdict | None:
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    ref = problem.reference
    refused = _trivial_problem(ref)
    if refused:
        return Verdict.failed("test", refused)
    salt = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
    examples = st.fixed_dictionaries({d: st.integers(1, problem.max_dim) for d in ref.dims})
    cases = st.tuples(examples, st.integers(0, 2**31 - 1))

    def fails(case) -> bool:
        dims, draw = case
        outcome = _run_pair(candidate, ref, dims, draw ^ salt)
        return outcome is not None and not outcome[0] <= outcome[1]

    options = settings(max_examples=problem.trials, database=None, deadline=None,
                       suppress_health_check=list(HealthCheck))
    try:
        dims, draw = find(cases, fails, settings=options, random=random.Random(salt))
    except NoSuchExample:
        return None
    error, tol, where, what = _run_pair(candidate, ref, dims, draw ^ salt)
    shape = ", ".join(f"{k}={v}" for k, v in dims.items())
    at = f" at {where}" if where is not None else ""
    message = f"fails for {shape}: max error {error:.3g}{at} in {what} (tolerance {tol:.2g})"
    if error == float("inf"):
        message = f"fails for {shape}: {what or 'NaN, infinity or a wrong shape'}{at}"
    return Verdict.failed("test", message, {"dims": dims, "error": error, "tolerance": tol, "where": where})


def _trivial_problem(ref: ir.KernelIR) -> str | None:
    """A problem whose reference outputs are all within tolerance of zero cannot tell candidates apart."""
    dims = default_dims(ref, {}, base=6)
    inputs = random_inputs(ref, dims, 12345)
    outputs = reference.run_kernel(ref, inputs)
    tol = max(tolerance(r.dtype, reduction_length(ref, dims)) for r in ref.results)
    if all(np.all(np.abs(np.asarray(o, np.float64)) <= tol) for o in outputs):
        return ("problem refused: the reference's outputs are all below the tolerance, so any "
                "candidate returning zeros would pass")
    return None


def _median_seconds(kernel: ir.KernelIR, inputs, repeats: int) -> float:
    from runtime.jax_backend import run_kernel

    run_kernel(kernel, inputs)  # warm-up: compile for this shape
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_kernel(kernel, inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _score(candidate: ir.KernelIR, problem: KernelProblem, limits: Limits) -> Verdict:
    ref = problem.reference
    dims = default_dims(ref, problem.score_dims or {}, base=64)
    shapes = {p.name: tuple(d.evaluate(dims) for d in p.shape) for p in ref.params}
    too_big = shape_problems(shapes, limits)
    if too_big:
        return Verdict.failed("limits", "scoring shapes exceed the limits: " + "; ".join(too_big))
    inputs = random_inputs(ref, dims, 7)
    ours = _median_seconds(candidate, inputs, problem.repeats)
    theirs = _median_seconds(ref, inputs, problem.repeats)
    speedup = theirs / ours if ours > 0 else float("inf")
    details = {"seconds": ours, "reference_seconds": theirs, "speedup": speedup, "dims": dims,
               "implausible_speedup": speedup > SPEEDUP_IMPLAUSIBLE}
    feedback = (f"correct; median {ours * 1e3:.3f} ms against the reference's {theirs * 1e3:.3f} ms "
                f"({speedup:.2f}x) at {', '.join(f'{k}={v}' for k, v in dims.items())}")
    if details["implausible_speedup"]:
        feedback += f"; flagged: a speed-up above {SPEEDUP_IMPLAUSIBLE:g}x is implausible, check the timing"
    return Verdict.passed(ours, feedback, details)
