"""Prefill attention on the mesh: S = Q·Kᵀ/√D (no transpose), a row softmax, O = P·V, composed."""

from __future__ import annotations

import math

from dsl.diagnostics import error

from .gemm import GEMM_ALGORITHMS, abt_ops, cannon_ops
from .program import KTREE2, Alloc, Allreduce, Compute, Free, Gather, Mask, MeshProgram, Place
from .rows import SOFTMAX_PAD, softmax_ops
from .tiling import check_allreduce, check_grid, check_sizes, lcm_slots, map_work, tensor


def attention(s: int, d: int, grid: tuple[int, int], *, causal: bool = False, algorithm: str = "meshgemm",
              allreduce: Allreduce = KTREE2, elem_bytes: int = 2) -> MeshProgram:
    """O[S,D] = softmax(Q·Kᵀ/√D [+ causal mask])·V for one head; every tensor on lcm slots."""
    check_sizes("attention", S=s, D=d)
    grid = check_grid(grid)
    allreduce = check_allreduce(allreduce)
    if algorithm not in GEMM_ALGORITHMS or algorithm == "summa":
        raise error("M017", f"attention composes shift GEMMs; algorithm {algorithm!r} is not one",
                    help="use meshgemm or cannon")
    slots = (lcm_slots(grid),) * 2
    q, pq = tensor("Q", (s, d), ("y", "x"), slots)
    k, pk = tensor("K", (s, d), ("y", "x"), slots)
    v, pv = tensor("V", (s, d), ("y", "x"), slots)
    scores, _ = tensor("S", (s, s), ("y", "x"), slots)
    probs, _ = tensor("P", (s, s), ("y", "x"), slots)
    out, po = tensor("O", (s, d), ("y", "x"), slots)
    masks = [Mask("S", "pad_cols", SOFTMAX_PAD)] if scores.padded[1] != s else []
    if causal:
        masks.append(Mask("S", "causal", SOFTMAX_PAD))
    ops = (Place(q), Place(k), Place(v), Alloc(scores), *abt_ops(q, k, scores, grid, algorithm, allreduce),
           Free("Q"), Free("K"),
           Compute("mul", "S", ("S", 1.0 / math.sqrt(d)), map_work(scores, grid, "mul")), *masks,
           Alloc(probs), *softmax_ops(scores, probs, grid, allreduce), Free("S"),
           Alloc(out), *cannon_ops(probs, v, out, grid, algorithm), Free("P"), Free("V"), Gather("O"))
    name = f"attention{'_causal' if causal else ''}_{algorithm}_{allreduce}"
    reference = "attention_causal" if causal else "attention"
    return MeshProgram(name, grid, elem_bytes, ops, (q, k, v), ("O",), reference, 2 * s * s * d,
                       pq + pk + pv + po)
