"""AgentIR → the source of three JAX functions, the agent's step as the fitting engine calls it:

    init_state(xp, params) -> state            the state at the start of a session
    logits(xp, params, state) -> logits[K]     the policy before the trial's choice
    update(xp, params, state, choice, reward) -> state

`state` is a tuple in declaration order. Statements lower exactly as kernel statements do
(compiler.lower_jax); inputs are converted to f32 on entry, so every value stays f32 and a
`lax.scan` carry never changes dtype.
"""

from __future__ import annotations

from compiler import ir
from compiler.lower_jax import StatementLowering


def _unpack(agent: ir.AgentIR) -> list[str]:
    lines = [f"    {p.name} = jnp.asarray(params[{p.name!r}], jnp.float32)" for p in agent.params]
    names = [s.target.name for s in agent.state]
    if names:
        lines.append(f"    {', '.join(names)}, = state")
    return lines


def _assign(stmt: ir.Stmt) -> str:
    return f"    {stmt.target.name} = {StatementLowering(stmt).code()}"


def _state_tuple(agent: ir.AgentIR) -> str:
    names = [s.target.name for s in agent.state]
    return f"({', '.join(names)}{',' if names else ''})"


def lower_agent(agent: ir.AgentIR) -> str:
    params_only = [f"    {p.name} = jnp.asarray(params[{p.name!r}], jnp.float32)" for p in agent.params]
    init = ["def init_state(xp, params):", *params_only, *map(_assign, agent.state),
            f"    return {_state_tuple(agent)}"]
    logits = ["def logits(xp, params, state):", *_unpack(agent), *map(_assign, agent.policy),
              "    return logits"]
    update = [f"def update(xp, params, state, {agent.choice}, {agent.reward}):", *_unpack(agent),
              f"    {agent.reward} = jnp.asarray({agent.reward}, jnp.float32)",
              *map(_assign, agent.update), f"    return {_state_tuple(agent)}"]
    return "\n\n".join("\n".join(f) for f in (init, logits, update)) + "\n"
