"""The oracle: the agent log-likelihood as a plain numpy loop over trials.

Written separately from the compiled path (`runtime.agents.likelihood`) and kept obvious: one
session at a time, one trial at a time, Python control flow for the masks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from runtime.agents.data import Dataset
from runtime.agents.model import AgentModel


def session_loglik(model: AgentModel, params: Mapping[str, float], choices, rewards, instructed) -> float:
    """Summed log p(choice) of one session: score unless masked or instructed, update unless masked."""
    state = model.init_state(np, params)
    total = 0.0
    for choice, reward, forced in zip(choices, rewards, instructed, strict=True):
        choice = int(choice)
        if choice < 0:
            continue
        if not forced:
            logits = np.asarray(model.logits(np, params, state), dtype=np.float64)
            top = logits.max()
            total += float(logits[choice] - top - np.log(np.exp(logits - top).sum()))
        state = model.update(np, params, state, choice, float(reward))
    return total


def subject_loglik(model: AgentModel, params: Mapping[str, float], dataset: Dataset, subject: int) -> float:
    """Summed log-likelihood of all sessions of one subject."""
    return sum(session_loglik(model, params, dataset.choices[subject, n, :length],
                              dataset.rewards[subject, n, :length], dataset.instructed[subject, n, :length])
               for n, length in enumerate(dataset.lengths[subject]))


def dataset_loglik(model: AgentModel, params: Sequence[Mapping[str, float]], dataset: Dataset) -> np.ndarray:
    """Per-subject summed log-likelihoods, float64 [S], one parameter dict per subject."""
    return np.array([subject_loglik(model, params[s], dataset, s) for s in range(len(dataset.subjects))])
