"""Mesh programs as text, ring placements, K-tree geometry, devices, and the report's forms."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from dsl.diagnostics import PlmrError
from runtime.mesh import Allreduce, MeshDevice, attention, gemm, gemv, row_reduction, simulate, wse2, wse3
from runtime.mesh.program import Ring
from runtime.mesh.rings import ktree_levels, positions, shift_streams


def test_interleave_ring_for_six_is_the_paper_ring():
    assert positions(Ring("interleave", 6, 6)).tolist() == [0, 2, 4, 5, 3, 1]
    assert shift_streams(Ring("interleave", 6, 6)).max_hops() == 2


@pytest.mark.parametrize("n", [2, 3, 7, 64, 997])
def test_interleave_ring_edges_are_at_most_two_hops_and_one_stream_per_link(n):
    streams = shift_streams(Ring("interleave", n, n))
    assert streams.max_hops() == min(2, n - 1)
    assert streams.max_link_load() == 1
    assert sorted(positions(Ring("interleave", n, n)).tolist()) == list(range(n))


def test_identity_ring_wraps_across_the_whole_axis():
    streams = shift_streams(Ring("identity", 10, 10))
    assert streams.max_hops() == 9
    assert streams.touching().tolist() == [2] + [3] * 8 + [2]


def test_lcm_ring_keeps_edges_inside_a_pe_free():
    streams = shift_streams(Ring("interleave", 12, 4))
    assert streams.max_hops() <= 1
    assert len(streams.src) < 12


def test_ktree_levels_end_at_one_root():
    levels, root = ktree_levels(64, 2)
    assert [lv.relay_stages for lv in levels] == [4, 4]
    assert 0 <= root < 64


def test_gemm_program_text_names_every_step():
    text = gemm(10, 12, 9, (2, 3), "meshgemm").to_text()
    assert text.splitlines()[0] == "mesh program gemm_meshgemm on 2 x 3 PEs, 2 B per element"
    assert "padding: A dim 0: 10 -> 12" in text
    assert "skew      A along x by its y index (interleave ring of 6 slots on 3 PEs)" in text
    assert "loop      5 times:" in text
    assert ("    shift     B along y by 1 (interleave ring of 6 slots on 2 PEs, max 1 hops), double-buffered "
            "(overlaps the compute before it)") in text
    assert "shift     A along x by 1 (identity ring of 8 slots on 8 PEs, max 7 hops)" in gemm(
        8, 8, 8, (8, 8), "cannon").to_text()
    assert "compute   C += A @ B  [48 ops/PE as 24 vector ops of 2]" in text
    assert text.rstrip().endswith("gather    C")


def test_other_programs_print_their_collectives():
    tree = gemv(8, 8, (2, 2), Allreduce("ktree", 3)).to_text()
    assert "allreduce y = sum of y_part along x by ktree(3)" in tree
    assert "broadcast A_bcast = slot[step] of A along x" in gemm(8, 8, 8, (2, 2), "summa").to_text()
    assert "mask      S where causal := -1e+30" in attention(8, 4, (2, 2), causal=True).to_text()
    assert "compute   y_ss = rsqrt(y_ss)" in row_reduction("rmsnorm", 4, 4, (2, 2)).to_text()


def test_devices_carry_the_design_facts():
    dev = wse2()
    assert (dev.ny, dev.nx, dev.memory_bytes, dev.usable_routes) == (750, 994, 48 * 1024, 21)
    assert dev.task_overhead_cycles == 58 - 15
    assert (wse3().ny, wse3().nx, wse3().fmac_per_cycle) == (762, 1172, 8)
    assert dev.with_grid(64, 32).pes == 2048


def test_bad_device_values_are_plain_errors():
    with pytest.raises(PlmrError, match="sub-mesh 800 x 10 does not fit mesh wse2"):
        wse2().with_grid(800, 10)
    with pytest.raises(PlmrError, match="reserved routes leave none"):
        MeshDevice("tiny", 2, 2, routes=3, reserved_routes=3)
    with pytest.raises(PlmrError, match="needs 64 x 64 PEs but mesh wse2\\[8x8\\] has 8 x 8"):
        simulate(gemm(64, 64, 64, (64, 64)), wse2().with_grid(8, 8))


@pytest.mark.parametrize("call, message", [
    (lambda: gemm(0, 4, 4, (2, 2)), "size M must be a positive integer"),
    (lambda: gemm(4, 4, 4, (2, 2), "bogus"), "unknown GEMM algorithm 'bogus'"),
    (lambda: gemm(4, 4, 4, (2, 2), "summa", transpose_b=True), "which SUMMA does not do"),
    (lambda: gemv(4, 4, (2, 0)), "mesh grid must be two positive integers"),
    (lambda: gemv(4, 4, (2, 2), Allreduce("tree")), "unknown allreduce 'tree'"),
    (lambda: row_reduction("median", 4, 4, (2, 2)), "unknown row reduction 'median'"),
    (lambda: attention(4, 4, (2, 2), algorithm="summa"), "algorithm 'summa' is not one"),
])
def test_bad_builder_arguments_are_plain_errors(call, message):
    with pytest.raises(PlmrError, match=message):
        call()


def test_report_forms():
    report = simulate(gemm(64, 64, 64, (4, 4)), wse2(), numeric=True)
    data = json.loads(json.dumps(report.to_dict()))
    for key in ("cycles", "seconds", "steps", "max_step_cycles", "max_hops_per_step",
                "max_memory_per_pe_bytes", "max_routes_per_pe", "compute_efficiency", "link_bytes",
                "violations", "max_abs_error"):
        assert key in data
    assert "outputs" not in data
    assert data["seconds"] == pytest.approx(data["cycles"] / 1.1e9)
    table = report.to_table()
    assert "max routes per pe" in table and "fits: no violations" in table


def test_plot_writes_heatmaps(tmp_path):
    path = tmp_path / "mesh.png"
    simulate(gemm(64, 64, 64, (4, 8), "cannon"), wse2()).plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    report = simulate(gemm(8, 8, 8, (2, 2)), wse2())
    with pytest.raises(PlmrError, match=r"pip install 'plmr\[plot\]'"):
        report.plot("unused.png")


def test_cost_only_allocates_no_tile_data():
    report = simulate(gemm(8192, 8192, 8192, (512, 512)), wse2())
    assert report.outputs is None and report.max_abs_error is None
    assert isinstance(report.memory_per_pe, np.ndarray)
