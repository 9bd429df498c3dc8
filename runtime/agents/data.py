"""Behaviour data: the `Dataset` arrays, the long-CSV and Miller rat-JSON readers, the CSV writer, splits.

Sessions are rows of padded [subject, session, trial] arrays. Padding trials have choice -1 and are
past the session's length; padding sessions (a subject with fewer sessions) have length 0.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsl.diagnostics import Source, Span, error


@dataclass(frozen=True, eq=False)
class Dataset:
    """Choices and rewards of several subjects, padded to arrays [S, N, T].

    choice -1 marks a masked trial (no response, or padding); `instructed` marks forced choices,
    which update an agent's state but are not scored. `sessions[s]` are subject s's session labels,
    in order; `lengths[s, n]` counts the trials of that session (0 for padding sessions).
    """

    subjects: tuple[str, ...]
    sessions: tuple[tuple[str, ...], ...]
    choices: np.ndarray
    rewards: np.ndarray
    instructed: np.ndarray
    lengths: np.ndarray
    n_actions: int

    @property
    def scored(self) -> np.ndarray:
        """Trials whose choice counts in the likelihood."""
        return (self.choices >= 0) & ~self.instructed

    def trials_per_subject(self) -> np.ndarray:
        return self.scored.sum(axis=(1, 2))

    def n_trials(self) -> int:
        return int(self.scored.sum())


def build_dataset(subjects: list[str], sessions: list[list[str]], rows: list[list[tuple]],
                  n_actions: int) -> Dataset:
    """Pack per-session lists of (choice, reward, instructed) into padded arrays."""
    n_sess = max([len(s) for s in sessions] + [1])
    n_trials = max([len(r) for r in rows] + [1])
    shape = (len(subjects), n_sess, n_trials)
    choices = np.full(shape, -1, np.int32)
    rewards = np.zeros(shape, np.float32)
    instructed = np.zeros(shape, bool)
    lengths = np.zeros(shape[:2], np.int32)
    index = 0
    for s, labels in enumerate(sessions):
        for n in range(len(labels)):
            trials = rows[index]
            index += 1
            lengths[s, n] = len(trials)
            if trials:
                c, r, i = zip(*trials, strict=True)
                choices[s, n, :len(trials)], rewards[s, n, :len(trials)] = c, r
                instructed[s, n, :len(trials)] = i
    return Dataset(tuple(subjects), tuple(tuple(x) for x in sessions), choices, rewards, instructed,
                   lengths, n_actions)


# ---------------------------------------------------------------------------------------------- CSV

REQUIRED_COLUMNS = ("subject", "session", "trial", "choice", "reward")
OPTIONAL_COLUMNS = ("instructed",)


@dataclass(frozen=True, slots=True)
class _Line:
    """One physical line of an input file, for error spans."""

    source: Source
    start: int
    text: str

    def span(self, column: str | None = None) -> Span:
        offset = self.text.find(column) if column else -1
        if offset < 0:
            return Span(self.source, self.start, self.start + max(1, len(self.text)))
        return Span(self.source, self.start + offset, self.start + offset + max(1, len(column)))


def read_csv(path: str | Path, n_actions: int | None = None) -> Dataset:
    """Read the long CSV format: a header naming subject, session, trial, choice, reward (any order)."""
    source = _read_source(path)
    lines = _lines(source)
    if not lines:
        raise error("E801", f"{source.name} is empty", Span(source, 0, 0),
                    help="the first line must be a header: subject,session,trial,choice,reward")
    columns = _header(lines[0])
    table = _Table(columns, n_actions)
    for line in lines[1:]:
        if line.text.strip():
            table.add(line)
    return table.dataset(source, n_actions)


def _read_source(path: str | Path) -> Source:
    try:
        return Source(str(path), Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error("E800", f"cannot read behaviour data {path}: {exc}",
                    help="check the path and that the file is UTF-8 text") from None


def _lines(source: Source) -> list[_Line]:
    out, start = [], 0
    for raw in source.text.splitlines(keepends=True):
        out.append(_Line(source, start, raw.rstrip("\r\n")))
        start += len(raw)
    return out


def _split(line: _Line) -> list[str]:
    return [f.strip() for f in next(csv.reader([line.text]), [])]


def _header(line: _Line) -> dict[str, int]:
    fields = _split(line)
    fix = "the first line must be a header naming the columns: " + ",".join(REQUIRED_COLUMNS)
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    if not set(fields) & set(known):
        raise error("E802", "the behaviour data has no header line", line.span(), help=fix)
    for name in fields:
        if name not in known:
            raise error("E803", f"unknown column {name!r} in the header", line.span(name),
                        help="the columns are " + ", ".join(known) + "; remove the others")
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise error("E804", "the header lacks column(s) " + ", ".join(missing), line.span(), help=fix)
    if len(set(fields)) < len(fields):
        raise error("E805", "the header names a column twice", line.span(), help=fix)
    return {name: i for i, name in enumerate(fields)}


class _Table:
    """Accumulates validated rows, grouped by subject and session in order of first appearance."""

    def __init__(self, columns: dict[str, int], n_actions: int | None):
        self.columns = columns
        self.n_actions = n_actions
        self.sessions: dict[str, dict[str, list[tuple]]] = {}
        self.last_trial: dict[tuple[str, str], int] = {}
        self.max_choice = -1

    def add(self, line: _Line) -> None:
        fields = _split(line)
        if len(fields) != len(self.columns):
            raise error("E806", f"this row has {len(fields)} fields but the header has {len(self.columns)}",
                        line.span(), help="give every row one value per header column")
        get = {name: fields[i] for name, i in self.columns.items()}
        subject, session = get["subject"], get["session"]
        trial = self._trial(line, get["trial"], (subject, session))
        choice = _integer(line, "choice", get["choice"])
        self._check_choice(line, choice, get["choice"])
        reward = _reward(line, get["reward"])
        forced = _flag(line, get.get("instructed", "0"))
        self.last_trial[(subject, session)] = trial
        self.max_choice = max(self.max_choice, choice)
        self.sessions.setdefault(subject, {}).setdefault(session, []).append((choice, reward, forced))

    def _trial(self, line: _Line, text: str, key: tuple[str, str]) -> int:
        trial = _integer(line, "trial", text)
        previous = self.last_trial.get(key)
        if previous is not None and trial <= previous:
            raise error("E807", f"trial {trial} comes after trial {previous} of session {key[1]} "
                        f"of subject {key[0]}", line.span(text),
                        help="list each session's trials in increasing order")
        return trial

    def _check_choice(self, line: _Line, choice: int, text: str) -> None:
        top = self.n_actions - 1 if self.n_actions else None
        if choice < -1 or (top is not None and choice > top):
            allowed = f"0..{top}" if top is not None else "0 or more"
            raise error("E808", f"choice {choice} is out of range", line.span(text),
                        help=f"a choice is an action index ({allowed}), or -1 for a masked trial")

    def dataset(self, source: Source, n_actions: int | None) -> Dataset:
        if not self.sessions:
            raise error("E809", f"{source.name} has a header but no rows", Span(source, 0, 0),
                        help="add one row per trial")
        subjects = list(self.sessions)
        labels = [list(self.sessions[s]) for s in subjects]
        rows = [self.sessions[s][n] for s in subjects for n in self.sessions[s]]
        return build_dataset(subjects, labels, rows, n_actions or max(2, self.max_choice + 1))


def _integer(line: _Line, column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise error("E810", f"{column} {text!r} is not an integer", line.span(text or None),
                    help=f"write the {column} as a whole number") from None


def _reward(line: _Line, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise error("E811", f"reward {text!r} is not a number", line.span(text or None),
                    help="write the reward as a number, e.g. 0, 1 or 0.25") from None
    if not math.isfinite(value):
        raise error("E812", f"reward {text} is not finite", line.span(text),
                    help="every reward must be a finite number; drop or fix this trial")
    return value


def _flag(line: _Line, text: str) -> bool:
    if text not in ("0", "1"):
        raise error("E813", f"instructed {text!r} is not 0 or 1", line.span(text or None),
                    help="write 1 for a forced-choice trial, 0 otherwise")
    return text == "1"


def write_csv(dataset: Dataset, path: str | Path | None = None) -> str:
    """Write the long CSV (trials numbered from 0 within each session); returns the text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for s, subject in enumerate(dataset.subjects):
        for n, session in enumerate(dataset.sessions[s]):
            for t in range(int(dataset.lengths[s, n])):
                writer.writerow([subject, session, t, int(dataset.choices[s, n, t]),
                                 repr(float(dataset.rewards[s, n, t])), int(dataset.instructed[s, n, t])])
    if path is not None:
        Path(path).write_text(out.getvalue(), encoding="utf-8")
    return out.getvalue()


# --------------------------------------------------------------------------------------------- split

def split(dataset: Dataset, how: str = "even-odd") -> tuple[Dataset, Dataset]:
    """Train and test sets: "even-odd" puts each subject's sessions 0, 2, 4… in train, 1, 3, 5… in test."""
    if how != "even-odd":
        raise error("E814", f"unknown split {how!r}", help='the only split is "even-odd"')
    return _take_sessions(dataset, 0), _take_sessions(dataset, 1)


def _take_sessions(dataset: Dataset, parity: int) -> Dataset:
    picks = [list(range(parity, len(labels), 2)) for labels in dataset.sessions]
    width = max([len(p) for p in picks] + [1])
    index = np.array([p + [-1] * (width - len(p)) for p in picks])
    keep = index >= 0
    take = np.where(keep, index, 0)
    rows = np.arange(len(dataset.subjects))[:, None]

    def gather(array, fill):
        picked = array[rows, take]
        return np.where(keep.reshape(keep.shape + (1,) * (picked.ndim - 2)), picked, fill)

    sessions = tuple(tuple(labels[i] for i in p) for labels, p in zip(dataset.sessions, picks, strict=True))
    return Dataset(dataset.subjects, sessions, gather(dataset.choices, -1).astype(np.int32),
                   gather(dataset.rewards, 0).astype(np.float32), gather(dataset.instructed, False),
                   gather(dataset.lengths, 0).astype(np.int32), dataset.n_actions)
