"""Costs of the collectives along one mesh axis of n PEs, from α (per hop), β (per relay stage)
and link bandwidth: chain, ring and K-tree allreduce, and SUMMA's hardware multicast.

Each returns a `Comm`: its cycles and, per PE along the axis, the elements it sends over its links,
the route tags it needs and the receive buffers it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .device import MeshDevice
from .program import Allreduce, Ring
from .rings import Streams, chain_streams, ktree_levels, multicast_streams, shift_streams


@dataclass(frozen=True, slots=True)
class Comm:
    """One collective along an axis: critical-path cycles, hops and relays; per-PE vectors."""

    cycles: float
    hops: int
    relays: int
    sent_elems: np.ndarray
    routes: np.ndarray
    buffer_elems: np.ndarray


def idle(n: int) -> Comm:
    zeros = np.zeros(n, dtype=np.int64)
    return Comm(0.0, 0, 0, zeros, zeros, zeros)


def allreduce(method: Allreduce, n: int, msg: int, elem_bytes: int, device: MeshDevice) -> Comm:
    """An allreduce of `msg` elements per PE across n PEs."""
    if n == 1:
        return idle(1)
    if method.method == "chain":
        return _chain(n, msg, elem_bytes, device)
    if method.method == "ring":
        return _ring(n, msg, elem_bytes, device)
    return _ktree(n, method.k, msg, elem_bytes, device)


def _incoming(streams: Streams) -> np.ndarray:
    return np.bincount(streams.dst, minlength=streams.n)


def _one_tag(multicast: Streams) -> np.ndarray:
    """A multicast is one route tag on every PE it reaches (the root sends both ways on one tag)."""
    return np.minimum(multicast.touching(), 1)


def _chain(n: int, msg: int, elem_bytes: int, device: MeshDevice) -> Comm:
    """Reduce down the chain (each PE combines and forwards: one relay stage each), then a
    hardware multicast back: 2(n-1) hops and n-1 relay stages."""
    reduce, back = chain_streams(n), multicast_streams(n - 1, n)
    link = device.link_cycles(msg, elem_bytes)
    cycles = device.alpha * 2 * (n - 1) + device.beta * (n - 1) + 2 * link
    return Comm(cycles, 2 * (n - 1), n - 1, (reduce.departures() + back.departures()) * msg,
                reduce.touching() + _one_tag(back), _incoming(reduce) * msg)


def _ring(n: int, msg: int, elem_bytes: int, device: MeshDevice) -> Comm:
    """Reduce-scatter then allgather on the interleaved ring: 2(n-1) steps of msg/n elements, each
    at most 2 hops and one relay stage."""
    streams = shift_streams(Ring("interleave", n, n))
    chunk = math.ceil(msg / n)
    steps = 2 * (n - 1)
    hops = streams.max_hops()
    link = streams.max_link_load() * device.link_cycles(chunk, elem_bytes)
    per_step = device.alpha * hops + device.beta + link
    return Comm(steps * per_step, steps * hops, steps, streams.departures() * chunk * steps,
                streams.touching(), _incoming(streams) * chunk)


def _ktree(n: int, k: int, msg: int, elem_bytes: int, device: MeshDevice) -> Comm:
    """K levels of chains toward each group's middle member (groups of ~n^(1/K), so about
    n^(1/K)/2 relay stages per level), then a hardware multicast from the root."""
    levels, root = ktree_levels(n, k)
    link = device.link_cycles(msg, elem_bytes)
    back = multicast_streams(root, n)
    cycles = device.alpha * back.max_hops() + link
    sent, routes, buffers = back.departures() * msg, _one_tag(back), np.zeros(n, dtype=np.int64)
    for level in levels:
        cycles += device.alpha * level.max_hops + device.beta * level.relay_stages + link
        sent = sent + level.streams.departures() * msg
        routes = routes + level.streams.touching()
        buffers = np.maximum(buffers, _incoming(level.streams) * msg)
    hops = sum(level.max_hops for level in levels) + back.max_hops()
    return Comm(cycles, hops, sum(level.relay_stages for level in levels), sent, routes, buffers)


def multicast(root: int, n: int, msg: int, elem_bytes: int, device: MeshDevice) -> Comm:
    """SUMMA's broadcast from one root along the axis, routed in hardware (no relays); each of the
    n possible roots needs its own route tag on every PE of the line. The receive buffer is the
    program's own broadcast tensor, so none is added here."""
    streams = multicast_streams(root, n)
    cycles = device.alpha * streams.max_hops() + device.link_cycles(msg, elem_bytes) if n > 1 else 0.0
    return Comm(cycles, streams.max_hops(), 0, streams.departures() * msg, np.full(n, n if n > 1 else 0),
                np.zeros(n, dtype=np.int64))
