"""`plmr fmt FILE…`: rewrite files in canonical form (comments kept); `--check` only reports."""

from __future__ import annotations

import difflib
import sys

from dsl.diagnostics import InternalError
from dsl.parser import parse
from dsl.printer import format_source
from plmr.api import load
from plmr.commands import source_files


def register(sub) -> None:
    p = sub.add_parser("fmt", help="format .plmr files in place (or --check them)",
                       description="Rewrite .plmr files in canonical form, keeping comments. With "
                       "--check, change nothing: print a diff and exit 1 when a file is not canonical.")
    p.add_argument("files", nargs="+", metavar="FILE", help=".plmr files or directories")
    p.add_argument("--check", action="store_true", help="exit 1 and show a diff if any file would change")
    p.set_defaults(func=run)


def run(args) -> int:
    changed = 0
    for path in source_files(args.files):
        program = load(path)  # a file that does not check is not formatted (exit 2 with its errors)
        text = program.text
        canonical = format_source(program.module, text)
        if parse(canonical, str(path)) != program.module:
            raise InternalError("fmt", f"formatting {path} changed its meaning")
        if canonical == text:
            continue
        changed += 1
        if args.check:
            diff = difflib.unified_diff(text.splitlines(True), canonical.splitlines(True),
                                        f"{path}", f"{path} (formatted)")
            sys.stdout.writelines(diff)
        else:
            path.write_text(canonical, encoding="utf-8")
            print(f"formatted {path}")
    return 1 if args.check and changed else 0
