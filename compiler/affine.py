"""Affine integer expressions over named symbols: shapes (`N - K + 1`) and indices (`i + k`).

Kept canonical (terms sorted by name, no zero coefficients), so `==` is symbolic equality.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Affine:
    """Σ coefficient·symbol + const, with integer coefficients."""

    terms: tuple[tuple[str, int], ...] = ()
    const: int = 0

    @staticmethod
    def of(value: int | str) -> Affine:
        if isinstance(value, str):
            return Affine(((value, 1),), 0)
        return Affine((), int(value))

    @staticmethod
    def _make(coeffs: dict[str, int], const: int) -> Affine:
        return Affine(tuple(sorted((s, c) for s, c in coeffs.items() if c)), const)

    def __add__(self, other: Affine) -> Affine:
        coeffs = dict(self.terms)
        for s, c in other.terms:
            coeffs[s] = coeffs.get(s, 0) + c
        return Affine._make(coeffs, self.const + other.const)

    def __neg__(self) -> Affine:
        return Affine(tuple((s, -c) for s, c in self.terms), -self.const)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def scale(self, k: int) -> Affine:
        return Affine._make({s: c * k for s, c in self.terms}, self.const * k)

    def coeff(self, symbol: str) -> int:
        return dict(self.terms).get(symbol, 0)

    def symbols(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.terms)

    def without(self, symbol: str) -> Affine:
        return Affine(tuple(t for t in self.terms if t[0] != symbol), self.const)

    @property
    def is_const(self) -> bool:
        return not self.terms

    def evaluate(self, env: dict[str, int]) -> int:
        return self.const + sum(c * env[s] for s, c in self.terms)

    def __str__(self) -> str:
        parts: list[str] = []
        for s, c in sorted(self.terms, key=lambda t: t[1] < 0):  # positive terms first: N - K + 1
            mag = s if abs(c) == 1 else f"{abs(c)} * {s}"
            parts.append(("- " if c < 0 else "+ ") + mag)
        if self.const or not parts:
            parts.append(("- " if self.const < 0 else "+ ") + str(abs(self.const)))
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]
