"""Run a mesh program on a simulated PLMR device: a cost pass (always) and a numeric pass (on request).

The cost pass reads only the program, so cost-only and numeric runs report identical figures;
it never allocates tile data, which is what lets it cover the whole wafer in a fraction of a second.
"""

from __future__ import annotations

import numpy as np

from dsl.diagnostics import error

from .cost import RULES, CostContext
from .device import MeshDevice
from .numeric import NumericRun
from .program import Alloc, Broadcast, Free, Loop, MeshProgram, Place, Shift, _flat
from .reference import reference
from .report import MeshReport, build_report
from .tally import Tally


def simulate(program: MeshProgram, device: MeshDevice, inputs: dict[str, np.ndarray] | None = None,
             numeric: bool = False, *, seed: int = 0,
             expected: dict[str, np.ndarray] | None = None) -> MeshReport:
    """Simulate `program` on `device` (or on its sub-mesh of the program's grid).

    numeric=True carries data: `inputs` (drawn from a seeded normal when None) are placed, every
    step runs as numpy on the whole grid, outputs are gathered and compared with `expected` (by
    default the program's own numpy reference) as `max_abs_error`.
    """
    device = _fit(program, device)
    tally = cost_pass(program, device)
    if not numeric:
        return build_report(program, device, tally)
    data = _inputs(program, inputs, seed)
    outputs = NumericRun(program, data).run()
    want = expected if expected is not None else reference(program.reference, data, dict(program.params))
    err = max(float(np.max(np.abs(outputs[k] - want[k]), initial=0.0)) for k in program.outputs)
    return build_report(program, device, tally, outputs=outputs, max_abs_error=err)


def _fit(program: MeshProgram, device: MeshDevice) -> MeshDevice:
    ny, nx = program.grid
    if (ny, nx) == (device.ny, device.nx):
        return device
    if ny > device.ny or nx > device.nx:
        raise error("M020", f"program {program.name} needs {ny} x {nx} PEs but mesh {device.name} has "
                    f"{device.ny} x {device.nx}", help="build the program for a smaller grid")
    return device.with_grid(ny, nx)


def _inputs(program: MeshProgram, inputs: dict[str, np.ndarray] | None, seed: int) -> dict[str, np.ndarray]:
    if inputs is None:
        rng = np.random.default_rng(seed)
        return {s.name: rng.standard_normal(s.shape).astype(np.float32) for s in program.inputs}
    for spec in program.inputs:
        if spec.name not in inputs:
            raise error("M021", f"input {spec.name} of {program.name} is missing",
                        help=f"pass arrays for {', '.join(s.name for s in program.inputs)}")
        got = np.shape(inputs[spec.name])
        if tuple(got) != spec.shape:
            raise error("M022", f"input {spec.name} has shape {tuple(got)} but {program.name} "
                        f"expects {spec.shape}")
    return {s.name: np.asarray(inputs[s.name]) for s in program.inputs}


def cost_pass(program: MeshProgram, device: MeshDevice) -> Tally:
    """Walk the program once (loops of identical iterations are costed twice and multiplied)."""
    ctx = CostContext(program, device)
    tally = Tally(program.grid, device)
    _cost_ops(ctx, tally, program.ops, 0)
    return tally


def _cost_ops(ctx: CostContext, tally: Tally, ops: tuple, step: int) -> None:
    for op in ops:
        if isinstance(op, Loop):
            _cost_loop(ctx, tally, op)
        elif isinstance(op, (Place, Alloc)):
            tally.allocate(op.tensor.name, _bytes(ctx, op.tensor.name))
        elif isinstance(op, Free):
            tally.release(_bytes(ctx, op.tensor), op.tensor)
        elif type(op) in RULES:
            if isinstance(op, Shift) and op.double_buffered:
                tally.double_buffer(op.tensor, _bytes(ctx, op.tensor))
            tally.add(RULES[type(op)](ctx, op, step))


def _cost_loop(ctx: CostContext, tally: Tally, loop: Loop) -> None:
    """Iterations cost the same except where SUMMA's broadcast root moves to another PE, so each
    run of iterations with the same roots is costed twice (the second sees the overlap state the
    rest see) and the second repeated."""
    for start, stop in _same_cost_runs(ctx, loop):
        _cost_ops(ctx, tally, loop.body, start)
        if stop - start > 1:
            before = tally.snapshot()
            _cost_ops(ctx, tally, loop.body, start + 1)
            tally.repeat_since(before, stop - start - 2)


def _same_cost_runs(ctx: CostContext, loop: Loop) -> list[tuple[int, int]]:
    """[start, stop) runs of consecutive iterations whose broadcasts all have the same root PE."""
    steps = np.arange(loop.count)
    change = np.zeros(loop.count, dtype=bool)
    change[:1] = True
    for op in _flat(loop.body):
        if isinstance(op, Broadcast):
            root = steps // ctx.slots_per_pe(ctx.specs[op.src], op.axis)
            change[1:] |= root[1:] != root[:-1]
    starts = np.flatnonzero(change)
    return list(zip(starts.tolist(), [*starts[1:].tolist(), loop.count]))


def _bytes(ctx: CostContext, name: str) -> float:
    spec = ctx.specs[name]
    return float(spec.tile_elems * spec.slots_per_pe(ctx.grid) * ctx.elem_bytes)
