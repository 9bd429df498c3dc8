"""Agents fitted to behaviour: tasks, data, simulation, compiled likelihoods, fitting and scoring.

The entry points a caller needs (the CLI wires `plmr sample` and `plmr fit` to these):

    model = AgentModel(...)                       # from the DSL lowering, or builtin_models
    data = read_behaviour("data.csv")             # or simulate(model, get_task("drift2"), ...)
    result = fit(model, data, restarts=8)         # FitResult; result.to_dict() is the JSON shape
    compare(result, baseline_result)              # paired Wilcoxon over subjects' held-out NL
"""

from runtime.agents.data import Dataset, read_csv, split, write_csv
from runtime.agents.fitting import fit
from runtime.agents.model import AgentModel, ParamSpec, check_model, parse_params, resolve_params
from runtime.agents.predict import choice_probabilities
from runtime.agents.rat_json import read_rat_json
from runtime.agents.readers import read_behaviour
from runtime.agents.score import Comparison, FitResult, Score, SubjectFit, compare
from runtime.agents.simulation import simulate
from runtime.agents.tasks import TASKS, Task, get_task

__all__ = [
    "TASKS", "AgentModel", "Comparison", "Dataset", "FitResult", "ParamSpec", "Score", "SubjectFit", "Task",
    "check_model", "choice_probabilities", "compare", "fit", "get_task", "read_behaviour", "read_csv", "read_rat_json",
    "parse_params", "resolve_params", "simulate", "split", "write_csv",
]
