"""The crash-safe run directory and budget parsing."""

import json

import pytest

from dsl.diagnostics import InternalError, PlmrError
from runtime.search.budget import Budget, parse_budget
from runtime.search.rundir import LOG, CandidateRecord, RunDir, source_hash
from runtime.search.verdict import Verdict


def record(index, source=None, ok=True):
    source = source or f"kernel k{index}() {{}}\n"
    verdict = Verdict.passed(index) if ok else Verdict.failed("parse", "bad")
    return CandidateRecord(index, f"c{index:06d}", index, 0, (), "test", source, source_hash(source), verdict,
                           {"verify_s": 0.1}, float(index))


def test_records_survive_a_reopen(tmp_path):
    run = RunDir(tmp_path / "run", meta={"seed": 3})
    for i in range(3):
        run.append(record(i))
    run.close()
    again = RunDir(tmp_path / "run", resume=True)
    assert [r.id for r in again.records] == ["c000000", "c000001", "c000002"]
    assert again.records[1] == record(1)
    assert again.meta == {"seed": 3} and again.next_index == 3 and again.next_step == 3
    assert again.seen(source_hash("kernel k2() {}  \r\n\r\n")) and not again.seen(source_hash("other"))


def test_a_run_directory_closes_its_log_as_a_context_manager(tmp_path):
    with RunDir(tmp_path) as run:
        run.append(record(0))
    assert run._log.closed
    assert json.loads((tmp_path / LOG).read_text())["id"] == "c000000"


def test_a_torn_last_line_is_cut_and_appending_continues(tmp_path):
    run = RunDir(tmp_path)
    run.append(record(0))
    run.append(record(1))
    run.close()
    with open(tmp_path / LOG, "ab") as log:
        log.write(json.dumps(record(2).to_dict()).encode()[:37])
    again = RunDir(tmp_path, resume=True)
    assert len(again.records) == 2
    again.append(record(2))
    again.close()
    lines = (tmp_path / LOG).read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2]


def test_damage_before_the_last_line_is_reported_with_its_line(tmp_path):
    good = [json.dumps(record(i).to_dict()) for i in (0, 2)]
    (tmp_path / LOG).write_text(f"{good[0]}\n{{oops\n{good[1]}\n")
    with pytest.raises(PlmrError, match=r"candidates.jsonl:2: the candidate log is damaged"):
        RunDir(tmp_path, resume=True)


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path):
    run = RunDir(tmp_path)
    run.append(record(0))
    run.close()
    with pytest.raises(PlmrError, match="already holds a search run"):
        RunDir(tmp_path)


def test_resuming_an_empty_directory_starts_a_run(tmp_path):
    run = RunDir(tmp_path / "new", resume=True, meta={"seed": 4})
    assert (run.records, run.next_step, run.meta) == ([], 0, {"seed": 4})
    assert json.loads((tmp_path / "new" / "run.json").read_text()) == {"seed": 4}


def test_numpy_values_in_a_verdict_are_logged_as_json(tmp_path):
    import numpy as np
    run = RunDir(tmp_path)
    rec = record(0)
    run.append(CandidateRecord(**{**{f: getattr(rec, f) for f in rec.__slots__},
                                  "verdict": Verdict.passed(np.float32(2.5), details={"err": np.ones(2)})}))
    logged = json.loads((tmp_path / LOG).read_text())
    assert logged["verdict"]["score"] == 2.5 and logged["verdict"]["details"] == {"err": [1.0, 1.0]}


def test_a_passing_verdict_needs_a_finite_score():
    with pytest.raises(InternalError, match="finite score, not nan"):
        Verdict(True, "score", float("nan"))
    with pytest.raises(InternalError, match="unknown stage 'run'"):
        Verdict.failed("run", "no")


def test_resume_with_different_settings_is_refused(tmp_path):
    RunDir(tmp_path, meta={"seed": 1, "generator": "evolve"}).close()
    with pytest.raises(PlmrError, match=r"seed=1 \(given 2\)"):
        RunDir(tmp_path, resume=True, meta={"seed": 2})


def test_best_and_summary_are_replaced_whole(tmp_path):
    run = RunDir(tmp_path)
    run.write_best("kernel a() {}")
    run.write_summary({"tried": 1})
    run.write_best("kernel b() {}\n")
    assert (tmp_path / "best.plmr").read_text() == "kernel b() {}\n"
    assert json.loads((tmp_path / "summary.json").read_text()) == {"tried": 1}
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("text,budget", [
    ("10m", Budget(600.0, None)), ("90s", Budget(90.0, None)), ("500", Budget(None, 500)),
    ("1h30m", Budget(5400.0, None)), ("10m,500", Budget(600.0, 500)), ("2.5m + 20", Budget(150.0, 20)),
])
def test_budgets_parse(text, budget):
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text,message", [
    ("10 minutes", "cannot read the budget '10 minutes'"), ("", "the budget is empty"),
    ("0s", "allows no search"), ("5m,6m", "at '6m'"),
])
def test_bad_budgets_say_how_to_write_one(text, message):
    with pytest.raises(PlmrError, match=message) as caught:
        parse_budget(text)
    assert "90s, 10m" in caught.value.diagnostics[0].help


def test_budget_stops_on_whichever_comes_first():
    budget = Budget(60.0, 10)
    assert budget.exhausted(59.0, 9) is None
    assert budget.exhausted(61.0, 3) == "time"
    assert budget.exhausted(1.0, 10) == "candidates"
