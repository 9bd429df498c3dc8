"""`plmr compile FILE KERNEL --emit STAGE`: show a kernel at one stage of the pipeline;
`plmr compile FILE [KERNEL] --layout NAME --emit mesh`: the mesh program a layout lowers to."""

from __future__ import annotations

import sys

from compiler.ir_printer import print_kernel
from compiler.lower_jax import lower_kernel
from dsl.printer import print_module
from dsl import ast
from dsl.diagnostics import error
from plmr.api import load
from runtime.inputs import parse_shapes

# Stage name → what to print, in pipeline order.
STAGES = {
    "ast": lambda program, kernel: print_module(ast.Module((_decl(program, kernel),))),
    "ir": lambda program, kernel: print_kernel(program.kernel(kernel)),
    "jax": lambda program, kernel: lower_kernel(program.kernel(kernel)),
    "llvm": lambda program, kernel: _llvm_ir(program.kernel(kernel)),
}
#: Sizes a mesh program is shown at when --shapes leaves a dimension out.
DEFAULT_MESH_SIZE = 1024


def _llvm_ir(kernel) -> str:
    from runtime.llvm_backend import llvm_ir  # llvmlite loads only for this stage

    return llvm_ir(kernel)


def _decl(program, name: str):
    program.kernel(name)  # raises the friendly error when missing
    return next(d for d in program.module.decls if isinstance(d, ast.Kernel) and d.name.name == name)


def register(sub) -> None:
    p = sub.add_parser("compile", help="show a kernel after a compiler stage (--emit ast|ir|jax|llvm|mesh)",
                       description="Print one kernel as the compiler sees it after a stage: the parsed "
                       "AST (as canonical source), the checked IR with ranges and dtypes, the generated "
                       "JAX function, the LLVM IR before optimisation, or (with --layout) the mesh program "
                       "of a layout.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("kernel", metavar="KERNEL", nargs="?", help="the kernel (optional with --layout)")
    p.add_argument("--emit", choices=[*STAGES, "mesh"], default="ir", help="the stage to show (default: ir)")
    p.add_argument("--layout", metavar="NAME", help="a layout of FILE (for --emit mesh)")
    p.add_argument("--shapes", metavar="M=1024,…", help=f"sizes for --emit mesh (default {DEFAULT_MESH_SIZE})")
    p.add_argument("--mesh", metavar="ROWSxCOLS", help="re-target the layout to this sub-mesh")
    p.set_defaults(func=run)


def run(args) -> int:
    program = load(args.file)
    if args.emit == "mesh" or args.layout:
        print(_mesh_text(program, args), end="")
        return 0
    if args.kernel is None:
        raise error("E430", "which kernel? name it after the file", help=f"kernels: {', '.join(program.kernels)}")
    print(STAGES[args.emit](program, args.kernel), end="")
    return 0


def _mesh_text(program, args) -> str:
    from compiler.lower_mesh import lower_layout
    from plmr.commands.simulate import parse_grid

    if args.emit != "mesh" or not args.layout:
        raise error("E431", "--layout goes with --emit mesh", help="write --layout NAME --emit mesh")
    layout = program.layout(args.layout)
    if args.kernel is not None and args.kernel != layout.kernel.name:
        raise error("E432", f"layout {layout.name} is for kernel {layout.kernel.name}, not {args.kernel}",
                    help=f"leave the kernel out or write {layout.kernel.name}")
    given = parse_shapes(args.shapes)
    dims = {d: given.get(d, DEFAULT_MESH_SIZE) for d in layout.kernel.dims} | given
    lowered = lower_layout(layout, dims, parse_grid(args.mesh))
    if any(d not in given for d in layout.kernel.dims):
        print(f"(sizes not given default to {DEFAULT_MESH_SIZE}; set them with --shapes)", file=sys.stderr)
    names = ", ".join(f"{k} is {b}" for k, b in lowered.inputs + lowered.outputs if k != b)
    head = [f"# {layout.describe()}", "# sizes " + ", ".join(f"{d}={v}" for d, v in dims.items())]
    head += [f"# kernel names: {names}"] if names else []
    return "\n".join(head) + "\n" + lowered.program.to_text()
