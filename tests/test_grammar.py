"""The grammar: LALR without conflicts, reserved words in step with the parser, DESIGN.md §3 parses,
and reductions bind as Σ does in written math."""

from __future__ import annotations

import math
import re

import pytest
from lark import Lark

from dsl import ast
from dsl.diagnostics import PlmrError
from dsl.parser import GRAMMAR, RESERVED, parse

from design_examples import DESIGN_AGENT, DESIGN_KERNELS, DESIGN_MESH_LAYOUTS  # noqa: E402


def test_grammar_is_lalr_without_conflicts():
    # strict=True makes Lark refuse any shift/reduce or reduce/reduce conflict and terminal collision
    parser = Lark(GRAMMAR.read_text(), parser="lalr", strict=True, propagate_positions=True,
                  maybe_placeholders=True)
    assert parser.parse(DESIGN_KERNELS).data == "start"


def _grammar_keywords() -> set[str]:
    parser = Lark(GRAMMAR.read_text(), parser="lalr")
    return {t.pattern.value for t in parser.terminals
            if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", t.pattern.value)}


def _name_exclusions() -> set[str]:
    line = next(x for x in GRAMMAR.read_text().splitlines() if x.startswith("NAME:"))
    words = re.search(r"\(\?!\(([^)]*)\)", line).group(1)
    return set(words.split("|"))


def test_reserved_words_match_the_name_regex():
    assert set(RESERVED) == _name_exclusions()


def test_every_keyword_of_the_grammar_is_reserved():
    keywords = _grammar_keywords()
    assert {"kernel", "sum", "f32", "inf", "return"} <= keywords  # the extraction itself works
    assert keywords == set(RESERVED)


@pytest.mark.parametrize("word", sorted(RESERVED))
def test_reserved_word_is_not_a_name(word):
    with pytest.raises(PlmrError, match=f"'{word}' is a reserved word"):
        parse(f"kernel f({word}: f32[N]) -> f32[N] {{\n  y[i] = x[i]\n  return y\n}}\n")


def test_a_word_that_starts_with_a_reserved_word_is_a_name():
    m = parse("kernel f(summary: f32[N]) -> f32[N] {\n  maxi[i] = summary[i]\n  return maxi\n}\n")
    assert m.decls[0].params[0].name.name == "summary"
    assert m.decls[0].body[0].target.name == "maxi"


def test_design_kernels_parse():
    m = parse(DESIGN_KERNELS)
    softmax, conv = m.decls
    assert [s.target.name for s in softmax.body] == ["m", "e", "s", "y"]
    assert softmax.body[0].value == ast.Reduce("max", (ast.Ident("d"),), _access("x", "n", "d"))
    # shape arithmetic in the result type: N - K + 1
    n_minus_k = ast.Binary("-", ast.Name("N"), ast.Name("K"))
    assert conv.results[0].dims == (ast.Binary("+", n_minus_k, ast.Num(1)),)
    assert conv.body[0].value.body.left.indices == (ast.Binary("+", ast.Name("i"), ast.Name("k")),)


def test_design_mesh_and_layouts_parse():
    mesh, gemm, gemv = parse(DESIGN_MESH_LAYOUTS).decls
    props = {p.name.name: p.value for p in mesh.props}
    assert props["pes"] == ast.Grid(750, 994)
    assert props["memory"] == ast.Quantity(48, "KiB")
    assert props["clock"] == ast.Quantity(1.1, "GHz")
    assert props["link"] == ast.Quantity(4, "B/cycle")
    assert props["fmac"] == ast.Quantity(4, "/cycle")
    assert props["routes"] == ast.Quantity(24, None)
    assert (gemm.kernel.name, gemm.mesh.name, gemm.grid) == ("gemm", "wse2", ast.Grid(64, 64))
    assert [p.tensor.name for p in gemm.placements] == ["A", "B", "C"]
    assert gemm.placements[0].dims == (ast.DimMap(ast.Ident("i"), ast.Ident("y")),
                                       ast.DimMap(ast.Ident("k"), ast.Ident("x")))
    assert gemm.settings == (ast.Setting(ast.Ident("algorithm"), None, ast.Ident("meshgemm"), ()),)
    assert gemv.settings == (ast.Setting(ast.Ident("reduce"), ast.Ident("k"), ast.Ident("ktree"), (2,)),)


def test_design_agent_parses():
    (agent,) = parse(DESIGN_AGENT).decls
    assert (agent.name.name, agent.option.name, agent.actions) == ("q_learning", "actions", 2)
    params = [i for i in agent.items if isinstance(i, ast.ParamDecl)]
    assert [(p.name.name, p.constraint.name, p.default) for p in params] == [
        ("alpha", "unit", 0.3), ("beta", "positive", 3.0), ("kappa", "real", 0.0)]
    update = agent.items[-1]
    assert [(p.name.name, p.type.name) for p in update.params] == [("c", "choice"), ("r", "reward")]
    assert update.body[1].value == ast.Binary("==", ast.Name("a"), ast.Name("c"))


# ---------------------------------------------------------------- how reductions bind


def _access(tensor: str, *indices: str) -> ast.Access:
    return ast.Access(ast.Ident(tensor), tuple(ast.Name(i) for i in indices))


def _value(expr_text: str) -> ast.Expr:
    m = parse(f"kernel f(a: f32[N]) -> f32 {{\n  y = {expr_text}\n  return y\n}}\n")
    return m.decls[0].body[0].value


def _sum(body: ast.Expr, *indices: str, op: str = "sum") -> ast.Reduce:
    return ast.Reduce(op, tuple(ast.Ident(i) for i in indices), body)


A, B = _access("a", "k"), _access("b", "k")


def test_reduction_body_stops_before_plus():
    dot = _sum(ast.Binary("*", A, B), "k")
    assert _value("sum(k) a[k] * b[k] + c") == ast.Binary("+", dot, ast.Name("c"))


def test_reduction_body_stops_before_minus_and_comparison():
    assert _value("sum(k) a[k] - c") == ast.Binary("-", _sum(A, "k"), ast.Name("c"))
    assert _value("sum(k) a[k] < c") == ast.Binary("<", _sum(A, "k"), ast.Name("c"))


def test_reduction_body_takes_products_and_quotients():
    assert _value("sum(k) a[k] * b[k] / c") == _sum(
        ast.Binary("/", ast.Binary("*", A, B), ast.Name("c")), "k")


def test_parentheses_widen_the_body():
    assert _value("sum(k) (a[k] + b[k])") == _sum(ast.Binary("+", A, B), "k")


def test_reductions_nest():
    x = ast.Access(ast.Ident("x"), (ast.Binary("+", ast.Name("i"), ast.Name("r")),
                                    ast.Binary("+", ast.Name("j"), ast.Name("s"))))
    w = _access("w", "r", "s")
    assert _value("sum(r) sum(s) x[i + r, j + s] * w[r, s]") == _sum(_sum(ast.Binary("*", x, w), "s"), "r")
    assert _value("max(i) sum(j) a[i, j] + 1") == ast.Binary(
        "+", _sum(_sum(_access("a", "i", "j"), "j"), "i", op="max"), ast.Num(1))


def test_negated_reduction():
    assert _value("-sum(k) a[k] * b[k]") == ast.Unary("-", _sum(ast.Binary("*", A, B), "k"))
    assert _value("c - sum(k) a[k]") == ast.Binary("-", ast.Name("c"), _sum(A, "k"))


def test_reduction_as_right_factor_takes_the_rest_of_the_term():
    # a * sum(k) b * c is a * (Σ b·c): the reduction swallows the multiplicative term after it
    dot = _sum(ast.Binary("*", A, B), "k")
    assert _value("c * sum(k) a[k] * b[k]") == ast.Binary("*", ast.Name("c"), dot)
    assert _value("c / sum(k) a[k]") == ast.Binary("/", ast.Name("c"), _sum(A, "k"))


def test_reduction_over_several_indices():
    assert _value("min(i, j) a[i, j]") == _sum(_access("a", "i", "j"), "i", "j", op="min")


def test_operator_precedence():
    n = ast.Name
    assert _value("a - b - c") == ast.Binary("-", ast.Binary("-", n("a"), n("b")), n("c"))
    assert _value("-a ** 2") == ast.Unary("-", ast.Binary("**", n("a"), ast.Num(2)))
    assert _value("a ** -b") == ast.Binary("**", n("a"), ast.Unary("-", n("b")))
    assert _value("a + b * c == d") == ast.Binary(
        "==", ast.Binary("+", n("a"), ast.Binary("*", n("b"), n("c"))), n("d"))


def test_index_values_and_infinity():
    value = _value("where(j <= i, s[i, j], -inf) + (i - j)")
    where, rel = value.left, value.right
    assert where.func.name == "where"
    assert where.args[2] == ast.Unary("-", ast.Num(math.inf))
    assert rel == ast.Binary("-", ast.Name("i"), ast.Name("j"))


def test_numbers_keep_int_or_float():
    assert _value("3") == ast.Num(3) and isinstance(_value("3").value, int)
    assert _value("3.0") == ast.Num(3.0) and isinstance(_value("3.0").value, float)
    assert _value("1e-5").value == 1e-5
    assert _value(".5").value == 0.5


def test_scalar_params_and_several_results():
    m = parse("kernel f(x: f32[N], s: f32) -> (f32[N], f32) {\n"
              "  y[i] = x[i] * s\n  t = s\n  return y, t\n}\n")
    k = m.decls[0]
    assert k.params[1].type == ast.TensorType("f32", ())
    assert k.results == (ast.TensorType("f32", (ast.Name("N"),)), ast.TensorType("f32", ()))
    assert [r.name for r in k.returns] == ["y", "t"]


def test_spans_point_at_the_source():
    text = "kernel f(a: f32[N]) -> f32 {\n  y = sum(k) a[k] * 2\n  return y\n}\n"
    value = parse(text).decls[0].body[0].value
    assert value.span.text() == "sum(k) a[k] * 2"
    assert (value.span.line, value.span.col) == (2, 7)
    assert value.body.left.span.text() == "a[k]"
