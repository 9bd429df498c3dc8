"""`plmr shard FILE LAYOUT`: run a layout as a real multi-device JAX program (shard_map) on virtual CPU
devices, and compare its results with the reference interpreter's."""

from __future__ import annotations

import numpy as np

from compiler.bind import bind
from dsl.diagnostics import PlmrError, error
from plmr.api import load
from plmr.commands import kernel_inputs
from plmr.commands.simulate import parse_grid
from runtime.compare import max_error, reduction_length, tolerance
from runtime.inputs import default_dims, parse_shapes, random_inputs


def register(sub) -> None:
    p = sub.add_parser("shard", help="run a layout on several JAX devices and compare with the reference",
                       description="Lower a layout to jax.shard_map over a (y, x) device mesh — Cannon and "
                       "MeshGEMM as ppermute shifts, SUMMA as all_gather panels, a split reduction as the "
                       "layout's chain, ring or K-tree allreduce in ppermute rounds, attention composed of "
                       "these — run it on --devices virtual CPU devices, and compare every result with the "
                       "reference interpreter. Exit 1 when they disagree.")
    p.add_argument("file", metavar="FILE", help="a .plmr file holding the layout")
    p.add_argument("layout", metavar="LAYOUT")
    p.add_argument("--shapes", metavar="M=64,K=64,N=64", help="sizes for random inputs (others default to 8)")
    p.add_argument("--inputs", metavar="IN.npz", help="arrays named after the kernel's parameters")
    p.add_argument("--seed", type=int, default=0, help="seed for random inputs (default: 0)")
    p.add_argument("--devices", type=int, default=8, help="virtual CPU devices to start (default: 8)")
    p.add_argument("--grid", metavar="ROWSxCOLS", help="the device grid (default: chosen from the devices)")
    p.add_argument("--out", metavar="OUT.npz", help="save the results, named as the kernel returns them")
    p.set_defaults(func=run)


def run(args) -> int:
    layout = load(args.file).layout(args.layout)
    kernel = layout.kernel
    if args.inputs:
        inputs = kernel_inputs(args.inputs, kernel)
        drawn = ""
    else:
        inputs = random_inputs(kernel, default_dims(kernel, parse_shapes(args.shapes)), args.seed)
        drawn = f"; random inputs (seed {args.seed})"
    dims = bind(kernel, inputs).dims
    grid = parse_grid(args.grid, "--grid")
    needed = grid[0] * grid[1] if grid else 2
    if args.devices < needed:
        raise error("E785", f"--devices {args.devices} is too few: the device grid needs {needed}",
                    help=f"pass --devices {max(needed, 8)}")
    from runtime.shard_backend import device_grid, run_layout, start_cpu_devices

    devices = start_cpu_devices(args.devices)

    gy, gx = device_grid(layout, len(devices), grid)
    outputs = run_layout(layout, inputs, devices=devices, grid=(gy, gx))
    sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
    print(f"layout {layout.name}: {kernel.name} at {sizes} on a {gy} x {gx} grid of {len(devices)} "
          f"{devices[0].platform} devices{drawn}")
    wanted, against = _expected(kernel, inputs)
    agree = True
    for result, got, want in zip(kernel.results, outputs, wanted):
        err, tol = max_error(got, want), tolerance(result.dtype, reduction_length(kernel, dims))
        agree &= err <= tol
        print(f"{result.name}: {got.dtype}{list(got.shape)}  max error against {against} {err:.3g} "
              f"(tolerance {tol:.2g})  {'ok' if err <= tol else 'DISAGREES'}")
    if args.out:
        np.savez(args.out, **{r.name: v for r, v in zip(kernel.results, outputs)})
        print(f"saved {args.out}")
    return 0 if agree else 1


def _expected(kernel, inputs) -> tuple[tuple, str]:
    """The results to compare with: the reference interpreter's, or the one-device jax backend's when
    the inputs are too large for the reference (it refuses with E301)."""
    from runtime import jax_backend, reference

    try:
        return reference.run_kernel(kernel, inputs), "the reference"
    except PlmrError as exc:
        if exc.diagnostics[0].code != "E301":
            raise
    return jax_backend.run_kernel(kernel, inputs), "one-device jax (too large for the reference)"
