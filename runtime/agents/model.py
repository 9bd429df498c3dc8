"""The plain-Python interface between an agent's lowering and the fitting engine.

An `AgentModel` is plain data plus three pure functions written against an array namespace `xp`
(numpy for the reference loop, jax.numpy for the compiled path), so one definition serves both:

- ``init_state(xp, params) -> state``: the state at the start of every session, a tuple of arrays;
- ``logits(xp, params, state) -> array[n_actions]``: the policy before the trial's choice;
- ``update(xp, params, state, choice, reward) -> state``: the state after observing (choice, reward).

``params`` is a dict from parameter name to a scalar in constrained space. The functions see one
session's state (no batch axis); the engine batches them with ``jax.vmap`` and runs them inside
``lax.scan``, so under JAX every argument may be a tracer: no Python ``if`` on values (use
``xp.where``), and ``update`` must return arrays of the same shapes as ``init_state`` (dtypes are
cast back). ``choice`` is an integer scalar, always a valid action index in [0, n_actions) when
``update`` is called; ``reward`` is a float scalar.

Trial semantics (DESIGN.md §3): on each trial the choice is scored with ``log_softmax(logits)[c]``
unless c = -1 (masked: padding or a missing response) or the trial is instructed (a forced choice:
seen, not scored). The update runs when c >= 0, instructed or not; a masked trial leaves the state
unchanged, so padding at the end of a session and gaps in its middle are treated alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dsl.diagnostics import error

CONSTRAINTS = ("unit", "positive", "real", "bounded")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One fitted parameter: its name, the set it lives in, and its default value."""

    name: str
    constraint: str
    default: float
    low: float | None = None
    high: float | None = None

    def contains(self, value: float) -> bool:
        """Whether a constrained value lies strictly inside this parameter's set."""
        if not math.isfinite(value):
            return False
        if self.constraint == "unit":
            return 0.0 < value < 1.0
        if self.constraint == "positive":
            return value > 0.0
        if self.constraint == "bounded":
            return self.low < value < self.high
        return True

    def describe(self) -> str:
        if self.constraint == "bounded":
            return f"in ({self.low}, {self.high})"
        return {"unit": "in (0, 1)", "positive": "in (0, inf)", "real": "a finite number"}[self.constraint]


@dataclass(frozen=True, slots=True)
class AgentModel:
    """An agent as the fitting engine sees it: a name, the action count, parameters, pure functions."""

    name: str
    n_actions: int
    params: tuple[ParamSpec, ...]
    init_state: Callable
    logits: Callable
    update: Callable

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}


def constrain(xp, specs: Sequence[ParamSpec], u) -> dict:
    """Map an unconstrained vector u[P] to a dict of constrained scalars."""
    return {spec.name: _to_constrained(xp, spec, u[i]) for i, spec in enumerate(specs)}


def _to_constrained(xp, spec: ParamSpec, x):
    if spec.constraint == "unit":
        return _sigmoid(xp, x)
    if spec.constraint == "positive":
        return xp.logaddexp(0.0, x)
    if spec.constraint == "bounded":
        return spec.low + (spec.high - spec.low) * _sigmoid(xp, x)
    return x


def _sigmoid(xp, x):
    """The logistic function via tanh: no overflow, and a finite gradient for any x."""
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def unconstrain(specs: Sequence[ParamSpec], values: Mapping[str, float]) -> np.ndarray:
    """The inverse of `constrain` for values inside their sets (numpy, float64)."""
    return np.array([_to_unconstrained(s, float(values[s.name])) for s in specs])


def _to_unconstrained(spec: ParamSpec, y: float) -> float:
    if spec.constraint == "unit":
        return math.log(y) - math.log1p(-y)
    if spec.constraint == "positive":
        return y + math.log(-math.expm1(-y))
    if spec.constraint == "bounded":
        t = (y - spec.low) / (spec.high - spec.low)
        return math.log(t) - math.log1p(-t)
    return y


def check_model(model: AgentModel) -> None:
    """Reject a model whose parameter declarations the engine cannot fit."""
    if model.n_actions < 2:
        raise error("E850", f"agent {model.name} has {model.n_actions} action(s); it needs at least 2",
                    help="declare the agent with actions = 2 or more")
    seen: set[str] = set()
    for spec in model.params:
        _check_spec(model.name, spec, seen)
        seen.add(spec.name)


def _check_spec(agent: str, spec: ParamSpec, seen: set[str]) -> None:
    where = f"parameter {spec.name} of agent {agent}"
    if spec.name in seen:
        raise error("E851", f"{where} is declared twice", help="give each parameter one declaration")
    if spec.constraint not in CONSTRAINTS:
        raise error("E852", f"{where} has unknown constraint {spec.constraint!r}",
                    help="use one of: " + ", ".join(CONSTRAINTS))
    bounded = spec.constraint == "bounded"
    if bounded and not (spec.low is not None and spec.high is not None and spec.low < spec.high):
        raise error("E853", f"{where} is bounded but its range ({spec.low}, {spec.high}) is empty",
                    help="give a bounded parameter a low end below its high end")
    if not spec.contains(spec.default):
        raise error("E854", f"{where} has default {spec.default}, which is not {spec.describe()}",
                    help="choose a default strictly inside the parameter's set")


def resolve_params(model: AgentModel, given: Mapping[str, float | Sequence[float]] | None,
                   n_subjects: int) -> list[dict[str, float]]:
    """Per-subject constrained parameters: defaults, overridden by scalars or per-subject sequences."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(model.param_names))
    if unknown:
        raise error("E855", f"agent {model.name} has no parameter named {', '.join(unknown)}",
                    help="its parameters are: " + (", ".join(model.param_names) or "(none)"))
    columns = {s.name: _param_column(model.name, s, given.get(s.name, s.default), n_subjects)
               for s in model.params}
    return [{name: col[i] for name, col in columns.items()} for i in range(n_subjects)]


def _param_column(agent: str, spec: ParamSpec, value, n_subjects: int) -> list[float]:
    if np.ndim(value) != 0 and len(value) != n_subjects:
        raise error("E856", f"parameter {spec.name} of agent {agent} has {len(value)} values "
                    f"for {n_subjects} subjects", help="give one value, or one value per subject")
    values = [float(v) for v in np.broadcast_to(np.asarray(value, dtype=float), (n_subjects,))]
    bad = [v for v in values if not spec.contains(v)]
    if bad:
        raise error("E857", f"agent {agent}: parameter {spec.name} = {bad[0]} is not {spec.describe()}",
                    help=f"choose {spec.name} {spec.describe()}")
    return values


def parse_params(text: str) -> dict[str, float]:
    """Read "alpha=0.3,beta=4" (as given on a command line) into a dict; names are checked later."""
    out: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = (s.strip() for s in item.partition("="))
        try:
            number = float(value)
        except ValueError:
            number = None
        if not equals or not name.isidentifier() or number is None:
            raise error("E858", f"cannot read parameter setting {item!r}",
                        help="write name=value pairs separated by commas, e.g. alpha=0.3,beta=4")
        out[name] = number
    return out
