"""`plmr tour`: the main job on built-in defaults — run every stdlib kernel on every backend against
the reference interpreter, simulate stdlib layouts on the wafer and run some as shard_map programs on
8 virtual JAX devices (which it asks jax for first, so in a process where jax already started it
skips them), sample and fit agents, and search for a faster GEMM layout with the offline evolver."""

from __future__ import annotations

import time

from compiler.bind import bind
from dsl.diagnostics import PlmrError
from plmr.api import load
from runtime.compare import max_error, reduction_length, tolerance
from runtime.inputs import default_dims, random_inputs
from stdlib import kernel_files


def register(sub) -> None:
    p = sub.add_parser("tour", help="the main job: kernels on every backend, layouts, agents, a search",
                       description="Check, compile and run every stdlib kernel on small random inputs "
                       "with each backend and print each backend's largest error against the reference "
                       "interpreter; simulate stdlib layouts on the wafer and run some on 8 virtual JAX "
                       "devices; sample behaviour from an agent "
                       "and fit two agents to it; run a short offline search for a faster GEMM layout. "
                       "Exit 1 on any disagreement.")
    p.add_argument("--size", type=int, default=8, help="size of every dimension (default: 8)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default: 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    devices = _start_devices(8)  # before anything starts jax: the device count is fixed from then on
    print(f"{'kernel':<22}{'dims':<28}{'jax error':>12}{'llvm error':>12}{'tolerance':>12}{'jax ms':>9}  verdict")
    failures = 0
    for path in kernel_files():
        program = load(path)
        for name in program.kernels:
            failures += not _tour_kernel(program, name, args)
    print(f"\n{'all backends agree with the reference' if not failures else f'{failures} disagreement(s)'}")
    failures += not _tour_layouts(args)
    failures += not _tour_devices(args, devices)
    _tour_agents(args)
    _tour_search(args)
    return 1 if failures else 0


def _tour_search(args) -> None:
    """A short offline search: the stdlib GEMM layout problem, from SUMMA."""
    import tempfile

    from plmr.api import search, simulate
    from stdlib import ROOT

    path = ROOT / "problems" / "layouts.plmr"
    program = load(path)
    problem = program.checked.problems["faster_gemm"]
    start = simulate(program, problem.start, dict(problem.shapes)).to_dict()["cycles"]
    with tempfile.TemporaryDirectory() as out:
        result = search(program, "faster_gemm", budget="20s", out=out, seed=args.seed)
        best = result.best
    print(f"\nsearch: faster_gemm from {problem.start} (SUMMA, {start:,.0f} cycles), {result.tried} candidates in "
          f"{result.summary.get('elapsed_s', 0):.1f} s, {result.passed} passed")
    if best is not None:
        print(f"  best: {best.score:,.0f} cycles ({start / best.score:.1f}x fewer)")
        print("  " + best.source.strip().replace("\n", "\n  "))


def _tour_agents(args) -> None:
    """Sample behaviour from an agent with perseveration, fit it and plain Q-learning, compare."""
    from runtime.agents.score import compare
    from stdlib import ROOT
    from plmr.api import fit, sample

    program = load(ROOT / "agents" / "baselines.plmr")
    truth = {"alpha": 0.3, "beta": 5.0, "kappa": 0.8}
    data = sample(program, "q_perseveration", task="drift2", subjects=6, sessions=4, trials=200,
                  seed=args.seed, params=truth)
    print(f"\nagents: 6 subjects x 4 sessions x 200 trials sampled from q_perseveration {truth}")
    fits = {name: fit(program, name, data, restarts=4, seed=args.seed) for name in ("q_perseveration",
                                                                                    "q_learning")}
    for name, result in fits.items():
        means = {k: sum(s.params[k] for s in result.subjects) / len(result.subjects)
                 for k in result.subjects[0].params}
        shown = ", ".join(f"{k}={v:.2f}" for k, v in means.items())
        print(f"  {name:<16} held-out NL {result.mean_test_nl:.4f}   mean fitted {shown}")
    c = compare(fits["q_perseveration"], fits["q_learning"])
    print(f"  q_perseveration beats q_learning for {c.candidate_better} of {c.n_subjects} subjects "
          f"(Wilcoxon p = {c.p_value:.3g})")


def _tour_kernel(program, name: str, args) -> bool:
    kernel = program.kernel(name)
    dims = default_dims(kernel, {}, base=args.size)
    inputs = random_inputs(kernel, dims, args.seed)
    want = program.run(name, *inputs, backend="ref")
    start = time.perf_counter()
    got = program.run(name, *inputs, backend="jax")
    elapsed = (time.perf_counter() - start) * 1e3
    native = program.run(name, *inputs, backend="llvm")
    length = reduction_length(kernel, bind(kernel, inputs).dims)
    tol = max(tolerance(r.dtype, length) for r in kernel.results)
    error, native_error = _largest_error(got, want), _largest_error(native, want)
    ok = max(error, native_error) <= tol
    shown = ",".join(f"{k}={v}" for k, v in dims.items())
    print(f"{name:<22}{shown:<28}{error:>12.2e}{native_error:>12.2e}{tol:>12.1e}{elapsed:>9.1f}  "
          f"{'ok' if ok else 'MISMATCH'}")
    return ok


def _largest_error(got, want) -> float:
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    return max(max_error(g, w) for g, w in zip(got, want))


def _tour_layouts(args) -> bool:
    """Stdlib layouts on the simulated wafer: cost-only at wafer scale, and one numeric run."""
    from plmr.api import simulate
    from stdlib import ROOT

    gemm = ROOT / "layouts" / "gemm.plmr"
    runs = [(gemm, name, {"M": 8192, "K": 8192, "N": 8192}, (720, 720), False)
            for name in ("gemm_meshgemm", "gemm_cannon", "gemm_summa")]
    runs += [(ROOT / "layouts" / "gemv.plmr", "gemv_ktree", {"N": 16384, "K": 16384}, (720, 720), False),
             (ROOT / "layouts" / "rows.plmr", "attention_prefill", {"T": 96, "S": 96, "D": 40, "E": 40}, (6, 8),
              True)]
    print(f"\nlayouts on the simulated wafer\n{'layout':<20}{'mesh':<10}{'cycles':>10}{'hops':>6}{'routes':>7}"
          f"{'KiB/PE':>8}{'eff':>7}{'max error':>11}  verdict")
    ok = True
    for path, name, shapes, mesh, numeric in runs:
        r = simulate(path, name, shapes, mesh=mesh, numeric=numeric, seed=args.seed)
        good = not numeric or r.max_abs_error < 1e-3
        ok &= good
        error = f"{r.max_abs_error:.1e}" if numeric else "cost only"
        fits = "fits" if not r.violations else "violates " + ", ".join(v["kind"] for v in r.violations)
        print(f"{name:<20}{f'{mesh[0]}x{mesh[1]}':<10}{r.cycles:>10.3g}{r.max_hops_per_step:>6}{r.max_routes_per_pe:>7}"
              f"{r.max_memory_per_pe_bytes / 1024:>8.1f}{r.compute_efficiency:>7.2f}{error:>11}  "
              f"{fits if good else 'MISMATCH'}")
    return ok


def _start_devices(count: int) -> int:
    """Ask jax for `count` virtual CPU devices; how many it has (1 when its backend already started)."""
    import jax

    from runtime.shard_backend import start_cpu_devices

    try:
        return len(start_cpu_devices(count))
    except PlmrError:
        return len(jax.devices())


def _tour_devices(args, devices: int) -> bool:
    """Stdlib layouts as real multi-device JAX programs (shard_map), against the reference."""
    from runtime.reference import run_kernel
    from runtime.shard_backend import device_grid, run_layout
    from stdlib import ROOT

    print(f"\nlayouts as shard_map programs on {devices} JAX CPU devices\n"
          f"{'layout':<20}{'devices':<10}{'sizes':<22}{'max error':>11}{'tolerance':>11}  verdict")
    if devices < 8:
        print("  skipped: jax had already started with one device in this process")
        return True
    runs = [("gemm.plmr", name, {"M": 24, "K": 20, "N": 28}) for name in ("gemm_cannon", "gemm_meshgemm", "gemm_summa")]
    runs += [("gemv.plmr", "gemv_ktree", {"N": 40, "K": 36}), ("rows.plmr", "softmax_rows", {"N": 20, "D": 30}),
             ("rows.plmr", "attention_prefill", {"T": 12, "S": 12, "D": 8, "E": 8})]
    ok = True
    for file, name, dims in runs:
        layout = load(ROOT / "layouts" / file).layout(name)
        inputs = random_inputs(layout.kernel, dims, args.seed)
        error = _largest_error(run_layout(layout, inputs), tuple(run_kernel(layout.kernel, inputs)))
        tol = tolerance(layout.kernel.results[0].dtype, reduction_length(layout.kernel, dims))
        ok &= error <= tol
        grid = "x".join(map(str, device_grid(layout, devices)))
        shown = ",".join(f"{k}={v}" for k, v in dims.items())
        verdict = "ok" if error <= tol else "MISMATCH"
        print(f"{name:<20}{grid:<10}{shown:<22}{error:>11.1e}{tol:>11.1e}  {verdict}")
    return ok
