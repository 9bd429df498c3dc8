"""plmr: one small language for tensor kernels, wafer-mesh layouts and cognitive agents.

    import plmr
    program = plmr.load("stdlib/kernels/norms.plmr")
    y = program.run("softmax", x, backend="jax")
"""

from dsl.diagnostics import PlmrError
from plmr.api import Program, fit, load, loads, read_data, run_sharded, sample, search, simulate, verify

__all__ = ["PlmrError", "Program", "fit", "load", "loads", "read_data", "run_sharded", "sample", "search", "simulate",
           "verify"]
