"""GEMM on the mesh: Cannon, MeshGEMM (Cannon on the INTERLEAVE ring) and SUMMA; and C = A·Bᵀ.

Cannon and MeshGEMM use an lcm(ny, nx) x lcm(ny, nx) grid of slots so a non-square mesh works:
each PE holds (L/ny) x (L/nx) slots and every shift moves a tile one ring position.
"""

from __future__ import annotations

from dsl.diagnostics import error

from .program import (KTREE2, Alloc, Allreduce, AllReduceStep, Broadcast, Compute, Free, Gather, Keep,
                      Loop, MeshProgram, Place, Ring, Shift, Skew, TensorSpec)
from .tiling import check_allreduce, check_grid, check_sizes, lcm_slots, matmul_work, scratch, tensor

GEMM_ALGORITHMS = ("meshgemm", "cannon", "summa")
RING_OF = {"meshgemm": "interleave", "cannon": "identity"}


def gemm(m: int, k: int, n: int, grid: tuple[int, int], algorithm: str = "meshgemm", *,
         transpose_b: bool = False, allreduce: Allreduce = KTREE2,
         elem_bytes: int = 2) -> MeshProgram:
    """C[M,N] = A[M,K]·B[K,N] (or A·B[N,K]ᵀ with transpose_b) on a grid of (rows, columns) PEs."""
    check_sizes("gemm", M=m, K=k, N=n)
    grid = check_grid(grid)
    if algorithm not in GEMM_ALGORITHMS:
        raise error("M013", f"unknown GEMM algorithm {algorithm!r}", help="use meshgemm, cannon or summa")
    if transpose_b:
        if algorithm == "summa":
            raise error("M014", "C = A·Bᵀ is built by shifting B and reducing along x, "
                        "which SUMMA does not do",
                        help="use algorithm meshgemm or cannon for a transposed B")
        return _gemm_bt(m, k, n, grid, algorithm, check_allreduce(allreduce), elem_bytes)
    if algorithm == "summa":
        return _summa(m, k, n, grid, elem_bytes)
    return _shift_gemm(m, k, n, grid, algorithm, elem_bytes)


def rings(grid: tuple[int, int], algorithm: str) -> tuple[Ring, Ring]:
    """The y and x rings of a shift algorithm on lcm slots."""
    slots = lcm_slots(grid)
    return Ring(RING_OF[algorithm], slots, grid[0]), Ring(RING_OF[algorithm], slots, grid[1])


def cannon_ops(a: TensorSpec, b: TensorSpec, c: TensorSpec, grid: tuple[int, int], algorithm: str) -> tuple:
    """Skew A and B, then L compute-and-shift steps with double-buffered shifts: c += a @ b."""
    ring_y, ring_x = rings(grid, algorithm)
    work = matmul_work(a, b.tile[1], grid)
    compute = Compute("matmul", c.name, (a.name, b.name), work)
    body = (Shift(a.name, "x", ring_x, True), Shift(b.name, "y", ring_y, True), compute)
    return (Skew(a.name, "x", ring_x), Skew(b.name, "y", ring_y), compute, Loop(ring_x.slots - 1, body))


def _shift_gemm(m: int, k: int, n: int, grid: tuple[int, int], algorithm: str,
                elem_bytes: int) -> MeshProgram:
    slots = (lcm_slots(grid),) * 2
    a, pa = tensor("A", (m, k), ("y", "x"), slots)
    b, pb = tensor("B", (k, n), ("y", "x"), slots)
    c, pc = tensor("C", (m, n), ("y", "x"), slots)
    ops = (Place(a), Place(b), Alloc(c), *cannon_ops(a, b, c, grid, algorithm), Free("A"), Free("B"),
           Gather("C"))
    return MeshProgram(f"gemm_{algorithm}", grid, elem_bytes, ops, (a, b), ("C",), "gemm", m * k * n,
                       pa + pb + pc)


def abt_ops(a: TensorSpec, b: TensorSpec, c: TensorSpec, grid: tuple[int, int], algorithm: str,
            allreduce: Allreduce) -> tuple:
    """c = a·bᵀ with no transpose: L steps of local a·bᵀ, a double-buffered shift of b along y,
    an allreduce of the partial block along x, and the owning PE keeping it."""
    ring_y, _ = rings(grid, algorithm)
    slots = c.slots
    part = scratch(f"{c.name}_part", c.padded, ("y", "x"), slots)
    row = scratch(f"{c.name}_row", (c.padded[0], c.tile[1]), ("y", None), (slots[0], 1))
    work = matmul_work(a, b.tile[0], grid)
    body = (Compute("matmul_bt", part.name, (a.name, b.name), work), Shift(b.name, "y", ring_y, True),
            AllReduceStep(part.name, row.name, "x", "sum", allreduce), Keep(row.name, c.name))
    return (Alloc(part), Alloc(row), Loop(ring_y.slots, body), Free(part.name), Free(row.name))


def _gemm_bt(m: int, k: int, n: int, grid: tuple[int, int], algorithm: str, allreduce: Allreduce,
             elem_bytes: int) -> MeshProgram:
    slots = (lcm_slots(grid),) * 2
    a, pa = tensor("A", (m, k), ("y", "x"), slots)
    b, pb = tensor("B", (n, k), ("y", "x"), slots)
    c, pc = tensor("C", (m, n), ("y", "x"), slots)
    ops = (Place(a), Place(b), Alloc(c), *abt_ops(a, b, c, grid, algorithm, allreduce), Free("A"),
           Free("B"), Gather("C"))
    return MeshProgram(f"gemm_bt_{algorithm}_{allreduce}", grid, elem_bytes, ops, (a, b), ("C",), "gemm_bt",
                       m * k * n, pa + pb + pc)


def _summa(m: int, k: int, n: int, grid: tuple[int, int], elem_bytes: int) -> MeshProgram:
    """SUMMA: K in lcm slots; step s multicasts A's slot s along rows and B's along columns."""
    ny, nx = grid
    slots = lcm_slots(grid)
    a, pa = tensor("A", (m, k), ("y", "x"), (ny, slots))
    b, pb = tensor("B", (k, n), ("y", "x"), (slots, nx))
    c, pc = tensor("C", (m, n), ("y", "x"), (ny, nx))
    a_buf = scratch("A_bcast", (a.padded[0], a.tile[1]), ("y", None), (ny, 1))
    b_buf = scratch("B_bcast", (b.tile[0], b.padded[1]), (None, "x"), (1, nx))
    compute = Compute("matmul", "C", ("A_bcast", "B_bcast"), matmul_work(a_buf, b.tile[1], grid))
    body = (Broadcast("A", "A_bcast", "x"), Broadcast("B", "B_bcast", "y"), compute)
    ops = (Place(a), Place(b), Alloc(c), Alloc(a_buf), Alloc(b_buf), Loop(slots, body),
           Free("A_bcast"), Free("B_bcast"), Free("A"), Free("B"), Gather("C"))
    return MeshProgram("gemm_summa", grid, elem_bytes, ops, (a, b), ("C",), "gemm", m * k * n, pa + pb + pc)
