"""`plmr verify CANDIDATE --against REFERENCE`: run the verifier cascade on a candidate program."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsl.diagnostics import error
from plmr.api import load, read_data
from runtime.inputs import parse_shapes


def register(sub) -> None:
    p = sub.add_parser("verify", help="verify a candidate (an LLM reply or .plmr file) against a reference",
                       description="Run the cascade extract → parse → check → limits → compile → test → "
                       "score on CANDIDATE (bare .plmr source or an LLM reply with fenced code; '-' reads "
                       "standard input). Exit 0 when it passes, 1 when it fails, 2 on bad usage.")
    p.add_argument("candidate", metavar="CANDIDATE")
    p.add_argument("--against", metavar="REFERENCE", required=True, help="the .plmr file with the reference")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--kernel", metavar="NAME", help="verify a kernel against the reference's kernel NAME")
    which.add_argument("--layout", metavar="NAME", help="verify a layout against the reference's layout NAME")
    which.add_argument("--agent", metavar="NAME", help="verify an agent; score it on --data (default: the "
                       "data of the reference file's problem starting from NAME)")
    p.add_argument("--data", metavar="DATA.csv", help="behaviour data for agents")
    p.add_argument("--shapes", metavar="M=1024,K=1024", help="kernel sizes a layout is scored at")
    p.add_argument("--seed", type=int, help="seed for the test inputs (default: fresh each run)")
    p.add_argument("--trials", type=int, default=25, help="random test cases for kernels (default: 25)")
    p.add_argument("--restarts", type=int, default=4, help="fitting restarts for agents (default: 4)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def _read_candidate(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error("E520", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def run(args) -> int:
    from runtime.verify import verify

    reference = load(args.against)
    kind = "layout" if args.layout else "agent" if args.agent or args.data else "kernel"
    name = args.layout or args.agent or args.kernel
    data = read_data(args.data) if args.data else None  # an agent problem in the file supplies its own
    verdict = verify(_read_candidate(args.candidate), reference, kind=kind, name=name, data=data,
                     seed=args.seed, trials=args.trials, restarts=args.restarts, shapes=parse_shapes(args.shapes))
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2, default=str))
    else:
        status = "PASS" if verdict.ok else "FAIL"
        score = f"  score {verdict.score:.6g}" if verdict.ok else ""
        print(f"{status} at stage {verdict.stage}{score}\n{verdict.feedback}")
    return 0 if verdict.ok else 1
