"""Parallel verification in worker processes, each candidate under a time cap. A candidate that
overruns its cap (even inside C code) or kills its worker becomes a failing verdict at the stage it
was in; other candidates caught in the broken pool are re-run, alone if the culprit is unknown."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections import deque
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from dsl.diagnostics import InternalError
from runtime.search import worker
from runtime.search.verdict import STAGES, Verdict


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished candidate: the caller's key, its verdict, and the seconds spent verifying it."""

    key: object
    verdict: Verdict
    seconds: float


@dataclass(frozen=True, slots=True)
class _Task:
    key: object
    text: str


class Evaluator:
    """Runs `verify(text) -> Verdict` in `workers` processes. `verify` must pickle (a module-level
    function or object) unless start_method is "fork"."""

    def __init__(self, verify, workers: int = 1, cap: float = 60.0, start_method: str = "forkserver"):
        self.workers, self.cap = max(1, workers), cap
        if start_method != "fork":
            _require_pickle(verify)
        self._verify = verify
        self._ctx = multiprocessing.get_context(start_method)
        self._stages = self._ctx.RawArray("i", self.workers)
        self._started = self._ctx.RawArray("d", self.workers)
        self._pool = self._new_pool()
        self._inflight: dict[futures.Future, tuple[_Task, int]] = {}
        self._waiting: deque[_Task] = deque()
        self._isolating = False

    @property
    def free(self) -> int:
        """How many more candidates may be submitted now."""
        limit = 1 if self._isolating else self.workers
        return max(0, limit - len(self._inflight) - len(self._waiting))

    @property
    def busy(self) -> int:
        return len(self._inflight) + len(self._waiting)

    def submit(self, key: object, text: str) -> None:
        self._waiting.append(_Task(key, text))
        self._dispatch()

    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes finished within `timeout` seconds (maybe none)."""
        self._dispatch()
        if not self._inflight:
            return []
        done, _ = futures.wait(list(self._inflight), timeout=min(timeout, self._until_overdue()),
                               return_when=futures.FIRST_COMPLETED)
        outcomes, broken = self._collect(done)
        overdue = [f for f, (_, slot) in self._inflight.items() if self._is_overdue(slot)]
        if overdue:
            outcomes += self._kill_overdue(overdue, [task for task, _ in broken])
        elif broken:
            outcomes += self._recover(broken)
        self._dispatch()
        return outcomes

    def close(self) -> None:
        """Stop now: candidates still running are abandoned (the pool's workers killed)."""
        if self._inflight:
            self._terminate_pool()
        self._inflight.clear()
        self._waiting.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _new_pool(self) -> futures.ProcessPoolExecutor:
        return futures.ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=worker.init_worker,
                                           initargs=(self._verify, self._stages, self._started))

    def _dispatch(self) -> None:
        limit = 1 if self._isolating else self.workers
        while self._waiting and len(self._inflight) < limit:
            task = self._waiting.popleft()
            slot = min(set(range(self.workers)) - {s for _, s in self._inflight.values()})
            self._stages[slot], self._started[slot] = 0, 0.0
            try:
                future = self._pool.submit(worker.run_candidate, slot, task.text, self.cap)
            except BrokenProcessPool:
                self._waiting.appendleft(task)
                if self._inflight:
                    return
                self._restart([], isolate=False)
                continue
            self._inflight[future] = (task, slot)
        if not self._waiting and not self._inflight:
            self._isolating = False

    def _collect(self, done) -> tuple[list[Outcome], list[tuple[_Task, int]]]:
        outcomes, broken = [], []
        for future in done:
            task, slot = self._inflight.pop(future)
            try:
                verdict, seconds = future.result()
            except BrokenProcessPool:
                broken.append((task, slot))
                continue
            outcomes.append(Outcome(task.key, Verdict.from_dict(verdict), seconds))
        return outcomes, broken

    def _hard_limit(self) -> float:
        return self.cap + max(1.0, 0.25 * self.cap)

    def _is_overdue(self, slot: int) -> bool:
        started = self._started[slot]
        return started > 0 and time.time() - started > self._hard_limit()

    def _until_overdue(self) -> float:
        starts = [self._started[slot] for _, slot in self._inflight.values() if self._started[slot] > 0]
        if not starts:
            return 0.25
        return max(0.01, min(starts) + self._hard_limit() - time.time() + 0.01)

    def _kill_overdue(self, overdue: list[futures.Future], broken: list[_Task]) -> list[Outcome]:
        """Kill workers stuck past the hard limit; re-run everything else the pool held."""
        outcomes = []
        for future in overdue:
            task, slot = self._inflight.pop(future)
            stage = STAGES[self._stages[slot]]
            verdict = Verdict.failed(stage, worker.timeout_feedback(stage, self.cap),
                                     {"timeout_s": self.cap, "killed": True})
            outcomes.append(Outcome(task.key, verdict, time.time() - self._started[slot]))
        self._restart(broken + [task for task, _ in self._inflight.values()], isolate=False)
        return outcomes

    def _recover(self, broken: list[tuple[_Task, int]]) -> list[Outcome]:
        """A worker died. With one candidate in play it is the culprit; else re-run them one by one."""
        affected = broken + list(self._inflight.values())
        if len(affected) == 1:
            task, slot = affected[0]
            stage = STAGES[self._stages[slot]]
            self._restart([], isolate=False)
            verdict = Verdict.failed(stage, f"the candidate crashed its worker process during stage {stage}",
                                     {"crashed": True})
            return [Outcome(task.key, verdict, time.time() - self._started[slot])]
        self._restart([task for task, _ in affected], isolate=True)
        return []

    def _restart(self, rerun: list[_Task], isolate: bool) -> None:
        self._inflight.clear()
        self._terminate_pool()
        self._pool = self._new_pool()
        self._waiting.extendleft(reversed(rerun))
        self._isolating = self._isolating or isolate

    def _terminate_pool(self) -> None:
        """Kill every worker, then shut down. Killing only some could kill one blocked reading the task
        queue while holding its lock, and the others would wait for that lock forever."""
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _require_pickle(verify) -> None:
    """Workers receive `verify` pickled; say so plainly rather than fail inside the pool."""
    try:
        pickle.dumps(verify)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise InternalError("Evaluator", f"the verify callback {verify!r} cannot be sent to worker processes "
                            f"({err}); pass a module-level function or a functools.partial of one") from None
