"""Allreduce along the x axis of a device mesh as the layout names it — chain, ring or K-tree — built
from `ppermute` rounds that mirror runtime.mesh.collectives' algorithms round for round, so the
layout's choice means on devices what it means on the simulated wafer. Used by compiler.lower_shard
inside shard_map bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime.mesh.program import Allreduce, Ring
from runtime.mesh.rings import ktree_levels, positions


def ring_positions(algorithm: str | None, n: int) -> tuple[int, ...]:
    """Physical position of each logical ring position: MeshGEMM interleaves, the rest keep order."""
    return tuple(int(p) for p in positions(Ring("interleave" if algorithm == "meshgemm" else "identity", n, n)))


@dataclass(frozen=True, slots=True)
class Move:
    """One ppermute along x: (source, destination) device pairs; device i sends its chunk send[i], and
    a destination combines what arrives with its chunk recv[i] (`combine`) or overwrites it."""

    pairs: tuple[tuple[int, int], ...]
    combine: bool
    send: tuple[int, ...]
    recv: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    """An allreduce over n devices along x as rounds of ppermutes on a value cut into `chunks`; the
    moves of one round use different links (east- and westbound) and read the round's starting data."""

    method: Allreduce
    devices: int
    chunks: int
    rounds: tuple[tuple[Move, ...], ...]

    def ppermutes(self) -> int:
        return sum(len(r) for r in self.rounds)


def allreduce_schedule(method: Allreduce, n: int) -> Schedule:
    """The simulator's algorithm (runtime.mesh.collectives) as ppermute rounds: one round per relay
    stage it charges while reducing, and while broadcasting back one round per hop of its multicast
    (chain: n-1 + n-1), or per all-gather step (ring: n-1 + n-1)."""
    if n == 1:
        return Schedule(method, 1, 1, ())
    if method.method == "chain":
        return Schedule(method, n, 1, _chain_rounds(n))
    if method.method == "ring":
        return Schedule(method, n, n, _ring_rounds(n))
    return Schedule(method, n, 1, _ktree_rounds(n, method.k))


def _whole(pairs, combine: bool, n: int) -> tuple[Move, ...]:
    """Moves of whole values, one per direction the pairs go in (a device has one link each way)."""
    zeros = (0,) * n
    east = tuple((s, d) for s, d in pairs if s < d)
    west = tuple((s, d) for s, d in pairs if s > d)
    return tuple(Move(p, combine, zeros, zeros) for p in (east, west) if p)


def _chain_rounds(n: int) -> tuple:
    """Partial sums passed 0 -> 1 -> ... -> n-1, each device adding its own; then the total walks back."""
    reduce = [_whole([(t, t + 1)], True, n) for t in range(n - 1)]
    back = [_whole([(n - 1 - t, n - 2 - t)], False, n) for t in range(n - 1)]
    return tuple(reduce + back)


def _ring_rounds(n: int) -> tuple:
    """Reduce-scatter then all-gather around the interleaved ring (every edge at most two devices):
    logical position r receives from r + 1; at step s it sends chunk r + s and adds the arrival into
    chunk r + s + 1, so after n-1 steps it holds chunk r - 1 whole; the gather passes those on."""
    pos = ring_positions("meshgemm", n)
    rank = np.argsort(pos)
    pairs = tuple((pos[(i + 1) % n], pos[i]) for i in range(n))

    def step(s: int, combine: bool) -> tuple[Move, ...]:
        off = s if combine else s - 1
        send = tuple(int(r + off) % n for r in rank)
        return (Move(pairs, combine, send, tuple(int(r + off + 1) % n for r in rank)),)

    return tuple([step(s, True) for s in range(n - 1)] + [step(s, False) for s in range(n - 1)])


def _ktree_rounds(n: int, k: int) -> tuple:
    """runtime.mesh.rings' K levels (members chain toward their group's middle member), then the root's
    value spreads out one device per round both ways, as the simulator's multicast does."""
    levels, root = ktree_levels(n, k)
    rounds = [r for level in levels for r in _level_rounds(level.streams, level.relay_stages, n)]
    for t in range(1, max(root, n - 1 - root) + 1):
        out = [(root - t + 1, root - t)] if root - t >= 0 else []
        out += [(root + t - 1, root + t)] if root + t < n else []
        rounds.append(_whole(out, False, n))
    return tuple(rounds)


def _level_rounds(streams, stages: int, n: int) -> list:
    """A member `depth` streams away from its root sends in round stages - depth, once everything
    farther out has reached it."""
    to = dict(zip(streams.src.tolist(), streams.dst.tolist()))

    def depth(member: int) -> int:
        return 1 + depth(to[member]) if member in to else 0

    return [_whole([(s, d) for s, d in to.items() if depth(s) == stages - t], True, n) for t in range(stages)]


COMBINE = {"sum": "add", "max": "maximum"}


def allreduce(value, op: str, schedule: Schedule):
    """`value` combined (sum or max) across the devices along x by the schedule's ppermutes; every
    device ends with the whole result."""
    import jax.numpy as jnp

    if not schedule.rounds:
        return value
    size, count = value.size, schedule.chunks
    width = -(-size // count)
    chunks = jnp.pad(value.reshape(-1), (0, width * count - size)).reshape(count, width)
    for moves in schedule.rounds:
        chunks = _round(chunks, moves, getattr(jnp, COMBINE[op]))
    return chunks.reshape(-1)[:size].reshape(value.shape)


def _round(chunks, moves: tuple[Move, ...], combine):
    import jax
    import jax.numpy as jnp

    me = jax.lax.axis_index("x")
    arrived = [jax.lax.ppermute(chunks[jnp.asarray(m.send)[me]], "x", m.pairs) for m in moves]
    for move, got in zip(moves, arrived):
        slot = jnp.asarray(move.recv)[me]
        here = chunks[slot]
        receives = jnp.isin(me, jnp.asarray([d for _, d in move.pairs]))
        new = combine(here, got) if move.combine else got
        chunks = chunks.at[slot].set(jnp.where(receives, new, here))
    return chunks
