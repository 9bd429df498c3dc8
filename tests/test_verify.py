"""The verifier cascade on a corpus of realistic candidates (tests/candidates/), through `plmr verify`.

Each corpus file starts with header comments: `# expect: STAGE` (where the cascade must stop; `score`
for a candidate that passes or fails only on its score), `# feedback: PHRASE` (words the feedback must
contain) and `# args: …` (the `plmr verify` options naming the reference). A header line is a plmr
comment, so bare-source candidates keep it; in a reply with fences it is prose around the code.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plmr.api import load
from plmr.cli import main
from runtime.search.verdict import STAGES, Verdict
from runtime.verify import verify
from runtime.verify.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "candidates").glob("*.*"))
PASSING = {"k_pass_last_untagged_block.md", "k_pass_log_space.plmr", "k_pass_several_blocks.md",
           "l_pass_meshgemm.md"}


def header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def run_verify(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_corpus_covers_every_kind_of_mistake():
    stages = {header(p)["expect"] for p in CORPUS}
    assert {"extract", "parse", "check", "limits", "test", "score"} <= stages
    assert {p.name[0] for p in CORPUS} == {"k", "l", "a"}  # kernels, layouts and agents
    assert PASSING <= {p.name for p in CORPUS}


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_candidate_stops_at_its_stage_with_useful_feedback(path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    want = header(path)
    code, out, err = run_verify([str(path), *shlex.split(want["args"]), "--json"], capsys)
    assert err == "", f"verify wrote to stderr (a raise or a traceback): {err}"
    verdict = json.loads(out)
    assert set(verdict) == {"ok", "stage", "score", "feedback", "details"}
    assert verdict["stage"] == want["expect"], verdict["feedback"]
    assert want["feedback"] in verdict["feedback"]
    assert verdict["ok"] is (path.name in PASSING)
    assert code == (0 if verdict["ok"] else 1)
    if verdict["ok"]:
        assert verdict["score"] > 0
    else:
        assert verdict["score"] is None


def test_a_counterexample_is_shrunk_to_the_smallest_shape(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = ROOT / "tests/candidates/k_test_numerically_wrong.plmr"
    code, out, _ = run_verify([str(path), *shlex.split(header(path)["args"]), "--json"], capsys)
    details = json.loads(out)["details"]
    assert code == 1
    assert details["dims"] == {"N": 1, "D": 1}  # the +1 in the normaliser is wrong at every size
    assert details["error"] > details["tolerance"]
    assert details["where"] == [0, 0]


def test_plain_text_output_names_the_verdict(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = ROOT / "tests/candidates/l_score_routes.plmr"
    code, out, _ = run_verify([str(path), *shlex.split(header(path)["args"])], capsys)
    assert code == 1
    assert out.startswith("FAIL at stage score\n")
    assert "route tags" in out


def test_a_passing_layout_prints_its_score(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = ROOT / "tests/candidates/l_pass_meshgemm.md"
    code, out, _ = run_verify([str(path), *shlex.split(header(path)["args"])], capsys)
    assert code == 0
    assert out.startswith("PASS at stage score  score 13660")


def test_candidate_from_standard_input(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("no code here, sorry"))
    code, out, _ = run_verify(["-", "--against", "stdlib/kernels/norms.plmr", "--kernel", "softmax", "--json"],
                              capsys)
    assert code == 1
    assert json.loads(out)["stage"] == "extract"


@pytest.mark.parametrize(("argv", "words"), [
    (["tests/candidates/k_pass_log_space.plmr"], "--against"),
    (["tests/candidates/k_pass_log_space.plmr", "--against", "no/such/file.plmr"], "no/such/file.plmr"),
    (["no_such_candidate.plmr", "--against", "stdlib/kernels/norms.plmr", "--kernel", "softmax"],
     "cannot read no_such_candidate.plmr"),
    (["tests/candidates/k_pass_log_space.plmr", "--against", "stdlib/kernels/norms.plmr"], "--kernel NAME"),
    (["tests/candidates/k_pass_log_space.plmr", "--against", "stdlib/kernels/norms.plmr", "--kernel", "x",
      "--layout", "y"], "not allowed with"),
])
def test_bad_usage_exits_2_with_plain_words(argv, words, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    try:
        code, out, err = run_verify(argv, capsys)
    except SystemExit as exit_:  # argparse's own usage errors
        code, (out, err) = exit_.code, capsys.readouterr()
    assert code == 2
    assert words in err
    assert "Traceback" not in err and out == ""


@pytest.fixture(scope="module")
def norms():
    return load(ROOT / "stdlib/kernels/norms.plmr")


@settings(max_examples=40)
@given(st.text(max_size=200) | st.builds(lambda body: "kernel softmax(x: f32[N, D]) -> f32[N, D] {\n" + body,
                                         st.text(max_size=120)))
def test_arbitrary_replies_get_a_failing_verdict_never_an_exception(norms, reply):
    verdict = verify(reply, norms, kind="kernel", name="softmax", seed=0, trials=3)
    assert isinstance(verdict, Verdict)
    assert verdict.stage in STAGES
    assert not verdict.ok and verdict.feedback.strip()


def test_an_overlong_source_is_refused_before_it_is_parsed(norms):
    reply = "kernel softmax(x: f32[N, D]) -> f32[N, D] {\n" + "  # padding\n" * 3000 + "}\n"
    verdict = verify(reply, norms, kind="kernel", name="softmax", limits=Limits(source_chars=5_000))
    assert (verdict.stage, verdict.ok) == ("limits", False)
    assert "the cap is 5,000" in verdict.feedback


def test_deep_nesting_is_refused_at_limits(norms):
    deep = "x[n, d]" + " + 1" * 40
    reply = f"kernel softmax(x: f32[N, D]) -> f32[N, D] {{\n  y[n, d] = {deep}\n  return y\n}}\n"
    verdict = verify(reply, norms, kind="kernel", name="softmax", limits=Limits(depth=16))
    assert verdict.stage == "limits"
    assert "nests expressions" in verdict.feedback and "the cap is 16" in verdict.feedback


def test_a_slow_stage_is_cut_off_by_the_time_cap(norms):
    path = ROOT / "tests/candidates/k_test_numerically_wrong.plmr"
    verdict = verify(path.read_text(), norms, kind="kernel", name="softmax", seed=1,
                     limits=Limits(seconds=0.05))
    assert not verdict.ok
    assert "time cap of 0.05s" in verdict.feedback


def test_a_timeout_a_library_turns_into_its_own_error_is_still_a_timeout():
    """Hypothesis, interrupted mid-draw, reports FlakyStrategyDefinition; the verdict must still
    blame the time cap, not call it a verifier bug."""
    import time

    from runtime.search.worker import CandidateTimeout, verify_capped

    def library_that_rewraps(text):
        try:
            time.sleep(1)
        except CandidateTimeout:
            raise RuntimeError("Inconsistent data generation!") from None
        return Verdict.passed(1.0)

    verdict = verify_capped(library_that_rewraps, "", 0.02)
    assert not verdict.ok and "time cap of 0.02s" in verdict.feedback


def test_warnings_about_the_candidate_reach_the_feedback_but_not_the_references(norms):
    dead = ("kernel softmax(x: f32[N, D]) -> f32[N, D] {\n  junk[n] = sum(d) x[n, d]\n"
            "  m[n] = max(d) x[n, d]\n  e[n, d] = exp(x[n, d] - m[n])\n  y[n, d] = e[n, d] / sum(k) e[n, k]\n"
            "  return y\n}\n")
    verdict = verify(dead, norms, kind="kernel", name="softmax", seed=0)
    assert verdict.ok and "warning[W001]: junk is computed" in verdict.feedback
    assert [w["code"] for w in verdict.details["warnings"]] == ["W001"]
    clean = verify(dead.replace("  junk[n] = sum(d) x[n, d]\n", ""), norms, kind="kernel", name="softmax", seed=0)
    assert clean.ok and "warning" not in clean.feedback and "warnings" not in clean.details
