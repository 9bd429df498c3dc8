"""The compiled log-likelihood agrees with the numpy reference loop (the oracle).

Compared in float64 (x64 switched on for these tests only) to 1e-6 absolute on per-subject sums,
on random parameters and random data including masked (-1) and instructed trials.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.agents import builtin_models, reference
from runtime.agents.data import build_dataset
from runtime.agents.model import constrain, unconstrain


@pytest.fixture(scope="module")
def x64():
    import jax

    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def random_dataset(rng, n_actions, n_subjects=3):
    sessions = [[str(n) for n in range(int(rng.integers(1, 4)))] for _ in range(n_subjects)]
    rows = [[(int(rng.integers(-1, n_actions)), float(rng.random()), bool(rng.random() < 0.15))
             for _ in range(int(rng.integers(1, 40)))] for labels in sessions for _ in labels]
    return build_dataset([f"s{i}" for i in range(n_subjects)], sessions, rows, n_actions)


def random_params(model, rng):
    u = rng.normal(0.0, 1.5, len(model.params))
    return u, {k: float(v) for k, v in constrain(np, model.params, u).items()}


def compiled_loglik(model, u_rows, data):
    import jax
    import jax.numpy as jnp

    from runtime.agents.likelihood import sessions_loglik

    per_subject = jax.jit(jax.vmap(lambda u, c, r, i: sessions_loglik(model, u, c, r, i)))
    return np.asarray(per_subject(jnp.asarray(u_rows), data.choices, data.rewards, data.instructed))


MODELS = sorted(builtin_models.BUILTIN_MODELS)


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_actions=st.sampled_from([2, 3, 4]))
def test_jax_matches_reference(x64, name, seed, n_actions):
    model = builtin_models.BUILTIN_MODELS[name](n_actions)
    rng = np.random.default_rng(seed)
    data = random_dataset(rng, n_actions)
    draws = [random_params(model, rng) for _ in data.subjects]
    want = reference.dataset_loglik(model, [p for _, p in draws], data)
    got = compiled_loglik(model, np.array([u for u, _ in draws]).reshape(len(draws), -1), data)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)



@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_lane_of_problems_loglik_is_its_own_likelihood(x64, name, seed):
    """Points [S, R, P] share their subject's sessions but not their parameters."""
    import jax

    from runtime.agents.likelihood import problems_loglik

    model = builtin_models.BUILTIN_MODELS[name](3)
    rng = np.random.default_rng(seed)
    data = random_dataset(rng, 3)
    draws = [[random_params(model, rng) for _ in range(2)] for _ in data.subjects]
    u = np.array([[d[0] for d in row] for row in draws]).reshape(len(draws), 2, -1)
    lanes = jax.jit(lambda *a: problems_loglik(model, *a))
    got = np.asarray(lanes(u, data.choices, data.rewards, data.instructed))
    want = [[reference.subject_loglik(model, params, data, s) for _, params in row] for s, row in enumerate(draws)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

def test_masked_trials_skip_score_and_update(x64):
    """c = -1 changes nothing; an instructed trial updates the state but is not scored."""
    model = builtin_models.q_learning()
    params = {"alpha": 0.5, "beta": 2.0}
    plain = reference.session_loglik(model, params, [0, 1], [1.0, 0.0], [False, False])
    masked = reference.session_loglik(model, params, [0, -1, 1], [1.0, 7.0, 0.0], [False, False, False])
    assert masked == pytest.approx(plain)
    forced = reference.session_loglik(model, params, [0, 1], [1.0, 0.0], [True, False])
    # after the forced choice of 0 rewarded, q = (0.75, 0.5): p(1) = 1 / (1 + e^{2 * 0.25})
    assert forced == pytest.approx(-np.log1p(np.exp(0.5)))
    data = build_dataset(["s"], [["0"]], [[(0, 1.0, True), (-1, 9.0, False), (1, 0.0, False)]], 2)
    got = compiled_loglik(model, unconstrain(model.params, params)[None], data)
    assert got[0] == pytest.approx(-np.log1p(np.exp(0.5)), abs=1e-9)


def test_random_agent_scores_chance(x64):
    model = builtin_models.random_agent(4)
    data = random_dataset(np.random.default_rng(3), 4)
    got = compiled_loglik(model, np.zeros((len(data.subjects), 0)), data)
    np.testing.assert_allclose(got, data.trials_per_subject() * np.log(0.25), atol=1e-9)


def test_constrain_inverts_unconstrain():
    model = builtin_models.q_bounded()
    values = {"alpha": 0.2, "beta": 17.5}
    back = constrain(np, model.params, unconstrain(model.params, values))
    assert back["alpha"] == pytest.approx(0.2) and back["beta"] == pytest.approx(17.5)


def test_choice_probabilities_reproduce_the_likelihood(x64):
    from runtime.agents.predict import choice_probabilities

    model = builtin_models.q_perseveration(3)
    rng = np.random.default_rng(11)
    data = random_dataset(rng, 3)
    params = [random_params(model, rng)[1] for _ in data.subjects]
    probabilities = choice_probabilities(model, params, data)
    assert probabilities.shape == data.choices.shape + (3,)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-12)
    chosen = np.take_along_axis(probabilities, np.maximum(data.choices, 0)[..., None], axis=-1)[..., 0]
    got = np.where(data.scored, np.log(chosen), 0.0).sum(axis=(1, 2))
    np.testing.assert_allclose(got, reference.dataset_loglik(model, params, data), atol=1e-6)
