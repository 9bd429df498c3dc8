"""The PLMR device a mesh program runs on: grid size, per-PE memory, links, routes, compute lanes.

Defaults are WSE-2 facts from DESIGN.md §4. Every number that the cost model uses is a field here,
so a sweep or a `mesh` declaration can change it without touching the simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from dsl.diagnostics import error

#: A 14-wide fused multiply-add measured ~58 cycles of which 15 were useful (DESIGN.md §4): the
#: other 43 are the fixed price of issuing one local compute task, paid once per task.
MEASURED_TASK_OVERHEAD_CYCLES = 58 - 15


@dataclass(frozen=True, slots=True)
class MeshDevice:
    """One simulated wafer (or a rectangular sub-mesh of it)."""

    name: str
    ny: int
    nx: int
    memory_bytes: int = 48 * 1024
    clock_hz: float = 1.1e9
    link_bytes_per_cycle: int = 4
    alpha: float = 1.0
    beta: float = 5.0
    routes: int = 24
    reserved_routes: int = 3
    fmac_per_cycle: int = 4
    task_overhead_cycles: int = MEASURED_TASK_OVERHEAD_CYCLES
    code_bytes: int = 2 * 1024

    def __post_init__(self) -> None:
        _check_positive(self, ("ny", "nx", "memory_bytes", "clock_hz", "link_bytes_per_cycle",
                               "routes", "fmac_per_cycle"))
        _check_nonnegative(self, ("alpha", "beta", "reserved_routes", "task_overhead_cycles",
                                  "code_bytes"))
        if self.reserved_routes >= self.routes:
            raise error("M001", f"mesh {self.name}: {self.reserved_routes} reserved routes leave none "
                        f"of its {self.routes} for programs", help="reserve fewer routes than the PE has")

    @property
    def pes(self) -> int:
        return self.ny * self.nx

    @property
    def usable_routes(self) -> int:
        """Route tags a program may use on one PE (the host interface keeps the rest)."""
        return self.routes - self.reserved_routes

    @property
    def data_bytes(self) -> int:
        """Per-PE memory left for tiles and buffers once the code is loaded."""
        return self.memory_bytes - self.code_bytes

    def lanes(self, elem_bytes: int) -> int:
        """Multiply-add lanes per cycle for one element size: the SIMD unit is fmac_per_cycle fp16 wide."""
        return max(1, self.fmac_per_cycle * 2 // elem_bytes)

    def link_cycles(self, elements: int, elem_bytes: int) -> int:
        """Cycles to push `elements` over one link: one element per wavelet (WSE-2 sends one fp16 per
        32-bit wavelet), and an element wider than a wavelet takes several."""
        return elements * math.ceil(elem_bytes / self.link_bytes_per_cycle)

    def with_grid(self, ny: int, nx: int) -> MeshDevice:
        """A sub-mesh of this device: same PEs, fewer of them."""
        if not (0 < ny <= self.ny and 0 < nx <= self.nx):
            raise error("M002", f"sub-mesh {ny} x {nx} does not fit mesh {self.name} ({self.ny} x {self.nx})",
                        help=f"choose at most {self.ny} x {self.nx} PEs")
        return replace(self, name=f"{self.name}[{ny}x{nx}]", ny=ny, nx=nx)


def _check_positive(device: MeshDevice, names: tuple[str, ...]) -> None:
    for name in names:
        if not getattr(device, name) > 0:
            raise error("M001", f"mesh {device.name}: {name} must be positive, got {getattr(device, name)}")


def _check_nonnegative(device: MeshDevice, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(device, name) < 0:
            raise error("M001", f"mesh {device.name}: {name} must not be negative, "
                        f"got {getattr(device, name)}")


def wse2() -> MeshDevice:
    """Cerebras WSE-2 as DESIGN.md §4 describes it: 750 x 994 programmable PEs, 48 KiB each."""
    return MeshDevice("wse2", 750, 994)


def wse3() -> MeshDevice:
    """Cerebras WSE-3.

    Sources: Cerebras' WSE-3 announcement (March 2024: 900,000 cores, 44 GB on-chip SRAM, 125 PF
    peak fp16) and DESIGN.md §4 (762 x 1172 fabric, same fabric as WSE-2). 44 GB / 900k cores is
    ~48.9 kB per core, so per-PE memory stays 48 KiB (DESIGN.md's "better memory" is aggregate, not
    per core). Cerebras doubled the 16-bit SIMD width for WSE-3 (8 fp16 multiply-adds per cycle);
    links, routes, hop and relay costs are the fabric's, hence unchanged.
    """
    return MeshDevice("wse3", 762, 1172, fmac_per_cycle=8)
