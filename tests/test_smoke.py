"""The README's promises, end to end: the stdlib checks, and `plmr tour` agrees on every backend."""

from plmr.cli import main


def test_stdlib_checks(capsys):
    assert main(["check", "stdlib"]) == 0
    assert "error" not in capsys.readouterr().err


def test_tour_agrees(capsys):
    assert main(["tour", "--size", "5"]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "softmax" in out and "conv2d" in out
