"""Verify an agent candidate: it compiles, its JAX likelihood matches the reference loop, the
likelihood and its gradient are finite, then its score is the held-out normalized likelihood."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler import ir
from runtime.agents.data import Dataset
from runtime.search.verdict import Verdict
from runtime.search.worker import enter_stage


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
    problem_text = _likelihood_problem(model, problem.data, rng)
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


def _likelihood_problem(model, data: Dataset, rng: np.random.Generator) -> str | None:
    """Plain words when the likelihood or its gradient is not finite somewhere the optimiser may go,
    or when the compiled likelihood disagrees with the reference loop."""
    import jax
    import jax.numpy as jnp

    from runtime.agents import likelihood, reference
    from runtime.agents.model import constrain, unconstrain

    session = (data.choices[0, 0], data.rewards[0, 0], data.instructed[0, 0])
    batch = tuple(jnp.asarray(a)[None] for a in session)
    # the defaults, then points spread over the unconstrained space the optimiser will explore
    points = np.stack([unconstrain(model.params, model.defaults())]
                      + [rng.normal(scale=2.0, size=len(model.params)) for _ in range(8)]).astype(np.float32)
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(
        lambda u: likelihood.sessions_loglik(model, u, *batch))))
    lls, grads = (np.asarray(x) for x in value_and_grad(jnp.asarray(points)))
    for u, ll, grad in zip(points, lls, grads):
        if not (np.isfinite(ll) and np.all(np.isfinite(grad))):
            params = constrain(np, model.params, u.astype(np.float64))
            shown = ", ".join(f"{k}={float(v):.3g}" for k, v in params.items()) or "no parameters"
            return (f"the log-likelihood or its gradient is not finite at {shown}: guard divisions, logs "
                    "and square roots so every parameter value gives a finite likelihood")
    params = {k: float(v) for k, v in constrain(np, model.params, points[0].astype(np.float64)).items()}
    want = reference.session_loglik(model, params, *session)
    if abs(float(lls[0]) - want) > 1e-4 * (1 + abs(want)):
        return (f"the compiled likelihood {float(lls[0]):.6g} disagrees with the reference loop's {want:.6g}: "
                "this is a plmr bug, please report it")
    return None
