"""Plot a fitted agent: per subject, its probability of each choice against the observed choices."""

from __future__ import annotations

import numpy as np

from dsl.diagnostics import error


def choice_probabilities(model, params: dict, choices: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """softmax(logits) before every trial of one session (numpy; masked trials leave state alone)."""
    state = model.init_state(np, params)
    probs = []
    for c, r in zip(choices, rewards):
        logits = np.asarray(model.logits(np, params, state), dtype=np.float64)
        e = np.exp(logits - logits.max())
        probs.append(e / e.sum())
        if c >= 0:
            state = model.update(np, params, state, int(c), float(r))
    return np.array(probs)


def plot_fit(model, result, data, path: str, max_subjects: int = 6) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise error("E880", "plotting needs matplotlib", help="pip install 'plmr[plot]'") from None
    shown = result.subjects[:max_subjects]
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 2.2 * len(shown)), squeeze=False)
    for ax, fitted, s in zip(axes[:, 0], shown, range(len(shown))):
        length = int(data.lengths[s, 0])
        choices, rewards = data.choices[s, 0, :length], data.rewards[s, 0, :length]
        probs = choice_probabilities(model, fitted.params, choices, rewards)
        trials = np.arange(length)
        ax.plot(trials, probs[:, -1], color="tab:blue", label=f"P(choice = {model.n_actions - 1})")
        valid = choices >= 0
        ax.scatter(trials[valid], (choices[valid] == model.n_actions - 1) * 1.0, s=4, color="black",
                   label="observed")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(fitted.subject)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[0, 0].set_title(f"{result.agent}: model choice probability vs choices (session 0)")
    axes[-1, 0].set_xlabel("trial")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
