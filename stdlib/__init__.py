"""The standard library: .plmr sources shipped with plmr (kernels, meshes, layouts, agents)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent


def kernel_files() -> list[Path]:
    return sorted((ROOT / "kernels").glob("*.plmr"))
