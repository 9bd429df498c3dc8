"""The README's promises, end to end: the stdlib checks, and `plmr tour` agrees on every backend."""

import subprocess
import sys

from plmr.cli import main


def test_stdlib_checks(capsys):
    assert main(["check", "stdlib"]) == 0
    assert "error" not in capsys.readouterr().err


def test_tour_agrees():
    """In a fresh process, as the README runs it: there the tour can start its 8 JAX devices."""
    done = subprocess.run([sys.executable, "-m", "plmr", "tour", "--size", "5"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "MISMATCH" not in out and "softmax" in out and "conv2d" in out
    assert "shard_map programs on 8 JAX CPU devices" in out and "gemm_meshgemm       2x2" in out
