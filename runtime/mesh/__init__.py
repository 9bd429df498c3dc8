"""The wafer-mesh runtime: mesh programs, their builders, and a PLMR simulator with a cost model.

    from runtime.mesh import gemm, simulate, wse2
    report = simulate(gemm(4096, 4096, 4096, (64, 64)), wse2(), numeric=False)
    print(report.to_table())
"""

from .attention import attention
from .device import MeshDevice, wse2, wse3
from .gemm import GEMM_ALGORITHMS, gemm
from .program import Allreduce, MeshProgram, Ring, TensorSpec
from .report import MeshReport
from .rows import BINARY, ROW_KINDS, UNARY, elementwise, gemv, row_reduction
from .simulate import simulate

__all__ = ["GEMM_ALGORITHMS", "BINARY", "ROW_KINDS", "UNARY", "Allreduce", "MeshDevice", "MeshProgram",
           "MeshReport", "Ring", "TensorSpec", "attention", "elementwise", "gemm", "gemv", "row_reduction",
           "simulate", "wse2", "wse3"]
