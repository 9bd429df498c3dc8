"""Run a checked layout on the simulated wafer: lower it at concrete sizes, draw or bind the inputs,
simulate, and in numeric mode compare the gathered results with the reference interpreter's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from compiler.bind import bind
from compiler.layout_ir import LayoutIR
from compiler.lower_mesh import Lowered, lower_layout
from dsl.diagnostics import error
from runtime.inputs import random_inputs
from runtime.mesh import MeshReport, simulate
from runtime.reference import run_kernel


def simulate_layout(layout: LayoutIR, shapes: dict[str, int], *, mesh: tuple[int, int] | None = None,
                    numeric: bool = False, inputs: dict | None = None, seed: int = 0) -> MeshReport:
    """The simulator's report for `layout` at `shapes` (dims may come from `inputs` instead)."""
    arrays = _bound_inputs(layout, inputs, shapes) if inputs is not None else None
    dims = dict(shapes) if arrays is None else arrays[1]
    lowered = lower_layout(layout, dims, mesh)
    if not numeric:
        return simulate(lowered.program, layout.mesh)
    kernel_inputs = arrays[0] if arrays is not None else random_inputs(layout.kernel, dims, seed)
    return _numeric(layout, lowered, kernel_inputs)


def _bound_inputs(layout: LayoutIR, inputs: dict, shapes: dict[str, int]) -> tuple[list, dict[str, int]]:
    """The kernel's inputs in parameter order and the sizes they imply (which must match `shapes`)."""
    kernel = layout.kernel
    missing = [p.name for p in kernel.params if p.name not in inputs]
    if missing:
        raise error("E760", f"no input array for {', '.join(missing)}",
                    help=f"kernel {kernel.name} takes: {', '.join(p.name for p in kernel.params)}")
    arrays = [inputs[p.name] for p in kernel.params]
    dims = bind(kernel, arrays).dims
    clash = [f"{d}={v} (the inputs have {dims[d]})" for d, v in shapes.items() if d in dims and dims[d] != v]
    if clash:
        raise error("E761", f"the given sizes disagree with the inputs: {', '.join(clash)}",
                    help="drop --shapes when giving inputs, or make them agree")
    return arrays, dims


def _numeric(layout: LayoutIR, lowered: Lowered, arrays: list) -> MeshReport:
    program = lowered.program
    specs = {s.name: s for s in program.inputs}
    by_param = dict(zip((p.name for p in layout.kernel.params), arrays))
    mesh_inputs = {built: np.reshape(np.asarray(by_param[name], dtype=np.float32), specs[built].shape)
                   for name, built in lowered.inputs}
    want = run_kernel(layout.kernel, arrays)
    expected = {built: np.asarray(w, dtype=np.float64) for (_, built), w in zip(lowered.outputs, want)}
    report = simulate(program, layout.mesh, mesh_inputs, numeric=True, expected=expected)
    outputs = {name: report.outputs[built] for name, built in lowered.outputs}
    return replace(report, outputs=outputs)
