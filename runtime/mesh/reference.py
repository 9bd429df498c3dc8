"""What each built mesh program computes, in plain numpy: the oracle numeric runs are checked against."""

from __future__ import annotations

import numpy as np

from .numeric import MAPS


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rmsnorm(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def _layernorm(x: np.ndarray, eps: float) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps)


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool) -> np.ndarray:
    scores = q @ k.T / np.sqrt(q.shape[1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, -np.inf)
    return _softmax(scores) @ v


def _elementwise(fn: str):
    return lambda t, p: {"z": MAPS[fn](*(t[n] for n in ("x", "y") if n in t))}


REFERENCES = {
    "gemm": lambda t, p: {"C": t["A"] @ t["B"]},
    "gemm_bt": lambda t, p: {"C": t["A"] @ t["B"].T},
    "gemv": lambda t, p: {"y": t["W"] @ t["v"]},
    "softmax": lambda t, p: {"y": _softmax(t["x"])},
    "rmsnorm": lambda t, p: {"y": _rmsnorm(t["x"], p["eps"])},
    "layernorm": lambda t, p: {"y": _layernorm(t["x"], p["eps"])},
    "attention": lambda t, p: {"O": _attention(t["Q"], t["K"], t["V"], False)},
    "attention_causal": lambda t, p: {"O": _attention(t["Q"], t["K"], t["V"], True)},
    **{f"elementwise_{fn}": _elementwise(fn) for fn in MAPS},
}


def reference(name: str, inputs: dict[str, np.ndarray], params: dict[str, float]) -> dict[str, np.ndarray]:
    """The expected outputs of the program named by its `reference` field, computed in float64."""
    wide = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    with np.errstate(all="ignore"):
        return REFERENCES[name](wide, params)
