"""The Python face of plmr: load a program, run its kernels on a backend, look at each stage."""

from __future__ import annotations

import importlib
from pathlib import Path

from compiler.check import CheckedModule, check_module
from dsl import ast
from dsl.diagnostics import PlmrError, error
from dsl.parser import parse

# Backends load lazily by name: `plmr check` must not pay for jax.
BACKENDS = {"ref": "runtime.reference", "jax": "runtime.jax_backend"}


class Program:
    """A parsed and checked source file."""

    def __init__(self, text: str, name: str = "<string>"):
        self.text = text
        self.name = name
        self.module: ast.Module = parse(text, name)
        self.checked: CheckedModule = check_module(self.module)

    @property
    def kernels(self) -> tuple[str, ...]:
        return tuple(self.checked.kernels)

    def kernel(self, name: str):
        """The checked IR of a kernel; a PlmrError naming the kernels there are if it is missing."""
        found = self.checked.kernels.get(name)
        if found is None:
            have = ", ".join(self.kernels) or "none"
            raise error("E020", f"{self.name} has no kernel {name!r} (kernels: {have})")
        return found

    def run(self, kernel: str, *arrays, backend: str = "ref"):
        """Run a kernel; one numpy array, or a tuple when the kernel returns several."""
        outputs = backend_module(backend).run_kernel(self.kernel(kernel), arrays)
        return outputs[0] if len(outputs) == 1 else outputs

    def __repr__(self) -> str:
        return f"<plmr.Program {self.name}: {len(self.module.decls)} declarations>"


def backend_module(backend: str):
    if backend not in BACKENDS:
        raise error("E021", f"unknown backend {backend!r}", help="backends: " + ", ".join(BACKENDS))
    return importlib.import_module(BACKENDS[backend])


def loads(text: str, name: str = "<string>") -> Program:
    return Program(text, name)


def load(path: str | Path) -> Program:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error("E022", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return Program(text, str(path))


__all__ = ["Program", "PlmrError", "load", "loads", "BACKENDS"]
