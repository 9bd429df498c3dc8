"""No input, however bad, gives anything but a PlmrError (or success): random text, token soups
from the grammar's vocabulary, and stdlib sources with characters deleted, inserted or swapped.
`plmr check` on such files exits 2 with file:line:col and never shows a traceback."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plmr
from plmr.cli import main
from runtime.inputs import default_dims, random_inputs
from stdlib import kernel_files

from test_grammar import DESIGN_AGENT, DESIGN_KERNELS, DESIGN_MESH_LAYOUTS

MANY = settings(max_examples=1000)

SOURCES = [p.read_text() for p in kernel_files()] + [DESIGN_KERNELS, DESIGN_MESH_LAYOUTS, DESIGN_AGENT]

VOCABULARY = (
    "kernel mesh layout agent return for on reduce param state update inf sum max min prod "
    "f16 bf16 f32 f64 i32 x y z i j k N M D where exp maximum ( ) [ ] { } , : = -> + - * / ** "
    "== != < <= > >= @ 0 1 2 0.5 1e-3 64 48 KiB GHz x 2 # \n"
).split(" ")


def loads_or_user_error(text: str) -> plmr.Program | None:
    """The program, or None when plmr reported a PlmrError. Any other exception fails the test."""
    try:
        return plmr.loads(text, "fuzz.plmr")
    except plmr.PlmrError as exc:
        assert exc.diagnostics, "a PlmrError without diagnostics"
        assert str(exc) == exc.render()
        return None


def run_every_kernel(program: plmr.Program) -> None:
    """A mutated program that still checks must run on the reference (or say why it cannot)."""
    for name in program.kernels:
        kernel = program.kernel(name)
        try:
            program.run(name, *random_inputs(kernel, default_dims(kernel, {}, base=3)))
        except plmr.PlmrError:
            pass


@MANY
@given(st.text())
def test_random_text(text):
    loads_or_user_error(text)


@MANY
@given(st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join))
def test_token_soup(text):
    loads_or_user_error(text)


@st.composite
def mutated_sources(draw) -> str:
    """A stdlib or DESIGN.md source with 1–4 characters deleted, inserted or swapped."""
    chars = list(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(chars) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "swap"]))
        if edit == "delete":
            del chars[at]
        elif edit == "insert":
            chars.insert(at, draw(st.one_of(st.sampled_from("()[]{},:=+-*/#<>@.0123456789 \nxNiksum"),
                                            st.characters())))
        else:
            other = draw(st.integers(0, len(chars) - 1))
            chars[at], chars[other] = chars[other], chars[at]
    return "".join(chars)


@MANY
@given(mutated_sources())
def test_mutated_sources(text):
    program = loads_or_user_error(text)
    if program is not None:
        run_every_kernel(program)


@st.composite
def token_edits(draw) -> str:
    """A source with a few whole tokens replaced by others from the vocabulary."""
    tokens = re.findall(r"\w+|\*\*|->|[<>=!]=|\S|\n", draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 3))):
        tokens[draw(st.integers(0, len(tokens) - 1))] = draw(st.sampled_from(VOCABULARY))
    return " ".join(tokens)


@MANY
@given(token_edits())
def test_token_edits(text):
    program = loads_or_user_error(text)
    if program is not None:
        run_every_kernel(program)


# ---------------------------------------------------------------- the command


@settings(max_examples=40)
@given(mutated_sources().filter(lambda t: loads_or_user_error(t) is None))
def test_check_command_exits_2_without_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "bad.plmr"
    path.write_text(text, encoding="utf-8")
    capture = _Capture()
    with capture:
        code = main(["check", str(path)])
    assert code == 2
    assert "Traceback" not in capture.err
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: error\[E\d{{3}}\]", capture.err), capture.err


class _Capture:
    """stderr of an in-process call (capsys does not mix with hypothesis' repeated examples)."""

    def __enter__(self):
        import contextlib
        import io

        self._buffer = io.StringIO()
        self._redirect = contextlib.redirect_stderr(self._buffer)
        self._out = contextlib.redirect_stdout(io.StringIO())
        self._redirect.__enter__()
        self._out.__enter__()
        return self

    def __exit__(self, *exc):
        self._out.__exit__(*exc)
        self._redirect.__exit__(*exc)
        self.err = self._buffer.getvalue()


def test_check_reports_every_error_of_a_mutated_stdlib_file(tmp_path, capsys):
    norms = next(p for p in kernel_files() if p.name == "norms.plmr")
    path = tmp_path / "norms.plmr"
    path.write_text(norms.read_text().replace("max(d) x[n, d]", "max(d) x[n, q]"))  # softmax, log_softmax
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5:22: error[E121]: index q is used on the right but not bound" in err
    assert f"{path}:14:22: error[E121]: index q is used on the right but not bound" in err
    assert "2 error(s) in 1 of 1 file(s)" in err
    assert "Traceback" not in err


BAD_FILES = {
    "syntax.plmr": ("kernel f(x: f32[N]) -> f32[N] {\n  y[i] = x[i] +* 2\n  return y\n}\n", ":2:16:", "E003"),
    "unbound.plmr": ("kernel f(x: f32[N]) -> f32 {\n  s = x[k]\n  return s\n}\n", ":2:9:", "E121"),
    "binary.plmr": ("kernel \x00\xff f", ":1:8:", "E001"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_check_in_a_subprocess(tmp_path, name):
    text, where, code = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "plmr", "check", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert f"{path}{where} error[{code}]" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# ---------------------------------------------------------------- syntax recovery


@st.composite
def one_corrupted_declaration(draw):
    """A stdlib file with one stray character put inside one declaration: (text, that declaration's
    start and end, where the character went)."""
    text = draw(st.sampled_from([s for s in SOURCES if len(re.findall(r"(?m)^kernel\b", s)) > 1]))
    starts = [m.start() for m in re.finditer(r"(?m)^(?:kernel|mesh|layout|agent|problem)\b", text)]
    k = draw(st.integers(0, len(starts) - 1))
    end = starts[k + 1] if k + 1 < len(starts) else len(text)
    at = draw(st.integers(starts[k] + 1, end - 1))
    return text[:at] + "$" + text[at:], starts[k], end + 1, at


@given(one_corrupted_declaration())
def test_one_stray_character_gives_one_error_in_its_declaration(case):
    """Recovery resumes at the next declaration, so the clean declarations around the broken one
    add nothing: exactly one diagnostic, inside the broken declaration (none if it hit a comment)."""
    text, start, end, at = case
    try:
        plmr.loads(text, "one.plmr")
    except plmr.PlmrError as exc:
        assert len(exc.diagnostics) == 1, exc.render()
        assert start <= exc.diagnostics[0].span.start <= end, exc.render()
        return
    assert "#" in text[text.rfind("\n", 0, at) + 1:at]  # it landed in a comment
