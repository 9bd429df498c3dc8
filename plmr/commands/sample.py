"""`plmr sample FILE AGENT`: behaviour of an agent playing a task, written as the long CSV."""

from __future__ import annotations

from plmr.api import load, sample
from runtime.agents.model import parse_params


def register(sub) -> None:
    p = sub.add_parser("sample", help="simulate an agent on a bandit task and write the behaviour CSV",
                       description="Let an agent play a task and write its choices and rewards as the "
                       "long CSV (subject, session, trial, choice, reward).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("agent", metavar="AGENT")
    p.add_argument("--task", choices=["drift2", "flip2", "restless4"], default="drift2",
                   help="drifting two-armed bandit, block-flip reversal, or four-armed restless bandit")
    p.add_argument("--subjects", type=int, default=10, help="number of simulated subjects (default: 10)")
    p.add_argument("--sessions", type=int, default=4, help="sessions per subject (default: 4)")
    p.add_argument("--trials", type=int, default=200, help="trials per session (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--params", metavar="alpha=0.3,beta=4", help="parameter values (others: defaults)")
    p.add_argument("--out", metavar="DATA.csv", required=True, help="where to write the CSV")
    p.set_defaults(func=run)


def run(args) -> int:
    from runtime.agents.data import write_csv

    program = load(args.file)
    data = sample(program, args.agent, task=args.task, subjects=args.subjects, sessions=args.sessions,
                  trials=args.trials, seed=args.seed, params=parse_params(args.params or ""))
    write_csv(data, args.out)
    print(f"wrote {args.out}: {args.subjects} subjects x {args.sessions} sessions x {args.trials} trials "
          f"of {args.agent} on {args.task}")
    return 0
