"""The shape of a verifier: named stages run in order, each fed the previous stage's result, stopping
at the first failure. Language-independent, so the real verifier only supplies the stage functions.

    verdict = run_cascade(reply, [("extract", extract_candidate), ("parse", parse), ("check", check),
                                  ("limits", enforce_limits), ("compile", compile_), ("test", test),
                                  ("score", score)])

A stage fails by raising PlmrError (its rendered diagnostics become the feedback) or by returning a
failing Verdict (for feedback of its own, such as a counterexample). The last stage returns the score,
or a passing Verdict when it has details to add.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dsl.diagnostics import InternalError, PlmrError
from runtime.search.extract import NoCandidateError
from runtime.search.verdict import STAGES, Verdict
from runtime.search.worker import enter_stage


def run_cascade(text: str, stages: Sequence[tuple[str, Callable]]) -> Verdict:
    """Run `stages` on `text` in order; the verdict names the stage that failed, or the score."""
    _check_order([name for name, _ in stages])
    value = text
    for name, stage in stages:
        enter_stage(name)
        try:
            value = stage(value)
        except NoCandidateError as missing:
            return missing.verdict
        except PlmrError as err:
            return Verdict.from_error(name, err)
        if isinstance(value, Verdict) and not value.ok:
            return value
    return value if isinstance(value, Verdict) else Verdict.passed(value)


def _check_order(names: list[str]) -> None:
    """Stages must be known and in cascade order (a plmr bug otherwise, not a user error)."""
    unknown = [n for n in names if n not in STAGES]
    positions = [STAGES.index(n) for n in names if n in STAGES]
    if unknown or positions != sorted(set(positions)) or not names:
        raise InternalError("run_cascade", f"stages {names} must be a non-empty ordered subset of {STAGES}")
