"""Per-trial choice probabilities of a fitted agent, for plots of model against behaviour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from runtime.agents.data import Dataset
from runtime.agents.likelihood import advance
from runtime.agents.model import AgentModel, constrain, unconstrain


def choice_probabilities(model: AgentModel, params: Sequence[Mapping[str, float]], data: Dataset) -> np.ndarray:
    """softmax(logits) before every trial, float [S, N, T, K]; one parameter dict per subject.

    Same semantics as the likelihood: state reset per session, masked trials leave it unchanged.
    Entries past a session's length are meaningless (the state just carries over the padding).
    """
    import jax
    import jax.numpy as jnp

    u = np.array([unconstrain(model.params, p) for p in params]).reshape(len(params), -1)
    per_session = jax.vmap(lambda p, c, r: _session_probabilities(model, p, c, r), (None, 0, 0))
    per_subject = jax.jit(jax.vmap(per_session))
    return np.asarray(per_subject(jnp.asarray(u, dtype=jnp.result_type(float)), data.choices, data.rewards))


def _session_probabilities(model: AgentModel, u, choices, rewards):
    import jax
    import jax.numpy as jnp

    params = constrain(jnp, model.params, u)

    def trial(state, inputs):
        choice, reward = inputs
        probabilities = jax.nn.softmax(model.logits(jnp, params, state))
        return advance(model, params, state, choice, reward), probabilities

    state = jax.tree.map(jnp.asarray, model.init_state(jnp, params))
    _, probabilities = jax.lax.scan(trial, state, (choices, jnp.asarray(rewards, jnp.result_type(float))))
    return probabilities
