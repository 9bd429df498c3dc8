"""Pick the reader for a behaviour file by its extension: .csv (long format) or .json (Miller rats)."""

from __future__ import annotations

from pathlib import Path

from dsl.diagnostics import error
from runtime.agents.data import Dataset, read_csv
from runtime.agents.rat_json import read_rat_json


def read_behaviour(path: str | Path, n_actions: int | None = None) -> Dataset:
    """Read a behaviour file; `n_actions` (CSV only) fixes the action count instead of inferring it."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return read_csv(path, n_actions)
    if suffix == ".json":
        return read_rat_json(path)
    raise error("E815", f"cannot tell the format of {path}",
                help="name the file .csv (long format: subject,session,trial,choice,reward) "
                     "or .json (Miller et al. rat layout)")
