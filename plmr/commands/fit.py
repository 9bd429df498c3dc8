"""`plmr fit FILE AGENT DATA`: fit an agent to behaviour and score it on held-out sessions."""

from __future__ import annotations

import json

from plmr.api import fit, load, read_data


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit an agent to behaviour data; held-out normalized likelihood",
                       description="Fit an agent per subject (or --shared) on the even sessions of DATA "
                       "(.csv long format or Miller et al. rat .json) and score it by normalized "
                       "likelihood on the odd sessions.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("agent", metavar="AGENT")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--restarts", type=int, default=8, help="random restarts per subject (default: 8)")
    p.add_argument("--shared", action="store_true", help="one parameter set for all subjects")
    p.add_argument("--seed", type=int, default=0, help="seed for the restarts (default: 0)")
    p.add_argument("--baseline", metavar="AGENT", help="also fit this agent; paired Wilcoxon test")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot choice probabilities against choices")
    p.set_defaults(func=run)


def run(args) -> int:
    program = load(args.file)
    model = program.agent(args.agent)
    data = read_data(args.data, model.n_actions)
    options = dict(restarts=args.restarts, shared=args.shared, seed=args.seed, progress=not args.json)
    result = fit(program, args.agent, data, **options)
    out = result.to_dict()
    if args.baseline:
        from runtime.agents.score import compare

        baseline = fit(program, args.baseline, data, **options)
        out["baseline"] = baseline.to_dict()
        out["comparison"] = compare(result, baseline).to_dict()
    if args.plot:
        from runtime.agents.plot import plot_fit

        plot_fit(model, result, data, args.plot)
    print(json.dumps(out, indent=2) if args.json else _table(out))
    return 0


def _table(out: dict) -> str:
    lines = [f"agent {out['agent']}", f"{'subject':<12}{'train NL':>10}{'test NL':>10}  params"]
    for s in out["subjects"]:
        params = ", ".join(f"{k}={v:.3g}" for k, v in s["params"].items())
        lines.append(f"{s['subject']:<12}{_nl(s['train']['nl']):>10}{_nl(s['test']['nl']):>10}  {params}")
    lines.append(f"mean held-out NL {_nl(out['mean_test_nl'])}, pooled {_nl(out['pooled_test_nl'])}")
    if "comparison" in out:
        c = out["comparison"]
        lines.append(f"against {c['baseline']}: better for {c['candidate_better']} of {c['n_subjects']} "
                     f"subjects, mean NL difference {c['mean_nl_difference']:+.4f}, Wilcoxon p = "
                     f"{c['p_value']:.3g}")
    return "\n".join(lines)


def _nl(value) -> str:
    return "-" if value is None else f"{value:.4f}"
