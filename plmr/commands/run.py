"""`plmr run FILE KERNEL`: run a kernel on a backend, with inputs from a .npz or seeded random ones."""

from __future__ import annotations

import numpy as np

from plmr.api import BACKENDS, load
from plmr.commands import kernel_inputs
from runtime.inputs import default_dims, parse_shapes, random_inputs


def register(sub) -> None:
    p = sub.add_parser("run", help="run a kernel on a backend (ref, jax or llvm)",
                       description="Run a kernel. Inputs come from --inputs (an .npz with one array "
                       "per parameter name) or are drawn at random (--shapes, --seed). Prints a "
                       "summary of each result; --out saves them.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("kernel", metavar="KERNEL")
    p.add_argument("--backend", choices=list(BACKENDS), default="ref", help="where to run (default: ref)")
    p.add_argument("--inputs", metavar="IN.npz", help="arrays named after the kernel's parameters")
    p.add_argument("--shapes", metavar="N=128,D=64", help="sizes for random inputs (others default to 8)")
    p.add_argument("--seed", type=int, default=0, help="seed for random inputs (default: 0)")
    p.add_argument("--out", metavar="OUT.npz", help="save the results, named as the kernel returns them")
    p.set_defaults(func=run)


def run(args) -> int:
    program = load(args.file)
    kernel = program.kernel(args.kernel)
    if args.inputs:
        inputs = kernel_inputs(args.inputs, kernel)
    else:
        dims = default_dims(kernel, parse_shapes(args.shapes))
        inputs = random_inputs(kernel, dims, args.seed)
        print(f"random inputs (seed {args.seed}): " + ", ".join(f"{k}={v}" for k, v in dims.items()))
    outputs = program.run(args.kernel, *inputs, backend=args.backend)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for result, value in zip(kernel.results, outputs):
        print(_summary(result.name, value))
    if args.out:
        np.savez(args.out, **{r.name: v for r, v in zip(kernel.results, outputs)})
        print(f"saved {args.out}")
    return 0


def _summary(name: str, value: np.ndarray) -> str:
    v = np.asarray(value, dtype=np.float64)
    stats = "empty" if v.size == 0 else f"min {v.min():.6g}  max {v.max():.6g}  mean {v.mean():.6g}"
    return f"{name}: {value.dtype}{list(value.shape)}  {stats}"
