"""Cost rules: what one mesh step costs on a device, from the program alone (no data).

A rule returns an `OpCost`: compute and communication cycles on the critical path (the slowest PE;
every PE of a step runs the same pattern, so the max over PEs is read off 1-D per-axis vectors),
hops and relay stages, and per-PE vectors along one axis for link traffic, route tags and buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .collectives import Comm, allreduce, multicast
from .device import MeshDevice
from .program import (AXES, AllReduceStep, Broadcast, Compute, Keep, Mask, MeshProgram, Ring, Shift, Skew,
                      TensorSpec, Work)
from .rings import ring_pes, shift_streams


@dataclass(frozen=True, slots=True)
class AxisVector:
    """A per-PE quantity that varies along `axis` only (the same on every line of PEs)."""

    axis: str
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class OpCost:
    """What one step costs. `substeps` > 1 when the op is several identical mesh steps (a skew)."""

    compute: float = 0.0
    comm: float = 0.0
    substeps: int = 1
    hops: int = 0
    relays: int = 0
    link_bytes: float = 0.0
    traffic: tuple[AxisVector, ...] = ()
    skew_traffic: tuple[AxisVector, AxisVector] | None = None
    routes: tuple[tuple[tuple, AxisVector], ...] = ()
    buffers: tuple[AxisVector, ...] = ()
    double_buffered: bool = False


class CostContext:
    """The device, the program's tensor specs and its grid, shared by the rules."""

    def __init__(self, program: MeshProgram, device: MeshDevice):
        self.program, self.device = program, device
        self.specs = program.tensors()
        self.grid = program.grid
        self.elem_bytes = program.elem_bytes

    def axis_pes(self, axis: str) -> int:
        return self.grid[AXES.index(axis)]

    def other(self, axis: str) -> str:
        return AXES[1 - AXES.index(axis)]

    def slots_per_pe(self, spec: TensorSpec, axis: str) -> int:
        return max(1, spec.slots[AXES.index(axis)] // self.axis_pes(axis))

    def line_message(self, spec: TensorSpec, axis: str) -> int:
        """Elements a PE sends per stream along `axis`: one tile for each slot it holds across it."""
        return spec.tile_elems * self.slots_per_pe(spec, self.other(axis))

    def local(self, work: Work) -> float:
        lanes = self.device.lanes(self.elem_bytes)
        issue = work.weight * work.vector_ops * math.ceil(work.vector_length / lanes)
        return self.device.task_overhead_cycles + issue


def compute_cost(ctx: CostContext, op: Compute, step: int) -> OpCost:
    return OpCost(compute=ctx.local(op.work))


def _elementwise_cost(ctx: CostContext, tensor: str) -> OpCost:
    spec = ctx.specs[tensor]
    elems = spec.tile_elems * spec.slots_per_pe(ctx.grid)
    return OpCost(compute=ctx.local(Work(1, elems, elems)))


def keep_cost(ctx: CostContext, op: Keep, step: int) -> OpCost:
    return _elementwise_cost(ctx, op.src)


def mask_cost(ctx: CostContext, op: Mask, step: int) -> OpCost:
    return _elementwise_cost(ctx, op.tensor)


def shift_cost(ctx: CostContext, op: Shift, step: int) -> OpCost:
    """Every cross-PE ring edge streams its tiles; streams sharing a directed link serialise."""
    spec = ctx.specs[op.tensor]
    streams = shift_streams(op.ring)
    msg = ctx.line_message(spec, op.axis)
    if len(streams.src) == 0:
        return OpCost(double_buffered=op.double_buffered)
    cycles = (ctx.device.alpha * streams.max_hops()
              + streams.max_link_load() * ctx.device.link_cycles(msg, ctx.elem_bytes))
    sent = streams.departures() * msg * ctx.elem_bytes
    lines = ctx.axis_pes(ctx.other(op.axis))
    return OpCost(comm=cycles, hops=streams.max_hops(), link_bytes=float(sent.sum()) * lines,
                  traffic=(AxisVector(op.axis, sent),),
                  routes=((("shift", op.axis, op.ring), AxisVector(op.axis, streams.touching())),),
                  double_buffered=op.double_buffered)


def skew_cost(ctx: CostContext, op: Skew, step: int) -> OpCost:
    """The pre-skew as L-1 ring shifts; the line at index r of the other axis takes part in r of them."""
    shifts = op.ring.slots - 1
    if shifts == 0:
        return OpCost(substeps=0)
    one = shift_cost(ctx, Shift(op.tensor, op.axis, op.ring, False), step)
    other = ctx.other(op.axis)
    other_ring = Ring(op.ring.kind, op.ring.slots, ctx.axis_pes(other))
    line_index = np.arange(op.ring.slots)
    per_pe = np.bincount(ring_pes(other_ring), weights=line_index, minlength=other_ring.pes)
    per_line = per_pe / ctx.slots_per_pe(ctx.specs[op.tensor], other)
    total = float(per_line.sum()) * (one.link_bytes / ctx.axis_pes(other))
    skew = (one.traffic[0], AxisVector(other, per_line)) if one.traffic else None
    return OpCost(comm=one.comm * shifts, substeps=shifts, hops=one.hops, link_bytes=total,
                  skew_traffic=skew, routes=one.routes)


def _comm_cost(ctx: CostContext, comm: Comm, axis: str, key: tuple, compute: float = 0.0) -> OpCost:
    lines = ctx.axis_pes(ctx.other(axis))
    sent = comm.sent_elems * ctx.elem_bytes
    return OpCost(compute=compute, comm=comm.cycles, hops=comm.hops, relays=comm.relays,
                  link_bytes=float(sent.sum()) * lines, traffic=(AxisVector(axis, sent),),
                  routes=((key, AxisVector(axis, comm.routes)),),
                  buffers=(AxisVector(axis, comm.buffer_elems * ctx.elem_bytes),))


def allreduce_cost(ctx: CostContext, op: AllReduceStep, step: int) -> OpCost:
    """Combine the slots a PE holds along the axis locally, then allreduce across the PEs."""
    spec = ctx.specs[op.src]
    msg = ctx.line_message(spec, op.axis)
    local_slots = ctx.slots_per_pe(spec, op.axis)
    pre = ctx.local(Work(local_slots - 1, msg, (local_slots - 1) * msg)) if local_slots > 1 else 0.0
    comm = allreduce(op.method, ctx.axis_pes(op.axis), msg, ctx.elem_bytes, ctx.device)
    return _comm_cost(ctx, comm, op.axis, ("allreduce", op.axis, op.method), pre)


def broadcast_cost(ctx: CostContext, op: Broadcast, step: int) -> OpCost:
    """SUMMA: slot `step` of src is multicast from the PE that holds it."""
    spec = ctx.specs[op.src]
    n = ctx.axis_pes(op.axis)
    root = step // ctx.slots_per_pe(spec, op.axis)
    comm = multicast(root, n, ctx.line_message(ctx.specs[op.dst], op.axis), ctx.elem_bytes, ctx.device)
    return _comm_cost(ctx, comm, op.axis, ("broadcast", op.axis))


RULES = {Compute: compute_cost, Keep: keep_cost, Mask: mask_cost, Shift: shift_cost, Skew: skew_cost,
         AllReduceStep: allreduce_cost, Broadcast: broadcast_cost}
