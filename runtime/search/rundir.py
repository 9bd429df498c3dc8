"""The run directory: an append-only log of verified candidates (one fsynced JSON line each), plus
`best.plmr`, `summary.json` and `run.json` replaced atomically so they are always valid. A run killed
at any moment resumes from its log: a torn last line is cut off, nothing verified is lost or repeated.

    candidates.jsonl   one CandidateRecord per line, in verification order
    best.plmr          the best passing source so far
    summary.json       counters, best score, per-stage failures (rewritten after every candidate)
    run.json           what the run was started with (seed, direction, generator, problem …)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dsl.diagnostics import error
from runtime.search.extract import normalise_newlines
from runtime.search.verdict import Verdict

LOG, BEST, SUMMARY, META = "candidates.jsonl", "best.plmr", "summary.json", "run.json"


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    """One verified candidate. `step` is the generation step whose seed (run seed, step) made it;
    `island` None marks a seed program given to every island; `elapsed_s` is the run's search time
    when it was logged (the budget is counted across resumes)."""

    index: int
    id: str
    step: int
    island: int | None
    parents: tuple[str, ...]
    generator: str
    source: str
    hash: str
    verdict: Verdict
    timings: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"index": self.index, "id": self.id, "step": self.step, "island": self.island,
                "parents": list(self.parents), "generator": self.generator, "hash": self.hash,
                "verdict": self.verdict.to_dict(), "timings": self.timings, "elapsed_s": self.elapsed_s,
                "meta": self.meta, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> CandidateRecord:
        return cls(d["index"], d["id"], d["step"], d["island"], tuple(d["parents"]), d["generator"],
                   d["source"], d["hash"], Verdict.from_dict(d["verdict"]), d.get("timings", {}),
                   d.get("elapsed_s", 0.0), d.get("meta", {}))


def normalise_source(text: str) -> str:
    """Source with line endings, trailing spaces and surrounding blank lines made canonical."""
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    return "\n".join(lines).strip("\n")


def source_hash(text: str) -> str:
    """The dedupe key: a hash of the normalised source."""
    return hashlib.sha256(normalise_source(text).encode()).hexdigest()[:32]


class RunDir:
    """A run directory opened fresh (refusing to overwrite a run) or resumed from its log; resuming a
    directory that holds no run yet simply starts one, so a script may always pass --resume."""

    def __init__(self, path: str | os.PathLike, *, resume: bool = False, meta: dict | None = None):
        self.path = Path(path)
        log = self.path / LOG
        if log.exists() and log.stat().st_size and not resume:
            raise error("E520", f"{self.path} already holds a search run",
                        help="pass --resume to continue it, or choose a new --out directory")
        _make_dir(self.path)
        for stale in self.path.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)
        self.records = load_log(log) if log.exists() else []
        self.meta = self._settle_meta(dict(meta or {}))
        self._hashes = {r.hash for r in self.records}
        self._log = open(log, "ab")

    def seen(self, digest: str) -> bool:
        return digest in self._hashes

    @property
    def next_index(self) -> int:
        return len(self.records)

    @property
    def next_step(self) -> int:
        return max((r.step for r in self.records), default=-1) + 1

    @property
    def elapsed(self) -> float:
        return self.records[-1].elapsed_s if self.records else 0.0

    def append(self, record: CandidateRecord) -> None:
        """Log one verified candidate durably (flush + fsync) before anything else is updated."""
        self._log.write((to_json(record.to_dict()) + "\n").encode())
        self._log.flush()
        os.fsync(self._log.fileno())
        self.records.append(record)
        self._hashes.add(record.hash)

    def write_best(self, source: str) -> None:
        write_atomic(self.path / BEST, source if source.endswith("\n") else source + "\n")

    def write_summary(self, summary: dict) -> None:
        write_atomic(self.path / SUMMARY, to_json(summary, indent=2) + "\n")

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _settle_meta(self, given: dict) -> dict:
        """On resume the stored settings hold; a conflicting one is an error, not a silent switch."""
        stored_path = self.path / META
        stored = json.loads(stored_path.read_text()) if stored_path.exists() else {}
        clashes = [f"{k}={stored[k]!r} (given {given[k]!r})" for k in given
                   if k in stored and stored[k] != given[k]]
        if clashes:
            raise error("E522", f"{self.path} was started with different settings: {', '.join(clashes)}",
                        help="resume with the run's own settings, or start a new run in a new directory")
        merged = {**given, **stored}
        if merged != stored:
            write_atomic(stored_path, json.dumps(merged, indent=2) + "\n")
        return merged


def to_json(data: dict, indent: int | None = None) -> str:
    """JSON text of plain data; numpy values (common in verdict details) become lists and numbers."""
    return json.dumps(data, indent=indent, default=_plain)


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def load_log(log: Path) -> list[CandidateRecord]:
    """The records of a log; a torn last line (a crash mid-write) is cut off the file."""
    data = log.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            records.append(CandidateRecord.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as bad:
            if number < len(complete):
                raise error("E521", f"{log}:{number}: the candidate log is damaged ({bad})",
                            help="repair or remove that line by hand, then resume") from None
            tail = line + b"\n" + tail
    if tail:
        _truncate(log, len(data) - len(tail))
    return records


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old or the new file, never a partial one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as bad:
        raise error("E520", f"cannot create the run directory {path}: {bad.strerror}",
                    help="choose a writable --out directory") from None
