"""Agents written in the language: checking, the lowering to JAX against the reference
interpreter, the `sample` and `fit` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

import plmr
from design_examples import DESIGN_AGENT
from plmr.cli import main
from runtime.agents import builtin_models, likelihood, reference
from stdlib import ROOT

AGENT_FILES = sorted((ROOT / "agents").glob("*.plmr"))
DESIGN_EXAMPLE = DESIGN_AGENT


def _session(n_actions: int, rng: np.random.Generator, trials: int = 150):
    choices = rng.integers(-1, n_actions, size=trials)
    rewards = rng.random(trials).astype(np.float32)
    return choices, rewards, np.zeros(trials, bool)


def _jax_loglik(model, params, session) -> float:
    import jax.numpy as jnp

    params = {k: jnp.float32(v) for k, v in params.items()}
    return float(likelihood.session_loglik(model, params, *(jnp.asarray(a) for a in session)))


def _random_params(model, rng):
    from runtime.agents.model import constrain

    return {k: float(v) for k, v in constrain(np, model.params, rng.normal(size=len(model.params))).items()}


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.stem)
def test_every_stdlib_agent_jax_matches_reference(path):
    program = plmr.load(path)
    rng = np.random.default_rng(7)
    for name in program.agents:
        model = program.agent(name)
        for _ in range(3):
            params = _random_params(model, rng)
            session = _session(model.n_actions, rng)
            want = reference.session_loglik(model, params, *session)
            got = _jax_loglik(model, params, session)
            assert got == pytest.approx(want, rel=1e-6), (name, params)


def test_design_example_checks_and_equals_the_python_model():
    model = plmr.loads(DESIGN_EXAMPLE).agent("q_learning")
    python = builtin_models.q_perseveration()
    rng = np.random.default_rng(0)
    params = {"alpha": 0.4, "beta": 2.5, "kappa": -0.7}
    session = _session(2, rng, 300)
    assert reference.session_loglik(model, params, *session) == pytest.approx(
        reference.session_loglik(python, params, *session), rel=1e-6)
    assert [p.name for p in model.params] == ["alpha", "beta", "kappa"]
    assert [p.constraint for p in model.params] == ["unit", "positive", "real"]


def test_update_statements_run_in_order():
    """delta is computed from q before q changes; v sees the new q."""
    program = plmr.loads("""
agent ordered(actions = 2) {
  state q[a] = 0.5
  state v = 0
  logits[a] = q[a]
  update(c: choice, r: reward) {
    delta = r - q[c]
    q[a] = q[a] + delta * (a == c)
    v = q[c]
  }
}""")
    model = program.agent("ordered")
    q, v = model.update(np, {}, model.init_state(np, {}), 1, 1.0)
    assert np.allclose(q, [0.5, 1.0]) and float(v) == 1.0


BAD_AGENTS = [
    ("param alpha: unitt = 0.3", "E151", "unknown constraint unitt"),
    ("param beta: positive = -1", "E154", "default -1.0 of beta is outside positive"),
    ("param b: bounded(2, 1) = 1.5", "E152", "bounded needs two bounds"),
    ("logits = 1", "E133", "logits is computed with shape scalar but the logits is declared f32[2]"),
    ("w[a] = z[a]", "E124", "unknown tensor z"),
]


@pytest.mark.parametrize("line,code,message", BAD_AGENTS, ids=[b[1] for b in BAD_AGENTS])
def test_agent_diagnostics(line, code, message):
    text = f"agent bad(actions = 2) {{\n  {line}\n  logits[a] = 0\n  update(c: choice, r: reward) {{\n  }}\n}}\n"
    text = text.replace("  logits[a] = 0\n", "") if line.startswith("logits") else text
    with pytest.raises(plmr.PlmrError) as caught:
        plmr.loads(text, "bad.plmr")
    first = caught.value.diagnostics[0]
    assert (first.code, first.span.line) == (code, 2)
    assert message in first.message


def test_update_may_not_assign_a_parameter():
    with pytest.raises(plmr.PlmrError, match="the update assigns parameter alpha") as caught:
        plmr.loads("agent a(actions = 2) {\n  param alpha: unit\n  logits[a] = 0\n"
                   "  update(c: choice, r: reward) {\n    alpha = r\n  }\n}\n", "bad.plmr")
    assert caught.value.diagnostics[0].span.line == 5


def test_state_used_before_it_is_declared():
    with pytest.raises(plmr.PlmrError, match="unknown tensor q") as caught:
        plmr.loads("agent a(actions = 2) {\n  logits[a] = q[a]\n  state q[a] = 0\n"
                   "  update(c: choice, r: reward) {\n  }\n}\n", "bad.plmr")
    assert caught.value.diagnostics[0].span.line == 2


def test_agent_without_update_or_policy():
    with pytest.raises(plmr.PlmrError) as caught:
        plmr.loads("agent a(actions = 2) {\n  state q[a] = 0\n}\n", "bad.plmr")
    codes = [d.code for d in caught.value.diagnostics]
    assert codes == ["E156", "E157"]


def test_sample_then_fit_on_the_command_line(tmp_path, capsys):
    data = tmp_path / "data.csv"
    baselines = str(ROOT / "agents" / "baselines.plmr")
    assert main(["sample", baselines, "q_learning", "--subjects", "3", "--sessions", "2", "--trials", "60",
                 "--params", "alpha=0.4,beta=4", "--seed", "1", "--out", str(data)]) == 0
    rows = data.read_text().strip().splitlines()
    assert rows[0].startswith("subject,session,trial,choice,reward") and len(rows) == 1 + 3 * 2 * 60
    capsys.readouterr()
    plot = tmp_path / "fit.png"
    assert main(["fit", baselines, "q_learning", str(data), "--restarts", "2", "--json",
                 "--baseline", "random", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = json.loads(capsys.readouterr().out)
    assert out["agent"] == "q_learning" and len(out["subjects"]) == 3
    subject = out["subjects"][0]
    assert set(subject) >= {"subject", "params", "train", "test"} and set(subject["params"]) == {"alpha", "beta"}
    assert subject["test"]["nl"] == pytest.approx(np.exp(subject["test"]["ll"] / subject["test"]["trials"]))
    assert out["comparison"]["baseline"] == "random" and out["mean_test_nl"] > 0.5


def test_bad_data_names_the_line(tmp_path, capsys):
    data = tmp_path / "bad.csv"
    data.write_text("subject,session,trial,choice,reward\ns1,0,0,1,1.0\ns1,0,1,7,0.0\n")
    code = main(["fit", str(ROOT / "agents" / "baselines.plmr"), "q_learning", str(data)])
    err = capsys.readouterr().err
    assert code == 2 and f"{data}:3:" in err and "Traceback" not in err


def test_bad_params_and_unknown_agent(capsys, tmp_path):
    baselines = str(ROOT / "agents" / "baselines.plmr")
    assert main(["sample", baselines, "q_learning", "--params", "alpha=high", "--out", str(tmp_path / "x.csv")]) == 2
    assert "cannot read parameter setting 'alpha=high'" in capsys.readouterr().err
    assert main(["sample", baselines, "nope", "--out", str(tmp_path / "x.csv")]) == 2
    assert "has no agent 'nope'" in capsys.readouterr().err
