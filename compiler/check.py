"""Check a whole module: each declaration by its own checker, all diagnostics collected.

The result is a `CheckedModule`: the IR of every declaration, looked up by name. Later
declarations may refer to earlier ones (a layout names a kernel and a mesh).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import ir
from compiler.check_agent import check_agent
from compiler.check_kernel import check_kernel
from compiler.check_layout import check_layout
from compiler.check_mesh import check_mesh
from compiler.check_problem import check_problem
from compiler.lint import lint
from dsl import ast
from dsl.diagnostics import Diagnostics, Note


@dataclass
class CheckedModule:
    """The checked declarations of one source, by kind and name."""

    module: ast.Module
    kernels: dict[str, ir.KernelIR] = field(default_factory=dict)
    meshes: dict = field(default_factory=dict)
    layouts: dict = field(default_factory=dict)
    agents: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)   # compiler.lint's, for a module without errors


def _check_kernel(decl: ast.Kernel, checked: CheckedModule, diags: Diagnostics) -> None:
    kernel = check_kernel(decl, diags)
    if kernel is not None:
        checked.kernels[kernel.name] = kernel


def _check_agent(decl: ast.Agent, checked: CheckedModule, diags: Diagnostics) -> None:
    agent = check_agent(decl, diags)
    if agent is not None:
        checked.agents[agent.name] = agent


def _check_mesh(decl: ast.Mesh, checked: CheckedModule, diags: Diagnostics) -> None:
    device = check_mesh(decl, diags)
    if device is not None:
        checked.meshes[device.name] = device


def _check_layout(decl: ast.Layout, checked: CheckedModule, diags: Diagnostics) -> None:
    layout = check_layout(decl, checked, diags)
    if layout is not None:
        checked.layouts[layout.name] = layout


def _check_problem(decl: ast.Problem, checked: CheckedModule, diags: Diagnostics) -> None:
    problem = check_problem(decl, checked.module, diags)
    if problem is not None:
        checked.problems[problem.name] = problem


# One checker per declaration kind; each adds its IR to the CheckedModule or diagnostics to diags.
CHECKERS = {ast.Kernel: _check_kernel, ast.Agent: _check_agent, ast.Mesh: _check_mesh,
            ast.Layout: _check_layout, ast.Problem: _check_problem}


def check_module(module: ast.Module) -> CheckedModule:
    """Check every declaration; raise one PlmrError with all diagnostics if any."""
    diags = Diagnostics()
    checked = CheckedModule(module)
    seen: dict[str, ast.Ident] = {}
    for decl in module.decls:
        name = decl.name
        if name.name in seen:
            diags.add("E010", f"{name.name} is declared twice", name.span,
                      notes=(Note("first declared here", seen[name.name].span),),
                      help="give each declaration of a file its own name")
            continue
        seen[name.name] = name
        checker = CHECKERS.get(type(decl))
        if checker is None:
            kind = type(decl).__name__.lower()
            diags.add("E011", f"{kind} declarations are parsed but not checked or compiled yet", name.span,
                      help=f"this version of plmr cannot use {kind} {name.name}; remove it or upgrade")
            continue
        checker(decl, checked, diags)
    diags.raise_if_any()
    checked.warnings = lint(module, checked.kernels, checked.agents)
    return checked
