"""Best score against time for the stdlib search problems with the offline evolver.

Runs `plmr.search(..., generator="evolve")` on each problem of stdlib/problems/ in a fresh run
directory, then reads the run's append-only log (candidates.jsonl: every verified candidate with
the search time at which it was logged) to trace the best score over time. Prints, per problem, the
starting program's score, the best found, the improvement over the start (the baseline of the same
run), when the best was first reached, and the candidates tried; `--plot FILE.png` draws best score
against time, one panel per problem.

    python benchmarks/bench_search.py --plot search.png       # layouts 2 min each, agents 3 min
    python benchmarks/bench_search.py --quick                 # 20 s / 60 s budgets
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = (("layouts.plmr", "faster_gemm"), ("layouts.plmr", "faster_gemv"),
            ("layouts.plmr", "faster_attention"), ("agents.plmr", "explain_behaviour"))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short budgets for smoke testing")
    parser.add_argument("--workers", type=int, default=2, help="verifying processes (default: 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw best score against time")
    args = parser.parse_args()
    args.layout_budget, args.agent_budget = ("20s", "60s") if args.quick else ("2m", "3m")
    return args


def trace(run: Path, direction: str) -> tuple[float, list[tuple[float, float]]]:
    """(the start's score, [(elapsed s, best so far)] at every improvement) from a run's log."""
    better = (lambda a, b: a < b) if direction == "min" else (lambda a, b: a > b)
    start, best, points = None, None, []
    for line in (run / "candidates.jsonl").read_text().splitlines():
        record = json.loads(line)
        verdict = record["verdict"]
        if record["meta"].get("seed") and verdict["ok"]:
            start = verdict["score"]
        if verdict["ok"] and (best is None or better(verdict["score"], best)):
            best = verdict["score"]
            points.append((record["elapsed_s"], best))
    return start, points


def run_problem(file: str, problem: str, budget: str, workers: int, seed: int, where: Path) -> dict:
    import plmr

    run = where / problem
    began = time.perf_counter()
    result = plmr.search(ROOT / "stdlib/problems" / file, problem, generator="evolve", budget=budget, out=run,
                         workers=workers, seed=seed)
    wall = time.perf_counter() - began
    direction = result.summary["direction"]
    start, points = trace(run, direction)
    best = points[-1][1]
    gain = start / best if direction == "min" else best - start
    return {"problem": problem, "direction": direction, "start": start, "best": best, "gain": gain,
            "best_at": points[-1][0], "tried": result.tried, "passed": result.passed, "wall": wall,
            "stop": result.stop_reason, "points": points}


def print_table(rows: list[dict]) -> None:
    print(f"\n{'problem':<18} {'score':<7} {'start':>12} {'best':>12} {'gain':>10} {'best at':>9} "
          f"{'tried':>6} {'passed':>6} {'wall':>7}  stopped because")
    for r in rows:
        unit = "cycles" if r["direction"] == "min" else "NL"
        gain = f"{r['gain']:.2f}x" if r["direction"] == "min" else f"+{r['gain']:.4f}"
        print(f"{r['problem']:<18} {unit:<7} {r['start']:>12.6g} {r['best']:>12.6g} {gain:>10} "
              f"{r['best_at']:>8.1f}s {r['tried']:>6} {r['passed']:>6} {r['wall']:>6.0f}s  {r['stop']}")
    print("gain: start/best for cycles (higher is better), best - start for held-out NL")


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows):
        times = [t for t, _ in r["points"]] + [r["wall"]]
        scores = [s for _, s in r["points"]] + [r["best"]]
        ax.step(times, scores, where="post", color="tab:blue", label="best so far")
        ax.axhline(r["start"], color="tab:gray", linestyle="--", label="start")
        ax.set_title(r["problem"])
        ax.set_xlabel("search time (s)")
        ax.set_ylabel("simulated cycles" if r["direction"] == "min" else "held-out NL")
        if r["direction"] == "min" and r["gain"] > 5:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main() -> None:
    args = arguments()
    wanted = set(args.problems.split(",")) if args.problems else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_search_") as where:
        for file, problem in PROBLEMS:
            if wanted and problem not in wanted:
                continue
            budget = args.agent_budget if file == "agents.plmr" else args.layout_budget
            print(f"searching {problem} (evolve, budget {budget}, {args.workers} workers) …", flush=True)
            rows.append(run_problem(file, problem, budget, args.workers, args.seed, Path(where)))
    print_table(rows)
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
