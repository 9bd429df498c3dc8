"""Geometry along one mesh axis: ring placements, stream coverage, and K-tree levels.

Everything here works on 1-D integer arrays indexed by PE (or slot) position along an axis; a
whole-mesh figure is one of these broadcast over the other axis, since every line of PEs runs the
same pattern. No Python loop visits PEs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from dsl.diagnostics import InternalError

from .program import Ring


@functools.lru_cache(maxsize=64)
def positions(ring: Ring) -> np.ndarray:
    """Physical slot of each logical ring position."""
    n = ring.slots
    if ring.kind == "identity":
        return np.arange(n)
    if ring.kind == "interleave":
        evens = np.arange(0, n, 2)
        odds = np.arange(n - 1 if (n - 1) % 2 else n - 2, 0, -2)
        return np.concatenate([evens, odds])
    raise InternalError("rings.positions", f"unknown ring kind {ring.kind!r}")


def ring_pes(ring: Ring) -> np.ndarray:
    """The PE (along the axis) holding each logical position."""
    return positions(ring) // (ring.slots // ring.pes)


@dataclass(frozen=True, slots=True)
class Streams:
    """Point-to-point streams along an axis of n PEs: stream i goes from PE src[i] to PE dst[i]."""

    src: np.ndarray
    dst: np.ndarray
    n: int

    def max_hops(self) -> int:
        return int(np.abs(self.src - self.dst).max(initial=0))

    def touching(self) -> np.ndarray:
        """Per PE: streams that start, end or pass through it (each needs a route tag there)."""
        return covered(np.minimum(self.src, self.dst), np.maximum(self.src, self.dst), self.n)

    def departures(self) -> np.ndarray:
        """Per PE: stream hops that leave it over one of its links."""
        east = self.src < self.dst
        lo = np.where(east, self.src, self.dst + 1)
        hi = np.where(east, self.dst - 1, self.src)
        return covered(lo, hi, self.n)

    def max_link_load(self) -> int:
        """The most streams sharing one directed link (they serialise on it)."""
        east = self.src < self.dst
        e = covered(self.src[east], self.dst[east] - 1, self.n)
        w = covered(self.dst[~east] + 1, self.src[~east], self.n)
        return int(max(e.max(initial=0), w.max(initial=0)))


def covered(lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """How many of the closed intervals [lo, hi] cover each position 0..n-1 (empty when hi < lo)."""
    keep = hi >= lo
    diff = np.bincount(lo[keep], minlength=n + 1) - np.bincount(hi[keep] + 1, minlength=n + 1)
    return np.cumsum(diff[:n])


def shift_streams(ring: Ring) -> Streams:
    """One shift along the ring: logical position i receives from i+1; edges inside a PE are free."""
    pe = ring_pes(ring)
    src, dst = np.roll(pe, -1), pe
    cross = src != dst
    return Streams(src[cross], dst[cross], ring.pes)


def chain_streams(n: int) -> Streams:
    """A chain 0 -> 1 -> ... -> n-1."""
    return Streams(np.arange(n - 1), np.arange(1, n), n)


def multicast_streams(root: int, n: int) -> Streams:
    """A broadcast from `root` to both ends of the axis, as two streams routed in hardware."""
    ends = np.array([e for e in (0, n - 1) if e != root], dtype=np.int64)
    return Streams(np.full(len(ends), root), ends, n)


@dataclass(frozen=True, slots=True)
class TreeLevel:
    """One level of a K-tree reduce: member PEs chain toward the middle member (the level's root)."""

    streams: Streams
    max_hops: int
    relay_stages: int


def tree_group_size(n: int, k: int) -> int:
    """The smallest g with g**k >= n: groups of about n**(1/k)."""
    g = max(2, math.ceil(round(n ** (1.0 / k), 9)))
    while g ** k < n:
        g += 1
    return g


def ktree_levels(n: int, k: int) -> tuple[list[TreeLevel], int]:
    """The k levels of a K-tree reduce over n PEs and the final root's position."""
    g = tree_group_size(n, k)
    roots = np.arange(n)
    levels = []
    for _ in range(k):
        level, roots = _tree_level(roots, g, n)
        levels.append(level)
    if len(roots) != 1:
        raise InternalError("rings.ktree_levels", f"{len(roots)} roots left after {k} levels of {g}")
    return levels, int(roots[0])


def _tree_level(members: np.ndarray, g: int, n: int) -> tuple[TreeLevel, np.ndarray]:
    """Group consecutive members by g; within a group each member sends to its neighbour toward
    the group's middle member, which becomes a root of the next level."""
    group = np.arange(len(members)) // g
    count = np.bincount(group)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    mid_index = start + (count - 1) // 2
    offset = np.arange(len(members)) - mid_index[group]
    toward = np.where(offset < 0, 1, -1)
    senders = offset != 0
    src = members[senders]
    dst = members[np.arange(len(members))[senders] + toward[senders]]
    streams = Streams(src, dst, n)
    root = members[mid_index]
    far = np.abs(members - root[group]).max(initial=0)
    stages = int(np.abs(offset).max(initial=0))
    return TreeLevel(streams, int(far), stages), root
