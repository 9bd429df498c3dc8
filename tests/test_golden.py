"""`plmr compile --emit ir` and `--emit jax` of every stdlib kernel, against tests/golden/
(rewrite with `pytest --update-goldens`; a refactor should leave them byte-identical)."""

from __future__ import annotations

from pathlib import Path

import pytest

import plmr
from compiler.ir_printer import print_kernel
from compiler.lower_jax import lower_kernel
from stdlib import kernel_files

GOLDEN = Path(__file__).parent / "golden"
KERNELS = [(path, name) for path in kernel_files() for name in plmr.load(path).kernels]
STAGES = {"ir": print_kernel, "jax": lower_kernel}


@pytest.mark.parametrize("stage", sorted(STAGES))
@pytest.mark.parametrize("path, name", KERNELS, ids=[name for _, name in KERNELS])
def test_stage_matches_golden(path, name, stage, golden):
    text = STAGES[stage](plmr.load(path).kernel(name))
    golden(GOLDEN / f"{name}.{stage}", text)


def test_every_golden_belongs_to_a_kernel():
    expected = {f"{name}.{stage}" for _, name in KERNELS for stage in STAGES}
    assert {p.name for p in GOLDEN.iterdir()} == expected


def test_kernel_names_are_unique_across_the_stdlib():
    names = [name for _, name in KERNELS]
    assert len(names) == len(set(names)) >= 15
