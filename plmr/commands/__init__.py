"""One module per `plmr` subcommand, each with `register(subparsers)`; shared helpers below."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def kernel_inputs(path: str, kernel) -> list[np.ndarray]:
    """A kernel's inputs from an .npz holding one array per parameter name, in parameter order."""
    try:
        with np.load(path) as data:
            arrays = dict(data)
    except (OSError, ValueError) as exc:
        raise error("E410", f"cannot read inputs from {path}: {exc}") from None
    missing = [p.name for p in kernel.params if p.name not in arrays]
    if missing:
        raise error("E411", f"{path} has no array named {missing[0]}",
                    help=f"it has: {', '.join(arrays) or 'nothing'}; kernel {kernel.name} needs: "
                         + ", ".join(p.name for p in kernel.params))
    return [arrays[p.name] for p in kernel.params]
