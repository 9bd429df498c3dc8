"""Building blocks shared by the algorithm builders: padded tensor specs, work counts, argument checks."""

from __future__ import annotations

import math

from dsl.diagnostics import error

from .program import Allreduce, Padding, TensorSpec, Work

#: Vector-op cost of a map function relative to a multiply-add: transcendental functions run as
#: short polynomial/iteration sequences on a PE (an assumption, stated so it can be tuned).
MAP_WEIGHT = {"exp": 8, "log": 8, "sqrt": 8, "rsqrt": 8, "tanh": 8, "sigmoid": 8, "div": 4}

ALLREDUCE_METHODS = ("chain", "ring", "ktree")


def tensor(name: str, shape: tuple[int, ...], split: tuple[str | None, ...], slots: tuple[int, int],
           pad_value: float = 0.0) -> tuple[TensorSpec, tuple[Padding, ...]]:
    """A spec whose split dims are rounded up to a multiple of their axis' slot count."""
    probe = TensorSpec(name, shape, shape, split, slots, pad_value)
    padded = tuple(_round_up(n, probe.axis_slots(a)) for n, a in zip(shape, split))
    pads = tuple(Padding(name, d, n, p) for d, (n, p) in enumerate(zip(shape, padded)) if n != p)
    return TensorSpec(name, shape, padded, split, slots, pad_value), pads


def scratch(name: str, padded: tuple[int, ...], split: tuple[str | None, ...],
            slots: tuple[int, int]) -> TensorSpec:
    """An intermediate tensor whose padded shape is already exact."""
    return TensorSpec(name, padded, padded, split, slots)


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def map_work(spec: TensorSpec, grid: tuple[int, int], fn: str) -> Work:
    """Per-PE work of applying `fn` to every element of `spec`'s slots (one vector op per tile row)."""
    slots = spec.slots_per_pe(grid)
    tile = spec.tile or (1,)
    rows = slots * math.prod(tile[:-1])
    return Work(rows, tile[-1], rows * tile[-1], MAP_WEIGHT.get(fn, 1))


def matmul_work(a: TensorSpec, b_cols: int, grid: tuple[int, int]) -> Work:
    """Per-PE work of a tile matmul (m x k) . (k x n) on every slot: m*k axpy ops of length n."""
    m, k = a.tile
    ops = a.slots_per_pe(grid) * m * k
    return Work(ops, b_cols, ops * b_cols)


def check_sizes(what: str, **sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise error("M010", f"{what}: size {name} must be a positive integer, got {value!r}")


def check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    if len(grid) != 2 or not all(isinstance(g, int) and g >= 1 for g in grid):
        raise error("M011", f"mesh grid must be two positive integers (rows, columns), got {grid!r}")
    return grid


def check_allreduce(method: Allreduce) -> Allreduce:
    if method.method not in ALLREDUCE_METHODS:
        raise error("M012", f"unknown allreduce {method.method!r}",
                    help="use chain, ring or ktree(K)")
    if method.method == "ktree" and method.k < 1:
        raise error("M012", f"ktree({method.k}) needs K >= 1", help="K = 2 is the usual choice")
    return method


def lcm_slots(grid: tuple[int, int]) -> int:
    """Slots per axis for the shift algorithms: a non-square mesh tiles by lcm(ny, nx)."""
    return math.lcm(*grid)
