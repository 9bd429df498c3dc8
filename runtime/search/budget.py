"""How long a search may run: wall-clock seconds and/or a number of verified candidates, counted over
the whole run (a resumed run continues the same budget, so re-running one command finishes the job)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsl.diagnostics import error

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[hms])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_HELP = "write a duration (90s, 10m, 1h30m), a candidate count (500), or both (10m,500)"


@dataclass(frozen=True, slots=True)
class Budget:
    """Stop after `seconds` of search or `candidates` verified candidates, whichever comes first."""

    seconds: float | None = None
    candidates: int | None = None

    def exhausted(self, elapsed: float, verified: int) -> str | None:
        """Why the budget is spent ("time", "candidates"), or None while it lasts."""
        if self.candidates is not None and verified >= self.candidates:
            return "candidates"
        if self.seconds is not None and elapsed >= self.seconds:
            return "time"
        return None

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "candidates": self.candidates}


def parse_budget(text: str) -> Budget:
    """`"10m"`, `"90s"`, `"1h30m"`, `"500"`, `"10m,500"` → Budget; anything else is a PlmrError."""
    parts = [p for p in re.split(r"[,+\s]+", text.strip().lower()) if p]
    seconds, candidates = None, None
    for part in parts:
        if part.isdigit() and candidates is None:
            candidates = int(part)
        elif _DURATION.fullmatch(part) and seconds is None:
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(part))
        else:
            raise error("E502", f"cannot read the budget {text!r} (at {part!r})", help=_HELP)
    if not parts:
        raise error("E502", "the budget is empty", help=_HELP)
    if seconds == 0 or candidates == 0:
        raise error("E502", f"the budget {text!r} allows no search at all", help=_HELP)
    return Budget(seconds, candidates)
