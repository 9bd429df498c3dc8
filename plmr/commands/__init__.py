"""One module per `plmr` subcommand, each with `register(subparsers)`; shared helpers below."""

from __future__ import annotations

from pathlib import Path

from dsl.diagnostics import error


def source_files(paths: list[str]) -> list[Path]:
    """The .plmr files named, with directories searched recursively."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.plmr"))
            if not found:
                raise error("E030", f"{p} holds no .plmr files")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise error("E031", f"{p}: no such file or directory")
    return files
