"""The simulated tasks of DESIGN.md §5, seeded and vectorised over sessions.

A task draws, for every session, the outcome each arm would pay on every trial ([B, T, K]); the
outcomes never depend on the agent's choices, so drawing them up front is exact and lets the agent's
play run as one compiled scan. A drawn Bernoulli outcome per arm is the same distribution as drawing
the reward of the chosen arm only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsl.diagnostics import error


@dataclass(frozen=True, slots=True)
class TaskDraw:
    """Per-session, per-trial, per-arm outcomes and the latent quantity they were drawn from."""

    outcomes: np.ndarray   # float32 [B, T, K], reward of each arm on each trial, in [0, 1]
    latent: np.ndarray     # float64 [B, T, K]: reward probability (bandits) or mean payoff (restless)


@dataclass(frozen=True, slots=True)
class Task:
    """A named task: how many arms, and how to draw outcomes for B sessions of T trials."""

    name: str
    n_actions: int
    description: str
    draw: Callable[[np.random.Generator, int, int], TaskDraw]


DRIFT_SIGMA = 0.1
FLIP_PROBABILITY = 0.02
FLIP_HIGH, FLIP_LOW = 0.8, 0.2
RESTLESS_DECAY, RESTLESS_CENTRE, RESTLESS_DIFFUSION, RESTLESS_NOISE = 0.9836, 50.0, 2.8, 4.0


def _bernoulli(rng: np.random.Generator, p: np.ndarray) -> TaskDraw:
    return TaskDraw((rng.random(p.shape) < p).astype(np.float32), p)


def draw_drift2(rng: np.random.Generator, n_sessions: int, n_trials: int) -> TaskDraw:
    """p_i ~ U(0,1) per session; each trial p <- clip(p + N(0, 0.1), 0, 1); reward ~ Bernoulli(p_c)."""
    p = np.empty((n_sessions, n_trials, 2))
    p[:, 0] = rng.random((n_sessions, 2))
    steps = rng.normal(0.0, DRIFT_SIGMA, (n_sessions, n_trials, 2))
    for t in range(1, n_trials):
        p[:, t] = np.clip(p[:, t - 1] + steps[:, t], 0.0, 1.0)
    return _bernoulli(rng, p)


def draw_flip2(rng: np.random.Generator, n_sessions: int, n_trials: int) -> TaskDraw:
    """Reward probabilities 0.8/0.2 that swap arms with probability 0.02 after each trial."""
    start = rng.integers(0, 2, (n_sessions, 1))
    flips = rng.random((n_sessions, n_trials)) < FLIP_PROBABILITY
    flips[:, 0] = False
    good = (start + np.cumsum(flips, axis=1)) % 2
    p = np.where(good[..., None] == np.arange(2), FLIP_HIGH, FLIP_LOW)
    return _bernoulli(rng, p)


def draw_restless4(rng: np.random.Generator, n_sessions: int, n_trials: int) -> TaskDraw:
    """Daw et al. (2006): mu <- l*mu + (1-l)*theta + N(0, sd); payoff N(mu, 4) rounded to 1..100.

    Means start from the walk's stationary law N(theta, sd / sqrt(1 - l^2)); payoffs are rescaled
    to [0, 1] as (payoff - 1) / 99.
    """
    mu = np.empty((n_sessions, n_trials, 4))
    spread = RESTLESS_DIFFUSION / np.sqrt(1.0 - RESTLESS_DECAY**2)
    mu[:, 0] = rng.normal(RESTLESS_CENTRE, spread, (n_sessions, 4))
    noise = rng.normal(0.0, RESTLESS_DIFFUSION, (n_sessions, n_trials, 4))
    for t in range(1, n_trials):
        mu[:, t] = RESTLESS_DECAY * mu[:, t - 1] + (1 - RESTLESS_DECAY) * RESTLESS_CENTRE + noise[:, t]
    payoff = np.clip(np.round(rng.normal(mu, RESTLESS_NOISE)), 1, 100)
    return TaskDraw(((payoff - 1.0) / 99.0).astype(np.float32), mu)


TASKS = {
    task.name: task for task in (
        Task("drift2", 2, "two-armed bandit with drifting reward probabilities", draw_drift2),
        Task("flip2", 2, "two-armed reversal task, 0.8/0.2, flip probability 0.02", draw_flip2),
        Task("restless4", 4, "four-armed restless Gaussian bandit, payoffs rescaled to 0-1", draw_restless4),
    )
}


def get_task(name: str) -> Task:
    """The task called `name`, or a PlmrError listing the known ones."""
    if name not in TASKS:
        raise error("E830", f"unknown task {name!r}", help="the tasks are: " + ", ".join(TASKS))
    return TASKS[name]
