"""The simulator's answer in PLMR terms: routes per PE (R), latency per step (L), memory per PE (M),
with total cycles, time, compute efficiency, link traffic, and every violation in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsl.diagnostics import error

from .device import MeshDevice
from .program import MeshProgram


@dataclass(frozen=True, slots=True)
class MeshReport:
    """Figures of one simulated run; `outputs` (numeric mode) hold the gathered results."""

    program: str
    device: str
    grid: tuple[int, int]
    cycles: float
    seconds: float
    steps: int
    max_step_cycles: float
    max_step_latency_cycles: float
    max_hops_per_step: int
    max_relay_stages_per_step: int
    max_memory_per_pe_bytes: int
    max_routes_per_pe: int
    compute_efficiency: float
    link_bytes: float
    padding: tuple[dict, ...]
    violations: tuple[dict, ...]
    memory_per_pe: np.ndarray = field(repr=False)
    link_bytes_per_pe: np.ndarray = field(repr=False)
    routes_per_pe: np.ndarray = field(repr=False)
    max_abs_error: float | None = None
    outputs: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The JSON form (`plmr simulate --json`): figures only, no arrays."""
        out = {name: getattr(self, name) for name in _FIELDS}
        out["grid"] = list(self.grid)
        out["padding"] = list(self.padding)
        out["violations"] = list(self.violations)
        if self.max_abs_error is not None:
            out["max_abs_error"] = self.max_abs_error
        return out

    def to_table(self) -> str:
        """A small aligned table for people."""
        rows = [(name.replace("_", " "), _fmt(getattr(self, name))) for name in _FIELDS[2:]]
        if self.max_abs_error is not None:
            rows.append(("max abs error", f"{self.max_abs_error:.3g}"))
        width = max(len(k) for k, _ in rows)
        lines = [f"{self.program} on {self.device} ({self.grid[0]} x {self.grid[1]} PEs)"]
        lines += [f"  {k:<{width}}  {v}" for k, v in rows]
        lines += [f"  padded: {p['tensor']} dim {p['dim']} {p['size']} -> {p['padded']}"
                  for p in self.padding]
        broken = [f"  VIOLATION ({v['kind']}): {v['message']}" for v in self.violations]
        lines += broken or ["  fits: no violations"]
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Heatmaps of per-PE memory and link traffic, saved to `path`."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise error("M030", "plotting needs matplotlib, which is not installed",
                        help="pip install 'plmr[plot]'") from None
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        panels = ((self.memory_per_pe / 1024, "memory per PE (KiB)"),
                  (self.link_bytes_per_pe / 1024, "link traffic per PE (KiB)"),
                  (self.routes_per_pe, "route tags per PE"))
        for ax, (data, title) in zip(axes, panels):
            image = ax.imshow(data, aspect="auto", interpolation="nearest")
            ax.set_title(title)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            fig.colorbar(image, ax=ax)
        fig.suptitle(f"{self.program} on {self.device}")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)


_FIELDS = ("program", "device", "cycles", "seconds", "steps", "max_step_cycles", "max_step_latency_cycles",
           "max_hops_per_step", "max_relay_stages_per_step", "max_memory_per_pe_bytes", "max_routes_per_pe",
           "compute_efficiency", "link_bytes")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def build_report(program: MeshProgram, device: MeshDevice, tally, *, outputs=None,
                 max_abs_error: float | None = None) -> MeshReport:
    memory, routes = tally.per_pe_memory(), tally.per_pe_routes()
    peak = device.lanes(program.elem_bytes) * device.pes * tally.cycles
    return MeshReport(
        program=program.name, device=device.name, grid=program.grid, cycles=float(tally.cycles),
        seconds=float(tally.cycles / device.clock_hz), steps=int(tally.steps),
        max_step_cycles=float(tally.max_step), max_step_latency_cycles=float(tally.max_latency),
        max_hops_per_step=int(tally.max_hops), max_relay_stages_per_step=int(tally.max_relays),
        max_memory_per_pe_bytes=int(memory.max()), max_routes_per_pe=int(routes.max()),
        compute_efficiency=float(program.useful_macs / peak) if peak else 0.0,
        link_bytes=float(tally.link_bytes), padding=tuple(p.to_dict() for p in program.padding),
        violations=tuple(violations(device, memory, routes, tally)),
        memory_per_pe=memory, link_bytes_per_pe=tally.per_pe_traffic(), routes_per_pe=routes,
        max_abs_error=max_abs_error, outputs=outputs)


def violations(device: MeshDevice, memory: np.ndarray, routes: np.ndarray, tally) -> list[dict]:
    """PLMR limits the run breaks, each with a plain-language message."""
    found = []
    over = memory > device.memory_bytes
    if over.any():
        found.append({"kind": "memory", "pes": int(over.sum()), "needed_bytes": int(memory.max()),
                      "limit_bytes": device.memory_bytes,
                      "message": f"{int(over.sum())} PEs need up to {int(memory.max())} bytes (tiles, double "
                                 f"buffers, receive buffers and {device.code_bytes} B of code) but a PE has "
                                 f"{device.memory_bytes}; use more PEs or smaller tiles"})
    over = routes > device.usable_routes
    if over.any():
        patterns = ", ".join(f"{k[0]} along {k[1]}" for k in tally.routes)
        found.append({"kind": "routes", "pes": int(over.sum()), "needed": int(routes.max()),
                      "limit": device.usable_routes,
                      "message": f"{int(over.sum())} PEs need up to {int(routes.max())} route tags "
                                 f"({patterns}) but only {device.usable_routes} of {device.routes} are free "
                                 "for programs; use an algorithm with O(1) routes (cannon, meshgemm, ktree) "
                                 "or a smaller mesh"})
    return found
