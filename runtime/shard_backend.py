"""Run a checked layout as a real multi-device JAX program (compiler.lower_shard) on the devices jax
has: bind the arrays, choose a device grid, build the ("y", "x") mesh, run, gather.

The layout's grid (a wafer sub-mesh, e.g. 64 x 64) is re-targeted to the devices there are. The rule:
never more devices along an axis than the layout has PEs along it; Cannon and MeshGEMM (which shift
around square rings) take the largest square g x g that fits; every other pattern takes the
factorisation gy x gx that uses the most devices, closest to the layout's aspect ratio, with more
devices along x on a tie (8 devices and a square layout: 2 x 4). `grid=(gy, gx)` overrides it.

Kernels run with x64 enabled in a scoped context, as in runtime.jax_backend, so f64 kernels stay f64.
"""

from __future__ import annotations

import math

import numpy as np

from compiler.bind import bind
from compiler.layout_ir import LayoutIR
from compiler.lower_shard import SHIFTING, lower_shard
from dsl.diagnostics import error



def start_cpu_devices(count: int) -> list:
    """`count` virtual CPU devices. jax fixes its device count when its backend starts, so this must
    run before anything in the process touches jax; afterwards it is error E786."""
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError as exc:  # the backend already started in this process
        raise error("E786", f"cannot start {count} devices: {exc}",
                    help="start them in a fresh process, before jax runs anything") from None
    return jax.devices()


def how_to_get_devices(count: int) -> str:
    """The advice for too few devices: virtual CPU devices must be asked for before jax starts."""
    count = max(8, count)
    return (f"start Python with XLA_FLAGS=--xla_force_host_platform_device_count={count} (or call "
            f"jax.config.update('jax_num_cpu_devices', {count})) before jax runs anything in the process")


def run_layout(layout: LayoutIR, arrays, devices=None, grid: tuple[int, int] | None = None
               ) -> tuple[np.ndarray, ...]:
    """The kernel's results (numpy, one per result) computed by the layout's multi-device program."""
    import jax

    bound = bind(layout.kernel, arrays)
    devices = list(jax.devices() if devices is None else devices)
    chosen = device_grid(layout, len(devices), grid)
    mesh = jax.sharding.Mesh(np.array(devices[:math.prod(chosen)]).reshape(chosen), ("y", "x"))
    with jax.enable_x64(True):
        program = lower_shard(layout, bound.dims, mesh)
        outputs = program(*bound.arrays)
    return tuple(np.asarray(o) for o in outputs)


def device_grid(layout: LayoutIR, devices: int, grid: tuple[int, int] | None = None) -> tuple[int, int]:
    """The (gy, gx) device grid the layout runs on: `grid` checked, else the rule in this module's doc."""
    if grid is not None:
        return _checked_grid(layout, devices, grid)
    if devices < 2 and layout.grid != (1, 1):
        raise error("E782", f"layout {layout.name} is spread over {layout.grid[0]} x {layout.grid[1]} PEs "
                    f"but jax sees {devices} device", layout.span, help=how_to_get_devices(2))
    ny, nx = layout.grid
    if layout.algorithm in SHIFTING:
        side = min(math.isqrt(devices), ny, nx)
        return side, side
    shapes = [(gy, gx) for gy in range(1, min(ny, devices) + 1) for gx in range(1, min(nx, devices // gy) + 1)]
    aspect = math.log(ny / nx)
    return min(shapes, key=lambda s: (-s[0] * s[1], abs(math.log(s[0] / s[1]) - aspect), -s[1]))


def _checked_grid(layout: LayoutIR, devices: int, grid) -> tuple[int, int]:
    if len(grid) != 2 or not all(isinstance(g, int) and not isinstance(g, bool) and g >= 1 for g in grid):
        raise error("E783", f"a device grid is two positive integers (rows, columns), got {grid!r}",
                    help="e.g. grid=(2, 4)")
    gy, gx = grid
    if gy * gx > devices:
        raise error("E782", f"a {gy} x {gx} device grid needs {gy * gx} devices but jax sees {devices}",
                    help=how_to_get_devices(gy * gx))
    ny, nx = layout.grid
    if gy > ny or gx > nx:
        raise error("E784", f"a {gy} x {gx} device grid is larger than layout {layout.name}'s "
                    f"{ny} x {nx} grid", layout.span, help=f"use at most {ny} x {nx} devices")
    return gy, gx
