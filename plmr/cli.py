"""The `plmr` command: argument parsing and dispatch. Each subcommand lives in plmr/commands/.

Exit codes: 0 success, 1 a negative verdict (fmt --check, verify), 2 bad input or usage,
3 an internal error (a plmr bug). No traceback is shown without --debug.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dsl.diagnostics import PlmrError

# Subcommands in the order --help lists them; each module has `register(subparsers)`.
COMMANDS = ["tour", "check", "fmt", "run", "compile", "simulate", "shard", "sample", "fit", "verify", "search"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 with the subcommand's usage line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="plmr", description="A toolchain for one small language: tensor kernels, "
                     "wafer-mesh layouts and cognitive agents.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks of plmr bugs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"plmr.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except PlmrError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `plmr … | head`: the reader left; say nothing more
        sys.stderr.close()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if args.debug:
            raise
        print(f"plmr: internal error: {type(exc).__name__}: {exc}\n"
              "This is a plmr bug. Rerun with --debug to see the traceback, and please report it.",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
