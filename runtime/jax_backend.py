"""Run kernels with JAX: the generated source is executed once, jitted, and cached per kernel.

jax.jit then compiles once per input shape and dtype. Kernels run with x64 enabled (a scoped
context, so other JAX users in the process are unaffected), so f64 kernels stay f64; the generated
code names every dtype, so nothing else changes.
"""

from __future__ import annotations

import functools

import numpy as np

from compiler import ir
from compiler.bind import bind
from compiler.lower_jax import lower_kernel


@functools.cache
def _jax():
    import jax

    return jax


@functools.lru_cache(maxsize=256)
def compile_kernel(kernel: ir.KernelIR):
    """The jitted function for a kernel (KernelIR is frozen and hashable: the cache key)."""
    jax = _jax()
    source = lower_kernel(kernel)
    namespace = {"jax": jax, "jnp": jax.numpy, "lax": jax.lax}
    exec(compile(source, f"<plmr kernel {kernel.name}>", "exec"), namespace)  # noqa: S102 - our own codegen
    return jax.jit(namespace[f"kernel_{kernel.name}"], static_argnames=kernel.dims)


def run_kernel(kernel: ir.KernelIR, arrays) -> tuple[np.ndarray, ...]:
    bound = bind(kernel, arrays)
    with _jax().enable_x64(True):
        outputs = compile_kernel(kernel)(*bound.arrays, **bound.dims)
    return tuple(np.asarray(o) for o in outputs)
