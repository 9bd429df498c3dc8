"""Maximum-likelihood fitting of agents: Adam (optax) over subjects x restarts in one jitted call.

Parameters are optimised in unconstrained space (see `runtime.agents.model.constrain`); the loss of
one problem is the mean negative log-likelihood per scored training trial. Every (subject, restart)
pair is an independent lane, all of them `vmap`ed together inside one scan over trials; the
optimisation runs in jitted chunks of steps so a progress bar can move.

Compiling is most of the cost of fitting a small agent once (a verifier does it for every candidate),
so one jitted function does nearly everything: the Adam chunk takes its step count as an argument,
and one step of it with unit trial counts gives the log-likelihood and gradient at given points
(`probe`, and the train and held-out scores of a per-subject fit).

Why Adam and not optax.lbfgs: vmapped over problems, L-BFGS's zoom line search runs until the
slowest lane is done, and lanes stuck on a plateau (alpha -> 0, beta -> inf) keep it at its step
cap on every iteration: 10-15x slower than a fixed schedule of Adam steps reaching the same optimum
(measured on 20 subjects x 8 restarts; the agreement with scipy's L-BFGS-B is checked by
benchmarks/bench_agent_fit.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from dsl.diagnostics import error
from runtime.agents.data import Dataset, split
from runtime.agents.model import AgentModel, ParamSpec, check_model, constrain, unconstrain
from runtime.agents.score import FitResult, Score, SubjectFit

CHUNK_STEPS = 50
LEARNING_RATE = 0.2          # Adam's first step size, in unconstrained units
FINAL_RATE_FRACTION = 0.01   # the step size decays exponentially to this fraction at the last step
# XLA's older CPU fusion emitters compile an agent's Adam chunk in about half the time of the default
# (MLIR) ones, with the same results bit for bit and no slower runs (benchmarks/bench_verify.py)
XLA_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


@dataclass(frozen=True, slots=True)
class _Problems:
    """Training arrays with a leading problem axis: one problem per subject, or one for all (shared)."""

    choices: np.ndarray
    rewards: np.ndarray
    instructed: np.ndarray
    trials: np.ndarray

    def arrays(self) -> tuple:
        return self.choices, self.rewards, self.instructed, self.trials


def fit(model: AgentModel, data: Dataset, *, restarts: int = 8, shared: bool = False, seed: int = 0,
        steps: int = 500, progress: bool = True, split_by: str = "even-odd") -> FitResult:
    """Fit `model` to the training sessions of `data` and score it on train and held-out sessions.

    restarts: random starting points per problem (the first is the declared defaults); the best
    finite one wins. shared: one parameter set for all subjects instead of one per subject.
    steps: Adam steps per problem, rounded up to a multiple of 50; the step size decays from 0.2 to
    0.002 over them.
    """
    _check_inputs(model, data, restarts, steps)
    steps = _whole_chunks(steps)
    train, test = split(data, split_by)
    problems = _problems(train, shared)
    start = _initial_points(model.params, len(problems.trials), restarts, seed)
    u, losses = _optimise(model, problems, start, steps, progress)
    names = ["all subjects (shared)"] if shared else list(data.subjects)
    best, finite = _pick_best(model, names, u, losses)
    if shared:
        best = np.repeat(best, len(data.subjects), axis=0)
        finite = np.repeat(finite, len(data.subjects))
    return _result(model, data, (train, test), best, finite, restarts, steps, shared)


def probe(model: AgentModel, data: Dataset, points: np.ndarray, *, steps: int = 500,
          split_by: str = "even-odd") -> tuple[np.ndarray, np.ndarray]:
    """Each subject's training log-likelihood [S, R] and its gradient [S, R, P] at unconstrained
    points [S, R, P].

    Computed by the compiled Adam chunk that `fit(model, data, restarts=R, steps=steps)` runs, so a
    verifier that probes a candidate before fitting it compiles nothing the fit would not compile.
    """
    _check_inputs(model, data, points.shape[1], steps)
    problems = _problems(split(data, split_by)[0], shared=False)
    return _evaluate(_solver(model, _whole_chunks(steps)), points, problems.arrays()[:3])


def _check_inputs(model: AgentModel, data: Dataset, restarts: int, steps: int) -> None:
    check_model(model)
    top = int(data.choices.max(initial=-1))
    if top >= model.n_actions:
        raise error("E861", f"the data has choice {top} but agent {model.name} has {model.n_actions} actions",
                    help=f"fit an agent declared with actions = {top + 1} or more")
    for name, value in (("restarts", restarts), ("steps", steps)):
        if not isinstance(value, int) or value < 1:
            raise error("E862", f"{name} must be a positive integer, not {value!r}",
                        help=f"ask for at least one of the {name}")


def _whole_chunks(steps: int) -> int:
    return -(-steps // CHUNK_STEPS) * CHUNK_STEPS


def _problems(train: Dataset, shared: bool) -> _Problems:
    choices, rewards, instructed = train.choices, train.rewards, train.instructed
    if shared:
        choices, rewards, instructed = (a.reshape((1, -1) + a.shape[2:])
                                        for a in (choices, rewards, instructed))
    trials = ((choices >= 0) & ~instructed).sum(axis=(1, 2)).astype(np.float32)
    return _Problems(choices, rewards, instructed, trials)


def _initial_points(specs: tuple[ParamSpec, ...], n_problems: int, restarts: int, seed: int) -> np.ndarray:
    """Unconstrained starts [B, R, P]: restart 0 at the defaults, the others drawn at random."""
    rng = np.random.default_rng(seed)
    points = np.empty((n_problems, restarts, len(specs)))
    points[:, 0] = unconstrain(specs, {s.name: s.default for s in specs})
    for b in range(n_problems):
        for r in range(1, restarts):
            points[b, r] = unconstrain(specs, {s.name: _random_value(s, rng) for s in specs})
    return points


def _random_value(spec: ParamSpec, rng: np.random.Generator) -> float:
    if spec.constraint == "unit":
        return rng.uniform(0.05, 0.95)
    if spec.constraint == "positive":
        return float(np.exp(rng.uniform(np.log(0.3), np.log(10.0))))
    if spec.constraint == "bounded":
        return spec.low + (spec.high - spec.low) * rng.uniform(0.05, 0.95)
    return rng.normal(0.0, 1.0)


def _optimise(model: AgentModel, problems: _Problems, start: np.ndarray, steps: int, progress: bool):
    """Final unconstrained points [B, R, P] and their losses [B, R] after `steps` Adam steps."""
    import jax

    solver = _solver(model, steps)
    if not model.params:  # nothing to fit: the loss is the log-likelihood at the (empty) parameters
        ll, _ = _evaluate(solver, start, problems.arrays()[:3])
        return start, -ll / np.maximum(problems.trials, 1.0)[:, None]
    data = jax.device_put(problems.arrays())
    u = _on_device(start)
    state = solver.init(u)
    with _progress_bar(model, steps, progress) as bar:
        for done in range(0, steps, CHUNK_STEPS):
            u, state, loss, _ = solver.run(u, state, CHUNK_STEPS, *data)
            bar.update(min(CHUNK_STEPS, steps - done))
    return np.asarray(u), np.asarray(loss)


def _evaluate(solver: _Solver, points: np.ndarray, arrays: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Summed log-likelihood [B, R] and its gradient [B, R, P] at points [B, R, P] of sessions [B, N, T].

    One step of the compiled Adam chunk with every trial count set to 1: the loss it reports is
    minus the summed log-likelihood, and no second function has to be compiled to get it.
    """
    import jax

    u = _on_device(points)
    ones = np.ones(len(points), dtype=np.float32)
    _, _, loss, grad = solver.run(u, solver.init(u), 1, *jax.device_put((*arrays, ones)))
    return -np.asarray(loss), -np.asarray(grad)


def _on_device(points: np.ndarray):
    """Points as a JAX array of JAX's float type, converted by numpy and copied (numpy arrays go to
    the device by `device_put`: jnp.asarray and jnp.ones compile a small function for each new shape)."""
    import jax

    return jax.device_put(np.asarray(points, dtype=jax.numpy.result_type(float)))


def _progress_bar(model: AgentModel, steps: int, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=f"fitting {model.name}", unit="step", disable=not progress, leave=False)


def _pick_best(model: AgentModel, names: list[str], u: np.ndarray, losses: np.ndarray):
    """The best finite restart per problem [B, P] and how many restarts ended finite [B]."""
    finite = np.isfinite(losses) & np.all(np.isfinite(u), axis=-1)
    failed = [name for name, ok in zip(names, finite.any(axis=1), strict=True) if not ok]
    if failed:
        raise error("E860", f"the likelihood of agent {model.name} is not finite at any restart "
                    f"for {', '.join(failed[:5])}", help="check the agent for overflow (e.g. exp of a "
                    "large value) or division by zero, or use more restarts")
    best = np.argmin(np.where(finite, losses, np.inf), axis=1)
    return u[np.arange(len(u)), best], finite.sum(axis=1)


def _result(model: AgentModel, data: Dataset, splits: tuple[Dataset, Dataset], best: np.ndarray,
            finite: np.ndarray, restarts: int, steps: int, shared: bool) -> FitResult:
    train_ll, test_ll = _split_logliks(model, steps, best, splits, restarts, shared)
    subjects = []
    for s, name in enumerate(data.subjects):
        params = {k: float(v) for k, v in constrain(np, model.params, best[s].astype(np.float64)).items()}
        scores = [Score(float(ll[s]), int(part.trials_per_subject()[s]))
                  for ll, part in zip((train_ll, test_ll), splits, strict=True)]
        subjects.append(SubjectFit(name, params, scores[0], scores[1], int(finite[s])))
    return FitResult(model.name, tuple(subjects), shared, restarts, steps)


def _split_logliks(model: AgentModel, steps: int, best: np.ndarray, splits: tuple[Dataset, Dataset],
                   restarts: int, shared: bool) -> list[np.ndarray]:
    """Per-subject summed log-likelihoods [S] of each split at the fitted points best[S, P].

    Per-subject fits evaluate on the Adam chunk already compiled for the fit's shapes [S, R, N, T]
    (the held-out sessions padded with masked ones to the training count); a shared fit's chunk has
    one problem, so per-subject scores need the log-likelihood function of their own.
    """
    import jax

    solver = _solver(model, steps)
    if shared:
        u = _on_device(best[:, None])
        return [np.asarray(solver.loglik(u, *jax.device_put(_arrays(part))))[:, 0] for part in splits]
    points = np.repeat(best[:, None], restarts, axis=1)
    sessions = splits[0].choices.shape[1]
    return [_evaluate(solver, points, _arrays(part, sessions))[0][:, 0] for part in splits]


def _arrays(part: Dataset, sessions: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A split's (choices, rewards, instructed), padded with masked sessions to at least `sessions`."""
    pad = ((0, 0), (0, max(0, sessions - part.choices.shape[1])), (0, 0))
    return (np.pad(part.choices, pad, constant_values=-1), np.pad(part.rewards, pad),
            np.pad(part.instructed, pad))


@dataclass(frozen=True, slots=True)
class _Solver:
    """Jitted functions for one model; arrays carry a problem axis B and a restart axis R."""

    init: object      # u[B, R, P] -> optimiser state
    run: object       # (u, state, steps, choices, rewards, instructed, trials) -> (u, state, loss[B, R],
                      # grad[B, R, P]) after `steps` Adam steps; loss and grad are the last step's, before its update
    loglik: object    # (u[B, R, P], choices, rewards, instructed) -> summed log-likelihood [B, R];
                      # only a shared fit's per-subject scores need it


@functools.lru_cache(maxsize=16)
def _solver(model: AgentModel, steps: int) -> _Solver:
    """Build (once per model and step count) the jitted Adam chunk and log-likelihood functions."""
    import jax
    import optax

    from runtime.agents.likelihood import problems_loglik

    optimiser = _optimiser(steps)

    def objective(u, choices, rewards, instructed, trials):
        """The losses [B, R] summed (lanes are independent, so the gradient is each lane's own), and
        each lane's loss as the auxiliary output."""
        ll = problems_loglik(model, u, choices, rewards, instructed)
        losses = -ll / jax.numpy.maximum(trials, 1.0)[:, None]
        return losses.sum(), losses

    def step(_, carry, data):
        u, state, _, _ = carry
        (_, losses), grad = jax.value_and_grad(objective, has_aux=True)(u, *data)
        updates, state = optimiser.update(grad, state, u)
        return optax.apply_updates(u, updates), state, losses, grad

    def run(u, state, steps, *data):
        """Adam steps (a traced count, so one compile serves a whole chunk and a single evaluation);
        also the loss and gradient at the last step, before its update: the losses that rank
        restarts, and the likelihood and gradient at given points, need no function of their own."""
        start = (u, state, jax.numpy.zeros(u.shape[:2], u.dtype), jax.numpy.zeros_like(u))
        return jax.lax.fori_loop(0, steps, functools.partial(step, data=data), start)

    options = _xla_options()
    return _Solver(_init(steps), jax.jit(run, compiler_options=options),
                   jax.jit(functools.partial(problems_loglik, model), compiler_options=options))


@functools.cache
def _xla_options() -> dict:
    """XLA_OPTIONS if this jaxlib still has them (they are XLA internals), else XLA's defaults."""
    import jax

    try:
        jax.jit(lambda x: x + 1, compiler_options=XLA_OPTIONS)(0.0)
    except Exception:  # noqa: BLE001 - jaxlib reports an unknown option in more than one way
        return {}
    return XLA_OPTIONS


@functools.lru_cache(maxsize=4)
def _optimiser(steps: int):
    import optax

    schedule = optax.exponential_decay(LEARNING_RATE, transition_steps=steps, decay_rate=FINAL_RATE_FRACTION)
    return optax.adam(schedule)


@functools.lru_cache(maxsize=4)
def _init(steps: int):
    """The jitted optimiser initialisation (Adam works elementwise, so one state serves every lane); it
    does not depend on the model, so it compiles once per process and array shape, not once per agent."""
    import jax

    return jax.jit(_optimiser(steps).init)
