"""Python stand-ins for stdlib agents, used by tests and benchmarks until the DSL lowering lands.

Each model is what the lowering of the matching `agent` declaration should produce; once the
lowering exists these are the oracle it is compared with, not a second source of agents.
"""

from __future__ import annotations

from runtime.agents.model import AgentModel, ParamSpec


def _one_hot(xp, n_actions: int, choice):
    return (xp.arange(n_actions) == choice) * 1.0


def random_agent(n_actions: int = 2) -> AgentModel:
    """Chooses uniformly at random: NL = 1/K."""
    return AgentModel(
        name="random", n_actions=n_actions, params=(),
        init_state=lambda xp, p: (),
        logits=lambda xp, p, s: xp.zeros(n_actions),
        update=lambda xp, p, s, c, r: s,
    )


def _q_update(xp, p, q, c, r, n_actions):
    return q + p["alpha"] * (r - q) * _one_hot(xp, n_actions, c)


def q_learning(n_actions: int = 2) -> AgentModel:
    """Rescorla–Wagner values with a softmax policy (alpha: learning rate, beta: inverse temperature)."""
    return AgentModel(
        name="q_learning", n_actions=n_actions,
        params=(ParamSpec("alpha", "unit", 0.3), ParamSpec("beta", "positive", 3.0)),
        init_state=lambda xp, p: (xp.full(n_actions, 0.5),),
        logits=lambda xp, p, s: p["beta"] * s[0],
        update=lambda xp, p, s, c, r: (_q_update(xp, p, s[0], c, r, n_actions),),
    )


def q_perseveration(n_actions: int = 2) -> AgentModel:
    """Q-learning plus one-back perseveration: logit_a += kappa * [a = previous choice]."""
    return AgentModel(
        name="q_perseveration", n_actions=n_actions,
        params=(ParamSpec("alpha", "unit", 0.3), ParamSpec("beta", "positive", 3.0),
                ParamSpec("kappa", "real", 0.0)),
        init_state=lambda xp, p: (xp.full(n_actions, 0.5), xp.zeros(n_actions)),
        logits=lambda xp, p, s: p["beta"] * s[0] + p["kappa"] * s[1],
        update=lambda xp, p, s, c, r: (_q_update(xp, p, s[0], c, r, n_actions),
                                       _one_hot(xp, n_actions, c)),
    )


def _forget_update(xp, p, q, c, r, n_actions):
    chosen = _one_hot(xp, n_actions, c)
    learned = q + p["alpha"] * (r - q) * chosen
    return learned + p["phi"] * (0.5 - learned) * (1.0 - chosen)


def q_forgetting(n_actions: int = 2) -> AgentModel:
    """Q-learning whose unchosen values decay toward the initial 0.5 at rate phi."""
    return AgentModel(
        name="q_forgetting", n_actions=n_actions,
        params=(ParamSpec("alpha", "unit", 0.3), ParamSpec("beta", "positive", 3.0),
                ParamSpec("phi", "unit", 0.1)),
        init_state=lambda xp, p: (xp.full(n_actions, 0.5),),
        logits=lambda xp, p, s: p["beta"] * s[0],
        update=lambda xp, p, s, c, r: (_forget_update(xp, p, s[0], c, r, n_actions),),
    )


def q_bounded(n_actions: int = 2) -> AgentModel:
    """Q-learning with beta in a bounded range (exercises the bounded transform)."""
    return AgentModel(
        name="q_bounded", n_actions=n_actions,
        params=(ParamSpec("alpha", "unit", 0.3), ParamSpec("beta", "bounded", 3.0, 0.0, 20.0)),
        init_state=lambda xp, p: (xp.full(n_actions, 0.5),),
        logits=lambda xp, p, s: p["beta"] * s[0],
        update=lambda xp, p, s, c, r: (_q_update(xp, p, s[0], c, r, n_actions),),
    )


BUILTIN_MODELS = {f.__name__: f for f in (random_agent, q_learning, q_perseveration, q_forgetting,
                                          q_bounded)}
