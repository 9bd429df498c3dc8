"""The standard library: .plmr sources shipped with plmr (kernels, meshes, layouts, agents)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent


def kernel_files() -> list[Path]:
    return sorted((ROOT / "kernels").glob("*.plmr"))


def mesh_files() -> list[Path]:
    return sorted((ROOT / "meshes").glob("*.plmr"))


def layout_files() -> list[Path]:
    return sorted((ROOT / "layouts").glob("*.plmr"))


@dataclass(frozen=True, slots=True)
class Prelude:
    """What a layout may name without declaring it: the stdlib's checked meshes and kernels."""

    meshes: dict
    kernels: dict


@functools.cache
def prelude() -> Prelude:
    """The stdlib meshes and kernels, parsed and checked once per process (they hold no layouts,
    so checking them never asks for the prelude itself)."""
    from compiler.check import check_module
    from dsl.parser import parse

    meshes, kernels = {}, {}
    for path in mesh_files() + kernel_files():
        checked = check_module(parse(path.read_text(encoding="utf-8"), str(path)))
        meshes.update(checked.meshes)
        kernels.update(checked.kernels)
    return Prelude(meshes, kernels)
