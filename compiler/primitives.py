"""Every elementwise primitive, defined once: its surface name, arity, kind, numpy meaning and JAX form.

The reference interpreter takes `numpy`, the JAX lowering takes `jax`; a test checks that every
primitive has both. `kind` drives the checker's dtype rule:
  arith    result in the promoted dtype of the arguments
  float    the promoted dtype, at least f32 when the arguments are integers
  compare  1 or 0 in the promoted dtype of the arguments
  select   where(c, a, b): the promoted dtype of a and b
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True, slots=True)
class Primitive:
    name: str
    arity: int
    kind: str
    numpy: Callable
    jax: str  # a format string over the argument expressions {0}, {1}, {2}


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _erf(x):
    from scipy.special import erf  # the reference only; scipy loads slowly

    return erf(x)


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _cmp(fn):
    return lambda a, b: fn(a, b).astype(np.result_type(a, b))


_TABLE = [
    # operators (surface form in parentheses)
    Primitive("neg", 1, "arith", np.negative, "(-{0})"),
    Primitive("add", 2, "arith", np.add, "({0} + {1})"),
    Primitive("sub", 2, "arith", np.subtract, "({0} - {1})"),
    Primitive("mul", 2, "arith", np.multiply, "({0} * {1})"),
    Primitive("div", 2, "arith", np.true_divide, "({0} / {1})"),
    Primitive("floordiv", 2, "arith", np.floor_divide, "jnp.floor_divide({0}, {1})"),
    Primitive("pow", 2, "arith", np.power, "jnp.power({0}, {1})"),
    Primitive("eq", 2, "compare", _cmp(np.equal), "({0} == {1})"),
    Primitive("ne", 2, "compare", _cmp(np.not_equal), "({0} != {1})"),
    Primitive("lt", 2, "compare", _cmp(np.less), "({0} < {1})"),
    Primitive("le", 2, "compare", _cmp(np.less_equal), "({0} <= {1})"),
    Primitive("gt", 2, "compare", _cmp(np.greater), "({0} > {1})"),
    Primitive("ge", 2, "compare", _cmp(np.greater_equal), "({0} >= {1})"),
    # functions
    Primitive("where", 3, "select", lambda c, a, b: np.where(c != 0, a, b), "jnp.where({0} != 0, {1}, {2})"),
    Primitive("maximum", 2, "arith", np.maximum, "jnp.maximum({0}, {1})"),
    Primitive("minimum", 2, "arith", np.minimum, "jnp.minimum({0}, {1})"),
    Primitive("abs", 1, "arith", np.abs, "jnp.abs({0})"),
    Primitive("relu", 1, "arith", lambda x: np.maximum(x, np.zeros((), x.dtype)), "jax.nn.relu({0})"),
    Primitive("exp", 1, "float", np.exp, "jnp.exp({0})"),
    Primitive("log", 1, "float", np.log, "jnp.log({0})"),
    Primitive("sqrt", 1, "float", np.sqrt, "jnp.sqrt({0})"),
    Primitive("rsqrt", 1, "float", lambda x: 1.0 / np.sqrt(x), "lax.rsqrt({0})"),
    Primitive("tanh", 1, "float", np.tanh, "jnp.tanh({0})"),
    Primitive("sigmoid", 1, "float", _sigmoid, "jax.nn.sigmoid({0})"),
    Primitive("softplus", 1, "float", _softplus, "jax.nn.softplus({0})"),
    Primitive("erf", 1, "float", _erf, "jax.scipy.special.erf({0})"),
    Primitive("sin", 1, "float", np.sin, "jnp.sin({0})"),
    Primitive("cos", 1, "float", np.cos, "jnp.cos({0})"),
]

PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _TABLE}

# Surface syntax → primitive name.
BINARY_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "==": "eq", "!=": "ne",
              "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
OPERATORS = frozenset(("neg", "floordiv", *BINARY_OPS.values()))
FUNCTIONS = {name: p for name, p in PRIMITIVES.items() if name not in OPERATORS}

# Reductions: identity element (for empty ranges), numpy reducer, jnp reducer name.
REDUCERS = {
    "sum": (0.0, np.sum, "sum"),
    "prod": (1.0, np.prod, "prod"),
    "max": (-np.inf, np.max, "max"),
    "min": (np.inf, np.min, "min"),
}
