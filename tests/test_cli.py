"""The `plmr` command: help, exit codes, check --json, fmt, run with random or .npz inputs, compile,
and `plmr check` importing no heavy backend."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from plmr.cli import COMMANDS, main
from stdlib import kernel_files

GEMM = "kernel gemm(A: f32[M, K], B: f32[K, N]) -> f32[M, N] {\n  C[i, j] = sum(k) A[i, k] * B[k, j]\n" \
       "  return C\n}\n"
MOMENTS = "kernel moments(x: f32[N]) -> (f32, f32) {\n  mu = sum(i) x[i] / N\n" \
          "  var = sum(i) (x[i] - mu) ** 2 / N\n  return mu, var\n}\n"


@pytest.fixture
def gemm_file(tmp_path):
    path = tmp_path / "gemm.plmr"
    path.write_text(GEMM)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: plmr {command}" in capsys.readouterr().out


def test_top_level_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(c in out for c in COMMANDS)


def test_no_subcommand_is_a_usage_error(capsys):
    assert main([]) == 2


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compile", "x.plmr", "k", "--emit", "asm"])
    assert exit_.value.code == 2
    assert "invalid choice: 'asm'" in capsys.readouterr().err


# ---------------------------------------------------------------- check


def test_check_stdlib_is_clean(capsys):
    assert main(["check", *map(str, kernel_files())]) == 0
    out = capsys.readouterr().out
    assert "norms.plmr: ok (4 kernels)" in out


def test_check_bad_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.plmr"
    bad.write_text(GEMM.replace("B[k, j]", "B[k, q]"))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:35: error[E121]: index q is used on the right but not bound" in err
    assert "2 |   C[i, j] = sum(k) A[i, k] * B[k, q]" in err
    assert "\n  |                                   ^\n" in err


def test_check_json(tmp_path, gemm_file, capsys):
    bad = tmp_path / "bad.plmr"
    bad.write_text(GEMM.replace("B[k, j]", "B[k, q]") + "\nkernel gemm() -> f32 {\n  s = 1\n  return s\n}\n")
    assert main(["check", "--json", str(gemm_file), str(bad)]) == 2
    results = json.loads(capsys.readouterr().out)
    assert results[0] == {"file": str(gemm_file), "ok": True, "declarations": 1, "diagnostics": []}
    assert results[1]["file"] == str(bad) and results[1]["ok"] is False
    first, second = results[1]["diagnostics"]
    assert first == {"severity": "error", "code": "E121", "message": "index q is used on the right but not bound",
                     "help": first["help"], "file": str(bad), "line": 2, "col": 35, "notes": []}
    assert "sum(q)" in first["help"]
    assert (second["code"], second["line"], second["notes"]) == ("E010", 6, ["first declared here"])


def test_check_directory_and_missing_path(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert f"error[E030]: {tmp_path} holds no .plmr files" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "nope.plmr")]) == 2
    assert "nope.plmr: no such file or directory" in capsys.readouterr().err


# ---------------------------------------------------------------- fmt

UGLY = "# gemm\nkernel gemm(A:f32[M,K],B:f32[K,N])->f32[M,N]{   # C = A B\n" \
       "C[i,j]=sum(k)(A[i,k]*B[k,j])\nreturn C}\n"
CANONICAL = "# gemm\nkernel gemm(A: f32[M, K], B: f32[K, N]) -> f32[M, N] {  # C = A B\n" \
            "  C[i, j] = sum(k) A[i, k] * B[k, j]\n  return C\n}\n"


def test_fmt_check_reports_a_diff_and_changes_nothing(tmp_path, capsys):
    path = tmp_path / "ugly.plmr"
    path.write_text(UGLY)
    assert main(["fmt", "--check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"--- {path}\n+++ {path} (formatted)" in out
    assert "+  C[i, j] = sum(k) A[i, k] * B[k, j]" in out and "-C[i,j]=sum(k)(A[i,k]*B[k,j])" in out
    assert path.read_text() == UGLY


def test_fmt_rewrites_in_place(tmp_path, capsys):
    path = tmp_path / "ugly.plmr"
    path.write_text(UGLY)
    assert main(["fmt", str(path)]) == 0
    assert path.read_text() == CANONICAL
    assert f"formatted {path}" in capsys.readouterr().out
    assert main(["fmt", "--check", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_fmt_check_stdlib_is_canonical(capsys):
    assert main(["fmt", "--check", *map(str, kernel_files())]) == 0


def test_fmt_refuses_a_file_with_errors(tmp_path, capsys):
    path = tmp_path / "bad.plmr"
    text = UGLY.replace("B[k,j]", "B[k,q]")
    path.write_text(text)
    assert main(["fmt", str(path)]) == 2
    assert "error[E121]" in capsys.readouterr().err
    assert path.read_text() == text


# ---------------------------------------------------------------- run


def test_run_with_random_inputs(gemm_file, capsys):
    assert main(["run", str(gemm_file), "gemm", "--shapes", "M=3,K=5", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "random inputs (seed 7): M=3, K=5, N=8" in out
    assert "C: float32[3, 8]" in out


def test_run_is_reproducible_by_seed(gemm_file, capsys):
    outputs = []
    for seed in ("1", "1", "2"):
        main(["run", str(gemm_file), "gemm", "--seed", seed])
        outputs.append(capsys.readouterr().out.splitlines()[-1])
    assert outputs[0] == outputs[1] != outputs[2]


@pytest.mark.parametrize("backend", ["ref", "jax"])
def test_run_with_npz_inputs_and_output(tmp_path, gemm_file, backend, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    np.savez(tmp_path / "in.npz", A=a, B=b)
    out = tmp_path / "out.npz"
    code = main(["run", str(gemm_file), "gemm", "--backend", backend, "--inputs", str(tmp_path / "in.npz"),
                 "--out", str(out)])
    assert code == 0
    with np.load(out) as saved:
        assert list(saved) == ["C"]
        np.testing.assert_allclose(saved["C"], a @ b, rtol=1e-5, atol=1e-5)
    assert f"saved {out}" in capsys.readouterr().out


def test_run_several_results(tmp_path, capsys):
    path = tmp_path / "moments.plmr"
    path.write_text(MOMENTS)
    x = np.array([1.0, 2.0, 3.0, 6.0], np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    assert main(["run", str(path), "moments", "--inputs", str(tmp_path / "in.npz"),
                 "--out", str(tmp_path / "out.npz")]) == 0
    with np.load(tmp_path / "out.npz") as saved:
        assert float(saved["mu"]) == pytest.approx(3.0) and float(saved["var"]) == pytest.approx(3.5)
    out = capsys.readouterr().out
    assert "mu: float32[]  min 3  max 3  mean 3" in out


@pytest.mark.parametrize("shapes, message", [
    ("M=abc", "error[E401]: bad shape 'M=abc'"),
    ("M3", "error[E401]: bad shape 'M3'"),
    ("Q=3", "error[E402]: kernel gemm has no dimension Q"),
])
def test_run_bad_shapes(gemm_file, shapes, message, capsys):
    assert main(["run", str(gemm_file), "gemm", "--shapes", shapes]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_run_npz_missing_an_array(tmp_path, gemm_file, capsys):
    np.savez(tmp_path / "in.npz", A=np.zeros((2, 2)), X=np.zeros((2, 2)))
    assert main(["run", str(gemm_file), "gemm", "--inputs", str(tmp_path / "in.npz")]) == 2
    err = capsys.readouterr().err
    assert "error[E411]: " in err and "has no array named B" in err
    assert "it has: A, X; kernel gemm needs: A, B" in err


def test_run_unreadable_npz(tmp_path, gemm_file, capsys):
    (tmp_path / "in.npz").write_text("not a zip")
    assert main(["run", str(gemm_file), "gemm", "--inputs", str(tmp_path / "in.npz")]) == 2
    assert "error[E410]: cannot read inputs from" in capsys.readouterr().err


def test_run_npz_with_mismatched_shapes(tmp_path, gemm_file, capsys):
    np.savez(tmp_path / "in.npz", A=np.zeros((2, 3)), B=np.zeros((4, 2)))
    assert main(["run", str(gemm_file), "gemm", "--inputs", str(tmp_path / "in.npz")]) == 2
    assert "error[E207]: K is 3 from A but 4 from B" in capsys.readouterr().err


def test_run_unknown_kernel(gemm_file, capsys):
    assert main(["run", str(gemm_file), "gemv"]) == 2
    assert f"error[E020]: {gemm_file} has no kernel 'gemv' (kernels: gemm)" in capsys.readouterr().err


# ---------------------------------------------------------------- compile


def test_compile_emit_ast(gemm_file, capsys):
    assert main(["compile", str(gemm_file), "gemm", "--emit", "ast"]) == 0
    assert capsys.readouterr().out == GEMM


def test_compile_emit_ir(gemm_file, capsys):
    assert main(["compile", str(gemm_file), "gemm", "--emit", "ir"]) == 0
    assert capsys.readouterr().out == (
        "kernel gemm(A: f32[M, K], B: f32[K, N]) -> (C: f32[M, N])  dims M, K, N\n"
        "  C[i < M, j < N]: f32[M, N] = sum(k < K) (A[i, k] * B[k, j])\n")


def test_compile_emit_jax(gemm_file, capsys):
    assert main(["compile", str(gemm_file), "gemm", "--emit", "jax"]) == 0
    assert capsys.readouterr().out == (
        "def kernel_gemm(A, B, *, M, K, N):\n"
        "    C = jnp.einsum('ac,cb->ab', A, B)\n"
        "    return (C,)\n")


def test_compile_unknown_kernel(gemm_file, capsys):
    assert main(["compile", str(gemm_file), "nope", "--emit", "jax"]) == 2
    assert "has no kernel 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- start-up cost


def test_check_imports_no_heavy_backend():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "plmr", "check", "stdlib"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert {"dsl", "compiler", "lark"} <= imported  # the parse of importtime's output works
    assert imported.isdisjoint({"jax", "jaxlib", "numba", "llvmlite", "scipy", "matplotlib"})
