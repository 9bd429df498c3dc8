"""The cost model says what PLMR predicts, measured from the simulator's own reports on growing
meshes; violations are reported; the figures are consistent with each other."""

from __future__ import annotations

import dataclasses
import importlib
import math

import numpy as np
import pytest

from runtime.mesh import Allreduce, gemm, gemv, simulate, wse2
from runtime.mesh.program import Loop, Shift
from runtime.mesh.rings import tree_group_size

DEVICE = wse2()
SIZES = (4, 8, 16, 32, 64)


def _report(program):
    return simulate(program, DEVICE)


def test_meshgemm_shifts_at_most_two_hops_with_constant_routes():
    reports = [_report(gemm(8 * n, 8 * n, 8 * n, (n, n), "meshgemm")) for n in SIZES]
    assert all(r.max_hops_per_step <= 2 for r in reports)
    assert len({r.max_routes_per_pe for r in reports}) == 1
    assert reports[-1].max_routes_per_pe <= 8


def test_cannon_critical_path_grows_with_the_mesh():
    latency = [_report(gemm(8 * n, 8 * n, 8 * n, (n, n), "cannon")).max_step_latency_cycles for n in SIZES]
    assert latency == [DEVICE.alpha * (n - 1) for n in SIZES]


def test_meshgemm_beats_cannon_when_wraparound_latency_matters():
    n = 64
    cannon = _report(gemm(2 * n, 2 * n, 2 * n, (n, n), "cannon"))
    mesh = _report(gemm(2 * n, 2 * n, 2 * n, (n, n), "meshgemm"))
    assert mesh.cycles < cannon.cycles / 2


def test_summa_routes_grow_with_the_mesh_and_overflow_at_scale():
    routes = [_report(gemm(8 * n, 8 * n, 8 * n, (n, n), "summa")).max_routes_per_pe for n in SIZES]
    assert routes == [2 * n for n in SIZES]
    big = _report(gemm(256, 256, 256, (16, 16), "summa"))
    kinds = [v["kind"] for v in big.violations]
    assert kinds == ["routes"]
    assert "32 route tags" in big.violations[0]["message"]


@pytest.mark.parametrize("k, n", [(2, 16), (2, 64), (2, 256), (3, 64), (3, 512)])
def test_ktree_relay_stages_follow_k_times_n_to_the_1_over_k_over_2(k, n):
    report = _report(gemv(64, 4 * n, (1, n), Allreduce("ktree", k)))
    assert report.max_relay_stages_per_step == k * tree_group_size(n, k) // 2
    assert report.max_relay_stages_per_step == pytest.approx(k * n ** (1 / k) / 2)
    assert report.max_routes_per_pe <= 2 * k + 1


def test_ktree_needs_far_fewer_relays_than_chain_or_ring():
    n = 256
    relays = {m: _report(gemv(64, 4 * n, (1, n), Allreduce(m))).max_relay_stages_per_step
              for m in ("chain", "ring", "ktree")}
    assert relays == {"chain": n - 1, "ring": 2 * (n - 1), "ktree": 16}


def test_chain_allreduce_crosses_the_axis_twice():
    report = _report(gemv(64, 64, (1, 32), Allreduce("chain")))
    assert report.max_hops_per_step == 2 * 31


def test_tiles_overflowing_a_pe_are_a_memory_violation():
    report = _report(gemm(4096, 4096, 4096, (8, 8), "meshgemm"))
    assert [v["kind"] for v in report.violations] == ["memory"]
    assert report.violations[0]["pes"] == 64
    assert report.max_memory_per_pe_bytes > DEVICE.memory_bytes
    assert "but a PE has 49152" in report.violations[0]["message"]


def test_a_fitting_layout_has_no_violations():
    report = _report(gemm(1024, 1024, 1024, (64, 64), "meshgemm"))
    assert report.violations == ()
    assert report.max_memory_per_pe_bytes <= DEVICE.memory_bytes


def test_memory_counts_tiles_double_buffers_and_code():
    report = _report(gemm(64, 64, 64, (4, 4), "meshgemm"))
    tile = 16 * 16 * 2
    assert report.max_memory_per_pe_bytes == 5 * tile + DEVICE.code_bytes


def test_double_buffered_shift_overlaps_compute():
    n, t = 8, 16
    program = gemm(n * t, n * t, n * t, (n, n), "meshgemm")
    compute = DEVICE.task_overhead_cycles + t * t * math.ceil(t / DEVICE.fmac_per_cycle)
    shift = 2 * DEVICE.alpha + t * t
    skew = 2 * (n - 1) * shift
    assert _report(program).cycles == skew + compute + (n - 1) * max(compute, shift)
    serial = _without_double_buffering(program)
    assert _report(serial).cycles == skew + compute + (n - 1) * (compute + 2 * shift)


def _without_double_buffering(program):
    def plain(op):
        if isinstance(op, Shift):
            return dataclasses.replace(op, double_buffered=False)
        if isinstance(op, Loop):
            return dataclasses.replace(op, body=tuple(plain(o) for o in op.body))
        return op
    return dataclasses.replace(program, ops=tuple(plain(op) for op in program.ops))


def test_per_pe_arrays_agree_with_totals():
    report = _report(gemm(96, 96, 96, (6, 4), "cannon"))
    assert report.memory_per_pe.shape == report.link_bytes_per_pe.shape == (6, 4)
    assert report.link_bytes_per_pe.sum() == pytest.approx(report.link_bytes)
    assert report.routes_per_pe.max() == report.max_routes_per_pe


def test_compute_efficiency_is_useful_work_over_peak():
    report = _report(gemm(1024, 1024, 1024, (16, 16), "meshgemm"))
    peak = DEVICE.fmac_per_cycle * 256 * report.cycles
    assert report.compute_efficiency == pytest.approx(1024 ** 3 / peak)
    assert 0.3 < report.compute_efficiency < 1


def test_full_wafer_cost_only_needs_no_tile_data():
    report = _report(gemm(16384, 16384, 16384, (720, 720), "meshgemm"))
    assert report.steps > 720 and report.max_hops_per_step == 2
    assert report.memory_per_pe.shape == (720, 720)
    assert np.all(report.memory_per_pe == report.max_memory_per_pe_bytes)


def test_grouping_identical_iterations_changes_no_figure(monkeypatch):
    simulate_module = importlib.import_module("runtime.mesh.simulate")
    programs = [gemm(96, 96, 96, (6, 4), a) for a in ("summa", "meshgemm", "cannon")]
    fast = [_report(p).to_dict() for p in programs]
    monkeypatch.setattr(simulate_module, "_same_cost_runs",
                        lambda ctx, loop: [(i, i + 1) for i in range(loop.count)])
    slow = [_report(p).to_dict() for p in programs]
    assert fast == slow
