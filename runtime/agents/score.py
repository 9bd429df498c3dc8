"""Fit results and scores: normalized likelihood per subject, its mean, the pooled NL, Wilcoxon tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dsl.diagnostics import error


@dataclass(frozen=True, slots=True)
class Score:
    """The summed log-likelihood of a subject's scored trials, and how many there were."""

    ll: float
    trials: int

    @property
    def nl(self) -> float:
        """exp(ll / trials): the geometric-mean probability of the choices (NaN without trials)."""
        return math.exp(self.ll / self.trials) if self.trials else math.nan

    def to_dict(self) -> dict:
        return {"ll": _json_float(self.ll), "nl": _json_float(self.nl), "trials": self.trials}


@dataclass(frozen=True, slots=True)
class SubjectFit:
    """One subject's fitted (constrained) parameters and its train and test scores."""

    subject: str
    params: dict[str, float]
    train: Score
    test: Score
    finite_restarts: int

    def to_dict(self) -> dict:
        return {"subject": self.subject, "params": dict(self.params), "train": self.train.to_dict(),
                "test": self.test.to_dict(), "finite_restarts": self.finite_restarts}


@dataclass(frozen=True, slots=True)
class FitResult:
    """A whole fit: the agent, one `SubjectFit` per subject, and how the fit was run."""

    agent: str
    subjects: tuple[SubjectFit, ...]
    shared: bool
    restarts: int
    steps: int

    @property
    def mean_test_nl(self) -> float:
        """Mean over subjects (with test trials) of the held-out normalized likelihood."""
        values = [s.test.nl for s in self.subjects if s.test.trials]
        return sum(values) / len(values) if values else math.nan

    @property
    def pooled_test_nl(self) -> float:
        """exp(total held-out ll / total held-out trials): every trial weighs the same."""
        return pooled_nl([s.test for s in self.subjects])

    @property
    def mean_train_nl(self) -> float:
        values = [s.train.nl for s in self.subjects if s.train.trials]
        return sum(values) / len(values) if values else math.nan

    def to_dict(self) -> dict:
        return {"agent": self.agent, "subjects": [s.to_dict() for s in self.subjects],
                "mean_test_nl": _json_float(self.mean_test_nl),
                "pooled_test_nl": _json_float(self.pooled_test_nl),
                "mean_train_nl": _json_float(self.mean_train_nl),
                "shared": self.shared, "restarts": self.restarts, "steps": self.steps}


def pooled_nl(scores: list[Score]) -> float:
    trials = sum(s.trials for s in scores)
    return math.exp(sum(s.ll for s in scores) / trials) if trials else math.nan


def _json_float(value: float) -> float | None:
    """JSON has no NaN: a missing score is null."""
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Paired comparison of held-out NL over subjects: candidate against baseline."""

    candidate: str
    baseline: str
    n_subjects: int
    candidate_better: int
    mean_difference: float
    statistic: float
    p_value: float

    def to_dict(self) -> dict:
        return {"candidate": self.candidate, "baseline": self.baseline, "n_subjects": self.n_subjects,
                "candidate_better": self.candidate_better, "mean_nl_difference": self.mean_difference,
                "wilcoxon_statistic": self.statistic, "p_value": self.p_value}


def compare(candidate: FitResult, baseline: FitResult) -> Comparison:
    """Two-sided paired Wilcoxon signed-rank test of per-subject held-out NL (scipy.stats.wilcoxon)."""
    from scipy.stats import wilcoxon

    pairs = _paired_test_nl(candidate, baseline)
    diffs = [a - b for a, b in pairs]
    if all(d == 0 for d in diffs):
        statistic, p_value = math.nan, 1.0
    else:
        test = wilcoxon([a for a, _ in pairs], [b for _, b in pairs])
        statistic, p_value = float(test.statistic), float(test.pvalue)
    return Comparison(candidate.agent, baseline.agent, len(pairs), sum(d > 0 for d in diffs),
                      sum(diffs) / len(diffs), statistic, p_value)


def _paired_test_nl(candidate: FitResult, baseline: FitResult) -> list[tuple[float, float]]:
    names = [s.subject for s in candidate.subjects]
    if names != [s.subject for s in baseline.subjects]:
        raise error("E870", f"fits of {candidate.agent} and {baseline.agent} are over different subjects",
                    help="fit both agents to the same data before comparing them")
    pairs = [(a.test.nl, b.test.nl) for a, b in zip(candidate.subjects, baseline.subjects, strict=True)
             if a.test.trials and b.test.trials]
    if not pairs:
        raise error("E871", "no subject has held-out trials to compare",
                    help="give each subject at least two sessions, so odd sessions form a test set")
    return pairs
