"""Mutations of layouts at the AST level, for the offline evolver: the distributed algorithm, the
allreduce and the K of a K-tree, the sub-mesh size, and the placements (dropped, so the checker
gives the algorithm's own; or swapped between the mesh axes).

Each returns a new `ast.Layout` or None when it does not apply; children are verified like any
other candidate, so an invalid choice simply fails its check.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dsl import ast

ALGORITHMS = ("meshgemm", "cannon", "summa")
ALLREDUCES = ("chain", "ring", "ktree")


def _settings(layout: ast.Layout, keep) -> tuple[ast.Setting, ...]:
    return tuple(s for s in layout.settings if keep(s))


def set_algorithm(layout: ast.Layout, rng: np.random.Generator, target=None) -> ast.Layout | None:
    """Another distributed algorithm; the placements are dropped so the algorithm's own apply."""
    current = next((s.strategy.name for s in layout.settings if s.index is None and s.key.name == "algorithm"),
                   None)
    if current is None and not any(p.tensor.name for p in layout.placements):
        return None
    choice = str(rng.choice([a for a in ALGORITHMS if a != current]))
    setting = ast.Setting(ast.Ident("algorithm"), None, ast.Ident(choice), ())
    others = _settings(layout, lambda s: not (s.index is None and s.key.name == "algorithm"))
    return dataclasses.replace(layout, placements=(), settings=(setting,) + others)


def set_allreduce(layout: ast.Layout, rng: np.random.Generator, target=None) -> ast.Layout | None:
    """Another allreduce for each split reduction: chain, ring, or a K-tree with K in 2 … 4."""
    reduces = [s for s in layout.settings if s.index is not None]
    if not reduces:
        return None
    name = str(rng.choice(ALLREDUCES))
    args = (int(rng.integers(2, 5)),) if name == "ktree" else ()
    new = tuple(dataclasses.replace(s, strategy=ast.Ident(name), args=args) if s.index is not None else s
                for s in layout.settings)
    return dataclasses.replace(layout, settings=new) if new != layout.settings else None


def resize(layout: ast.Layout, rng: np.random.Generator, target=None) -> ast.Layout | None:
    """A square sub-mesh of another size, at most the target's."""
    if layout.grid is None:
        return None
    top = min(target) if target else max(layout.grid.rows, layout.grid.cols) * 2
    sizes = sorted({max(1, top >> k) for k in range(6)} | {layout.grid.rows})
    size = int(rng.choice(sizes))
    grid = ast.Grid(size, size)
    return dataclasses.replace(layout, grid=grid) if grid != layout.grid else None


def swap_axes(layout: ast.Layout, rng: np.random.Generator, target=None) -> ast.Layout | None:
    """Every placement with x and y exchanged (the transposed mapping)."""
    if not layout.placements:
        return None
    flip = {"x": "y", "y": "x"}

    def swap(d: ast.DimMap) -> ast.DimMap:
        return d if d.axis is None else dataclasses.replace(d, axis=ast.Ident(flip.get(d.axis.name, d.axis.name)))

    placements = tuple(dataclasses.replace(p, dims=tuple(swap(d) for d in p.dims)) for p in layout.placements)
    return dataclasses.replace(layout, placements=placements)


MUTATIONS = (set_algorithm, set_allreduce, resize, swap_axes)


def mutate(layout: ast.Layout, rng: np.random.Generator, target=None, tries: int = 8):
    """One applicable mutation at random: (child, mutation name), or None."""
    for _ in range(tries):
        mutation = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        child = mutation(layout, rng, target)
        if child is not None and child != layout:
            return child, mutation.__name__
    return None


def crossover(a: ast.Layout, b: ast.Layout, rng: np.random.Generator) -> ast.Layout | None:
    """a's placements and sub-mesh with b's settings (algorithm and allreduce)."""
    child = dataclasses.replace(a, settings=b.settings)
    return child if child != a else None
