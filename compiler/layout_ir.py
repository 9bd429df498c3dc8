"""The checked form of a layout: a kernel, the device and sub-mesh it runs on, its distributed
pattern, and the algorithm and allreduce chosen for it. Plain frozen data; `lower_mesh` reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.ir import KernelIR
from compiler.patterns import Pattern
from dsl.diagnostics import Span
from runtime.mesh.device import MeshDevice
from runtime.mesh.program import Allreduce

_span = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LayoutIR:
    """`layout NAME for KERNEL on MESH[NY x NX]`, checked: every name resolved, every choice valid."""

    name: str
    kernel: KernelIR
    mesh: MeshDevice
    grid: tuple[int, int]
    pattern: Pattern
    algorithm: str | None
    allreduce: Allreduce
    span: Span | None = _span

    def describe(self) -> str:
        """One line for people: what runs where, and how."""
        ny, nx = self.grid
        how = [f"algorithm {self.algorithm}"] if self.algorithm else []
        how += [f"allreduce {self.allreduce}"] if self.pattern.reduced else []
        placed = " ".join(r.written() for r in self.pattern.roles)
        return (f"layout {self.name}: {self.kernel.name} ({self.pattern.describe()}) on {self.mesh.name}"
                f"[{ny} x {nx}]; {placed}" + (f"; {', '.join(how)}" if how else ""))
