"""Agent fitting: plmr (jitted Adam over subjects x restarts) against scipy L-BFGS-B on a numpy loop.

Both paths fit Q-learning to the same simulated data (drift2 task), from the same starting points,
in the same unconstrained parameterisation, and pick the best restart per subject. Prints the
compile time, the warm median time of each path, the speed-up, and per-subject parameters and
held-out NL side by side.

    python benchmarks/bench_agent_fit.py            # 20 subjects x 1000 trials, 8 restarts
    python benchmarks/bench_agent_fit.py --quick    # 4 subjects x 400 trials, 4 restarts
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from runtime.agents import builtin_models, reference
from runtime.agents.data import split
from runtime.agents.fitting import _initial_points, fit
from runtime.agents.model import constrain
from runtime.agents.score import Score
from runtime.agents.simulation import simulate
from runtime.agents.tasks import TASKS


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run for smoke testing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="warm plmr runs (median reported)")
    args = parser.parse_args()
    args.subjects, args.sessions, args.trials, args.restarts = (4, 4, 100, 4) if args.quick else (20, 4, 250, 8)
    return args


def scipy_fit(model, train, restarts: int, seed: int) -> list[np.ndarray]:
    """Per subject, the best of `restarts` L-BFGS-B runs on the reference loop (unconstrained space)."""
    from scipy.optimize import minimize

    starts = _initial_points(model.params, len(train.subjects), restarts, seed)
    best = []
    for s in range(len(train.subjects)):
        trials = max(int(train.trials_per_subject()[s]), 1)

        def loss(u, s=s, trials=trials):
            return -reference.subject_loglik(model, constrain(np, model.params, u), train, s) / trials

        runs = [minimize(loss, x0, method="L-BFGS-B") for x0 in starts[s]]
        finite = [r for r in runs if np.isfinite(r.fun)]
        best.append(min(finite, key=lambda r: r.fun).x)
    return best


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    args = arguments()
    model = builtin_models.q_learning()
    rng = np.random.default_rng(args.seed)
    truth = {"alpha": rng.uniform(0.1, 0.9, args.subjects), "beta": rng.uniform(1.0, 8.0, args.subjects)}
    data = simulate(model, TASKS["drift2"], truth, n_subjects=args.subjects, n_sessions=args.sessions,
                    n_trials=args.trials, seed=args.seed + 1)
    print(f"Q-learning on drift2: {args.subjects} subjects x {args.sessions * args.trials} trials "
          f"(even sessions train, odd test), {args.restarts} restarts")

    run = lambda: fit(model, data, restarts=args.restarts, seed=args.seed, progress=False)  # noqa: E731
    _, cold = timed(run)
    warm_runs = [timed(run) for _ in range(args.repeats)]
    ours = warm_runs[-1][0]
    warm = statistics.median(t for _, t in warm_runs)
    train, test = split(data)
    theirs_u, scipy_time = timed(lambda: scipy_fit(model, train, args.restarts, args.seed))
    theirs = [constrain(np, model.params, u) for u in theirs_u]
    test_ll = reference.dataset_loglik(model, theirs, test)
    their_nl = [Score(float(ll), int(n)).nl for ll, n in zip(test_ll, test.trials_per_subject(), strict=True)]
    report(ours, theirs, their_nl, truth)
    print(f"\nplmr compile (cold minus warm): {cold - warm:7.2f} s")
    print(f"plmr warm fit (median of {args.repeats}): {warm:7.2f} s")
    print(f"scipy L-BFGS-B + numpy loop:     {scipy_time:7.2f} s")
    print(f"speed-up after compilation:      {scipy_time / warm:7.1f}x  (goal >= 20x)")


def report(ours, theirs, their_nl, truth) -> None:
    print(f"\n{'subject':8} {'alpha':>6} {'plmr':>7} {'scipy':>7}  {'beta':>6} {'plmr':>7} {'scipy':>7}  "
          f"{'testNL plmr':>11} {'scipy':>7}")
    gaps = {"alpha": [], "beta": [], "nl": []}
    for s, fitted in enumerate(ours.subjects):
        row = [fitted.subject[:8].ljust(8)]
        for name in ("alpha", "beta"):
            a, b = fitted.params[name], theirs[s][name]
            gaps[name].append(abs(a - b) / max(abs(b), 1e-9))
            row.append(f"{truth[name][s]:6.3f} {a:7.3f} {b:7.3f} ")
        gaps["nl"].append(abs(fitted.test.nl - their_nl[s]))
        row.append(f"{fitted.test.nl:11.4f} {their_nl[s]:7.4f}")
        print(" ".join(row))
    print(f"\nmean test NL: plmr {ours.mean_test_nl:.4f}, scipy {np.mean(their_nl):.4f}; "
          f"largest |NL gap| {max(gaps['nl']):.2e}; median relative param gap "
          f"alpha {np.median(gaps['alpha']):.1e}, beta {np.median(gaps['beta']):.1e}; "
          f"largest alpha {max(gaps['alpha']):.1e}, beta {max(gaps['beta']):.1e}")


if __name__ == "__main__":
    main()
