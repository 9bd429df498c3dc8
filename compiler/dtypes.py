"""Dtype rules. Literals, index variables and dimensions are *weak* ("int", "float"): they take the
dtype of what they meet, as in JAX, so `x[i] * 2` stays f16 and `s[i, j] + (i - j)` stays f32."""

from __future__ import annotations

WEAK = ("int", "float")
_FLOAT_RANK = {"f16": 1, "bf16": 1, "f32": 2, "f64": 3}


def is_float(dtype: str) -> bool:
    return dtype == "float" or dtype in _FLOAT_RANK


def promote(a: str, b: str) -> str:
    """The dtype of a binary operation on a and b."""
    if a in WEAK and b in WEAK:
        return "float" if "float" in (a, b) else "int"
    if a in WEAK or b in WEAK:
        strong, weak = (b, a) if a in WEAK else (a, b)
        return "f32" if strong == "i32" and weak == "float" else strong
    if a == b:
        return a
    if a == "i32" or b == "i32":
        return b if a == "i32" else a
    if _FLOAT_RANK[a] == _FLOAT_RANK[b]:  # f16 with bf16
        return "f32"
    return a if _FLOAT_RANK[a] > _FLOAT_RANK[b] else b


def at_least_float(dtype: str) -> str:
    """The dtype of exp, log, / … of a value of this dtype."""
    if dtype == "int":
        return "float"
    return "f32" if dtype == "i32" else dtype


def concrete(dtype: str, want: str | None = None) -> str:
    """A weak dtype settled by its context `want`, or by the defaults f32 / i32."""
    if dtype not in WEAK:
        return dtype
    if want is not None and (want != "i32" or dtype == "int"):
        return want
    return "f32" if dtype == "float" else "i32"
