"""Check an agent and build its IR, reusing the kernel statement checker.

Items are checked in source order, so a state used before its declaration is an unknown name.
Names an agent sees: its params (f32 scalars), its state tensors (f32, every index over the
actions), in the update the choice (an integer, usable as an index: q[c]) and the reward (an f32
scalar), and tensors assigned earlier. Update statements run in order: each sees the state as the
statements above it left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import ir
from compiler.affine import Affine
from compiler.check_kernel import Declared, Scope, StatementChecker
from dsl import ast
from dsl.diagnostics import Diagnostics, Note
from runtime.agents.model import ParamSpec

# constraint → (low, high) of the open interval a value must lie in; bounded takes its own.
CONSTRAINTS = {"unit": (0.0, 1.0), "positive": (0.0, None), "real": (None, None), "bounded": None}
DEFAULTS = {"unit": 0.5, "positive": 1.0, "real": 0.0}


@dataclass
class _Agent:
    """What has been checked so far, in source order."""

    scope: Scope
    k: Affine
    params: list[ParamSpec] = field(default_factory=list)
    state: list[ir.Stmt] = field(default_factory=list)
    policy: list[ir.Stmt] = field(default_factory=list)
    update: tuple[str, str, tuple[ir.Stmt, ...]] | None = None


def check_agent(agent: ast.Agent, diags: Diagnostics) -> ir.AgentIR | None:
    before = len(diags.items)
    if agent.option.name != "actions" or agent.actions < 2:
        diags.add("E150", "an agent is declared as agent NAME(actions = K) with K >= 2", agent.option.span,
                  help="for a two-armed bandit write: agent my_agent(actions = 2) { … }")
        return None
    state = _Agent(Scope(agent.name.name, diags, {}), Affine.of(agent.actions))
    for item in agent.items:
        _ITEM_CHECKERS[type(item)](item, state)
    if not any(s.target.name == "logits" for s in state.policy) and "logits" not in state.scope.failed:
        diags.add("E156", f"agent {agent.name.name} has no policy", agent.name.span,
                  help="define the choice logits over actions: logits[a] = beta * q[a]")
    if state.update is None:
        diags.add("E157", f"agent {agent.name.name} has no update", agent.name.span,
                  help="write update(c: choice, r: reward) { … } to say how the state learns")
    if len(diags.items) > before:
        return None
    choice, reward, update = state.update
    return ir.AgentIR(agent.name.name, agent.actions, tuple(state.params), tuple(state.state),
                      tuple(state.policy), update, choice, reward, agent.span)


def _define(scope: Scope, decl: ir.TensorDecl, span) -> None:
    scope.tensors[decl.name] = decl
    scope.defined_at[decl.name] = span


def _bounds(d: ast.ParamDecl, scope: Scope) -> tuple[float | None, float | None] | None:
    kind = d.constraint.name
    if kind not in CONSTRAINTS:
        scope.diags.add("E151", f"unknown constraint {kind}", d.constraint.span,
                        help="constraints: unit (0, 1), positive (0, inf), real, bounded(low, high)")
        return None
    if kind == "bounded" and (d.bounds is None or not d.bounds[0] < d.bounds[1]):
        scope.diags.add("E152", "bounded needs two bounds, low < high, as in bounded(0, 10)", d.constraint.span)
        return None
    if kind != "bounded" and d.bounds is not None:
        scope.diags.add("E153", f"{kind} takes no bounds", d.constraint.span,
                        help="write bounded(low, high) for a parameter with bounds of its own")
        return None
    return d.bounds if kind == "bounded" else CONSTRAINTS[kind]


def _param(d: ast.ParamDecl, agent: _Agent) -> None:
    scope, name = agent.scope, d.name.name
    scope.failed.add(name)  # until it checks
    bounds = _bounds(d, scope)
    if bounds is None:
        return
    low, high = bounds
    default = d.default
    if default is None:
        default = (low + high) / 2 if d.constraint.name == "bounded" else DEFAULTS[d.constraint.name]
    if (low is not None and default <= low) or (high is not None and default >= high):
        shown = f"({'-inf' if low is None else low}, {'inf' if high is None else high})"
        scope.diags.add("E154", f"default {default} of {name} is outside {d.constraint.name} {shown}",
                        d.span, help="choose a default strictly inside the bounds")
        return
    if name in scope.tensors:
        scope.diags.add("E155", f"{name} is declared twice", d.name.span,
                        notes=(Note("first declared here", scope.defined_at[name]),))
        return
    scope.failed.discard(name)
    _define(scope, ir.TensorDecl(name, "f32", ()), d.name.span)
    bounded = d.constraint.name == "bounded"
    agent.params.append(ParamSpec(name, d.constraint.name, float(default), low if bounded else None,
                                  high if bounded else None))


def _state(d: ast.StateDecl, agent: _Agent) -> None:
    declared = Declared(0, ast.TensorType("f32", (), d.span), (agent.k,) * len(d.indices), f"state {d.name.name}")
    stmt = StatementChecker(agent.scope, ast.Assign(d.name, d.indices, d.init, d.span), declared).check()
    if stmt is None:
        agent.scope.failed.add(d.name.name)
        return
    _define(agent.scope, stmt.target, d.name.span)
    agent.state.append(stmt)


def _assign(a: ast.Assign, agent: _Agent, scope: Scope | None = None) -> ir.Stmt | None:
    """A policy statement, or (with the update's scope) an update statement."""
    scope = scope or agent.scope
    states = frozenset(s.target.name for s in agent.state)
    declared = None
    if a.target.name in states:
        declared = Declared(0, ast.TensorType("f32", (), a.span), scope.tensors[a.target.name].shape,
                            f"state {a.target.name}")
    elif a.target.name == "logits":
        declared = Declared(0, ast.TensorType("f32", (), a.span), (agent.k,), "the logits")
    stmt = StatementChecker(scope, a, declared, redefinable=states).check()
    if stmt is None:
        scope.failed.add(a.target.name)
        return None
    _define(scope, stmt.target, a.target.span)
    if scope is agent.scope:
        agent.policy.append(stmt)
    return stmt


def _update(u: ast.Update, agent: _Agent) -> None:
    scope = agent.scope
    if agent.update is not None:
        scope.diags.add("E157", "an agent has one update block", u.span, help="merge the two update blocks")
        return
    if [p.type.name for p in u.params] != ["choice", "reward"]:
        scope.diags.add("E158", "the update takes (NAME: choice, NAME: reward)", u.span,
                        help="write update(c: choice, r: reward) { … }")
        return
    c, r = (p.name for p in u.params)
    inner = Scope(scope.name, scope.diags, {c.name: c.span}, dict(scope.tensors), dict(scope.defined_at),
                  set(scope.failed))
    inner.tensors.pop("logits", None)  # the update sees the state, not this trial's policy
    _define(inner, ir.TensorDecl(r.name, "f32", ()), r.span)
    params = {p.name for p in agent.params}
    stmts = []
    for a in u.body:
        if a.target.name in params:
            scope.diags.add("E159", f"the update assigns parameter {a.target.name}", a.target.span,
                            help="parameters are fitted, not learned; declare a state for what changes")
            continue
        stmt = _assign(a, agent, inner)
        if stmt is not None:
            stmts.append(stmt)
    agent.update = (c.name, r.name, tuple(stmts))


_ITEM_CHECKERS = {ast.ParamDecl: _param, ast.StateDecl: _state, ast.Assign: _assign, ast.Update: _update}
