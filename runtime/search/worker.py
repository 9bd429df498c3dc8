"""The worker side of parallel verification: runs `verify` under a time cap and tells the parent which
stage it is in, so a candidate that overruns or kills its process is blamed on the right stage."""

from __future__ import annotations

import signal
import sys
import time
import traceback
from dataclasses import dataclass

from dsl.diagnostics import InternalError, PlmrError
from runtime.search.verdict import STAGES, Verdict


class CandidateTimeout(BaseException):
    """Raised in a worker when a candidate's time cap expires (BaseException: verifiers that catch
    Exception must not swallow it)."""


@dataclass(slots=True)
class _Shared:
    """Per-slot arrays shared with the parent: current stage index and start time."""

    stages: object
    started: object


_verify = None
_shared: _Shared | None = None
_slot = 0
_stage = 0


def enter_stage(stage: str) -> None:
    """Verifiers call this as each stage of the cascade begins (a no-op outside a search worker)."""
    global _stage
    if stage not in STAGES:
        raise InternalError("enter_stage", f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    _stage = STAGES.index(stage)
    if _shared is not None:
        _shared.stages[_slot] = _stage


def init_worker(verify, stages, started) -> None:
    """Process-pool initializer: keep the verifier and the shared arrays for every task."""
    global _verify, _shared
    _verify, _shared = verify, _Shared(stages, started)


def run_candidate(slot: int, text: str, cap: float) -> tuple[dict, float]:
    """Verify one candidate in this worker: (verdict as a dict, seconds)."""
    global _slot
    _slot = slot
    _shared.started[slot] = time.time()
    enter_stage(STAGES[0])
    start = time.perf_counter()
    verdict = verify_capped(_verify, text, cap)
    return verdict.to_dict(), time.perf_counter() - start


def verify_capped(verify, text: str, cap: float) -> Verdict:
    """`verify(text)` with SIGALRM as the time cap; errors become failing verdicts at the current stage."""
    global _expired
    _expired = False
    previous = signal.signal(signal.SIGALRM, _expire)
    previous_hook, sys.unraisablehook = sys.unraisablehook, _quiet_timeouts(sys.unraisablehook)
    try:
        signal.setitimer(signal.ITIMER_REAL, cap)
        verdict = verify(text)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if _expired:  # the timeout was raised where Python swallows exceptions (a gc callback, __del__)
            raise CandidateTimeout()
    except CandidateTimeout:
        return _timed_out(cap)
    except Exception as err:  # noqa: BLE001 - a verifier bug must not end the run; it is logged in full
        if _expired:  # a library turned the timeout into its own error (hypothesis: FlakyStrategyDefinition)
            return _timed_out(cap)
        if isinstance(err, PlmrError):
            return Verdict.from_error(STAGES[_stage], err)
        return Verdict.failed(STAGES[_stage], f"verification failed unexpectedly at stage {STAGES[_stage]}: "
                              f"{type(err).__name__}: {err}", {"internal_error": traceback.format_exc()})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook
    if not isinstance(verdict, Verdict):
        raise InternalError("verify callback", f"returned {type(verdict).__name__}, not a Verdict")
    return verdict


def _timed_out(cap: float) -> Verdict:
    """The verdict for an expired cap; the timer is stopped first, as `_expire` re-arms it."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    return Verdict.failed(STAGES[_stage], timeout_feedback(STAGES[_stage], cap), {"timeout_s": cap})


def timeout_feedback(stage: str, cap: float) -> str:
    return (f"the candidate took longer than its time cap of {cap:g}s during stage {stage}; "
            "make it smaller or simpler")


_expired = False


def _quiet_timeouts(hook):
    """An unraisable hook that drops our own timeouts (remembered in `_expired`) and reports the rest."""
    def quiet(unraisable) -> None:
        if not isinstance(unraisable.exc_value, CandidateTimeout):
            hook(unraisable)
    return quiet


def _expire(signum, frame) -> None:
    """Raise the timeout; and remember it, and raise it again soon, in case this raise lands in code
    that ignores exceptions (a gc callback or a finaliser) and is lost."""
    global _expired
    _expired = True
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    raise CandidateTimeout()
