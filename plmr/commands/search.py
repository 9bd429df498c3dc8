"""`plmr search FILE PROBLEM`: generate → verify → refine until the budget runs out."""

from __future__ import annotations

import json

from plmr.api import load, search


def register(sub) -> None:
    p = sub.add_parser("search", help="search for better programs (offline evolver or an LLM)",
                       description="Search for a better program for a `problem` declaration. Every candidate "
                       "is verified; the run directory is append-only and crash-safe (--resume continues it); "
                       "best.plmr and summary.json in it are always valid.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("problem", metavar="PROBLEM")
    p.add_argument("--generator", choices=["evolve", "llm"], default="evolve",
                   help="evolve: AST mutations, no network (default); llm: an OpenAI-compatible endpoint")
    p.add_argument("--budget", help="wall clock and/or candidates: 10m, 90s, 500, 10m,500 (default: the problem's)")
    p.add_argument("--out", metavar="RUN_DIR", required=True, help="run directory (created, or resumed)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    p.add_argument("--workers", type=int, default=1, help="parallel verification processes (default: 1)")
    p.add_argument("--seed", type=int, help="random seed (default: 0, or the resumed run's)")
    p.add_argument("--llm-url", metavar="URL", help="base URL of the chat endpoint, e.g. http://localhost:8000")
    p.add_argument("--model", help="model name to ask for")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
    p.add_argument("--llm-deadline", type=float, metavar="SECONDS",
                   help="overall deadline per LLM call, retries included (default: 900)")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    llm = None
    if args.generator == "llm":
        llm = {"base_url": args.llm_url, "model": args.model, "api_key_env": args.api_key_env}
        if args.llm_deadline is not None:
            llm["deadline"] = args.llm_deadline
    result = search(load(args.file), args.problem, generator=args.generator, budget=args.budget, out=args.out,
                    resume=args.resume, workers=args.workers, seed=args.seed, llm=llm, progress=not args.json)
    if args.json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        best = f"best score {result.best.score:.6g}" if result.best else "no candidate passed"
        print(f"{result.stop_reason}: {result.tried} candidates verified, {result.passed} passed; {best}\n"
              f"run directory {args.out} (best.plmr, summary.json, candidates.jsonl)")
    return 0
