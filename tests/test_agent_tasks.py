"""Tasks and simulation: the statistics DESIGN.md §5 fixes, seeding, and agents playing tasks."""

import numpy as np
import pytest

from dsl.diagnostics import PlmrError
from runtime.agents import builtin_models
from runtime.agents.simulation import simulate
from runtime.agents.tasks import TASKS, get_task


def test_drift2_probabilities_stay_in_unit_interval_and_step_by_sigma():
    draw = TASKS["drift2"].draw(np.random.default_rng(0), 200, 500)
    p = draw.latent
    assert p.min() >= 0.0 and p.max() <= 1.0
    steps = np.diff(p, axis=1)
    interior = (p[:, :-1] > 0.05) & (p[:, :-1] < 0.95) & (p[:, 1:] > 0) & (p[:, 1:] < 1)
    assert np.std(steps[interior]) == pytest.approx(0.1, rel=0.05)
    assert p[:, 0].mean() == pytest.approx(0.5, abs=0.05)      # U(0, 1) starts
    assert draw.outcomes.mean() == pytest.approx(p.mean(), abs=0.01)


def test_flip2_flips_at_rate_002_between_08_and_02():
    draw = TASKS["flip2"].draw(np.random.default_rng(1), 400, 500)
    p = draw.latent
    assert set(np.unique(p)) == {0.2, 0.8}
    assert np.allclose(p.sum(axis=2), 1.0)
    flips = (np.diff(p[..., 0], axis=1) != 0).mean()
    assert flips == pytest.approx(0.02, rel=0.1)
    good = np.argmax(p, axis=2)
    rate = np.take_along_axis(draw.outcomes, good[..., None], axis=2).mean()
    assert rate == pytest.approx(0.8, abs=0.01)


def test_restless4_follows_the_daw_walk():
    draw = TASKS["restless4"].draw(np.random.default_rng(2), 300, 400)
    mu = draw.latent
    x, y = mu[:, :-1].ravel() - 50.0, mu[:, 1:].ravel() - 50.0
    decay = (x @ y) / (x @ x)
    assert decay == pytest.approx(0.9836, abs=0.003)
    assert np.std(y - decay * x) == pytest.approx(2.8, rel=0.03)
    assert mu.mean() == pytest.approx(50.0, abs=1.5)
    payoffs = draw.outcomes * 99 + 1
    assert draw.outcomes.min() >= 0 and draw.outcomes.max() <= 1
    assert np.allclose(payoffs, np.round(payoffs), atol=1e-4)     # integers 1..100 rescaled
    assert np.std(payoffs - mu) == pytest.approx(4.0, rel=0.05)


def test_tasks_are_seeded():
    for task in TASKS.values():
        a, b = (task.draw(np.random.default_rng(7), 3, 50) for _ in range(2))
        assert np.array_equal(a.outcomes, b.outcomes)
    c = TASKS["drift2"].draw(np.random.default_rng(8), 3, 50)
    assert not np.array_equal(c.outcomes, TASKS["drift2"].draw(np.random.default_rng(7), 3, 50).outcomes)


def test_unknown_task_is_a_plmr_error():
    with pytest.raises(PlmrError, match="(?s)unknown task 'drift3'.*drift2, flip2, restless4"):
        get_task("drift3")


def test_simulate_shapes_seed_and_rewards_come_from_the_task():
    model = builtin_models.q_learning(4)
    data = simulate(model, TASKS["restless4"], {"beta": [1.0, 5.0]}, n_subjects=2, n_sessions=3,
                    n_trials=40, seed=5)
    assert data.choices.shape == (2, 3, 40) and data.subjects == ("s000", "s001")
    assert data.choices.min() >= 0 and data.choices.max() <= 3
    again = simulate(model, TASKS["restless4"], {"beta": [1.0, 5.0]}, n_subjects=2, n_sessions=3,
                     n_trials=40, seed=5)
    assert np.array_equal(data.choices, again.choices)
    payoffs = TASKS["restless4"].draw(np.random.default_rng(5), 6, 40).outcomes.reshape(2, 3, 40, 4)
    chosen = np.take_along_axis(payoffs, data.choices[..., None], axis=3)[..., 0]
    assert np.allclose(data.rewards, chosen)


def test_learning_agent_beats_random_on_reversal_task():
    learner = simulate(builtin_models.q_learning(), TASKS["flip2"], {"alpha": 0.4, "beta": 8.0},
                       n_subjects=4, n_sessions=5, n_trials=400, seed=3)
    guesser = simulate(builtin_models.random_agent(), TASKS["flip2"], None,
                       n_subjects=4, n_sessions=5, n_trials=400, seed=3)
    assert learner.rewards.mean() > 0.7
    assert guesser.rewards.mean() == pytest.approx(0.5, abs=0.02)
    assert np.mean(guesser.choices) == pytest.approx(0.5, abs=0.02)


def test_perseverating_agent_repeats_itself():
    data = simulate(builtin_models.q_perseveration(), TASKS["drift2"], {"beta": 0.1, "kappa": 4.0},
                    n_subjects=1, n_sessions=4, n_trials=300, seed=4)
    repeats = (data.choices[..., 1:] == data.choices[..., :-1]).mean()
    assert repeats > 0.9


@pytest.mark.parametrize("params,words", [
    ({"gamma": 1.0}, "no parameter named gamma"),
    ({"alpha": 1.5}, r"alpha = 1.5 is not in \(0, 1\)"),
    ({"beta": [1.0, 2.0, 3.0]}, "has 3 values for 2 subjects"),
])
def test_bad_parameters_are_plmr_errors(params, words):
    with pytest.raises(PlmrError, match=words):
        simulate(builtin_models.q_learning(), TASKS["drift2"], params, n_subjects=2, n_trials=5)


def test_action_count_must_match_the_task():
    with pytest.raises(PlmrError, match="has 2 actions but task restless4 has 4 arms"):
        simulate(builtin_models.q_learning(2), TASKS["restless4"], n_trials=5)
    with pytest.raises(PlmrError, match="number of trials must be a positive integer"):
        simulate(builtin_models.q_learning(2), TASKS["drift2"], n_trials=0)


def test_parse_params_reads_command_line_settings():
    from runtime.agents.model import parse_params

    assert parse_params("alpha=0.3, beta=4") == {"alpha": 0.3, "beta": 4.0}
    assert parse_params("") == {}
    for bad in ("alpha", "alpha=fast", "=3"):
        with pytest.raises(PlmrError, match="cannot read parameter setting"):
            parse_params(bad)
