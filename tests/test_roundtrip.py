"""The printer writes canonical source: parse(print_module(m)) == m for generated ASTs of every
declaration kind, and format_source is idempotent and keeps every comment."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl import ast
from dsl.parser import RESERVED, parse
from dsl.printer import format_source, print_module
from stdlib import kernel_files

# ---------------------------------------------------------------- strategies

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,4}", fullmatch=True).filter(lambda n: n not in RESERVED)
idents = names.map(ast.Ident)
small_ints = st.integers(0, 10**6)
floats = st.floats(0, 1e30, allow_nan=False, allow_infinity=False).filter(lambda f: f == 0 or f > 1e-30)
numbers = st.one_of(small_ints.map(ast.Num), floats.map(ast.Num), st.just(ast.Num(math.inf)))


def _binary(children, ops):
    return st.builds(ast.Binary, st.sampled_from(ops), children, children)


def expressions(depth: int = 4):
    """Every expression form: numbers, inf, names, accesses, calls, -, + - * / **, comparisons,
    and reductions (nested, negated, as right factors)."""
    leaves = st.one_of(numbers, names.map(ast.Name))

    def extend(children):
        index_lists = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            st.builds(ast.Access, idents, index_lists),
            st.builds(ast.Call, idents, st.lists(children, max_size=3).map(tuple)),
            st.builds(ast.Unary, st.just("-"), children),
            _binary(children, ("+", "-", "*", "/", "**")),
            _binary(children, ast.COMPARISONS),
            st.builds(ast.Reduce, st.sampled_from(ast.REDUCTIONS),
                      st.lists(idents, min_size=1, max_size=3).map(tuple), children),
        )

    return st.recursive(leaves, extend, max_leaves=12)


dims = st.recursive(st.one_of(st.integers(0, 64).map(ast.Num), names.map(ast.Name)),
                    lambda c: _binary(c, ("+", "-", "*")), max_leaves=5)
tensor_types = st.builds(ast.TensorType, st.sampled_from(ast.DTYPES), st.lists(dims, max_size=3).map(tuple))
assigns = st.builds(ast.Assign, idents, st.lists(idents, max_size=3).map(tuple), expressions())

kernels = st.builds(
    ast.Kernel, idents,
    st.lists(st.builds(ast.Param, idents, tensor_types), max_size=4).map(tuple),
    st.lists(tensor_types, min_size=1, max_size=3).map(tuple),
    st.lists(assigns, max_size=4).map(tuple),
    st.lists(idents, min_size=1, max_size=3).map(tuple),
)

units = st.one_of(st.none(), st.from_regex(r"/?[A-Za-z]{1,4}(/[A-Za-z]{1,4})?", fullmatch=True))
quantities = st.builds(ast.Quantity, st.one_of(small_ints, floats), units)
grids = st.builds(ast.Grid, st.integers(1, 1000), st.integers(1, 1000))
meshes = st.builds(ast.Mesh, idents, st.lists(st.builds(ast.MeshProp, idents, st.one_of(quantities, grids)),
                                              max_size=5).map(tuple))

dim_maps = st.builds(ast.DimMap, idents, st.one_of(st.none(), idents))
placements = st.builds(ast.Placement, idents, st.lists(dim_maps, min_size=1, max_size=3).map(tuple))
int_args = st.lists(st.integers(0, 99), max_size=3).map(tuple)
settings = st.one_of(
    st.builds(ast.Setting, idents.filter(lambda i: i.name != "reduce"), st.none(), idents, int_args),
    st.builds(ast.Setting, st.just(ast.Ident("reduce")), idents, idents, int_args),
)
layouts = st.builds(ast.Layout, idents, idents, idents, st.one_of(st.none(), grids),
                    st.lists(placements, max_size=3).map(tuple), st.lists(settings, max_size=3).map(tuple))

signed = st.floats(-1e6, 1e6, allow_nan=False)
param_decls = st.builds(ast.ParamDecl, idents, idents, st.one_of(st.none(), st.tuples(signed, signed)),
                        st.one_of(st.none(), signed))
state_decls = st.builds(ast.StateDecl, idents, st.lists(idents, max_size=2).map(tuple), expressions(2))
updates = st.builds(ast.Update, st.lists(st.builds(ast.TypedName, idents, idents), min_size=1, max_size=3)
                    .map(tuple), st.lists(assigns, max_size=3).map(tuple))
agents = st.builds(ast.Agent, idents, idents, st.integers(1, 99),
                   st.lists(st.one_of(param_decls, state_decls, assigns, updates), max_size=5).map(tuple))

modules = st.builds(ast.Module, st.lists(st.one_of(kernels, meshes, layouts, agents), max_size=4).map(tuple))


# ---------------------------------------------------------------- round trips


@given(modules)
def test_print_then_parse_is_identity(module):
    text = print_module(module)
    assert parse(text) == module, text


@given(expressions(6))
def test_every_expression_round_trips(e):
    k = ast.Kernel(ast.Ident("f"), (), (ast.TensorType("f32", ()),),
                   (ast.Assign(ast.Ident("y"), (), e),), (ast.Ident("y"),))
    text = print_module(ast.Module((k,)))
    assert parse(text).decls[0].body[0].value == e, text


@given(modules)
def test_printing_is_canonical(module):
    text = print_module(module)
    assert print_module(parse(text)) == text


def test_printer_adds_only_needed_parentheses():
    text = ("kernel f(a: f32[N]) -> f32 {\n"
            "  y = (sum(k) a[k] * 2 + 1) * -sum(j) (a[j] - 1) / 3 - -a[0] ** 2\n  return y\n}\n")
    assert print_module(parse(text)) == text


def test_a_negated_reduction_may_follow_times_and_its_body_runs_to_the_end_of_the_term():
    value = parse("kernel f(a: f32[N]) -> f32 {\n  y = 2 * -sum(k) a[k] * 3\n  return y\n}\n").decls[0].body[0].value
    assert (value.op, value.right.op) == ("*", "-")
    assert value.right.operand.body.op == "*"  # -(sum(k) (a[k] * 3)), as written math reads it


# ---------------------------------------------------------------- formatting with comments

COMMENT = re.compile(r"#[^\n]*")


def _comments(text: str) -> list[str]:
    return [c.rstrip() for c in COMMENT.findall(text)]


def _check_format(text: str) -> str:
    module = parse(text)
    once = format_source(module, text)
    assert parse(once) == module, "formatting changed the meaning"
    assert _comments(once) == _comments(text), "a comment was lost, changed or reordered"
    assert format_source(parse(once), once) == once, "formatting is not idempotent"
    return once


@pytest.mark.parametrize("path", kernel_files(), ids=lambda p: p.name)
def test_stdlib_files_are_canonical(path):
    text = path.read_text()
    assert _check_format(text) == text


@given(modules, st.data())
def test_format_keeps_sprinkled_comments(module, data):
    lines = print_module(module).splitlines()
    out = []
    for i, line in enumerate(lines):
        if data.draw(st.booleans(), label=f"comment above line {i}"):
            out.append(f"  # above {i}")
        trailing = data.draw(st.booleans(), label=f"comment after line {i}")
        out.append(line + (f"   # after {i} ## x" if trailing else ""))
    if data.draw(st.booleans(), label="comment at the end"):
        out.append("# the end")
    _check_format("\n".join(out) + "\n")


def test_format_places_comments_next_to_their_items():
    text = ("# header\nkernel f(a: f32[N]) -> f32[N] {   # the signature\n"
            "    # before y\n  y[i] =   a[i]*2   # twice\n  # before return\n  return y\n  # closing\n}\n")
    assert _check_format(text) == (
        "# header\nkernel f(a: f32[N]) -> f32[N] {  # the signature\n"
        "  # before y\n  y[i] = a[i] * 2  # twice\n  # before return\n  return y\n  # closing\n}\n")
