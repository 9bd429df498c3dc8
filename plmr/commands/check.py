"""`plmr check FILE…`: parse and check, print every diagnostic of every file."""

from __future__ import annotations

import json
import sys

from dsl.diagnostics import PlmrError
from plmr.api import load
from plmr.commands import source_files


def register(sub) -> None:
    p = sub.add_parser("check", help="parse and check .plmr files (directories are searched)",
                       description="Parse and check .plmr files; print every diagnostic. Exit 0 when "
                       "no file has an error (warnings are printed but do not fail), 2 when any has.")
    p.add_argument("files", nargs="+", metavar="FILE", help=".plmr files or directories")
    p.add_argument("--json", action="store_true", help="print a machine-readable list of results")
    p.set_defaults(func=run)


def run(args) -> int:
    results = []
    for path in source_files(args.files):
        try:
            program = load(path)
            warnings = program.checked.warnings
            results.append({"file": str(path), "ok": True, "declarations": len(program.module.decls),
                            "diagnostics": [w.to_dict() for w in warnings]})
            if not args.json:
                noted = f", {len(warnings)} warning{'s' * (len(warnings) != 1)}" if warnings else ""
                print(f"{path}: ok ({_summary(program)}{noted})")
                for w in warnings:
                    print(w.render() + "\n", file=sys.stderr)
        except PlmrError as exc:
            results.append({"file": str(path), "ok": False,
                            "diagnostics": [d.to_dict() for d in exc.diagnostics]})
            if not args.json:
                print(exc.render() + "\n", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    failed = sum(not r["ok"] for r in results)
    if failed and not args.json:
        errors = sum(len(r["diagnostics"]) for r in results)
        print(f"{errors} error(s) in {failed} of {len(results)} file(s)", file=sys.stderr)
    return 2 if failed else 0


def _summary(program) -> str:
    kinds: dict[str, int] = {}
    for d in program.module.decls:
        kind = type(d).__name__.lower()
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {_plural(k) if n > 1 else k}" for k, n in kinds.items()) or "empty"


def _plural(kind: str) -> str:
    return kind + ("es" if kind.endswith("sh") else "s")
