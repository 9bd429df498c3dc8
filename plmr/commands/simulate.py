"""`plmr simulate FILE LAYOUT --shapes …`: run a layout on the simulated wafer and report PLMR figures.

A violation (a PE out of memory or out of route tags) is a finding about the layout, not a failure
of the command: it is printed (and listed in --json) and the exit code stays 0.
"""

from __future__ import annotations

import json
import re

import numpy as np

from dsl.diagnostics import error
from plmr.api import simulate
from runtime.inputs import parse_shapes


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate a layout on the wafer-mesh runtime (cost, or numeric)",
                       description="Lower a layout at the given sizes and simulate it on its mesh: cycles, "
                       "time, per-step latency and hops, memory and routes per PE, compute efficiency, "
                       "link traffic and any PLMR violation. --numeric also carries data and compares the "
                       "results with the reference interpreter. Violations are reported with exit code 0.")
    p.add_argument("file", metavar="FILE", help="a .plmr file holding the layout")
    p.add_argument("layout", metavar="LAYOUT")
    p.add_argument("--shapes", metavar="M=4096,K=4096,N=4096", help="the size of every kernel dimension")
    p.add_argument("--mesh", metavar="ROWSxCOLS", help="re-target the layout to this sub-mesh, e.g. 720x720")
    p.add_argument("--numeric", action="store_true", help="carry data and compare with the reference")
    p.add_argument("--inputs", metavar="IN.npz", help="numeric inputs named after the kernel's parameters")
    p.add_argument("--out", metavar="OUT.npz", help="save the results gathered from the mesh (numeric)")
    p.add_argument("--seed", type=int, default=0, help="seed for random numeric inputs (default: 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="save heatmaps of memory, traffic and routes per PE")
    p.set_defaults(func=run)


def parse_grid(text: str | None, flag: str = "--mesh") -> tuple[int, int] | None:
    """`720x720` → (720, 720)."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if found is None:
        raise error("E770", f"bad {flag} size {text!r}", help=f"write it as ROWSxCOLUMNS, e.g. {flag} 4x4")
    return int(found[1]), int(found[2])


def _read_inputs(path: str) -> dict:
    try:
        with np.load(path) as data:
            return dict(data)
    except (OSError, ValueError) as exc:
        raise error("E771", f"cannot read inputs from {path}: {exc}") from None


def run(args) -> int:
    if (args.inputs or args.out) and not args.numeric:
        raise error("E772", "--inputs and --out need --numeric", help="add --numeric to carry data")
    inputs = _read_inputs(args.inputs) if args.inputs else None
    report = simulate(args.file, args.layout, parse_shapes(args.shapes), mesh=parse_grid(args.mesh),
                      numeric=args.numeric, inputs=inputs, seed=args.seed)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_table())
    if args.out:
        np.savez(args.out, **report.outputs)
        if not args.json:
            print(f"saved {args.out}")
    if args.plot:
        report.plot(args.plot)
        if not args.json:
            print(f"saved {args.plot}")
    return 0
