"""Agents playing tasks: behaviour data from a model with known parameters.

The task's outcomes and the uniform numbers that pick choices are drawn with one numpy Generator, so
a seed fixes the data; the play itself is one jitted `lax.scan` over trials `vmap`ed over sessions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dsl.diagnostics import error
from runtime.agents.data import Dataset
from runtime.agents.model import AgentModel, check_model, resolve_params
from runtime.agents.tasks import Task


def simulate(model: AgentModel, task: Task, params: Mapping[str, float | Sequence[float]] | None = None, *,
             n_subjects: int = 1, n_sessions: int = 1, n_trials: int = 100, seed: int = 0) -> Dataset:
    """Let `model` play `task`: S subjects x N sessions x T trials, parameters per subject or shared.

    `params` maps a parameter name to one value or one value per subject; missing ones take defaults.
    """
    check_model(model)
    _check_sizes(n_subjects, n_sessions, n_trials)
    if task.n_actions != model.n_actions:
        raise error("E831", f"agent {model.name} has {model.n_actions} actions but task {task.name} "
                    f"has {task.n_actions} arms",
                    help=f"use an agent declared with actions = {task.n_actions}")
    per_subject = resolve_params(model, params, n_subjects)
    rng = np.random.default_rng(seed)
    draw = task.draw(rng, n_subjects * n_sessions, n_trials)
    uniforms = rng.random((n_subjects * n_sessions, n_trials), dtype=np.float32)
    table = np.array([[p[name] for name in model.param_names] for p in per_subject], dtype=np.float32)
    table = np.repeat(table.reshape(n_subjects, -1), n_sessions, axis=0)
    choices, rewards = _play(model, table, draw.outcomes, uniforms)
    shape = (n_subjects, n_sessions, n_trials)
    return Dataset(
        subjects=tuple(f"s{i:03d}" for i in range(n_subjects)),
        sessions=tuple(tuple(str(n) for n in range(n_sessions)) for _ in range(n_subjects)),
        choices=choices.reshape(shape).astype(np.int32), rewards=rewards.reshape(shape).astype(np.float32),
        instructed=np.zeros(shape, bool), lengths=np.full(shape[:2], n_trials, np.int32),
        n_actions=model.n_actions)


def _check_sizes(n_subjects: int, n_sessions: int, n_trials: int) -> None:
    for name, value in (("subjects", n_subjects), ("sessions", n_sessions), ("trials", n_trials)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise error("E832", f"the number of {name} must be a positive integer, not {value!r}",
                        help=f"ask for at least one of the {name}")


def _play(model: AgentModel, table: np.ndarray, outcomes: np.ndarray, uniforms: np.ndarray):
    """Choices and rewards [B, T] for B sessions, each with its own parameter row of `table`."""
    import jax

    play = jax.jit(jax.vmap(lambda p, o, u: _play_session(model, p, o, u)))
    choices, rewards = play(table, outcomes, uniforms)
    return np.asarray(choices), np.asarray(rewards)


def _play_session(model: AgentModel, row, outcomes, uniforms):
    import jax
    import jax.numpy as jnp

    params = {name: row[i] for i, name in enumerate(model.param_names)}

    def trial(state, inputs):
        payoff, u = inputs
        cumulative = jnp.cumsum(jax.nn.softmax(model.logits(jnp, params, state)))
        choice = jnp.minimum(jnp.sum(cumulative <= u), model.n_actions - 1)
        reward = payoff[choice]
        moved = model.update(jnp, params, state, choice, reward)
        return jax.tree.map(lambda new, old: new.astype(old.dtype), moved, state), (choice, reward)

    state = jax.tree.map(jnp.asarray, model.init_state(jnp, params))
    _, (choices, rewards) = jax.lax.scan(trial, state, (outcomes, uniforms))
    return choices, rewards
