"""Verify an agent candidate: it compiles, its JAX likelihood matches the reference loop, the
likelihood and its gradient are finite, then its score is the held-out normalized likelihood."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from compiler import ir
from runtime.agents.data import Dataset
from runtime.search.verdict import Verdict
from runtime.search.worker import enter_stage

PROBE_POINTS = 9   # the likelihood and its gradient are checked at the defaults and at least 8 random points


@dataclass(frozen=True)
class AgentProblem:
    """Behaviour data to fit, and optionally the reference agent's held-out NL to compare with."""

    data: Dataset
    restarts: int = 4
    steps: int = 100
    reference_name: str | None = None
    reference_nl: float | None = None


def verify_agent(candidate: ir.AgentIR, problem: AgentProblem, seed: int | None) -> Verdict:
    from runtime.agents.from_ir import agent_model

    if candidate.n_actions != problem.data.n_actions:
        return Verdict.failed("check", f"agent {candidate.name} has {candidate.n_actions} actions but the "
                              f"data has {problem.data.n_actions}; declare actions = {problem.data.n_actions}")
    enter_stage("compile")
    model = agent_model(candidate)
    enter_stage("test")
    rng = np.random.default_rng(seed)
    problem_text = _likelihood_problem(model, problem, rng)
    if problem_text:
        return Verdict.failed("test", problem_text)
    enter_stage("score")
    from runtime.agents.fitting import fit

    result = fit(model, problem.data, restarts=problem.restarts, steps=problem.steps,
                 seed=0 if seed is None else seed, progress=False)
    nl = result.mean_test_nl
    if not np.isfinite(nl):
        return Verdict.failed("score", f"the held-out normalized likelihood of {candidate.name} is not "
                              "finite: the likelihood breaks down at the fitted parameters")
    feedback = f"held-out normalized likelihood {nl:.4f}"
    if problem.reference_nl is not None:
        feedback += f" (reference {problem.reference_name}: {problem.reference_nl:.4f}, " \
                    f"{'better' if nl > problem.reference_nl else 'not better'})"
    params = {s.subject: s.params for s in result.subjects}
    return Verdict.passed(nl, feedback, {"mean_test_nl": nl, "pooled_test_nl": result.pooled_test_nl,
                                         "params": params})


def _likelihood_problem(model, problem: AgentProblem, rng: np.random.Generator) -> str | None:
    """Plain words when the likelihood or its gradient is not finite somewhere the optimiser may go,
    or when the compiled likelihood disagrees with the reference loop.

    The probe runs on the Adam chunk the score stage fits with (same model, steps and array shapes),
    so this stage compiles nothing of its own.
    """
    from runtime.agents.fitting import probe

    batches = _probe_points(model, problem, rng)
    results = [probe(model, problem.data, points, steps=problem.steps) for points in batches]
    for points, (lls, grads) in zip(batches, results, strict=True):
        bad = ~(np.isfinite(lls) & np.all(np.isfinite(grads), axis=-1))
        if bad.any():
            return _not_finite(model, points[tuple(np.argwhere(bad)[0])])
    return _disagreement(model, problem, batches[0])


def _probe_points(model, problem: AgentProblem, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches shaped like the fit's starting points [S, R, P]: every subject's first point is the
    defaults, the others spread over the unconstrained space the optimiser will explore; enough
    batches for at least PROBE_POINTS points."""
    from runtime.agents.model import unconstrain

    shape = (len(problem.data.subjects), problem.restarts, len(model.params))
    batches = [rng.normal(scale=2.0, size=shape) for _ in range(-(-PROBE_POINTS // (shape[0] * shape[1])))]
    batches[0][:, 0] = unconstrain(model.params, model.defaults())
    return [b.astype(np.float32) for b in batches]


def _not_finite(model, u: np.ndarray) -> str:
    from runtime.agents.model import constrain

    params = constrain(np, model.params, u.astype(np.float64))
    shown = ", ".join(f"{k}={float(v):.3g}" for k, v in params.items()) or "no parameters"
    return (f"the log-likelihood or its gradient is not finite at {shown}: guard divisions, logs "
            "and square roots so every parameter value gives a finite likelihood")


def _disagreement(model, problem: AgentProblem, points: np.ndarray) -> str | None:
    """Plain words when the compiled log-likelihood of the first session at the first probe point
    differs from the reference loop's. The other sessions are masked, so the probe keeps the fit's
    array shapes (no compile) and the reference loop runs over one session only."""
    from runtime.agents import reference
    from runtime.agents.fitting import probe
    from runtime.agents.model import constrain

    data = problem.data
    first = np.zeros(data.choices.shape, dtype=bool)
    first[0, 0] = True
    one_session = replace(data, choices=np.where(first, data.choices, -1))
    got = float(probe(model, one_session, points, steps=problem.steps)[0][0, 0])
    params = {k: float(v) for k, v in constrain(np, model.params, points[0, 0].astype(np.float64)).items()}
    want = reference.session_loglik(model, params, data.choices[0, 0], data.rewards[0, 0], data.instructed[0, 0])
    if abs(got - want) > 1e-4 * (1 + abs(want)):
        return (f"the compiled likelihood {got:.6g} disagrees with the reference loop's {want:.6g}: "
                "this is a plmr bug, please report it")
    return None
