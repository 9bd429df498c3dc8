"""A FunSearch-style program database: islands evolve apart; within an island, programs cluster by
score signature; prompts sample good clusters (softmax over scores, temperature annealed) and short
programs within them; the weaker half of the islands is periodically reseeded from the stronger half.

All randomness is derived from (seed, counters), so the state is a pure function of the sequence of
registrations: a resumed run rebuilds it exactly by replaying its log."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsl.diagnostics import error

_RESET_STREAM = 1_000_003


@dataclass(frozen=True, slots=True)
class Program:
    """A verified program with its score; `id` names it in the run log."""

    source: str
    score: float
    id: str = ""


@dataclass(slots=True)
class _Island:
    """Mutable island state: clusters keyed by score signature, and how many programs arrived."""

    clusters: dict[float, list[Program]] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    registered: int = 0


class ProgramDatabase:
    """Islands of clustered programs; `direction` is "max" (higher is better) or "min"."""

    def __init__(self, islands: int = 6, *, direction: str = "max", seed: int = 0,
                 signature_digits: int = 6, temperature: float = 0.2, min_temperature: float = 0.02,
                 anneal_period: int = 1000, reset_every: int = 250):
        if islands < 1:
            raise error("E503", f"a program database needs at least one island, not {islands}")
        if direction not in ("max", "min"):
            raise error("E503", f"unknown score direction {direction!r}",
                        help='write "max" (higher is better) or "min" (lower is better)')
        self.direction, self.seed = direction, seed
        self.signature_digits = signature_digits
        self.temperature_range = (min_temperature, temperature)
        self.anneal_period, self.reset_every = anneal_period, reset_every
        self.islands = [_Island() for _ in range(islands)]
        self.registered = 0
        self.resets = 0
        self._draws = 0

    def quality(self, score: float) -> float:
        """The score turned so that higher is always better."""
        return score if self.direction == "max" else -score

    def signature(self, score: float) -> float:
        return float(f"{score:.{self.signature_digits}g}")

    def island_for(self, index: int) -> int:
        """The island a generation step works on: round-robin, so islands get equal turns."""
        return index % len(self.islands)

    def register(self, program: Program, island: int | None = None) -> None:
        """Add a verified program to one island, or to all of them (a seed program) when None."""
        if island is None:
            for isl in self.islands:
                _add(isl, program, self.signature(program.score))
            return
        _add(self.islands[island], program, self.signature(program.score))
        self.registered += 1
        if self.reset_every and self.registered % self.reset_every == 0:
            self.reset_weak_islands()

    def temperature(self, island: int) -> float:
        """Cluster-sampling temperature: anneals from high to low, then restarts, every period."""
        low, high = self.temperature_range
        phase = (self.islands[island].registered % self.anneal_period) / self.anneal_period
        return low + (high - low) * (1.0 - phase)

    def prompt_examples(self, island: int, k: int, rng: np.random.Generator | None = None) -> list[Program]:
        """k programs from distinct clusters of an island, sampled towards the best, worst first."""
        clusters = self.islands[island].clusters
        if not clusters or k <= 0:
            return []
        rng = rng if rng is not None else self._next_rng(island)
        signatures = list(clusters)
        qualities = np.array([self.quality(s) for s in signatures])
        probs = _softmax(_unit_range(qualities), self.temperature(island))
        chosen = rng.choice(len(signatures), size=min(k, len(signatures)), replace=False, p=probs)
        picks = [_shortest_biased(clusters[signatures[i]], rng) for i in chosen]
        return sorted(picks, key=lambda p: self.quality(p.score))

    def top(self, island: int, k: int) -> list[Program]:
        """The k best programs of an island (shortest of equal score first chosen), worst first."""
        programs = [p for ps in self.islands[island].clusters.values() for p in ps]
        ranked = sorted(programs, key=lambda p: (-self.quality(p.score), len(p.source)))[:k]
        return ranked[::-1]

    def best(self, island: int | None = None) -> Program | None:
        """The best program of one island or of all; ties go to the shorter source."""
        islands = self.islands if island is None else [self.islands[island]]
        programs = [p for isl in islands for ps in isl.clusters.values() for p in ps]
        return max(programs, key=lambda p: (self.quality(p.score), -len(p.source)), default=None)

    def reset_weak_islands(self) -> None:
        """Empty the weaker half of the islands; reseed each with the best of a random survivor."""
        rng = np.random.default_rng([self.seed, _RESET_STREAM, self.resets])
        self.resets += 1
        best = [self.best(i) for i in range(len(self.islands))]
        strength = np.array([-np.inf if p is None else self.quality(p.score) for p in best])
        order = np.argsort(strength + rng.standard_normal(len(best)) * 1e-9, kind="stable")
        weak, survivors = order[: len(order) // 2], order[len(order) // 2:]
        for i in weak:
            self.islands[i] = _Island()
            founder = best[int(rng.choice(survivors))]
            if founder is not None:
                _add(self.islands[i], founder, self.signature(founder.score))

    def stats(self) -> list[dict]:
        """Per island: programs, clusters and best score (for summaries and progress)."""
        out = []
        for i, isl in enumerate(self.islands):
            best = self.best(i)
            out.append({"island": i, "programs": sum(len(ps) for ps in isl.clusters.values()),
                        "clusters": len(isl.clusters), "best": None if best is None else best.score})
        return out

    def _next_rng(self, island: int) -> np.random.Generator:
        self._draws += 1
        return np.random.default_rng([self.seed, island, self._draws])


def _add(island: _Island, program: Program, signature: float) -> None:
    if program.source in island.sources:
        return
    island.sources.add(program.source)
    island.clusters.setdefault(signature, []).append(program)
    island.registered += 1


def _unit_range(values: np.ndarray) -> np.ndarray:
    """Values mapped onto [0, 1], so the temperature means the same for cycles and likelihoods."""
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    e = np.exp(z - z.max()) + 1e-12
    return e / e.sum()


def _shortest_biased(programs: list[Program], rng: np.random.Generator) -> Program:
    """A program of a cluster, shorter ones more likely (as FunSearch does)."""
    lengths = np.array([len(p.source) for p in programs], dtype=float)
    normalised = (lengths - lengths.min()) / (lengths.max() - lengths.min() + 1e-6)
    return programs[int(rng.choice(len(programs), p=_softmax(-normalised, 1.0)))]
