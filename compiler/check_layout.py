"""Check a `layout` declaration: resolve its kernel and mesh (this file first, then the stdlib
prelude), recognise the kernel's distributed pattern, and check placements and settings against it.

Every mistake is a diagnostic with a span; the result is a `LayoutIR`. Sizes that do not divide the
grid are not errors: the lowering pads them and the simulator reports the padding.
"""

from __future__ import annotations

from compiler import ir
from compiler.layout_ir import LayoutIR
from compiler.patterns import ALGORITHMS, Pattern, recognise
from dsl import ast
from dsl.diagnostics import Diagnostics, Note
from runtime.mesh.device import MeshDevice
from runtime.mesh.program import KTREE2, Allreduce

AXES = ("y", "x")
ALL_ALGORITHMS = ("meshgemm", "cannon", "summa")
ALLREDUCES = ("chain", "ring", "ktree")


def check_layout(decl: ast.Layout, checked, diags: Diagnostics) -> LayoutIR | None:
    """The checked layout, or None after adding diagnostics. `checked` is the CheckedModule so far."""
    before = len(diags.items)
    decls = checked.module.decls
    kernel = _lookup(decl, decl.kernel, "kernels", checked.kernels, _declares(decls, ast.Kernel), diags)
    mesh = _lookup(decl, decl.mesh, "meshes", checked.meshes, _declares(decls, ast.Mesh), diags)
    if kernel is None or mesh is None:
        return None
    grid = _grid(decl, mesh, diags)
    pattern = recognise(kernel)
    if pattern is None:
        diags.add("E704", f"kernel {kernel.name} is not a pattern the mesh runtime can lower", decl.kernel.span,
                  help="layouts fit a GEMM (also with B transposed), a GEMV, an elementwise kernel, "
                       "a row softmax, rmsnorm or layernorm, or prefill attention")
        return None
    _check_placements(decl, kernel, pattern, diags)
    algorithm, allreduce = _check_settings(decl, kernel, pattern, diags)
    if len(diags.items) > before or grid is None:
        return None
    return LayoutIR(decl.name.name, kernel, mesh, grid, pattern, algorithm, allreduce, decl.span)


# ---------------------------------------------------------------- names


def _declares(decls: tuple, node: type) -> dict[str, ast.Ident]:
    return {d.name.name: d.name for d in decls if isinstance(d, node)}


def _lookup(decl: ast.Layout, name: ast.Ident, kind: str, local: dict, declared: dict[str, ast.Ident],
            diags: Diagnostics):
    """A kernel or mesh by name: this file, else the stdlib prelude. A local declaration that failed
    its own check already has a diagnostic, so it gets no second one here."""
    if name.name in local:
        return local[name.name]
    where = declared.get(name.name)
    if where is not None and _before(where, decl):
        return None
    if where is not None:
        diags.add("E723", f"layout {decl.name.name} uses {name.name} before it is declared", name.span,
                  help=f"move the declaration of {name.name} above the layout")
        return None
    from stdlib import prelude

    shipped = getattr(prelude(), kind)
    found = shipped.get(name.name)
    if found is None:
        noun = "kernel" if kind == "kernels" else "mesh"
        diags.add("E701" if kind == "kernels" else "E702", f"layout {decl.name.name} names {noun} {name.name}, "
                  "which is neither declared in this file nor in the standard library", name.span,
                  help=f"declare it, or use one of: {', '.join(sorted(shipped))}")
    return found


def _before(a: ast.Ident, b: ast.Layout) -> bool:
    return a.span is None or b.span is None or a.span.start < b.span.start


def _grid(decl: ast.Layout, mesh: MeshDevice, diags: Diagnostics) -> tuple[int, int] | None:
    if decl.grid is None:
        return mesh.ny, mesh.nx
    rows, cols = decl.grid.rows, decl.grid.cols
    if not (0 < rows <= mesh.ny and 0 < cols <= mesh.nx):
        diags.add("E703", f"sub-mesh {rows} x {cols} does not fit mesh {mesh.name} ({mesh.ny} x {mesh.nx})",
                  decl.grid.span, help=f"choose between 1 x 1 and {mesh.ny} x {mesh.nx} PEs")
        return None
    return rows, cols


# ---------------------------------------------------------------- placements


def _index_names(kernel: ir.KernelIR, tensor: str) -> list[set[str]]:
    """For each dimension of a tensor, the index names the kernel reads or writes it with."""
    rank = len(kernel.tensor(tensor).shape)
    found: list[set[str]] = [set() for _ in range(rank)]
    for stmt in kernel.body:
        if stmt.target.name == tensor:
            for pos, var in enumerate(stmt.indices):
                found[pos].add(var.name)
        for node in ir.walk(stmt.value):
            if isinstance(node, ir.Load) and node.tensor == tensor:
                for pos, index in enumerate(node.indices):
                    found[pos].update(s for s, _ in index.terms if len(index.terms) == 1)
    return found


def _check_placements(decl: ast.Layout, kernel: ir.KernelIR, pattern: Pattern, diags: Diagnostics) -> None:
    placed: dict[str, ast.Placement] = {}
    tensors = [t.name for t in kernel.params] + [s.target.name for s in kernel.body]
    for placement in decl.placements:
        name = placement.tensor.name
        if name not in tensors:
            diags.add("E705", f"kernel {kernel.name} has no tensor {name}", placement.tensor.span,
                      help=f"its tensors are: {', '.join(dict.fromkeys(tensors))}")
            continue
        if name in placed:
            diags.add("E706", f"tensor {name} is placed twice", placement.tensor.span,
                      notes=(Note("first placed here", placed[name].tensor.span),),
                      help="keep one placement per tensor")
            continue
        placed[name] = placement
        axes = _placement_axes(kernel, placement, diags)
        if axes is not None:
            _check_against_pattern(decl, kernel, pattern, placement, axes, diags)


def _placement_axes(kernel: ir.KernelIR, placement: ast.Placement,
                    diags: Diagnostics) -> tuple[str | None, ...] | None:
    """The mesh axis of each dimension of the tensor, from `A[i@y, k@x]`, or None after an error."""
    name = placement.tensor.name
    names = _index_names(kernel, name)
    axes: list[str | None] = [None] * len(names)
    dims_seen: dict[str, ast.DimMap] = {}
    axes_seen: dict[str, ast.DimMap] = {}
    ok = True
    for dm in placement.dims:
        ok &= _check_dim_map(name, names, dm, dims_seen, axes_seen, diags)
        if ok and dm.axis is not None:
            axes[next(p for p, s in enumerate(names) if dm.index.name in s)] = dm.axis.name
    return tuple(axes) if ok else None


def _check_dim_map(tensor: str, names: list[set[str]], dm: ast.DimMap, dims_seen: dict, axes_seen: dict,
                   diags: Diagnostics) -> bool:
    index = dm.index.name
    if dm.axis is not None and dm.axis.name not in AXES:
        diags.add("E707", f"{dm.axis.name} is not a mesh axis", dm.axis.span,
                  help="a mesh has two axes: y (rows) and x (columns); write i@y or i@x")
        return False
    if not any(index in s for s in names):
        written = ", ".join("/".join(sorted(s)) or "?" for s in names)
        diags.add("E708", f"tensor {tensor} has no index {index}: the kernel indexes it [{written}]",
                  dm.index.span, help="name the tensor's dimensions by the indices the kernel uses for them")
        return False
    if index in dims_seen:
        diags.add("E709", f"index {index} of {tensor} is mapped twice", dm.index.span,
                  notes=(Note("first mapped here", dims_seen[index].span),),
                  help="map each dimension of a tensor once")
        return False
    dims_seen[index] = dm
    if dm.axis is not None and dm.axis.name in axes_seen:
        diags.add("E710", f"mesh axis {dm.axis.name} is used twice in the placement of {tensor}", dm.axis.span,
                  notes=(Note("first used here", axes_seen[dm.axis.name].span),),
                  help="split at most one dimension of a tensor over each mesh axis")
        return False
    if dm.axis is not None:
        axes_seen[dm.axis.name] = dm
    return True


def _check_against_pattern(decl: ast.Layout, kernel: ir.KernelIR, pattern: Pattern, placement: ast.Placement,
                           axes: tuple[str | None, ...], diags: Diagnostics) -> None:
    role = pattern.role(placement.tensor.name)
    if role is None:
        shown = ", ".join(r.tensor for r in pattern.roles)
        diags.add("E712", f"{placement.tensor.name} is an intermediate of {kernel.name}; the mesh program "
                  "decides where intermediates live", placement.tensor.span,
                  help=f"place only the kernel's inputs and results: {shown}")
    elif axes != role.axes:
        how = pattern.describe() + (f" by {_algorithm_of(decl, pattern)}" if pattern.algorithms else "")
        diags.add("E713", f"{how} needs {role.written()}", placement.span,
                  help="the runtime's program places it so: " + " ".join(r.written() for r in pattern.roles))


def _algorithm_of(decl: ast.Layout, pattern: Pattern) -> str:
    named = [s.strategy.name for s in decl.settings if s.key.name == "algorithm" and s.index is None]
    if named and named[0] in pattern.algorithms:
        return named[0]
    return pattern.algorithms[0]


# ---------------------------------------------------------------- settings


def _check_settings(decl: ast.Layout, kernel: ir.KernelIR, pattern: Pattern,
                    diags: Diagnostics) -> tuple[str | None, Allreduce]:
    algorithm = pattern.algorithms[0] if pattern.algorithms else None
    allreduce: Allreduce | None = None
    seen: dict[str, ast.Setting] = {}
    for setting in decl.settings:
        key = setting.key.name if setting.index is None else f"reduce {setting.index.name}"
        if key in seen:
            diags.add("E714", f"{key} is set twice", setting.span,
                      notes=(Note("first set here", seen[key].span),), help="keep one of them")
            continue
        seen[key] = setting
        if key == "algorithm":
            algorithm = _check_algorithm(kernel, pattern, setting, diags) or algorithm
        elif setting.index is not None:
            allreduce = _check_reduce(kernel, pattern, setting, allreduce, diags) or allreduce
        else:
            diags.add("E722", f"layouts have no setting {key!r}", setting.key.span,
                      help="a layout takes `algorithm = meshgemm|cannon|summa` and `reduce INDEX = "
                           "chain|ring|ktree(K)`")
    return algorithm, allreduce or KTREE2


def _check_algorithm(kernel: ir.KernelIR, pattern: Pattern, setting: ast.Setting,
                     diags: Diagnostics) -> str | None:
    name = setting.strategy.name
    if name not in ALL_ALGORITHMS:
        diags.add("E716", f"there is no algorithm {name!r}", setting.strategy.span,
                  help=f"algorithms are: {', '.join(ALL_ALGORITHMS)}")
    elif not pattern.algorithms:
        diags.add("E715", f"algorithm = {name} does not fit {kernel.name}, which is {pattern.describe()}: "
                  "it has no distributed contraction to choose an algorithm for", setting.span,
                  help="remove the algorithm line")
    elif name not in pattern.algorithms:
        diags.add("E715", f"algorithm = {name} does not fit {kernel.name}, which is {pattern.describe()}",
                  setting.strategy.span, help=_why_not(pattern, name))
    elif setting.args:
        diags.add("E717", f"algorithm {name} takes no arguments", setting.strategy.span,
                  help=f"write algorithm = {name}")
    else:
        return name
    return None


def _why_not(pattern: Pattern, name: str) -> str:
    fits = " or ".join(pattern.algorithms)
    if name == "summa":
        return (f"SUMMA broadcasts slices of A and B; {pattern.describe()} shifts B and reduces along x "
                f"instead. Use {fits}")
    return f"use {fits}"


def _check_reduce(kernel: ir.KernelIR, pattern: Pattern, setting: ast.Setting, current: Allreduce | None,
                  diags: Diagnostics) -> Allreduce | None:
    index = setting.index.name
    if index not in pattern.reduced:
        why = (f"its reductions over {', '.join(pattern.reduced)} are" if pattern.reduced
               else "nothing in it is")
        diags.add("E718", f"reduce {index} does not fit {kernel.name}, which is {pattern.describe()}: {why} "
                  "combined across PEs", setting.index.span,
                  help="remove the line" if not pattern.reduced else f"write reduce {pattern.reduced[0]} = …")
        return None
    method = _allreduce(setting, diags)
    if method is not None and current is not None and method != current:
        diags.add("E721", f"reduce {index} = {method} differs from the allreduce chosen before ({current}); "
                  "the runtime combines every reduction of a layout the same way", setting.span,
                  help=f"use {current} for both, or drop one line")
        return None
    return method


def _allreduce(setting: ast.Setting, diags: Diagnostics) -> Allreduce | None:
    name, args = setting.strategy.name, setting.args
    if name not in ALLREDUCES:
        diags.add("E719", f"there is no allreduce {name!r}", setting.strategy.span,
                  help="allreduces are: chain, ring, ktree(K)")
    elif name != "ktree" and args:
        diags.add("E717", f"allreduce {name} takes no arguments", setting.strategy.span, help=f"write {name}")
    elif name == "ktree" and (len(args) != 1 or args[0] < 1):
        shown = f"ktree({', '.join(map(str, args))})" if args else "ktree"
        diags.add("E720", f"{shown} needs one tree arity K of at least 1", setting.strategy.span,
                  help="write ktree(2): WaferLLM's choice")
    else:
        return Allreduce(name, args[0]) if name == "ktree" else Allreduce(name)
    return None


__all__ = ["ALGORITHMS", "check_layout"]
