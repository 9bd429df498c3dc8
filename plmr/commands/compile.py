"""`plmr compile FILE KERNEL --emit STAGE`: show a kernel at one stage of the pipeline."""

from __future__ import annotations

from compiler.ir_printer import print_kernel
from compiler.lower_jax import lower_kernel
from dsl.printer import print_module
from dsl import ast
from plmr.api import load

# Stage name → what to print, in pipeline order.
STAGES = {
    "ast": lambda program, kernel: print_module(ast.Module((_decl(program, kernel),))),
    "ir": lambda program, kernel: print_kernel(program.kernel(kernel)),
    "jax": lambda program, kernel: lower_kernel(program.kernel(kernel)),
}


def _decl(program, name: str):
    program.kernel(name)  # raises the friendly error when missing
    return next(d for d in program.module.decls if isinstance(d, ast.Kernel) and d.name.name == name)


def register(sub) -> None:
    p = sub.add_parser("compile", help="show a kernel after a compiler stage (--emit ast|ir|jax)",
                       description="Print one kernel as the compiler sees it after a stage: the parsed "
                       "AST (as canonical source), the checked IR with ranges and dtypes, or the "
                       "generated JAX function.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("kernel", metavar="KERNEL")
    p.add_argument("--emit", choices=list(STAGES), default="ir", help="the stage to show (default: ir)")
    p.set_defaults(func=run)


def run(args) -> int:
    program = load(args.file)
    print(STAGES[args.emit](program, args.kernel), end="")
    return 0
