"""The verifier cascade helper: stops at the first failing stage and says which."""

import functools
import time

import pytest

from dsl.diagnostics import InternalError, error
from runtime.search import Verdict, extract_candidate, run_cascade
from runtime.search.pool import Evaluator


def parse(source):
    if "(" not in source:
        raise error("E001", "expected '(' after the kernel name", help="write kernel name(...)")
    return source.split("(")[0].split()[-1]


def differential(name):
    if name.startswith("wrong"):
        return Verdict.failed("test", f"fails for N=1: {name} returns zeros", {"n": 1})
    return name


def score(name):
    return float(len(name))


def slow_compile(name):
    time.sleep(30)


STAGES = [("extract", extract_candidate), ("parse", parse), ("test", differential), ("score", score)]


def test_a_good_candidate_gets_its_score():
    verdict = run_cascade("```plmr\nkernel gemm() {}\n```", STAGES)
    assert (verdict.ok, verdict.stage, verdict.score) == (True, "score", 4.0)


def test_prose_stops_at_extract():
    verdict = run_cascade("Sorry, I cannot help with that.", STAGES)
    assert (verdict.ok, verdict.stage) == (False, "extract")
    assert "fenced ```plmr block" in verdict.feedback


def test_a_diagnostic_stops_at_its_stage_with_rendered_feedback():
    verdict = run_cascade("kernel gemm {}", STAGES)
    assert (verdict.ok, verdict.stage) == (False, "parse")
    assert "error[E001]: expected '(' after the kernel name" in verdict.feedback
    assert verdict.details["diagnostics"][0]["code"] == "E001"


def test_a_stage_may_fail_with_its_own_verdict():
    verdict = run_cascade("kernel wrong_gemm() {}", STAGES)
    assert (verdict.stage, verdict.feedback, verdict.details) == ("test", "fails for N=1: wrong_gemm "
                                                                  "returns zeros", {"n": 1})


def test_stages_out_of_order_are_a_plmr_bug():
    with pytest.raises(InternalError, match="ordered subset"):
        run_cascade("x", [("score", score), ("parse", parse)])


def test_a_cascade_in_a_worker_times_out_at_the_slow_stage():
    stages = [("parse", parse), ("compile", slow_compile), ("score", score)]
    with Evaluator(functools.partial(run_cascade, stages=stages), cap=0.5) as evaluator:
        evaluator.submit("k", "kernel gemm() {}")
        outcomes = []
        while evaluator.busy:
            outcomes += evaluator.wait(1.0)
    assert [(o.verdict.ok, o.verdict.stage) for o in outcomes] == [(False, "compile")]
