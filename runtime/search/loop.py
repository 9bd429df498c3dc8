"""The generic search loop: generate → verify (in parallel workers) → record → refine, until the
budget runs out. Language-independent: the generator and verifier are callbacks.

    generate(examples: list[Program], feedback: list[Failure], rng: numpy Generator)
        -> list[str | Proposal]
    verify(text: str) -> Verdict            (runs in a worker process; see worker.enter_stage)

`examples` are sampled from one island of the database, worst first; `feedback` holds that island's
recent failures; `rng` is seeded from (database seed, generation step), so the sequence continues
across resumes. A generator returns plain source or `Proposal`s naming their parents (crossover) and
carrying notes for the log; `prompt_tokens`/`completion_tokens` in those notes are summed in the summary.
Every candidate is logged durably before the database, best.plmr or summary.json see it.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from dsl.diagnostics import PlmrError, error
from runtime.search.budget import Budget
from runtime.search.database import Program, ProgramDatabase
from runtime.search.pool import Evaluator, Outcome
from runtime.search.rundir import CandidateRecord, RunDir, source_hash
from runtime.search.verdict import Verdict

MAX_BARREN_STEPS = 50


@dataclass(frozen=True, slots=True)
class Proposal:
    """A generated candidate; `parents` None means "the examples it was prompted with"."""

    source: str
    parents: tuple[str, ...] | None = None
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """A recent failed candidate and its verdict, for the next prompt's feedback."""

    source: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class SearchResult:
    """How a search ended: the best program, counters, and the summary written to the run dir."""

    best: Program | None
    tried: int
    passed: int
    stop_reason: str
    summary: dict


@dataclass(frozen=True, slots=True)
class _Pending:
    """A generated candidate waiting for (or in) verification."""

    source: str
    hash: str
    step: int
    island: int | None
    parents: tuple[str, ...]
    meta: dict
    generate_s: float


def run_search(generate, verify, database: ProgramDatabase, rundir: RunDir, budget: Budget,
               workers: int = 1, progress: bool = True, *, seeds: tuple[str, ...] = (),
               examples_per_prompt: int = 2, feedback_window: int = 4, cap_seconds: float = 60.0,
               start_method: str = "forkserver") -> SearchResult:
    """Search until `budget` is spent; resumes whatever `rundir` already holds. `seeds` (the problem's
    starting programs) are verified first and given to every island."""
    search = _Search(generate, database, rundir, budget, examples_per_prompt, feedback_window)
    evaluator = Evaluator(verify, workers, cap_seconds, start_method)
    with evaluator, _progress(progress, budget) as bar:
        search.attach(evaluator, bar)
        try:
            reason = search.run(seeds)
        except PlmrError as failure:
            search.checkpoint(finished=False, reason=f"stopped: {failure.diagnostics[0].message}")
            raise
        except KeyboardInterrupt:
            search.checkpoint(finished=False, reason="interrupted")
            raise
    summary = search.checkpoint(finished=True, reason=reason)
    record = search.best
    best = None if record is None else Program(record.source, record.verdict.score, record.id)
    return SearchResult(best, search.tried, search.passed, reason, summary)


class _Search:
    """The loop's state; one instance per run_search call."""

    def __init__(self, generate, database: ProgramDatabase, rundir: RunDir, budget: Budget,
                 examples_per_prompt: int, feedback_window: int):
        self.generate, self.db, self.rundir, self.budget = generate, database, rundir, budget
        self.k = examples_per_prompt
        self.generator_name = getattr(generate, "name", None) or getattr(generate, "__name__", "generator")
        self.failures = [deque(maxlen=feedback_window) for _ in database.islands]
        self.by_stage: Counter = Counter()
        self.tokens: Counter = Counter()
        self.tried = self.passed = self.duplicates = self.barren = 0
        self.best: CandidateRecord | None = None
        self.step = rundir.next_step
        self.waiting: deque[_Pending] = deque()
        self.pending: dict[str, _Pending] = {}
        self.clock_start, self.elapsed_before = time.monotonic(), rundir.elapsed
        for record in rundir.records:
            self.absorb(record)
        if self.best is not None:
            rundir.write_best(self.best.source)

    def attach(self, evaluator: Evaluator, bar) -> None:
        self.evaluator, self.bar = evaluator, bar
        bar.update(self.tried)
        self.show()

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.clock_start

    def run(self, seeds: tuple[str, ...]) -> str:
        self.verify_seeds(seeds)
        while True:
            reason = self.budget.exhausted(self.elapsed(), self.tried)
            if reason or self.barren >= MAX_BARREN_STEPS and not self.evaluator.busy:
                return reason or f"the generator produced nothing new in {MAX_BARREN_STEPS} steps"
            self.fill()
            for outcome in self.evaluator.wait(self.wait_time()):
                self.finish(outcome)

    def verify_seeds(self, seeds: tuple[str, ...]) -> None:
        """Verify the starting programs before anything is generated from them."""
        fresh = [s for s in seeds if not self.rundir.seen(source_hash(s))]
        for source in fresh:
            self.enqueue(_Pending(source, source_hash(source), self.step, None, (), {"seed": True}, 0.0))
        if fresh:
            self.step += 1
        while self.evaluator.busy or (self.waiting and self.room() > 0):
            self.fill(generate=False)
            for outcome in self.evaluator.wait(0.5):
                self.finish(outcome)
        if seeds and self.db.best() is None:
            seed_failures = [r for r in self.rundir.records if r.meta.get("seed")]
            detail = seed_failures[0].verdict.feedback if seed_failures else "no seed was verified"
            raise error("E530", "no seed program passed verification, so there is nothing to improve on",
                        help=f"fix the seed program first; the verifier said: {detail}")

    def wait_time(self) -> float:
        if self.budget.seconds is None:
            return 0.5
        return max(0.01, min(0.5, self.budget.seconds - self.elapsed()))

    def room(self) -> int:
        """How many more candidates may start verifying without overrunning a count budget."""
        if self.budget.candidates is None:
            return self.evaluator.free
        return min(self.evaluator.free, self.budget.candidates - self.tried - self.evaluator.busy)

    def fill(self, generate: bool = True) -> None:
        while self.room() > 0:
            if not self.waiting and (not generate or not self.generate_step()):
                return
            if self.waiting:
                self.evaluator.submit(self.waiting[0].hash, self.waiting.popleft().source)

    def generate_step(self) -> bool:
        """Ask the generator once; False when it gave nothing new (then try again next round)."""
        island, rng = self.db.island_for(self.step), np.random.default_rng([self.db.seed, self.step])
        examples = self.db.prompt_examples(island, self.k, rng)
        start = time.perf_counter()
        proposals = self.generate(examples, list(self.failures[island]), rng)
        seconds = (time.perf_counter() - start) / max(1, len(proposals))
        default_parents = tuple(p.id for p in examples)
        before = len(self.waiting)
        for proposal in proposals:
            if isinstance(proposal, str):
                proposal = Proposal(proposal)
            parents = default_parents if proposal.parents is None else tuple(proposal.parents)
            self.enqueue(_Pending(proposal.source, source_hash(proposal.source), self.step, island, parents,
                                  proposal.meta, seconds))
        self.step += 1
        fresh = len(self.waiting) > before
        self.barren = 0 if fresh else self.barren + 1
        return fresh

    def enqueue(self, candidate: _Pending) -> None:
        if self.rundir.seen(candidate.hash) or candidate.hash in self.pending:
            self.duplicates += 1
            return
        self.pending[candidate.hash] = candidate
        self.waiting.append(candidate)

    def finish(self, outcome: Outcome) -> None:
        """Log a verified candidate durably, then let the database, best.plmr and summary see it."""
        candidate = self.pending.pop(outcome.key)
        index = self.rundir.next_index
        record = CandidateRecord(
            index, f"c{index:06d}", candidate.step, candidate.island, candidate.parents, self.generator_name,
            candidate.source, candidate.hash, outcome.verdict,
            {"generate_s": round(candidate.generate_s, 6), "verify_s": round(outcome.seconds, 6)},
            round(self.elapsed(), 3), candidate.meta)
        self.rundir.append(record)
        improved = self.absorb(record)
        if improved:
            self.rundir.write_best(record.source)
        self.checkpoint(finished=False, reason=None)
        self.bar.update(1)
        self.show()

    def absorb(self, record: CandidateRecord) -> bool:
        """Count a logged record and feed it to the database; True when it is the new best."""
        self.tried += 1
        for key in ("prompt_tokens", "completion_tokens"):
            self.tokens[key] += record.meta.get(key) or 0
        verdict = record.verdict
        if not verdict.ok:
            self.by_stage[verdict.stage] += 1
            if record.island is not None:
                self.failures[record.island].append(Failure(record.source, verdict))
            return False
        self.passed += 1
        self.db.register(Program(record.source, verdict.score, record.id), record.island)
        if self.best is None or self.db.quality(verdict.score) > self.db.quality(self.best.verdict.score):
            self.best = record
            return True
        return False

    def checkpoint(self, finished: bool, reason: str | None) -> dict:
        summary = self.summary(finished, reason)
        self.rundir.write_summary(summary)
        return summary

    def summary(self, finished: bool, reason: str | None) -> dict:
        best = self.best
        return {
            "run": self.rundir.meta, "generator": self.generator_name, "direction": self.db.direction,
            "budget": self.budget.to_dict(), "tried": self.tried, "passed": self.passed,
            "pass_rate": round(self.passed / self.tried, 4) if self.tried else None,
            "failed_by_stage": dict(self.by_stage), "duplicates_skipped_this_session": self.duplicates,
            "best": None if best is None else {"id": best.id, "score": best.verdict.score, "hash": best.hash},
            "elapsed_s": round(self.elapsed(), 3), "next_step": self.step, "tokens": dict(self.tokens),
            "islands": self.db.stats(), "island_resets": self.db.resets,
            "finished": finished, "stop_reason": reason,
            "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def show(self) -> None:
        best = "-" if self.best is None else f"{self.best.verdict.score:.6g}"
        rate = f"{100 * self.passed / self.tried:.0f}%" if self.tried else "-"
        self.bar.set_postfix_str(f"best {best}, pass {rate}", refresh=False)


def _progress(enabled: bool, budget: Budget):
    from tqdm import tqdm
    return tqdm(total=budget.candidates, desc="search", unit="cand", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True, leave=True)
