"""Behaviour data: CSV and rat-JSON readers, the CSV writer, the even-odd split, and bad files."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.diagnostics import PlmrError
from runtime.agents.data import Dataset, build_dataset, read_csv, split, write_csv
from runtime.agents.rat_json import read_rat_json
from runtime.agents.readers import read_behaviour

GOOD = """subject,session,trial,choice,reward
a,1,1,0,1
a,1,2,1,0
a,1,3,-1,0
a,1,4,1,1
a,2,1,0,0.5
b,7,10,1,1
"""


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_reader_groups_subjects_and_sessions(tmp_path):
    data = read_csv(write(tmp_path, GOOD))
    assert data.subjects == ("a", "b")
    assert data.sessions == (("1", "2"), ("7",))
    assert data.choices.shape == (2, 2, 4)
    assert data.choices[0, 0].tolist() == [0, 1, -1, 1]
    assert data.lengths.tolist() == [[4, 1], [1, 0]]
    assert data.rewards[0, 1, 0] == pytest.approx(0.5)
    assert data.trials_per_subject().tolist() == [4, 1]
    assert data.n_actions == 2


def test_csv_columns_in_any_order_and_instructed_column(tmp_path):
    text = "reward,choice,instructed,trial,session,subject\n1,1,1,0,s,x\n0,0,0,1,s,x\n"
    data = read_csv(write(tmp_path, text))
    assert data.choices[0, 0].tolist() == [1, 0]
    assert data.instructed[0, 0].tolist() == [True, False]
    assert data.trials_per_subject().tolist() == [1]


def _datasets():
    """Random small datasets with masked and instructed trials and ragged sessions."""
    def build(shape_seed):
        rng = np.random.default_rng(shape_seed)
        n_subjects = int(rng.integers(1, 4))
        sessions = [[f"n{j}" for j in range(int(rng.integers(1, 4)))] for _ in range(n_subjects)]
        rows = [[(int(rng.integers(-1, 3)), float(rng.choice([0.0, 1.0, 0.25])), bool(rng.random() < 0.2))
                 for _ in range(int(rng.integers(1, 6)))] for labels in sessions for _ in labels]
        return build_dataset([f"subj{i}" for i in range(n_subjects)], sessions, rows, 3)
    return st.integers(0, 2**31).map(build)


def same(a: Dataset, b: Dataset) -> bool:
    return (a.subjects == b.subjects and a.sessions == b.sessions and a.n_actions == b.n_actions
            and all(np.array_equal(getattr(a, f), getattr(b, f))
                    for f in ("choices", "rewards", "instructed", "lengths")))


@settings(max_examples=30, deadline=None)
@given(_datasets())
def test_csv_round_trip(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rt") / "d.csv"
    write_csv(data, path)
    assert same(read_csv(path, n_actions=3), data)


BAD_FILES = [
    ("missing header", "a,1,1,0,1\n", "E802", 1, "no header"),
    ("unknown column", "subject,session,trial,choice,reward,rt\na,1,1,0,1,0.3\n", "E803", 1, "unknown column 'rt'"),
    ("missing column", "subject,session,trial,choice\na,1,1,0\n", "E804", 1, "lacks column"),
    ("malformed row", GOOD + "a,3,1,0\n", "E806", 8, "has 4 fields"),
    ("non-finite reward", GOOD + "a,3,1,0,nan\n", "E812", 8, "not finite"),
    ("infinite reward", "subject,session,trial,choice,reward\na,1,1,0,inf\n", "E812", 2, "not finite"),
    ("reward not a number", GOOD + "a,3,1,0,yes\n", "E811", 8, "not a number"),
    ("choice out of range", GOOD + "a,3,1,-2,1\n", "E808", 8, "choice -2 is out of range"),
    ("choice not an integer", GOOD + "a,3,1,0.5,1\n", "E810", 8, "not an integer"),
    ("trials out of order", GOOD + "a,1,2,0,1\n", "E807", 8, "comes after trial 4"),
    ("empty file", "", "E801", 1, "is empty"),
    ("header only", "subject,session,trial,choice,reward\n", "E809", 1, "no rows"),
]


@pytest.mark.parametrize("label,text,code,line,words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_csv_names_file_and_line(tmp_path, label, text, code, line, words):
    path = write(tmp_path, text)
    with pytest.raises(PlmrError, match=words) as info:
        read_csv(path)
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.code == code
    assert diagnostic.span.source.name == str(path)
    assert diagnostic.span.line == line
    assert f"{path}:{line}:" in str(info.value)


def test_choice_above_declared_actions_is_an_error(tmp_path):
    with pytest.raises(PlmrError, match=r"choice 2 is out of range") as info:
        read_csv(write(tmp_path, GOOD + "c,1,1,2,0\n"), n_actions=2)
    assert info.value.diagnostics[0].span.line == 8


def test_unreadable_file_is_a_plmr_error(tmp_path):
    with pytest.raises(PlmrError, match="cannot read behaviour data"):
        read_csv(tmp_path / "nope.csv")


def test_unknown_extension_is_a_plmr_error(tmp_path):
    with pytest.raises(PlmrError, match="cannot tell the format"):
        read_behaviour(write(tmp_path, GOOD, "data.txt"))


def test_split_even_odd_within_each_subject(tmp_path):
    text = "subject,session,trial,choice,reward\n" + "".join(
        f"{s},{n},0,{n % 2},1\n" for s, count in (("a", 5), ("b", 2), ("c", 1)) for n in range(count))
    train, test = split(read_csv(write(tmp_path, text)))
    assert train.sessions == (("0", "2", "4"), ("0",), ("0",))
    assert test.sessions == (("1", "3"), ("1",), ())
    assert train.choices[:, :, 0].tolist() == [[0, 0, 0], [0, -1, -1], [0, -1, -1]]
    assert test.choices[:, :, 0].tolist() == [[1, 1], [1, -1], [-1, -1]]
    assert test.trials_per_subject().tolist() == [2, 1, 0]
    with pytest.raises(PlmrError, match="unknown split 'random'"):
        split(train, "random")


RATS = [
    {"sides": "lrvrl", "trial_types": "fffrf", "rewards": [1, 0, 0, 1, 1], "new_sess": [1, 0, 0, 1, 0]},
    {"sides": "rr", "trial_types": "lf", "rewards": [0, 1], "new_sess": [True, False]},
]


def test_rat_json_reader(tmp_path):
    path = write(tmp_path, json.dumps(RATS, indent=1), "rats.json")
    data = read_rat_json(path)
    assert data.subjects == ("rat00", "rat01")
    assert read_behaviour(path).sessions == data.sessions
    assert data.sessions == (("0", "1"), ("0",))
    # the violation trial (v) is dropped; forced trials are kept as instructed
    assert data.choices[0, 0].tolist() == [0, 1]
    assert data.choices[0, 1].tolist() == [1, 0]
    assert data.instructed[0, 1].tolist() == [True, False]
    assert data.instructed[1, 0].tolist() == [True, False]
    assert data.rewards[0, 1].tolist() == [1.0, 1.0]
    assert data.trials_per_subject().tolist() == [3, 1]


BAD_RATS = [
    ("bad side", {"sides": "lx"}, "side 'x' is not l, r or v", '"sides"'),
    ("length mismatch", {"rewards": [1]}, "field 'rewards' of rat01 does not match", '"rewards"'),
    ("non-finite reward", {"rewards": [0, None]}, "reward None is not a finite number", '"rewards"'),
    ("no first session", {"new_sess": [0, 0]}, "does not start a session", '"new_sess"'),
    ("missing field", {"trial_types": None}, "field 'trial_types' of rat01 does not match", '"trial_types"'),
]


@pytest.mark.parametrize("label,change,words,key", BAD_RATS, ids=[b[0] for b in BAD_RATS])
def test_bad_rat_json_names_the_line(tmp_path, label, change, words, key):
    rats = [RATS[0], {**RATS[1], **change}]
    text = json.dumps(rats, indent=1)
    path = write(tmp_path, text, "rats.json")
    with pytest.raises(PlmrError, match=words) as info:
        read_rat_json(path)
    expected_line = text[:[i for i in range(len(text)) if text.startswith(key, i)][1]].count("\n") + 1
    assert info.value.diagnostics[0].span.line == expected_line
    assert f"{path}:{expected_line}:" in str(info.value)


def test_rat_json_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, '[\n {"sides": "l",\n  oops}\n]', "rats.json")
    with pytest.raises(PlmrError, match="not valid JSON") as info:
        read_rat_json(path)
    assert info.value.diagnostics[0].span.line == 3
