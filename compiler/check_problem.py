"""Check a `problem` declaration: what a search optimises.

    problem faster_gemm {
      start = gemm_summa            # the program to improve: a layout, kernel or agent
      target = wse2[32 x 32]        # layouts: the (sub-)mesh to score on
      score = cycles                # cycles (layouts), seconds (kernels), nl (agents)
      shapes = (M = 1024, K = 1024, N = 1024)
      data = "behaviour.csv"        # agents: behaviour to fit, relative to the problem's file
      budget = 10 m                 # s, m, h, or candidates
    }

`start` is looked up in the problem's own file, then (kernels) in the stdlib prelude. The score
fixes the direction: cycles and seconds are minimised, nl is maximised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl import ast
from dsl.diagnostics import Diagnostics, Span

SCORES = {"layout": ("cycles",), "kernel": ("seconds",), "agent": ("nl",)}
DIRECTION = {"cycles": "min", "seconds": "min", "nl": "max"}
FIELDS = ("start", "target", "score", "shapes", "data", "budget")
BUDGET_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}

_span = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ProblemIR:
    """A checked problem. `budget_seconds` / `budget_candidates`: whichever is set bounds the search."""

    name: str
    kind: str
    start: str
    score: str
    direction: str
    target: tuple[str, int, int] | None
    shapes: tuple[tuple[str, int], ...]
    data: str | None
    budget_seconds: float | None
    budget_candidates: int | None
    span: Span | None = _span


def _kinds(module: ast.Module) -> dict[str, str]:
    kinds = {ast.Kernel: "kernel", ast.Layout: "layout", ast.Agent: "agent"}
    return {d.name.name: kinds[type(d)] for d in module.decls if type(d) in kinds}


def check_problem(problem: ast.Problem, module: ast.Module, diags: Diagnostics) -> ProblemIR | None:
    before = len(diags.items)
    fields = _fields(problem, diags)
    start = fields.get("start")
    if start is None or not isinstance(start.value, ast.Target) or start.value.grid is not None:
        diags.add("E160", f"problem {problem.name.name} needs `start = NAME`: the program a search begins from",
                  (start or problem.name).span, help="name a layout, kernel or agent of this file")
        return None
    kind = _kinds(module).get(start.value.name.name) or _prelude_kind(start.value.name.name)
    if kind is None:
        diags.add("E161", f"{start.value.name.name} is not a layout, kernel or agent of this file",
                  start.value.span, help="declare it in this file (stdlib kernels may be named directly)")
        return None
    score = _score(fields.get("score"), kind, diags)
    target = _target(fields.get("target"), kind, diags)
    shapes = _shapes(fields.get("shapes"), diags)
    data = _data(fields.get("data"), kind, problem, diags)
    budget = _budget(fields.get("budget"), diags)
    if len(diags.items) > before:
        return None
    return ProblemIR(problem.name.name, kind, start.value.name.name, score, DIRECTION[score], target, shapes,
                     data, budget[0], budget[1], problem.span)


def _prelude_kind(name: str) -> str | None:
    from stdlib import prelude

    return "kernel" if name in prelude().kernels else None


def _fields(problem: ast.Problem, diags: Diagnostics) -> dict[str, ast.ProblemField]:
    fields: dict[str, ast.ProblemField] = {}
    for f in problem.fields:
        name = f.name.name
        if name not in FIELDS:
            diags.add("E162", f"unknown problem field {name}", f.name.span, help="fields: " + ", ".join(FIELDS))
        elif name in fields:
            diags.add("E163", f"{name} is given twice", f.name.span, help="keep one")
        else:
            fields[name] = f
    return fields


def _score(f: ast.ProblemField | None, kind: str, diags: Diagnostics) -> str:
    if f is None:
        return SCORES[kind][0]
    value = f.value.name.name if isinstance(f.value, ast.Target) and f.value.grid is None else None
    if value not in SCORES[kind]:
        article = "an" if kind == "agent" else "a"
        diags.add("E164", f"{article} {kind} problem is scored by {' or '.join(SCORES[kind])}", f.value.span,
                  help=f"write score = {SCORES[kind][0]}")
    return value or SCORES[kind][0]


def _target(f: ast.ProblemField | None, kind: str, diags: Diagnostics) -> tuple[str, int, int] | None:
    if f is None:
        return None
    if kind != "layout" or not isinstance(f.value, ast.Target) or f.value.grid is None:
        diags.add("E165", "target names a mesh and sub-mesh for a layout problem: target = wse2[32 x 32]",
                  f.value.span, help="layouts only; kernels are timed on the JAX backend, agents are fitted")
        return None
    return (f.value.name.name, f.value.grid.rows, f.value.grid.cols)


def _shapes(f: ast.ProblemField | None, diags: Diagnostics) -> tuple[tuple[str, int], ...]:
    if f is None:
        return ()
    if not isinstance(f.value, ast.Sizes):
        diags.add("E166", "shapes are written as (M = 1024, N = 512)", f.value.span)
        return ()
    return tuple((name.name, size) for name, size in f.value.sizes)


def _data(f: ast.ProblemField | None, kind: str, problem: ast.Problem, diags: Diagnostics) -> str | None:
    if f is None:
        if kind == "agent":
            diags.add("E167", f"agent problem {problem.name.name} needs data = \"FILE.csv\"", problem.name.span,
                      help="the behaviour the agents are fitted to, relative to this file")
        return None
    if not isinstance(f.value, ast.Text):
        diags.add("E168", "data is a file name in double quotes: data = \"behaviour.csv\"", f.value.span)
        return None
    return f.value.value


def _budget(f: ast.ProblemField | None, diags: Diagnostics) -> tuple[float | None, int | None]:
    if f is None:
        return 600.0, None
    q = f.value
    if isinstance(q, ast.Quantity) and q.unit in ("candidates", "candidate") and isinstance(q.value, int):
        return None, q.value
    if isinstance(q, ast.Quantity) and q.unit in BUDGET_UNITS and q.value > 0:
        return float(q.value) * BUDGET_UNITS[q.unit], None
    diags.add("E169", "a budget is a time (90 s, 10 m, 1 h) or a count (500 candidates)", q.span)
    return None, None
