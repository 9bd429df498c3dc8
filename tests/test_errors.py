"""One small bad program per diagnostic under tests/errors/: code, line:col and words, and the whole
rendered text against a golden `.expected` file (rewritten by `pytest --update-goldens`).

Each file starts with `# expect: CODE LINE:COL MESSAGE` (`-` for an error with no place). A file
with `# run: KERNEL NAME=3x4 …` is checked, then that kernel runs on zero arrays of those shapes,
for the errors found when arrays are bound.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import plmr
from dsl.diagnostics import PlmrError

ERRORS = Path(__file__).parent / "errors"
FILES = sorted(ERRORS.glob("*.plmr"))
EXPECT = re.compile(r"# expect: ([EW]\d{3}) (\d+:\d+|-) (.+)")
RUN = re.compile(r"# run: (\w+)((?: \w+=[\dx]*)*)")


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split("x")) if text else ()


def error_of(path: Path) -> PlmrError:
    """The PlmrError the file raises: when loading it, or when running its `# run:` line."""
    text = path.read_text()
    run = RUN.search(text)
    with pytest.raises(PlmrError) as caught:
        program = plmr.loads(text, path.name)
        if run is None:
            pytest.fail(f"{path.name} loaded without an error")
        arrays = [np.zeros(_shape(arg.partition("=")[2])) for arg in run.group(2).split()]
        program.run(run.group(1), *arrays)
    return caught.value


WARNINGS = sorted((Path(__file__).parent / "warnings").glob("*.plmr"))


@pytest.mark.parametrize("path", WARNINGS, ids=lambda p: p.stem)
def test_warning(path, golden):
    """tests/warnings/: programs that check cleanly but get a warning (the first one is `# expect:`)."""
    code, where, message = EXPECT.match(path.read_text()).groups()
    warnings = plmr.loads(path.read_text(), path.name).checked.warnings
    first = warnings[0]
    assert (first.code, f"{first.span.line}:{first.span.col}", first.message) == (code, where, message)
    golden(path.with_suffix(".expected"), "\n\n".join(w.render() for w in warnings) + "\n")


def test_the_stdlib_has_no_warnings():
    for path in sorted(Path(plmr.__file__).resolve().parent.parent.joinpath("stdlib").rglob("*.plmr")):
        assert plmr.load(path).checked.warnings == [], path


def test_warnings_are_printed_by_check_but_do_not_fail_it(capsys):
    from plmr.cli import main

    assert main(["check", str(WARNINGS[0])]) == 0
    out, err = capsys.readouterr()
    assert "1 warning)" in out and "warning[W001]: scratch is computed" in err


def test_every_file_has_an_expectation():
    assert len(FILES) >= 35
    for path in FILES:
        assert EXPECT.match(path.read_text()), f"{path.name} has no '# expect: CODE LINE:COL MESSAGE' line"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_error(path, golden):
    code, where, message = EXPECT.match(path.read_text()).groups()
    exc = error_of(path)
    first = exc.diagnostics[0]
    assert len(exc.diagnostics) == 1, exc.render()
    assert first.code == code
    assert first.message == message
    assert (f"{first.span.line}:{first.span.col}" if first.span else "-") == where
    assert str(exc) == exc.render()
    golden(path.with_suffix(".expected"), exc.render() + "\n")


def test_every_checker_and_parser_code_has_a_file():
    """Each code the front end, checker and binder can raise (found in their sources) is tested."""
    root = Path(__file__).parent.parent
    sources = [*root.glob("dsl/*.py"), root / "compiler/check_kernel.py", root / "compiler/bind.py"]
    codes = {c for s in sources for c in re.findall(r'"(E\d{3})"', s.read_text())}
    covered = {EXPECT.match(p.read_text()).group(1) for p in FILES} | API_CODES
    assert codes - covered == set()


# ---------------------------------------------------------------- errors reached through the API

API_CODES = {"E202", "E204"}
GEMM = "kernel gemm(A: f32[M, K], B: f32[K, N]) -> f32[M, N] {\n  C[i, j] = sum(k) A[i, k] * B[k, j]\n" \
       "  return C\n}\n"


def test_input_that_is_not_numbers():
    program = plmr.loads(GEMM)
    with pytest.raises(PlmrError, match=r"E202\]: input A has dtype <U1, not a number type"):
        program.run("gemm", np.array([["a"]]), np.zeros((1, 1)))


def test_fractional_values_for_an_integer_input():
    program = plmr.loads("kernel f(x: i32[N]) -> i32[N] {\n  y[i] = x[i]\n  return y\n}\n")
    with pytest.raises(PlmrError, match=r"E204\]: input x is declared i32 but holds fractional values"):
        program.run("f", np.array([1.5]))
    assert program.run("f", np.array([2.0])).tolist() == [2]  # whole floats are fine


def test_missing_kernel_names_the_kernels_there_are():
    with pytest.raises(PlmrError, match=r"E020\]: <string> has no kernel 'gem' \(kernels: gemm\)"):
        plmr.loads(GEMM).run("gem")


def test_unknown_backend():
    with pytest.raises(PlmrError, match=r"E021\]: unknown backend 'cuda'\n  = help: backends: ref, jax"):
        plmr.loads(GEMM).run("gemm", np.zeros((1, 1)), np.zeros((1, 1)), backend="cuda")


def test_unreadable_file(tmp_path):
    with pytest.raises(PlmrError, match=r"E022\]: cannot read .*nothing.plmr: No such file"):
        plmr.load(tmp_path / "nothing.plmr")
    bad = tmp_path / "latin1.plmr"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(PlmrError, match=r"E022\]: cannot read .*latin1.plmr"):
        plmr.load(bad)


# ---------------------------------------------------------------- several errors at once

SEVERAL = """\
kernel f(x: f32[N], z: f32[M]) -> f32[N] {
  a[i] = x[i] * w[k]
  b[i] = x[i] + z[i]
  c[i] = foo(x[i])
  y[i] = x[i] + a[i] + b[i] + c[i]
  return y
}

kernel g(x: f32[N]) -> f32[N] {
  y[i] = x[i] * alpha
  return y
}

kernel f(x: f32[N]) -> f32[N] {
  y[i] = x[i]
  return y
}
"""


def test_independent_errors_are_all_reported_in_source_order():
    with pytest.raises(PlmrError) as caught:
        plmr.loads(SEVERAL, "several.plmr")
    found = [(d.code, d.span.line, d.span.col) for d in caught.value.diagnostics]
    # w is unknown (a tensor, so E124 on w); z[i] conflicts with x[i]; foo is unknown; alpha is unknown;
    # the second f is a duplicate. y uses a, b, c whose statements failed: no second message for them.
    assert found == [("E124", 2, 17), ("E131", 3, 19), ("E127", 4, 10), ("E122", 10, 17), ("E010", 14, 8)]
    rendered = str(caught.value)
    assert rendered.count("error[") == 5
    assert rendered.index("several.plmr:2:17") < rendered.index("several.plmr:14:8")


SYNTAX_IN_SEVERAL = """\
kernel f(x: f32[N]) f32[N] {
  y[i] = x[i]
  return y
}

kernel g(x: f32[N]) -> f32[N] {
  y[i] = x[i] *
  return y
}

kernel fine(x: f32[N]) -> f32[N] {
  y[i] = x[i]
  return y
}
kernel h(x: f32[N]) -> f32[N] {
  y[i] = x[i] $ 2
  return y
}
agent a(actions = 2) {
  logits[a] = 0
"""


def test_a_syntax_error_in_each_declaration_is_reported_once():
    with pytest.raises(PlmrError) as caught:
        plmr.loads(SYNTAX_IN_SEVERAL, "syntax.plmr")
    found = [(d.code, d.span.line, d.span.col) for d in caught.value.diagnostics]
    # the missing '->' in f; the missing operand in g; fine is read and has none; the '$' in h;
    # the agent runs off the end of the file
    assert found == [("E003", 1, 21), ("E003", 8, 3), ("E001", 16, 15), ("E002", 20, 15)]


def test_a_missing_brace_does_not_swallow_the_next_declaration():
    text = "kernel f(x: f32[N]) -> f32[N] {\n  y[i] = x[i]\n  return y\n\nkernel g(x: f32[N]) -> f32 {\n  s = +\n}\n"
    with pytest.raises(PlmrError) as caught:
        plmr.loads(text)
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [("E003", 5), ("E003", 6)]


def test_a_copy_of_any_stdlib_statement_under_a_new_name_is_dead_code():
    """For every stdlib kernel and statement: the copy is the only warning, and it names the copy."""
    from stdlib import kernel_files

    for path in kernel_files():
        text = path.read_text()
        for name in plmr.load(path).kernels:
            body = re.search(rf"(?ms)^kernel {name}\(.*?\n(.*?)^  return", text)[1]
            first = body.splitlines()[0]
            copied = re.sub(r"^  (\w+)", r"  unused_copy", first)
            found = plmr.loads(text.replace(first, first + "\n" + copied, 1), path.name).checked.warnings
            assert [(w.code, w.message.split()[0]) for w in found] == [("W001", "unused_copy")], (name, copied)
