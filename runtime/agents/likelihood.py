"""The compiled log-likelihood: a `lax.scan` over trials, `vmap`ed over sessions.

Imports JAX inside functions: the front end imports this package's data modules without JAX.
Semantics are those documented in `runtime.agents.model` and implemented independently, as a plain
loop, in `runtime.agents.reference` (the oracle these functions are tested against).
"""

from __future__ import annotations

from runtime.agents.model import AgentModel, constrain


def session_loglik(model: AgentModel, params: dict, choices, rewards, instructed):
    """Summed log p(choice) over the scored trials of one session (arrays [T])."""
    import jax
    import jax.numpy as jnp

    def trial(state, inputs):
        choice, reward, forced = inputs
        valid = choice >= 0
        safe = jnp.where(valid, choice, 0)
        logp = jax.nn.log_softmax(model.logits(jnp, params, state))
        ll = jnp.where(valid & ~forced, logp[safe], 0.0)
        return advance(model, params, state, choice, reward), ll

    state = jax.tree.map(jnp.asarray, model.init_state(jnp, params))
    rewards = jnp.asarray(rewards, dtype=jnp.result_type(float))   # float64 when x64 is on
    _, lls = jax.lax.scan(trial, state, (choices, rewards, instructed))
    return lls.sum()


def advance(model: AgentModel, params: dict, state, choice, reward):
    """The state after a trial: updated when choice >= 0, unchanged on a masked trial."""
    import jax
    import jax.numpy as jnp

    valid = choice >= 0
    moved = model.update(jnp, params, state, jnp.where(valid, choice, 0), reward)
    return jax.tree.map(lambda new, old: jnp.where(valid, new, old).astype(old.dtype), moved, state)


def sessions_loglik(model: AgentModel, u, choices, rewards, instructed):
    """Summed log-likelihood of sessions [N, T] under unconstrained parameters u[P]."""
    import jax
    import jax.numpy as jnp

    params = constrain(jnp, model.params, u)
    per_session = jax.vmap(lambda c, r, i: session_loglik(model, params, c, r, i))
    return per_session(choices, rewards, instructed).sum()
