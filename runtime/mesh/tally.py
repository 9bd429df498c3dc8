"""The running totals of a cost pass: cycles with double-buffered overlap, the PLMR maxima, and
per-PE link traffic, route tags and memory kept as per-axis vectors until the report needs them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cost import AxisVector, OpCost
from .device import MeshDevice
from .program import AXES


@dataclass(frozen=True, slots=True)
class Additive:
    """The totals that grow with every step (a loop repeats these)."""

    cycles: float
    steps: int
    link_bytes: float
    traffic: tuple[np.ndarray, np.ndarray]


class Tally:
    """Accumulates OpCosts in program order."""

    def __init__(self, grid: tuple[int, int], device: MeshDevice):
        self.grid, self.device = grid, device
        self.cycles, self.steps, self.link_bytes = 0.0, 0, 0.0
        self.max_step = self.max_hops = self.max_relays = self.max_latency = 0.0
        self.traffic = [np.zeros(grid[0]), np.zeros(grid[1])]
        self.skew_traffic: list[tuple[AxisVector, AxisVector]] = []
        self.routes: dict[tuple, AxisVector] = {}
        self.live = 0.0
        self.peak_live = 0.0
        self.peak_axis = [np.zeros(grid[0]), np.zeros(grid[1])]
        self.double_buffers: dict[str, float] = {}
        self.overlap: float | None = None

    def add(self, cost: OpCost) -> None:
        self._time(cost)
        self.steps += cost.substeps
        self.link_bytes += cost.link_bytes
        for vec in cost.traffic:
            self.traffic[AXES.index(vec.axis)] += vec.values
        if cost.skew_traffic is not None:
            self.skew_traffic.append(cost.skew_traffic)
        for key, vec in cost.routes:
            self.routes[key] = vec
        for vec in cost.buffers:
            i = AXES.index(vec.axis)
            self.peak_axis[i] = np.maximum(self.peak_axis[i], self.live + vec.values)

    def _time(self, cost: OpCost) -> None:
        """A double-buffered shift hides behind the local compute before it (and behind shifts
        running alongside it): the step lasts max(compute, comm), not their sum."""
        if cost.double_buffered and self.overlap is not None:
            self.cycles += max(0.0, cost.comm - self.overlap)
            self.overlap = max(self.overlap, cost.comm)
        else:
            self.cycles += cost.compute + cost.comm
            self.overlap = cost.compute if cost.comm == 0 else None
        per_step = (cost.compute + cost.comm) / max(1, cost.substeps)
        self.max_step = max(self.max_step, per_step)
        self.max_hops = max(self.max_hops, cost.hops)
        self.max_relays = max(self.max_relays, cost.relays)
        latency = self.device.alpha * cost.hops + self.device.beta * cost.relays
        self.max_latency = max(self.max_latency, latency)

    def allocate(self, name: str, nbytes: float) -> None:
        self.live += nbytes
        self.peak_live = max(self.peak_live, self.live)

    def double_buffer(self, name: str, nbytes: float) -> None:
        if name not in self.double_buffers:
            self.double_buffers[name] = nbytes
            self.allocate(name, nbytes)

    def release(self, nbytes: float, name: str) -> None:
        self.live -= nbytes + self.double_buffers.pop(name, 0.0)

    def snapshot(self) -> Additive:
        traffic = (self.traffic[0].copy(), self.traffic[1].copy())
        return Additive(self.cycles, self.steps, self.link_bytes, traffic)

    def repeat_since(self, before: Additive, times: int) -> None:
        """Add what happened since `before` another `times` times (identical loop iterations)."""
        self.cycles += (self.cycles - before.cycles) * times
        self.steps += (self.steps - before.steps) * times
        self.link_bytes += (self.link_bytes - before.link_bytes) * times
        for i in range(2):
            self.traffic[i] += (self.traffic[i] - before.traffic[i]) * times

    def per_pe_traffic(self) -> np.ndarray:
        total = self.traffic[0][:, None] + self.traffic[1][None, :]
        for along, across in self.skew_traffic:
            ys, xs = (along, across) if along.axis == "y" else (across, along)
            total = total + ys.values[:, None] * xs.values[None, :]
        return total

    def per_pe_routes(self) -> np.ndarray:
        per_axis = [np.zeros(self.grid[0]), np.zeros(self.grid[1])]
        for vec in self.routes.values():
            per_axis[AXES.index(vec.axis)] += vec.values
        return (per_axis[0][:, None] + per_axis[1][None, :]).astype(np.int64)

    def per_pe_memory(self) -> np.ndarray:
        peak = np.maximum(np.maximum(self.peak_axis[0][:, None], self.peak_axis[1][None, :]), self.peak_live)
        return (peak + self.device.code_bytes).astype(np.int64)
