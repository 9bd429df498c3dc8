"""Reader for the Miller et al. (2018) rat two-armed bandit JSON (figshare "tab_dataset.json").

The layout, as read by DeepMind's CogModelingRNNsTutorial / disentangled_rnns loaders: a JSON list
with one record per rat (a dict keyed by rat name is accepted too). Each record holds per-trial
sequences of one length: ``sides`` (string, 'l' = left = action 0, 'r' = right = action 1,
'v' = violation, no choice), ``trial_types`` (string, 'f' = free choice, 'l'/'r' = forced to that
side), ``rewards`` (numbers), ``new_sess`` (true/1 where a session starts; the first trial must start
one). Violation trials are dropped, as those loaders do; forced trials are kept as instructed trials:
their choice and reward update an agent but are not scored.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from dsl.diagnostics import Source, Span, error
from runtime.agents.data import Dataset, _read_source, build_dataset

FIELDS = ("sides", "trial_types", "rewards", "new_sess")


def read_rat_json(path: str | Path) -> Dataset:
    """Read every rat of a Miller et al. JSON file into one two-action Dataset."""
    source = _read_source(path)
    records = _records(source)
    subjects, sessions, rows = [], [], []
    for index, (name, record) in enumerate(records):
        labels, trials = _rat(source, index, name, record)
        subjects.append(name)
        sessions.append(labels)
        rows.extend(trials)
    return build_dataset(subjects, sessions, rows, n_actions=2)


def _records(source: Source) -> list[tuple[str, object]]:
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as exc:
        raise error("E820", f"{source.name} is not valid JSON: {exc.msg}", Span(source, exc.pos, exc.pos + 1),
                    help="fix the JSON syntax at this place") from None
    if isinstance(data, dict):
        return [(str(k), v) for k, v in data.items()]
    if isinstance(data, list) and data:
        return [(f"rat{i:02d}", v) for i, v in enumerate(data)]
    raise error("E821", f"{source.name} holds no rat records", Span(source, 0, 1),
                help="expected a JSON list (or object) of records with " + ", ".join(FIELDS))


def _locate(source: Source, index: int, key: str) -> Span:
    """The span of the `index`-th occurrence of `"key"` (one per record), else the file start."""
    hits = [m.start() for m in re.finditer(re.escape(json.dumps(key)), source.text)]
    if index < len(hits):
        return Span(source, hits[index], hits[index] + len(key) + 2)
    return Span(source, 0, 1)


def _rat(source: Source, index: int, name: str, record) -> tuple[list[str], list[list[tuple]]]:
    if not isinstance(record, dict):
        raise error("E822", f"record {index} ({name}) is not a JSON object", Span(source, 0, 1),
                    help="each rat is an object with " + ", ".join(FIELDS))
    for key in FIELDS:
        if key not in record:
            raise error("E823", f"record {index} ({name}) has no field {key!r}",
                        _locate(source, index, "sides"),
                        help="each rat is an object with " + ", ".join(FIELDS))
    n = len(record["sides"]) if isinstance(record["sides"], str) else -1
    for key in FIELDS:
        value = record[key]
        if not isinstance(value, str | list) or len(value) != n:
            raise error("E824", f"field {key!r} of {name} does not match 'sides' ({n} trials)",
                        _locate(source, index, key),
                        help="'sides' and 'trial_types' are strings, 'rewards' and 'new_sess' lists, "
                             "all one entry per trial")
    return _sessions(source, index, name, record)


def _sessions(source: Source, index: int, name: str, record) -> tuple[list[str], list[list[tuple]]]:
    sessions: list[list[tuple]] = []
    for t, (side, kind, reward, start) in enumerate(zip(*(record[k] for k in FIELDS), strict=True)):
        _check_trial(source, index, name, t, (side, kind, reward, start))
        if start or not sessions:
            if not start:
                raise error("E825", f"the first trial of {name} does not start a session",
                            _locate(source, index, "new_sess"), help="set new_sess[0] to true")
            sessions.append([])
        if side != "v":
            sessions[-1].append((0 if side == "l" else 1, float(reward), kind != "f"))
    return [str(i) for i in range(len(sessions))], sessions


def _check_trial(source: Source, index: int, name: str, t: int, trial: tuple) -> None:
    side, kind, reward, start = trial
    problems = [
        ("sides", side not in ("l", "r", "v"), f"side {side!r} is not l, r or v"),
        ("trial_types", kind not in ("f", "l", "r"), f"trial type {kind!r} is not f, l or r"),
        ("rewards", isinstance(reward, bool) or not isinstance(reward, int | float)
         or not math.isfinite(reward), f"reward {reward!r} is not a finite number"),
        ("new_sess", start not in (0, 1), f"new_sess {start!r} is not true/false"),
    ]
    for key, bad, message in problems:
        if bad:
            raise error("E826", f"trial {t} of {name}: {message}", _locate(source, index, key),
                        help=f"fix entry {t} of {key!r}")
