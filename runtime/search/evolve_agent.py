"""Mutations of agents at the AST level, for the offline evolver.

Each mutation takes an `ast.Agent` and a numpy Generator and returns a new agent, or None when it
does not apply (a block already present, nothing to drop). Children are printed back to source and
verified like any other candidate, so a mutation may produce a program that fails to check: the
verifier, not this module, is the judge. Building blocks follow DESIGN.md §5.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from dsl import ast


def _n(value: float) -> ast.Num:
    return ast.Num(value)


def _name(name: str) -> ast.Name:
    return ast.Name(name)


def _bin(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(op, left, right)


def _at(tensor: str, index: str) -> ast.Access:
    return ast.Access(ast.Ident(tensor), (_name(index),))


def _is_chosen(index: str, choice: str) -> ast.Binary:
    return _bin("==", _name(index), _name(choice))


def _names(agent: ast.Agent) -> set[str]:
    """Every name declared or assigned in the agent."""
    out: set[str] = set()
    for item in agent.items:
        if isinstance(item, (ast.ParamDecl, ast.StateDecl)):
            out.add(item.name.name)
        elif isinstance(item, ast.Assign):
            out.add(item.target.name)
        elif isinstance(item, ast.Update):
            out.update(a.target.name for a in item.body)
            out.update(p.name.name for p in item.params)
    return out


def _fresh(agent: ast.Agent, base: str) -> str:
    taken = _names(agent)
    if base not in taken:
        return base
    return next(f"{base}{i}" for i in range(2, 1000) if f"{base}{i}" not in taken)


def _update(agent: ast.Agent) -> ast.Update | None:
    return next((i for i in agent.items if isinstance(i, ast.Update)), None)


def _logits(agent: ast.Agent) -> ast.Assign | None:
    return next((i for i in agent.items if isinstance(i, ast.Assign) and i.target.name == "logits"), None)


def _with(agent: ast.Agent, *, params=(), states=(), logits_term=None, update_stmts=(), replace=None) -> ast.Agent:
    """A copy of agent with params and states declared first, a term added to the logits, and
    statements appended to the update."""
    items = list(params) + list(states)
    for item in agent.items:
        if replace is not None and item in replace:
            items.extend(replace[item])
        elif isinstance(item, ast.Assign) and item.target.name == "logits" and logits_term is not None:
            items.append(dataclasses.replace(item, value=_bin("+", item.value, logits_term)))
        elif isinstance(item, ast.Update) and update_stmts:
            items.append(dataclasses.replace(item, body=item.body + tuple(update_stmts)))
        else:
            items.append(item)
    return dataclasses.replace(agent, items=tuple(items))


def _index(agent: ast.Agent) -> str:
    """The index name the logits use (a, usually)."""
    logits = _logits(agent)
    return logits.indices[0].name if logits and logits.indices else "a"


def _choice(agent: ast.Agent) -> tuple[str, str]:
    u = _update(agent)
    return (u.params[0].name.name, u.params[1].name.name) if u and len(u.params) == 2 else ("c", "r")


def _param(name: str, constraint: str, default: float) -> ast.ParamDecl:
    return ast.ParamDecl(ast.Ident(name), ast.Ident(constraint), None, default)


def _state(name: str, index: str | None, init: float) -> ast.StateDecl:
    return ast.StateDecl(ast.Ident(name), (ast.Ident(index),) if index else (), _n(init))


def _assign(name: str, index: str | None, value: ast.Expr) -> ast.Assign:
    return ast.Assign(ast.Ident(name), (ast.Ident(index),) if index else (), value)


# ---------------------------------------------------------------- building blocks


def add_perseveration(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """logit_a += kappa * [a = previous choice]"""
    if _logits(agent) is None or _update(agent) is None:
        return None
    a, (c, _) = _index(agent), _choice(agent)
    kappa, prev = _fresh(agent, "kappa"), _fresh(agent, "prev")
    return _with(agent, params=[_param(kappa, "real", 0.0)], states=[_state(prev, a, 0)],
                 logits_term=_bin("*", _name(kappa), _at(prev, a)),
                 update_stmts=[_assign(prev, a, _is_chosen(a, c))])


def add_choice_kernel(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """H <- H + alpha_h (onehot(c) - H); logit_a += beta_h * H_a"""
    if _logits(agent) is None or _update(agent) is None:
        return None
    a, (c, _) = _index(agent), _choice(agent)
    alpha_h, beta_h, h = _fresh(agent, "alpha_h"), _fresh(agent, "beta_h"), _fresh(agent, "h")
    learn = _bin("+", _at(h, a), _bin("*", _name(alpha_h), _bin("-", _is_chosen(a, c), _at(h, a))))
    return _with(agent, params=[_param(alpha_h, "unit", 0.3), _param(beta_h, "real", 0.0)],
                 states=[_state(h, a, 0)], logits_term=_bin("*", _name(beta_h), _at(h, a)),
                 update_stmts=[_assign(h, a, learn)])


def _value_states(agent: ast.Agent) -> list[ast.StateDecl]:
    """States indexed by action that the logits read: the values a forgetting rule acts on."""
    logits = _logits(agent)
    used = {_ref(n) for n in _walk(logits.value)} if logits else set()
    return [i for i in agent.items if isinstance(i, ast.StateDecl) and len(i.indices) == 1
            and i.name.name in used]


def add_forgetting(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """Unchosen values relax toward their initial value: V_u <- (1 - phi) V_u + phi V0"""
    states = _value_states(agent)
    if not states or _update(agent) is None:
        return None
    state = states[int(rng.integers(len(states)))]
    v, a, (c, _) = state.name.name, _index(agent), _choice(agent)
    phi = _fresh(agent, "phi")
    rest = state.init if isinstance(state.init, ast.Num) else _n(0.5)
    relaxed = _bin("+", _bin("*", _bin("-", _n(1), _name(phi)), _at(v, a)), _bin("*", _name(phi), rest))
    rule = ast.Call(ast.Ident("where"), (_is_chosen(a, c), _at(v, a), relaxed))
    return _with(agent, params=[_param(phi, "unit", 0.1)], update_stmts=[_assign(v, a, rule)])


def add_lapse(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """P = (1 - xi) softmax(logits) + xi / K"""
    logits = _logits(agent)
    if logits is None or not logits.indices:
        return None
    a = _index(agent)
    xi, pre, ex, z, b = (_fresh(agent, n) for n in ("xi", "pre", "ex", "z", "b"))
    shifted = _bin("-", _at(pre, a), ast.Reduce("max", (ast.Ident(b),), _at(pre, b)))
    mixed = _bin("+", _bin("/", _bin("*", _bin("-", _n(1), _name(xi)), _at(ex, a)), _name(z)),
                 _bin("/", _name(xi), _n(agent.actions)))
    replacement = [
        _assign(pre, a, logits.value),
        _assign(ex, a, ast.Call(ast.Ident("exp"), (shifted,))),
        _assign(z, None, ast.Reduce("sum", (ast.Ident(b),), _at(ex, b))),
        _assign("logits", a, ast.Call(ast.Ident("log"), (mixed,))),
    ]
    return _with(agent, params=[_param(xi, "unit", 0.05)], replace={logits: replacement})


def add_asymmetry(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """A learning rate splits in two: one after a reward, one after none."""
    update = _update(agent)
    used = {n.name for s in (update.body if update else ()) for n in _walk(s.value) if isinstance(n, ast.Name)}
    rates = [i for i in agent.items if isinstance(i, ast.ParamDecl) and i.constraint.name == "unit"
             and i.name.name in used]
    if not rates:
        return None
    rate = rates[int(rng.integers(len(rates)))]
    _, r = _choice(agent)
    other = _fresh(agent, rate.name.name + "_neg")
    split = ast.Call(ast.Ident("where"), (_bin(">=", _name(r), _n(0.5)), _name(rate.name.name), _name(other)))
    body = tuple(dataclasses.replace(s, value=_substitute(s.value, rate.name.name, split)) for s in update.body)
    new_update = dataclasses.replace(update, body=body)
    return _with(agent, params=[_param(other, "unit", rate.default or 0.3)], replace={update: [new_update]})


def drop_term(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """Remove one additive term of the logits, then everything only it used."""
    logits = _logits(agent)
    terms = _additive_terms(logits.value) if logits else []
    if len(terms) < 2:
        return None
    dropped = int(rng.integers(len(terms)))
    keep = [t for i, t in enumerate(terms) if i != dropped]
    value = keep[0]
    for term in keep[1:]:
        value = _bin("+", value, term)
    return prune(_with(agent, replace={logits: [dataclasses.replace(logits, value=value)]}))


def perturb_constant(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """Scale one parameter's default (the starting point of its fit) by a log-normal factor."""
    params = [i for i in agent.items if isinstance(i, ast.ParamDecl) and i.default is not None]
    if not params:
        return None
    p = params[int(rng.integers(len(params)))]
    value = p.default * math.exp(rng.normal(0, 0.5)) if p.default else rng.normal(0, 0.5)
    if p.constraint.name == "unit":
        value = min(max(value, 0.01), 0.99)
    elif p.constraint.name == "bounded" and p.bounds:
        low, high = p.bounds
        value = min(max(value, low + 0.01 * (high - low)), high - 0.01 * (high - low))
    return _with(agent, replace={p: [dataclasses.replace(p, default=round(float(value), 4))]})


def swap_constraint(agent: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """real <-> positive: let a weight change sign, or forbid it."""
    params = [i for i in agent.items if isinstance(i, ast.ParamDecl) and i.constraint.name in ("real", "positive")]
    if not params:
        return None
    p = params[int(rng.integers(len(params)))]
    to = "positive" if p.constraint.name == "real" else "real"
    default = abs(p.default or 0.0) or 1.0 if to == "positive" else p.default
    return _with(agent, replace={p: [dataclasses.replace(p, constraint=ast.Ident(to), default=default)]})


MUTATIONS = (add_perseveration, add_choice_kernel, add_forgetting, add_lapse, add_asymmetry, drop_term,
             perturb_constant, swap_constraint)


def mutate(agent: ast.Agent, rng: np.random.Generator, tries: int = 8) -> tuple[ast.Agent, str] | None:
    """One applicable mutation chosen at random: (child, mutation name)."""
    for _ in range(tries):
        mutation = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        child = mutation(agent, rng)
        if child is not None and child != agent:
            return child, mutation.__name__
    return None


def crossover(a: ast.Agent, b: ast.Agent, rng: np.random.Generator) -> ast.Agent | None:
    """a, plus one logits term of b with the params, states and update statements it needs."""
    logits_b = _logits(b)
    terms = [t for t in (_additive_terms(logits_b.value) if logits_b else []) if t not in
             (_additive_terms(_logits(a).value) if _logits(a) else [])]
    if not terms or _logits(a) is None or _update(a) is None or _update(b) is None:
        return None
    declared = {i.name.name for i in b.items if isinstance(i, (ast.ParamDecl, ast.StateDecl))}
    terms = [t for t in terms if {_ref(n) for n in _walk(t)} <= declared | {_index(b)}]
    if not terms:
        return None  # b's extra terms read policy helpers, not params and states: nothing to graft
    term = terms[int(rng.integers(len(terms)))]
    needed = _closure(b, {_ref(n) for n in _walk(term)})
    if needed & (_names(a) - _shared_names(a, b, needed)):
        return None  # a name clash: leave it to mutations
    params = [i for i in b.items if isinstance(i, ast.ParamDecl) and i.name.name in needed - _names(a)]
    states = [i for i in b.items if isinstance(i, ast.StateDecl) and i.name.name in needed - _names(a)]
    # the update statements of the new states, and the update temporaries (delta …) they read
    stmts = [s for s in _update(b).body if s.target.name in needed - _names(a)]
    return _with(a, params=params, states=states, logits_term=term, update_stmts=stmts)


def _shared_names(a: ast.Agent, b: ast.Agent, needed: set[str]) -> set[str]:
    """Names both agents declare identically (the same param or state): no clash."""
    items_a = {i.name.name: i for i in a.items if isinstance(i, (ast.ParamDecl, ast.StateDecl))}
    return {i.name.name for i in b.items if isinstance(i, (ast.ParamDecl, ast.StateDecl))
            and items_a.get(i.name.name) == i} | set(_choice(a))


def _closure(agent: ast.Agent, names: set[str]) -> set[str]:
    """names plus every param and state their update statements read, transitively."""
    update = _update(agent)
    names = set(names)
    while True:
        more = set(names)
        for s in (update.body if update else ()):
            if s.target.name in names:
                more |= {_ref(n) for n in _walk(s.value)}
        if more == names:
            return names
        names = more


# ---------------------------------------------------------------- helpers


def _ref(node) -> str:
    """The name a Name or Access node refers to."""
    return node.name if isinstance(node, ast.Name) else node.tensor.name


def _walk(e):
    """Name and Access nodes of an expression."""
    if isinstance(e, (ast.Name, ast.Access)):
        yield e
    for child in _children(e):
        yield from _walk(child)


def _children(e) -> tuple:
    if isinstance(e, ast.Access):
        return e.indices
    if isinstance(e, ast.Call):
        return e.args
    if isinstance(e, ast.Unary):
        return (e.operand,)
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Reduce):
        return (e.body,)
    return ()


def _additive_terms(e) -> list:
    if isinstance(e, ast.Binary) and e.op == "+":
        return _additive_terms(e.left) + _additive_terms(e.right)
    return [e]


def _substitute(e, name: str, by):
    """e with every Name(name) replaced by `by`."""
    if isinstance(e, ast.Name):
        return by if e.name == name else e
    if isinstance(e, ast.Access):
        return dataclasses.replace(e, indices=tuple(_substitute(i, name, by) for i in e.indices))
    if isinstance(e, ast.Call):
        return dataclasses.replace(e, args=tuple(_substitute(a, name, by) for a in e.args))
    if isinstance(e, ast.Unary):
        return dataclasses.replace(e, operand=_substitute(e.operand, name, by))
    if isinstance(e, ast.Binary):
        return dataclasses.replace(e, left=_substitute(e.left, name, by), right=_substitute(e.right, name, by))
    if isinstance(e, ast.Reduce):
        return dataclasses.replace(e, body=_substitute(e.body, name, by))
    return e


def _reads(agent: ast.Agent) -> set[str]:
    """Names read by the policy, by the update of other tensors, and by state initial values."""
    out: set[str] = set()
    for item in agent.items:
        if isinstance(item, ast.Assign):
            out |= {_ref(n) for n in _walk(item.value)}
        elif isinstance(item, ast.StateDecl):
            out |= {_ref(n) for n in _walk(item.init)}
        elif isinstance(item, ast.Update):
            for s in item.body:
                reads = {_ref(n) for n in _walk(s.value)}
                out |= reads - {s.target.name}
    return out


def prune(agent: ast.Agent) -> ast.Agent:
    """Drop params nothing reads, and states (with their update statements) nothing else reads."""
    while True:
        reads = _reads(agent)
        dead_states = {i.name.name for i in agent.items if isinstance(i, ast.StateDecl) and i.name.name not in reads}
        items = []
        for item in agent.items:
            if isinstance(item, ast.ParamDecl) and item.name.name not in reads:
                continue
            if isinstance(item, ast.StateDecl) and item.name.name in dead_states:
                continue
            if isinstance(item, ast.Update):
                item = dataclasses.replace(item, body=tuple(s for s in item.body if s.target.name not in dead_states))
            items.append(item)
        pruned = dataclasses.replace(agent, items=tuple(items))
        if pruned == agent:
            return agent
        agent = pruned
