"""Warnings: programs that are legal but almost certainly not what was meant.

One analysis serves both: what the outputs depend on. In a kernel, a statement or parameter that no
result depends on is dead; in an agent, a parameter or state that never reaches the logits cannot
change a choice, so fitting cannot determine it.
"""

from __future__ import annotations

from compiler import ir
from dsl import ast
from dsl.diagnostics import Diagnostic


def lint(module: ast.Module, kernels: dict[str, ir.KernelIR], agents: dict[str, ir.AgentIR]) -> list[Diagnostic]:
    """Warnings for the checked kernels and agents of a module, in source order."""
    warnings = []
    for decl in module.decls:
        if isinstance(decl, ast.Kernel) and decl.name.name in kernels:
            warnings += _kernel_warnings(decl, kernels[decl.name.name])
        elif isinstance(decl, ast.Agent) and decl.name.name in agents:
            warnings += _agent_warnings(decl, agents[decl.name.name])
    return warnings


def _kernel_warnings(decl: ast.Kernel, kernel: ir.KernelIR) -> list[Diagnostic]:
    needed = _reaching(kernel.body, {r.name for r in kernel.results})
    out = [_warning("W001", f"{s.target.name} is computed but no result of {kernel.name} depends on it", s.span,
                    f"return {s.target.name}, use it, or remove the statement")
           for s in kernel.body if s.target.name not in needed]
    out += [_warning("W002", f"parameter {p.name.name} is never read by {kernel.name}", p.name.span,
                     "remove the parameter, or use it")
            for p in decl.params if p.name.name not in needed]
    return out


def _agent_warnings(decl: ast.Agent, agent: ir.AgentIR) -> list[Diagnostic]:
    needed = _reaching(agent.state + agent.policy + agent.update, {"logits"})
    out = []
    for item in decl.items:
        if isinstance(item, ast.ParamDecl) and item.name.name not in needed:
            out.append(_warning("W003", f"param {item.name.name} never reaches the logits, so it cannot change a "
                                "choice and fitting cannot determine it", item.name.span,
                                "use it in the policy or in a state the policy reads, or remove it"))
        elif isinstance(item, ast.StateDecl) and item.name.name not in needed:
            out.append(_warning("W004", f"state {item.name.name} never reaches the logits, so it cannot change "
                                "a choice", item.name.span, "read it in the policy, or remove it"))
    return out


def _reaching(stmts: tuple[ir.Stmt, ...], roots: set[str]) -> set[str]:
    """Every tensor the roots read, directly or through other statements (the roots included)."""
    reads: dict[str, set[str]] = {}
    for s in stmts:
        loads = {node.tensor for node in ir.walk(s.value) if isinstance(node, ir.Load)}
        reads.setdefault(s.target.name, set()).update(loads)
    found, pending = set(), list(roots)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(reads.get(name, ()))
    return found


def _warning(code: str, message: str, span, help: str) -> Diagnostic:
    return Diagnostic(code, message, span, help=help, severity="warning")
