"""The compiled log-likelihood: a `lax.scan` over trials whose body is `vmap`ed over sessions and points.

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

    lanes = jax.tree.map(lambda x: jnp.reshape(x, (1, 1)), params)
    return _loglik(model, lanes, 1, *(jnp.asarray(a)[None, None] for a in (choices, rewards, instructed)))[0, 0]


def sessions_loglik(model: AgentModel, u, choices, rewards, instructed):
    """Summed log-likelihood of sessions [N, T] under unconstrained parameters u[P]."""
    import jax.numpy as jnp

    arrays = (jnp.asarray(a)[None] for a in (choices, rewards, instructed))
    return problems_loglik(model, jnp.asarray(u)[None, None], *arrays)[0, 0]


def problems_loglik(model: AgentModel, u, choices, rewards, instructed):
    """Summed log-likelihood [B, R] of each problem's sessions [B, N, T] at each of its R unconstrained
    points u[B, R, P]."""
    import jax
    import jax.numpy as jnp

    params = jax.vmap(jax.vmap(lambda v: constrain(jnp, model.params, v)))(u)
    return _loglik(model, params, u.shape[1], choices, rewards, instructed)


def _loglik(model: AgentModel, params: dict, points: int, choices, rewards, instructed):
    """Summed log-likelihood [B, R] of sessions [B, N, T] under parameters [B, R] (R = points): one
    scan over trials with every lane `vmap`ed inside its body (a scan `vmap`ed from outside is traced
    again for each batching level, and its gradient with it)."""
    import jax
    import jax.numpy as jnp

    def trial(params, state, inputs):
        choice, reward, forced = inputs
        valid = choice >= 0
        safe = jnp.where(valid, choice, 0)
        logp = jax.nn.log_softmax(model.logits(jnp, params, state))
        ll = jnp.where(valid & ~forced, logp[safe], 0.0)
        return advance(model, params, state, choice, reward), ll

    choices, instructed = jnp.asarray(choices), jnp.asarray(instructed)
    rewards = jnp.asarray(rewards, dtype=jnp.result_type(float))   # float64 when x64 is on
    lanes = choices.shape[0], points, choices.shape[1]
    per_session = _over(_over(jax.vmap(trial, in_axes=(None, 0, 0)), (0, 0, None), points), (0, 0, 0), lanes[0])
    first = _over(_over(lambda p: model.init_state(jnp, p), 0, points), 0, lanes[0])(params)
    state = jax.tree.map(lambda x: jnp.broadcast_to(jnp.expand_dims(x, 2), lanes + x.shape[2:]), first)
    inputs = tuple(jnp.moveaxis(a, -1, 0) for a in (choices, rewards, instructed))
    _, lls = jax.lax.scan(lambda state, x: per_session(params, state, x), state, inputs)   # [T, B, R, N]
    return lls.sum(axis=0).sum(axis=-1)


def _over(function, in_axes, size: int):
    """vmap with the axis size given: an agent without parameters or state has nothing to infer it from."""
    import jax

    return jax.vmap(function, in_axes=in_axes, axis_size=size)


def advance(model: AgentModel, params: dict, state, choice, reward):
    """The state after a trial: updated when choice >= 0, unchanged on a masked trial."""
    import jax
    import jax.numpy as jnp

    valid = choice >= 0
    moved = model.update(jnp, params, state, jnp.where(valid, choice, 0), reward)
    return jax.tree.map(lambda new, old: jnp.where(valid, new, old).astype(old.dtype), moved, state)
