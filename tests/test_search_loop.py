"""The search loop: parallel verification with time caps, budgets, seeds, dedupe, resume."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dsl.diagnostics import InternalError, PlmrError, error
from runtime.search import Budget, Proposal, ProgramDatabase, RunDir, Verdict, enter_stage, run_search
from runtime.search.pool import Evaluator

REPO = Path(__file__).resolve().parents[1]
SEED = "kernel k1() {}\n"


def number(text):
    return int(re.search(r"k(\d+)", text).group(1))


def verify_numbered(text):
    """Scores kernel kN by N; multiples of 7 fail at `test`."""
    enter_stage("parse")
    n = number(text)
    enter_stage("test")
    if n % 7 == 0:
        return Verdict.failed("test", f"k{n} is wrong")
    return Verdict.passed(n)


def generate_numbered(examples, feedback, rng):
    base = max((number(p.source) for p in examples), default=1)
    return [f"kernel k{base + int(rng.integers(1, 50))}() {{}}\n" for _ in range(2)]


def verify_misbehaving(text):
    enter_stage("parse")
    if "sleep" in text:
        enter_stage("compile")
        time.sleep(30)
    if "block" in text:
        enter_stage("test")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(30)
    if "crash" in text:
        enter_stage("check")
        os._exit(3)
    if "refuse" in text:
        enter_stage("limits")
        raise error("E999", "the tensor is too big", help="make it smaller")
    return Verdict.passed(len(text), details={"errors": np.arange(3) * 0.5})


def drain(evaluator):
    got = {}
    while evaluator.busy:
        for outcome in evaluator.wait(1.0):
            got[outcome.key] = outcome.verdict
    return got


def test_overrun_and_crash_fail_at_their_stage_and_spare_the_rest():
    start = time.monotonic()
    with Evaluator(verify_misbehaving, workers=2, cap=1.0) as evaluator:
        for key in ["a", "sleep", "bb", "block", "crash", "ccc", "refuse"]:
            evaluator.submit(key, key)
        got = drain(evaluator)
    assert {k: v.score for k, v in got.items() if v.ok} == {"a": 1, "bb": 2, "ccc": 3}
    assert (got["sleep"].stage, got["block"].stage, got["crash"].stage) == ("compile", "test", "check")
    assert "longer than its time cap of 1s during stage compile" in got["sleep"].feedback
    assert got["block"].details["killed"] is True
    assert "crashed its worker process during stage check" in got["crash"].feedback
    assert got["refuse"].stage == "limits" and "error[E999]: the tensor is too big" in got["refuse"].feedback
    assert got["a"].details["errors"].tolist() == [0.0, 0.5, 1.0]
    assert time.monotonic() - start < 15


def test_a_verifier_that_cannot_reach_the_workers_is_named():
    with pytest.raises(InternalError, match="cannot be sent to worker processes"):
        Evaluator(lambda text: Verdict.passed(1.0))


def search(tmp_path, budget, generate=generate_numbered, resume=False, **kwargs):
    rundir = RunDir(tmp_path / "run", resume=resume, meta={"seed": 5})
    database = ProgramDatabase(islands=4, seed=5, reset_every=6)
    try:
        return run_search(generate, verify_numbered, database, rundir, budget, workers=2, progress=False,
                          seeds=(SEED,), **kwargs), rundir
    finally:
        rundir.close()


def log_of(tmp_path):
    return [json.loads(line) for line in (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()]


def test_a_count_budget_verifies_exactly_that_many_distinct_candidates(tmp_path):
    result, _ = search(tmp_path, Budget(candidates=25))
    log = log_of(tmp_path)
    assert result.tried == len(log) == 25 and result.stop_reason == "candidates"
    assert len({r["hash"] for r in log}) == 25
    assert log[0]["source"] == SEED and log[0]["island"] is None and log[0]["meta"] == {"seed": True}
    passed = [r for r in log if r["verdict"]["ok"]]
    best = max(passed, key=lambda r: r["verdict"]["score"])
    assert (tmp_path / "run" / "best.plmr").read_text() == best["source"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["tried"], summary["passed"], summary["finished"]) == (25, len(passed), True)
    assert summary["failed_by_stage"] == ({"test": 25 - len(passed)} if len(passed) < 25 else {})
    assert all(set(r["parents"]) <= {p["id"] for p in log[:i]} for i, r in enumerate(log))


def test_a_resumed_run_continues_the_seed_sequence_without_repeats(tmp_path):
    search(tmp_path, Budget(candidates=12))
    first = log_of(tmp_path)
    result, _ = search(tmp_path, Budget(candidates=30), resume=True)
    log = log_of(tmp_path)
    assert log[:12] == first and len(log) == 30 == result.tried
    assert len({r["hash"] for r in log}) == 30
    assert min(r["step"] for r in log[12:]) > max(r["step"] for r in first)


def test_one_worker_runs_are_reproducible_from_the_seed(tmp_path):
    def run(name, seed):
        rundir = RunDir(tmp_path / name)
        run_search(generate_numbered, verify_numbered, ProgramDatabase(seed=seed, reset_every=5), rundir,
                   Budget(candidates=15), progress=False, seeds=(SEED,))
        rundir.close()
        return [(r["source"], r["verdict"], r["parents"]) for r in
                map(json.loads, (tmp_path / name / "candidates.jsonl").read_text().splitlines())]

    assert run("a", 3) == run("b", 3) != run("c", 4)


def test_a_time_budget_stops_the_run_on_time(tmp_path):
    def slow(examples, feedback, rng):
        time.sleep(0.05)
        return generate_numbered(examples, feedback, rng)

    start = time.monotonic()
    result, _ = search(tmp_path, Budget(seconds=2.0), generate=slow)
    assert result.stop_reason == "time" and result.tried > 5
    assert time.monotonic() - start < 6


def test_duplicates_are_never_verified_twice(tmp_path):
    calls = []

    def repetitive(examples, feedback, rng):
        calls.append(1)
        return [Proposal("kernel k2() {}\n", meta={"n": len(calls)}), "kernel k3() {}\n"]

    result, _ = search(tmp_path, Budget(candidates=50), generate=repetitive)
    assert result.tried == 3 and "produced nothing new" in result.stop_reason
    sources = [r["source"] for r in log_of(tmp_path)]
    assert sources[0] == SEED and sorted(sources[1:]) == ["kernel k2() {}\n", "kernel k3() {}\n"]


def test_feedback_reaches_the_generator(tmp_path):
    seen = []

    def sevens(examples, feedback, rng):
        seen.extend(f.verdict.feedback for f in feedback)
        return [f"kernel k{7 * int(rng.integers(1, 10**6))}() {{}}\n"]

    search(tmp_path, Budget(candidates=12), generate=sevens)
    assert any(re.fullmatch(r"k\d+ is wrong", text) for text in seen)


def test_progress_line_and_token_totals(tmp_path, capsys):
    def costly(examples, feedback, rng):
        source = generate_numbered(examples, feedback, rng)[0]
        return [Proposal(source, meta={"prompt_tokens": 100, "completion_tokens": 20})]

    rundir = RunDir(tmp_path / "run")
    run_search(costly, verify_numbered, ProgramDatabase(), rundir, Budget(candidates=6), seeds=(SEED,))
    assert re.search(r"search: 100%.*6/6.*best \d+, pass \d+%", capsys.readouterr().err)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["tokens"] == {"prompt_tokens": 500, "completion_tokens": 100}


def test_a_failing_seed_stops_the_run_with_the_verifiers_words(tmp_path):
    rundir = RunDir(tmp_path / "run")
    with pytest.raises(PlmrError, match="no seed program passed verification") as caught:
        run_search(generate_numbered, verify_numbered, ProgramDatabase(), rundir, Budget(candidates=5),
                   progress=False, seeds=("kernel k14() {}\n",))
    assert "k14 is wrong" in caught.value.diagnostics[0].help
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["finished"] is False


RUNNER = textwrap.dedent('''
    import re, sys, time
    from runtime.search import Budget, ProgramDatabase, RunDir, Verdict, enter_stage, run_search

    def verify(text):
        enter_stage("test")
        time.sleep(0.04)
        n = int(re.search(r"k(\\d+)", text).group(1))
        return Verdict.failed("test", "multiple of 7") if n % 7 == 0 else Verdict.passed(n % 1000)

    def generate(examples, feedback, rng):
        base = max((int(re.search(r"k(\\d+)", p.source).group(1)) for p in examples), default=1)
        return [f"kernel k{base + int(rng.integers(1, 10**6))}() {{}}\\n" for _ in range(3)]

    if __name__ == "__main__":
        out, resume = sys.argv[1], "--resume" in sys.argv
        rundir = RunDir(out, resume=resume, meta={"seed": 11})
        database = ProgramDatabase(islands=4, seed=11, reset_every=10)
        run_search(generate, verify, database, rundir, Budget(candidates=int(sys.argv[2])), workers=2,
                   progress=False, seeds=("kernel k1() {}\\n",))
''')


def run_script(script, out, total, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(script), str(out), str(total), *extra], cwd=REPO, env=env,
                            start_new_session=True, stderr=subprocess.PIPE, text=True)


def wait_for_lines(log, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (not log.exists() or log.read_bytes().count(b"\n") < count):
        time.sleep(0.02)


def kill_at(script, out, total, lines, *extra):
    """Start the runner, SIGKILL it once the log has `lines` lines, return the log's complete lines."""
    proc = run_script(script, out, total, *extra)
    try:
        wait_for_lines(out / "candidates.jsonl", lines)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    data = (out / "candidates.jsonl").read_bytes()
    return data[: data.rfind(b"\n") + 1].decode().splitlines()


def test_kill_9_twice_then_resume_loses_and_repeats_nothing(tmp_path):
    script, out, total = tmp_path / "runner.py", tmp_path / "run", 90
    script.write_text(RUNNER)
    first = kill_at(script, out, total, 25)
    json.loads((out / "summary.json").read_text())
    assert (out / "best.plmr").read_text().startswith("kernel k")
    second = kill_at(script, out, total, 55, "--resume")
    final = run_script(script, out, total, "--resume")
    assert final.wait(timeout=120) == 0, final.stderr.read()
    after = (out / "candidates.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in after]
    assert 25 <= len(first) < 55 <= len(second) < total
    assert after[: len(first)] == first and after[: len(second)] == second
    assert [r["index"] for r in records] == list(range(total))
    assert len({r["hash"] for r in records}) == total
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["tried"], summary["finished"], summary["stop_reason"]) == (total, True, "candidates")
    best = max((r for r in records if r["verdict"]["ok"]), key=lambda r: r["verdict"]["score"])
    assert (out / "best.plmr").read_text() == best["source"]
