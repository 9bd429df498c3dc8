"""Fitting: parameter and model recovery, shared fits, rejected restarts, the JSON shape, comparisons,
and probing the likelihood on the fit's own compiled function."""

import json
import math

import numpy as np
import pytest

from dsl.diagnostics import PlmrError
from runtime.agents import builtin_models, reference
from runtime.agents.data import split
from runtime.agents.fitting import fit, probe
from runtime.agents.model import AgentModel, ParamSpec, constrain
from runtime.agents.score import compare
from runtime.agents.simulation import simulate
from runtime.agents.tasks import TASKS

Q = builtin_models.q_learning()
PERSEVERATION = builtin_models.q_perseveration()


def fitted(result, name):
    return np.array([s.params[name] for s in result.subjects])


def test_parameter_recovery_q_learning():
    rng = np.random.default_rng(0)
    alpha, beta = rng.uniform(0.1, 0.9, 20), rng.uniform(1.0, 8.0, 20)
    data = simulate(Q, TASKS["drift2"], {"alpha": alpha, "beta": beta}, n_subjects=20, n_sessions=4,
                    n_trials=250, seed=1)
    result = fit(Q, data, restarts=8, progress=False)
    assert np.corrcoef(alpha, fitted(result, "alpha"))[0, 1] > 0.9
    assert np.corrcoef(beta, fitted(result, "beta"))[0, 1] > 0.9
    assert all(s.train.trials == 500 and s.test.trials == 500 for s in result.subjects)


def test_fitted_scores_agree_with_reference_and_beat_the_truth_on_train():
    data = simulate(Q, TASKS["flip2"], {"alpha": 0.3, "beta": 4.0}, n_subjects=3, n_sessions=2,
                    n_trials=200, seed=2)
    result = fit(Q, data, restarts=4, progress=False)
    train, test = split(data)
    params = [s.params for s in result.subjects]
    np.testing.assert_allclose([s.train.ll for s in result.subjects],
                               reference.dataset_loglik(Q, params, train), rtol=1e-4)
    np.testing.assert_allclose([s.test.ll for s in result.subjects],
                               reference.dataset_loglik(Q, params, test), rtol=1e-4)
    truth = reference.dataset_loglik(Q, [{"alpha": 0.3, "beta": 4.0}] * 3, train)
    assert all(s.train.ll >= t - 1e-3 for s, t in zip(result.subjects, truth, strict=True))


def test_model_recovery_perseveration_vs_q():
    rng = np.random.default_rng(4)
    common = {"alpha": rng.uniform(0.2, 0.6, 12), "beta": rng.uniform(2.0, 6.0, 12)}
    sticky = simulate(PERSEVERATION, TASKS["drift2"], {**common, "kappa": 1.5}, n_subjects=12,
                      n_sessions=6, n_trials=200, seed=5)
    plain = simulate(Q, TASKS["drift2"], common, n_subjects=12, n_sessions=6, n_trials=200, seed=6)
    wins = {}
    for label, data in (("sticky", sticky), ("plain", plain)):
        with_kappa = fit(PERSEVERATION, data, restarts=4, progress=False)
        without = fit(Q, data, restarts=4, progress=False)
        wins[label] = compare(with_kappa, without).candidate_better
    assert wins["sticky"] >= 10          # perseveration explains sticky data better for most subjects
    assert wins["plain"] <= 5            # and does not beat plain Q on plain data for most subjects


def test_shared_fit_gives_one_parameter_set():
    data = simulate(Q, TASKS["drift2"], {"alpha": 0.5, "beta": 5.0}, n_subjects=6, n_sessions=2,
                    n_trials=500, seed=7)
    result = fit(Q, data, restarts=4, shared=True, progress=False)
    alphas, betas = fitted(result, "alpha"), fitted(result, "beta")
    assert np.ptp(alphas) == 0 and np.ptp(betas) == 0
    assert alphas[0] == pytest.approx(0.5, abs=0.1) and betas[0] == pytest.approx(5.0, rel=0.2)
    assert result.to_dict()["shared"] is True


def test_random_agent_scores_chance_and_to_dict_shape():
    model = builtin_models.random_agent(4)
    data = simulate(model, TASKS["restless4"], None, n_subjects=2, n_sessions=3, n_trials=50, seed=8)
    out = json.loads(json.dumps(fit(model, data, progress=False).to_dict()))
    assert out["agent"] == "random"
    assert set(out) >= {"agent", "subjects", "mean_test_nl", "pooled_test_nl"}
    subject = out["subjects"][0]
    assert set(subject) >= {"subject", "params", "train", "test"}
    assert subject["train"] == {"ll": pytest.approx(100 * math.log(0.25), rel=1e-5),
                                "nl": pytest.approx(0.25), "trials": 100}
    assert subject["test"]["trials"] == 50
    assert out["mean_test_nl"] == pytest.approx(0.25) and out["pooled_test_nl"] == pytest.approx(0.25)


def test_progress_bar_moves(capsys):
    data = simulate(Q, TASKS["drift2"], None, n_subjects=1, n_sessions=2, n_trials=20, seed=9)
    fit(Q, data, restarts=2, steps=100, progress=True)
    assert "fitting q_learning" in capsys.readouterr().err


def broken_model(bad_when_beta_above):
    """Logits are NaN when beta exceeds a threshold: restarts there must be rejected."""
    def logits(xp, p, s):
        return xp.where(p["beta"] > bad_when_beta_above, xp.nan, p["beta"]) * s[0]

    base = builtin_models.q_learning()
    return AgentModel("broken", 2, base.params, base.init_state, logits, base.update)


def test_non_finite_restarts_are_rejected():
    data = simulate(Q, TASKS["drift2"], {"beta": 0.5}, n_subjects=2, n_sessions=4, n_trials=200, seed=10)
    result = fit(broken_model(2.0), data, restarts=8, seed=1, progress=False)
    assert all(0 < s.finite_restarts < 8 for s in result.subjects)
    assert all(math.isfinite(s.train.ll) and s.params["beta"] <= 2.0 for s in result.subjects)
    with pytest.raises(PlmrError, match="likelihood of agent broken is not finite at any restart for s000"):
        fit(broken_model(0.0), data, restarts=2, progress=False)


def test_bad_fit_requests_are_plmr_errors():
    data = simulate(builtin_models.q_learning(4), TASKS["restless4"], None, n_subjects=1, n_trials=30)
    with pytest.raises(PlmrError, match="the data has choice 3 but agent q_learning has 2 actions"):
        fit(Q, data, progress=False)
    with pytest.raises(PlmrError, match="restarts must be a positive integer"):
        fit(builtin_models.q_learning(4), data, restarts=0, progress=False)
    bad = AgentModel("bad", 2, (ParamSpec("x", "wobbly", 0.0),), Q.init_state, Q.logits, Q.update)
    with pytest.raises(PlmrError, match="unknown constraint 'wobbly'"):
        fit(bad, data, progress=False)


def test_compare_needs_the_same_subjects():
    a = fit(Q, simulate(Q, TASKS["drift2"], None, n_subjects=2, n_sessions=2, n_trials=20), progress=False)
    b = fit(Q, simulate(Q, TASKS["drift2"], None, n_subjects=3, n_sessions=2, n_trials=20), progress=False)
    with pytest.raises(PlmrError, match="over different subjects"):
        compare(a, b)
    same = compare(a, a)
    assert same.p_value == 1.0 and same.candidate_better == 0


@pytest.fixture
def xla_compiles():
    """A list that collects the name of every XLA compilation while the test runs."""
    import jax

    seen = []

    def heard(event, seconds, **metadata):
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(metadata.get("fun_name", "?"))

    jax.monitoring.register_event_duration_secs_listener(heard)
    yield seen
    jax.monitoring.unregister_event_duration_listener(heard)


def reference_gradient(model, train, subject, u, h=1e-4):
    """Central differences of the reference loop's log-likelihood in unconstrained space (float64)."""
    def ll(v):
        return reference.subject_loglik(model, constrain(np, model.params, v), train, subject)
    return np.array([(ll(u + h * e) - ll(u - h * e)) / (2 * h) for e in np.eye(len(u))])


def test_probe_gives_each_subjects_training_likelihood_and_gradient():
    data = simulate(Q, TASKS["drift2"], None, n_subjects=2, n_sessions=3, n_trials=40, seed=11)
    points = np.random.default_rng(0).normal(0.0, 1.5, (2, 3, 2)).astype(np.float32)
    lls, grads = probe(Q, data, points, steps=100)
    train = split(data)[0]
    for s in range(2):
        for r in range(3):
            u = points[s, r].astype(np.float64)
            want = reference.subject_loglik(Q, constrain(np, Q.params, u), train, s)
            assert lls[s, r] == pytest.approx(want, rel=1e-4)
            np.testing.assert_allclose(grads[s, r], reference_gradient(Q, train, s, u), rtol=1e-2, atol=1e-3)


def test_a_fit_after_a_probe_of_the_same_shapes_compiles_nothing(xla_compiles):
    model = builtin_models.q_perseveration()    # a model object no other test has compiled for
    data = simulate(model, TASKS["drift2"], None, n_subjects=3, n_sessions=3, n_trials=60, seed=12)
    probe(model, data, np.zeros((3, 4, len(model.params)), np.float32), steps=100)
    assert "jit(run)" in xla_compiles           # the probe compiled the Adam chunk …
    xla_compiles.clear()
    result = fit(model, data, restarts=4, steps=100, progress=False)
    assert xla_compiles == []                   # … and the fit and its train/held-out scores reuse it
    assert all(math.isfinite(s.test.ll) for s in result.subjects)


def test_an_xla_option_this_jaxlib_lacks_falls_back_to_the_defaults(monkeypatch):
    from runtime.agents import fitting

    monkeypatch.setattr(fitting, "XLA_OPTIONS", {"xla_plmr_no_such_option": True})
    fitting._xla_options.cache_clear()
    try:
        assert fitting._xla_options() == {}
    finally:
        fitting._xla_options.cache_clear()
