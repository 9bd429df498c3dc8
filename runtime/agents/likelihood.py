"""The compiled log-likelihood: a `lax.scan` over trials whose body is `vmap`ed over sessions.

Imports JAX inside functions: the front end imports this package's data modules without JAX.
Semantics are those documented in `runtime.agents.model` and implemented independently, as a plain
loop, in `runtime.agents.reference` (the oracle these functions are tested against).
"""

from __future__ import annotations

from runtime.agents.model import AgentModel, constrain


def session_loglik(model: AgentModel, params: dict, choices, rewards, instructed):
    """Summed log p(choice) over the scored trials of one session (arrays [T])."""
    import jax.numpy as jnp

    return _loglik(model, params, *(jnp.asarray(a)[None] for a in (choices, rewards, instructed)))


def sessions_loglik(model: AgentModel, u, choices, rewards, instructed):
    """Summed log-likelihood of sessions [N, T] under unconstrained parameters u[P]."""
    import jax.numpy as jnp

    return _loglik(model, constrain(jnp, model.params, u), choices, rewards, instructed)


def _loglik(model: AgentModel, params: dict, choices, rewards, instructed):
    """Summed log-likelihood of sessions [N, T]: one scan over trials, the sessions `vmap`ed inside its
    body (a scan `vmap`ed from outside is traced once more per batching level)."""
    import jax
    import jax.numpy as jnp

    def trial(state, inputs):
        choice, reward, forced = inputs
        valid = choice >= 0
        safe = jnp.where(valid, choice, 0)
        logp = jax.nn.log_softmax(model.logits(jnp, params, state))
        ll = jnp.where(valid & ~forced, logp[safe], 0.0)
        return advance(model, params, state, choice, reward), ll

    choices, instructed = jnp.asarray(choices), jnp.asarray(instructed)
    rewards = jnp.asarray(rewards, dtype=jnp.result_type(float))   # float64 when x64 is on
    state = jax.tree.map(lambda x: jnp.broadcast_to(x, choices.shape[:1] + jnp.shape(x)),
                         model.init_state(jnp, params))
    _, lls = jax.lax.scan(jax.vmap(trial), state, (choices.T, rewards.T, instructed.T))
    return lls.sum(axis=0).sum()


def advance(model: AgentModel, params: dict, state, choice, reward):
    """The state after a trial: updated when choice >= 0, unchanged on a masked trial."""
    import jax
    import jax.numpy as jnp

    valid = choice >= 0
    moved = model.update(jnp, params, state, jnp.where(valid, choice, 0), reward)
    return jax.tree.map(lambda new, old: jnp.where(valid, new, old).astype(old.dtype), moved, state)
