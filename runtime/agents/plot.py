"""Plot a fitted agent: per subject, its probability of each choice against the observed choices."""

from __future__ import annotations

import numpy as np

from dsl.diagnostics import error


def plot_fit(model, result, data, path: str, max_subjects: int = 6) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise error("E880", "plotting needs matplotlib", help="pip install 'plmr[plot]'") from None
    from runtime.agents.predict import choice_probabilities

    shown = result.subjects[:max_subjects]
    probabilities = choice_probabilities(model, [fitted.params for fitted in result.subjects], data)
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 2.2 * len(shown)), squeeze=False)
    for ax, fitted, s in zip(axes[:, 0], shown, range(len(shown))):
        length = int(data.lengths[s, 0])
        choices = data.choices[s, 0, :length]
        probs = probabilities[s, 0, :length]
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
