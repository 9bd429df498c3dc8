"""Verification throughput: candidates verified per minute for layouts, agents and kernels, and where
the time goes by stage of the cascade.

Candidates are what a search would verify: children of the stdlib problems' starting programs made by
the offline evolver (layouts, agents; duplicates dropped, as the search drops them) and the kernel
corpus of tests/candidates/. Each kind is verified by `--workers` processes (2 by default: the
machine's cores), each timing the stages by wrapping `runtime.search.worker.enter_stage`. Goals on a
2-core machine (issue 5): >= 300 layout and >= 30 fitted agent candidates a minute.

    python benchmarks/bench_verify.py                 # 120 layouts, 16 agents, the kernel corpus
    python benchmarks/bench_verify.py --quick         # 40 layouts, 6 agents, 4 kernels
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"layout": 300.0, "agent": 30.0}
STAGE_MODULES = ("runtime.search.worker", "runtime.verify.candidate", "runtime.verify.kernel",
                 "runtime.verify.layout", "runtime.verify.agent")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run for smoke testing")
    parser.add_argument("--workers", type=int, default=2, help="verifying processes (default: 2)")
    parser.add_argument("--kinds", default="layout,agent,kernel", help="which kinds to measure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.layouts, args.agents, args.kernels = (40, 6, 4) if args.quick else (120, 16, 100)
    return args


# ---------------------------------------------------------------- the candidates


def evolved(file: Path, problem: str, count: int, seed: int) -> list[str]:
    """Up to `count` distinct children of the problem's start, each from a random chain of mutations."""
    from dsl.parser import parse
    from plmr.api import load
    from runtime.search.database import Program
    from runtime.search.problems import EvolveGenerator, setup

    generate = EvolveGenerator(setup(load(file), problem), batch=1)
    rng = np.random.default_rng(seed)
    seen, out, parents = set(), [], [generate.setup.start_source]
    for _ in range(count * 20):
        examples = [Program(parents[int(rng.integers(len(parents)))], 0.0, "p")]
        for proposal in generate(examples, [], rng):
            if proposal.source not in seen:
                seen.add(proposal.source)
                out.append(proposal.source)
                parents.append(proposal.source)
        if len(out) >= count:
            break
    assert all(parse(s) for s in out)
    return out


def layout_jobs(count: int, seed: int) -> list[tuple]:
    file = ROOT / "stdlib/problems/layouts.plmr"
    jobs = []
    for problem in ("faster_gemm", "faster_gemv", "faster_attention"):
        jobs += [(str(file), problem, s) for s in evolved(file, problem, count // 3, seed)]
    return jobs


def agent_jobs(count: int, seed: int) -> list[tuple]:
    file = ROOT / "stdlib/problems/agents.plmr"
    return [(str(file), "explain_behaviour", s) for s in evolved(file, "explain_behaviour", count, seed)]


def kernel_jobs(count: int) -> list[tuple]:
    files = sorted((ROOT / "tests/candidates").glob("k_*"))[:count]
    return [(str(ROOT / "stdlib/kernels/norms.plmr"), "softmax", f.read_text()) for f in files]


# ---------------------------------------------------------------- verifying in worker processes


def _install_stage_timer(timings: Counter) -> callable:
    """Wrap enter_stage everywhere it was imported; returns `close()` to charge the last stage."""
    import importlib

    import runtime.search.worker as worker

    original = worker.enter_stage
    current = {"stage": None, "since": 0.0}

    def close() -> None:
        now = time.perf_counter()
        if current["stage"] is not None:
            timings[current["stage"]] += now - current["since"]
        current["stage"], current["since"] = None, now

    def timed(stage: str) -> None:
        close()
        current["stage"] = stage
        original(stage)

    for name in STAGE_MODULES:
        importlib.import_module(name).enter_stage = timed
    return close


def _install_compile_counter(outcomes: Counter) -> None:
    """Count XLA compilations and their seconds (JAX reports each one as a monitoring event)."""
    import jax

    def heard(event: str, seconds: float, **_) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            outcomes["xla compiles"] += 1
            outcomes["xla compile seconds"] += seconds

    jax.monitoring.register_event_duration_secs_listener(heard)


def verify_share(jobs: list[tuple], kind: str, seed: int) -> tuple[Counter, Counter]:
    """Verify jobs in this process: (seconds by stage, verdicts by stage and XLA compile counts)."""
    from runtime.search.problems import ProblemVerifier
    from plmr.api import load
    from runtime.verify import verify

    timings, outcomes = Counter(), Counter()
    close = _install_stage_timer(timings)
    if kind in ("agent", "kernel"):
        _install_compile_counter(outcomes)
    programs = {}
    for file, name, source in jobs:
        if kind == "kernel":
            program = programs.setdefault(file, load(file))
            verdict = verify(source, program, kind="kernel", name=name, seed=seed)
        else:
            verdict = programs.setdefault((file, name), ProblemVerifier(file, name, seed))(source)
        close()
        outcomes["passed" if verdict.ok else f"failed at {verdict.stage}"] += 1
    return timings, outcomes


def warm_up(kind: str) -> None:
    """Import what the kind needs, so a worker's start-up is not charged to the candidates."""
    import runtime.verify  # noqa: F401
    if kind in ("agent", "kernel"):
        import jax  # noqa: F401


def measure(kind: str, jobs: list[tuple], workers: int, seed: int) -> dict:
    shares = [jobs[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(warm_up, [kind] * workers))
        start = time.perf_counter()
        results = list(pool.map(verify_share, shares, [kind] * workers, [seed] * workers))
        wall = time.perf_counter() - start
    timings, outcomes = Counter(), Counter()
    for t, o in results:
        timings.update(t)
        outcomes.update(o)
    return {"kind": kind, "count": len(jobs), "wall": wall, "per_minute": 60 * len(jobs) / wall,
            "timings": timings, "outcomes": outcomes}


# ---------------------------------------------------------------- report


def report(row: dict, workers: int) -> None:
    from runtime.search.verdict import STAGES

    goal = GOALS.get(row["kind"])
    verdict = "" if goal is None else f"  goal >= {goal:g}/min: {'met' if row['per_minute'] >= goal else 'MISSED'}"
    print(f"\n{row['kind']}: {row['count']} candidates in {row['wall']:.1f} s on {workers} worker(s) = "
          f"{row['per_minute']:.0f} per minute{verdict}")
    compiles = {k: row["outcomes"].pop(k, 0) for k in ("xla compiles", "xla compile seconds")}
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items())))
    if compiles["xla compiles"]:
        print(f"  XLA compiles: {compiles['xla compiles'] / row['count']:.1f} per candidate, "
              f"{1000 * compiles['xla compile seconds'] / row['count']:.0f} ms per candidate")
    total = sum(row["timings"].values()) or 1.0
    for stage in STAGES:
        seconds = row["timings"].get(stage, 0.0)
        if seconds:
            print(f"  {stage:<8} {seconds:8.2f} s  {100 * seconds / total:5.1f}%  "
                  f"{1000 * seconds / row['count']:8.1f} ms per candidate")


def main() -> None:
    args = arguments()
    kinds = args.kinds.split(",")
    builders = {"layout": lambda: layout_jobs(args.layouts, args.seed),
                "agent": lambda: agent_jobs(args.agents, args.seed),
                "kernel": lambda: kernel_jobs(args.kernels)}
    print(f"verification throughput, {args.workers} worker process(es); stage times summed over workers")
    for kind in kinds:
        report(measure(kind, builders[kind](), args.workers, args.seed), args.workers)


if __name__ == "__main__":
    main()
