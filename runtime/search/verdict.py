"""The verdict every verification returns: where the cascade stopped, the score, and feedback in plain
words fit for the next prompt. Plain data, so it crosses process boundaries and JSON logs unchanged."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dsl.diagnostics import InternalError, PlmrError

STAGES = ("extract", "parse", "check", "limits", "compile", "test", "score")
"""The verifier cascade, in order; a verdict names the stage it stopped at (a passing one: `score`)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of verifying one candidate; `score` is set (and finite) when `ok`. `details` should
    hold JSON-friendly values (numpy scalars and arrays are converted when logged)."""

    ok: bool
    stage: str
    score: float | None = None
    feedback: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise InternalError("Verdict", f"unknown stage {self.stage!r}; stages are {', '.join(STAGES)}")
        if self.ok and (self.score is None or not math.isfinite(self.score)):
            raise InternalError("Verdict", f"a passing verdict needs a finite score, not {self.score}")

    @classmethod
    def passed(cls, score: float, feedback: str = "", details: dict | None = None) -> Verdict:
        return cls(True, "score", float(score), feedback, dict(details or {}))

    @classmethod
    def failed(cls, stage: str, feedback: str, details: dict | None = None) -> Verdict:
        return cls(False, stage, None, feedback, dict(details or {}))

    @classmethod
    def from_error(cls, stage: str, err: PlmrError) -> Verdict:
        """A failure whose feedback is the rendered diagnostics (caret and all)."""
        diagnostics = [d.to_dict() for d in err.diagnostics]
        return cls.failed(stage, err.render(), {"diagnostics": diagnostics})

    def to_dict(self) -> dict:
        return {"ok": self.ok, "stage": self.stage, "score": self.score, "feedback": self.feedback,
                "details": self.details}

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        return cls(bool(data["ok"]), data["stage"], data.get("score"), data.get("feedback", ""),
                   dict(data.get("details") or {}))
