"""AgentIR → AgentModel: the fitting engine's view of a checked `agent` declaration.

One model, two implementations chosen by the array namespace the engine passes: with numpy the
statements run in the reference interpreter (the oracle), with jax.numpy they run as the code
compiler.lower_agent generates. Tests compare the two.
"""

from __future__ import annotations

import functools

import numpy as np

from compiler import ir
from compiler.lower_agent import lower_agent
from runtime.agents.model import AgentModel
from runtime.reference import evaluate_statement


def agent_model(agent: ir.AgentIR) -> AgentModel:
    reference = _Reference(agent)

    def init_state(xp, params):
        return reference.init_state(params) if xp is np else _generated(agent)["init_state"](xp, params)

    def logits(xp, params, state):
        return reference.logits(params, state) if xp is np else _generated(agent)["logits"](xp, params, state)

    def update(xp, params, state, choice, reward):
        if xp is np:
            return reference.update(params, state, choice, reward)
        return _generated(agent)["update"](xp, params, state, choice, reward)

    return AgentModel(agent.name, agent.n_actions, agent.params, init_state, logits, update)


@functools.lru_cache(maxsize=128)
def _generated(agent: ir.AgentIR) -> dict:
    import jax

    namespace = {"jax": jax, "jnp": jax.numpy, "lax": jax.lax}
    exec(compile(lower_agent(agent), f"<plmr agent {agent.name}>", "exec"), namespace)  # noqa: S102
    return namespace


class _Reference:
    """The agent's statements evaluated one trial at a time by the reference interpreter."""

    def __init__(self, agent: ir.AgentIR):
        self.agent = agent

    def _env(self, params, state=()) -> dict:
        env = {p.name: np.asarray(params[p.name], np.float32) for p in self.agent.params}
        env.update({s.target.name: np.asarray(v, np.float32) for s, v in zip(self.agent.state, state)})
        return env

    def _run(self, stmts, env: dict, dims: dict) -> dict:
        with np.errstate(all="ignore"):
            for stmt in stmts:
                env[stmt.target.name] = evaluate_statement(stmt, env, dims)
        return env

    def init_state(self, params):
        env = self._run(self.agent.state, self._env(params), {})
        return tuple(env[s.target.name] for s in self.agent.state)

    def logits(self, params, state):
        return self._run(self.agent.policy, self._env(params, state), {})["logits"]

    def update(self, params, state, choice, reward):
        env = self._env(params, state)
        env[self.agent.reward] = np.asarray(reward, np.float32)
        env = self._run(self.agent.update, env, {self.agent.choice: int(choice)})
        return tuple(env[s.target.name] for s in self.agent.state)
