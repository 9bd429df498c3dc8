"""Layouts as real multi-device JAX programs (compiler.lower_shard, runtime.shard_backend).

jax fixes its device count when it first starts and this process has one device, so the sharded
programs run in one child process (tests/shard_child.py, 16 virtual CPU devices, 8 used unless a
case needs more) that reports JSON; the grid rule, the host-side placement and argument errors are
tested here directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shard_child
from compiler.lower_shard import Placement
from compiler.shard_collectives import allreduce_schedule
from dsl.diagnostics import PlmrError
from runtime.mesh.collectives import allreduce
from runtime.mesh.program import Allreduce
from runtime.mesh.rings import ktree_levels, multicast_streams
from runtime.shard_backend import device_grid, run_layout

HERE = Path(__file__).resolve().parent
LAYOUTS = shard_child.layouts()
SUPPORTED = [name for name in LAYOUTS if name not in shard_child.UNSUPPORTED]


@pytest.fixture(scope="module")
def child() -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={shard_child.DEVICES}",
           "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(HERE / "shard_child.py")], env=env, capture_output=True,
                          text=True, timeout=300, cwd=HERE.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- results against the reference


@pytest.mark.parametrize("name", SUPPORTED)
def test_sharded_results_equal_the_reference(child, name):
    found = child["differential"][name]
    assert found["failure"] is None, found["failure"]
    assert found["examples"] == 5


def test_every_stdlib_layout_is_supported():
    from stdlib import layout_files

    import plmr

    shipped = {n for p in layout_files() for n in plmr.load(p).layouts}
    assert "attention_prefill" in shipped and shipped - set(SUPPORTED) == set()


def test_run_sharded_api_on_a_layout_file(child):
    assert child["api"]["shape"] == [9, 7]
    assert child["api"]["error"] <= 1.0


# ---------------------------------------------------------------- the algorithms' own communication


EXPECTED_COLLECTIVES = {
    "gemm_cannon": ["ppermute"], "gemm_meshgemm": ["ppermute"], "gemm_summa": ["all_gather"],
    "gemm_bt_meshgemm": ["ppermute"], "gemm_bt_cannon": ["ppermute"],
    "gemv_chain": ["ppermute"], "gemv_ring": ["ppermute"], "gemv_ktree": ["ppermute"], "softmax_rows": ["ppermute"],
    "rmsnorm_rows": ["ppermute"], "layernorm_rows": ["ppermute"], "axpby_tiles": [], "gelu_tiles": [],
    "attention_prefill": ["ppermute"], "attention_tiles": ["ppermute"], "causal_attention_cannon": ["ppermute"],
}


@pytest.mark.parametrize("name", SUPPORTED)
def test_program_uses_its_algorithms_collectives(child, name):
    """Cannon and MeshGEMM shift with ppermute and gather nothing; SUMMA broadcasts by all_gather; the
    layout's chain, ring or K-tree allreduce is ppermutes, never XLA's psum or pmax."""
    assert child["collectives"][name]["used"] == EXPECTED_COLLECTIVES[name]


# ---------------------------------------------------------------- the layout's allreduce


@pytest.mark.parametrize("gx", shard_child.ALONG_X)
@pytest.mark.parametrize("name", shard_child.ALLREDUCES)
def test_each_allreduce_gives_the_reference_results(child, name, gx):
    found = child["allreduce"][f"{name}@{gx}"]
    assert found["failure"] is None, found["failure"]
    assert found["examples"] == 3


@pytest.mark.parametrize("gx", shard_child.ALONG_X)
@pytest.mark.parametrize("name", shard_child.ALLREDUCES)
def test_allreduce_is_its_schedules_ppermutes(child, name, gx):
    """The GEMV program's only collectives are the schedule's ppermutes, one equation per move."""
    found = child["allreduce"][f"{name}@{gx}"]
    assert found["used"] == (["ppermute"] if gx > 1 else [])
    assert found["ppermutes"] == allreduce_schedule(shard_child.allreduce_of(name), gx).ppermutes()


METHODS = st.sampled_from([Allreduce("chain"), Allreduce("ring"), Allreduce("ktree", 1), Allreduce("ktree", 2),
                           Allreduce("ktree", 3), Allreduce("ktree", 4)])


@given(METHODS, st.integers(2, 40))
def test_rounds_are_the_simulators_steps(method, n):
    """Chain: its 2(n-1) hops (n-1 combining relays, the multicast back walked one device a round);
    ring: its 2(n-1) steps; K-tree: its relay stages, then one round per hop of its multicast."""
    comm = allreduce(method, n, 64, 2, LAYOUTS["gemv_chain"].mesh)
    rounds = len(allreduce_schedule(method, n).rounds)
    if method.method == "ktree":
        levels, root = ktree_levels(n, method.k)
        assert rounds == comm.relays + multicast_streams(root, n).max_hops()
    else:
        assert rounds == (comm.hops if method.method == "chain" else comm.relays) == 2 * (n - 1)


@given(METHODS, st.integers(1, 40), st.integers(1, 9), st.sampled_from(["sum", "max"]), st.integers(0, 2**31))
def test_schedule_leaves_every_device_the_whole_result(method, n, width, op, seed):
    """The schedule's moves run on the host: valid permutations, and every device ends with the total."""
    values = np.random.default_rng(seed).standard_normal((n, width))
    got = run_schedule_on_host(allreduce_schedule(method, n), values, op)
    want = values.sum(axis=0) if op == "sum" else values.max(axis=0)
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-12, atol=1e-12)


def test_ring_allreduce_edges_are_at_most_two_devices_long():
    moves = [m for r in allreduce_schedule(Allreduce("ring"), 8).rounds for m in r]
    assert max(abs(s - d) for m in moves for s, d in m.pairs) == 2


def run_schedule_on_host(schedule, values: np.ndarray, op: str) -> np.ndarray:
    """A numpy model of the ppermute program: per round, every move sends the round's starting chunks."""
    n, width = values.shape
    size = -(-width // schedule.chunks)
    chunks = np.zeros((n, schedule.chunks * size))
    chunks[:, :width] = values
    chunks = chunks.reshape(n, schedule.chunks, size)
    combine = np.add if op == "sum" else np.maximum
    for moves in schedule.rounds:
        sent = [{d: chunks[s, m.send[s]].copy() for s, d in m.pairs} for m in moves]
        for move, arrived in zip(moves, sent):
            assert len({s for s, _ in move.pairs}) == len(arrived) == len(move.pairs)
            for d, got in arrived.items():
                here = chunks[d, move.recv[d]]
                chunks[d, move.recv[d]] = combine(here, got) if move.combine else got
    return chunks.reshape(n, -1)[:, :width]


@pytest.mark.parametrize("name", ["gemm_cannon", "gemm_meshgemm", "gemm_bt_meshgemm", "attention_prefill"])
@pytest.mark.parametrize("side", [3, 4])
def test_shift_algorithms_on_larger_square_grids(child, name, side):
    found = child["rings"][f"{name}@{side}"]
    assert found["grid"] == [side, side]
    assert found["error"] <= 1.0


def test_meshgemm_shifts_stay_within_two_devices_where_cannon_wraps_around(child):
    rings = child["rings"]
    assert rings["gemm_meshgemm@4"]["hops"] == 2
    assert rings["gemm_bt_meshgemm@4"]["hops"] == 2
    assert rings["attention_prefill@4"]["hops"] == 2
    assert rings["gemm_cannon@4"]["hops"] == 3


def test_default_grids_on_eight_devices(child):
    grids = {name: tuple(found["grid"]) for name, found in child["collectives"].items()}
    shifting = ("gemm_cannon", "gemm_meshgemm", "gemm_bt_meshgemm", "gemm_bt_cannon", "attention_prefill",
                "causal_attention_cannon")
    assert {grids[n] for n in shifting} == {(2, 2)}
    assert {grids[n] for n in ("gemm_summa", "gemv_ktree", "softmax_rows", "axpby_tiles")} == {(2, 4)}


# ---------------------------------------------------------------- user errors


def test_unsupported_pattern_error(child, golden):
    golden(HERE / "golden_shard" / "unsupported.expected", child["errors"]["unsupported"] + "\n")


def test_too_few_devices_error(child, golden):
    golden(HERE / "golden_shard" / "too_few.expected", child["errors"]["too_few"] + "\n")


def test_one_device_says_how_to_get_more(child):
    text = child["errors"]["one_device"]
    assert "error[E782]: layout gemm_cannon is spread over 64 x 64 PEs but jax sees 1 device" in text
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=8" in text


def test_shift_algorithm_refuses_a_non_square_grid(child):
    assert "error[E781]: cannon shifts tiles around square rings, but the device grid is 2 x 4" in \
        child["errors"]["not_square"]


def test_wrong_input_rank_is_a_plmr_error():
    with pytest.raises(PlmrError, match=r"input A should have rank 2"):
        run_layout(LAYOUTS["gemm_cannon"], [np.zeros(4), np.zeros((4, 4))])


@pytest.mark.parametrize("grid", [(0, 2), (2,), (2.0, 2), (True, 2)])
def test_bad_grid_is_a_plmr_error(grid):
    with pytest.raises(PlmrError, match=r"E783.*two positive integers"):
        device_grid(LAYOUTS["gemm_summa"], 8, grid)


def test_grid_larger_than_the_layout_is_refused():
    small = replace(LAYOUTS["gemm_summa"], grid=(2, 2))
    with pytest.raises(PlmrError, match=r"E784.*2 x 4 device grid is larger than layout gemm_summa's 2 x 2"):
        device_grid(small, 8, (2, 4))


# ---------------------------------------------------------------- the grid rule


@given(st.integers(2, 64), st.integers(1, 40), st.integers(1, 40),
       st.sampled_from(["gemm_cannon", "gemm_summa", "softmax_rows"]))
def test_device_grid_uses_the_most_devices_that_fit(devices, ny, nx, name):
    layout = replace(LAYOUTS[name], grid=(ny, nx))
    gy, gx = device_grid(layout, devices)
    assert gy * gx <= devices and gy <= ny and gx <= nx
    if layout.algorithm == "cannon":
        assert gy == gx and (gy + 1) ** 2 > min(devices, ny * ny, nx * nx)
    else:
        best = max(a * b for a in range(1, ny + 1) for b in range(1, nx + 1) if a * b <= devices)
        assert gy * gx == best


def test_device_grid_keeps_the_layouts_aspect():
    wide = replace(LAYOUTS["softmax_rows"], grid=(4, 64))
    assert device_grid(wide, 8) == (1, 8)
    assert device_grid(LAYOUTS["softmax_rows"], 8) == (2, 4)
    assert device_grid(LAYOUTS["softmax_rows"], 16) == (4, 4)


# ---------------------------------------------------------------- host-side placement


@given(st.integers(1, 5), st.integers(1, 20), st.integers(1, 20), st.integers(0, 2**31))
def test_placement_round_trips_with_padding_and_ring_order(g, rows, cols, seed):
    ring = tuple(int(p) for p in np.random.default_rng(seed).permutation(g))
    placement = shard_child_placement(g, rows, cols, ring)
    array = np.random.default_rng(seed).standard_normal((rows, cols))
    placed = placement.to_devices(array)
    assert placed.shape == placement.padded and all(n % g == 0 for n in placed.shape)
    np.testing.assert_array_equal(placement.from_devices(placed), array)


def test_placement_puts_logical_block_p_at_its_ring_position():
    ring = (0, 2, 3, 1)  # the interleaved ring of 4
    placement = shard_child_placement(4, 4, 4, ring)
    placed = placement.to_devices(np.arange(16.0).reshape(4, 4))
    for p, physical in enumerate(ring):
        assert placed[physical, 0] == 4 * p


def shard_child_placement(g: int, rows: int, cols: int, ring: tuple[int, ...]) -> Placement:
    padded = (-(-rows // g) * g, -(-cols // g) * g)
    return Placement("A", (rows, cols), padded, ("y", "x"), 0.0, (ring, ring))


# ---------------------------------------------------------------- the plmr shard command


def plmr_shard(*args: str) -> subprocess.CompletedProcess:
    """`plmr shard` in a fresh process: it starts its own virtual devices before jax does."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    return subprocess.run([sys.executable, "-m", "plmr", "shard", *args], capture_output=True, text=True,
                          timeout=120, cwd=HERE.parent, env=env)


def test_plmr_shard_runs_a_layout_on_the_devices_it_starts_and_checks_it():
    done = plmr_shard("stdlib/layouts/gemm.plmr", "gemm_meshgemm", "--devices", "9", "--shapes", "M=10,K=7,N=5")
    assert done.returncode == 0, done.stderr
    assert "gemm at M=10, K=7, N=5 on a 3 x 3 grid of 9 cpu devices" in done.stdout
    assert "C: float32[10, 5]  max error against the reference" in done.stdout and done.stdout.rstrip().endswith("ok")


def test_plmr_shard_runs_prefill_attention():
    done = plmr_shard("stdlib/layouts/rows.plmr", "attention_prefill", "--devices", "4", "--shapes", "T=7,S=6,D=5,E=3")
    assert done.returncode == 0, done.stderr
    assert "on a 2 x 2 grid of 4 cpu devices" in done.stdout and done.stdout.rstrip().endswith("ok")


def test_plmr_shard_checks_inputs_too_large_for_the_reference_against_one_device_jax():
    done = plmr_shard("stdlib/layouts/gemm.plmr", "gemm_cannon", "--devices", "4", "--shapes", "M=520,K=520,N=520")
    assert done.returncode == 0, done.stderr
    assert "max error against one-device jax (too large for the reference)" in done.stdout


def test_plmr_shard_says_what_is_wrong():
    too_few = plmr_shard("stdlib/layouts/gemm.plmr", "gemm_summa", "--devices", "4", "--grid", "2x4")
    assert too_few.returncode == 2 and "error[E785]: --devices 4 is too few: the device grid needs 8" in too_few.stderr
    oblong = plmr_shard("stdlib/layouts/rows.plmr", "attention_prefill", "--grid", "1x2")
    assert oblong.returncode == 2 and "error[E781]: meshgemm shifts tiles around square rings" in oblong.stderr
    assert "Traceback" not in oblong.stderr


def test_devices_cannot_be_started_once_jax_runs():
    import jax

    from runtime.shard_backend import start_cpu_devices

    jax.devices()  # the backend starts here, with this process's one device
    with pytest.raises(PlmrError, match=r"E786.*cannot start 8 devices") as caught:
        start_cpu_devices(8)
    assert "fresh process" in caught.value.diagnostics[0].help
