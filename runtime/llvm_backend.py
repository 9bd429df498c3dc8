"""Run kernels as native code: compiler.lower_llvm's module, optimised at -O3 for the host CPU (name and
features, so the vectoriser uses its full width) and JIT-compiled with MCJIT once per kernel. Every
intermediate and result is a numpy array allocated here and passed by pointer through ctypes with the
dimension values; ctypes releases the GIL for the call.
"""

from __future__ import annotations

import ctypes
import functools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from compiler import ir
from compiler.bind import bind, numpy_dtype
from dsl.diagnostics import InternalError, error


@functools.cache
def _llvm():
    import llvmlite.binding as llvm

    llvm.initialize_native_target()  # llvm.initialize() raises in llvmlite 0.50
    llvm.initialize_native_asmprinter()
    return llvm


def _target_machine():
    """A machine for the host CPU; each engine takes ownership of its own."""
    llvm = _llvm()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, jit=True)


@dataclass(frozen=True)
class CompiledKernel:
    """Machine code for one kernel: the engine owns it, so it lives as long as this object."""

    engine: object
    function: Callable
    optimized_ir: str
    compile_seconds: float


def llvm_ir(kernel: ir.KernelIR) -> str:
    """The LLVM IR of a kernel before optimisation (`plmr compile --emit llvm`)."""
    from compiler.lower_llvm import lower_kernel

    return str(lower_kernel(kernel))


@functools.lru_cache(maxsize=256)
def compile_kernel(kernel: ir.KernelIR) -> CompiledKernel:
    """Lower, optimise and JIT a kernel (KernelIR is frozen and hashable: the cache key)."""
    from compiler.lower_llvm import buffers, function_name

    start = time.perf_counter()
    llvm, machine = _llvm(), _target_machine()
    module = _parse(llvm, llvm_ir(kernel), machine)
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    tuning.loop_vectorization = tuning.slp_vectorization = True
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    address = engine.get_function_address(function_name(kernel))
    argtypes = [ctypes.c_void_p] * len(buffers(kernel)) + [ctypes.c_int64] * len(kernel.dims)
    function = ctypes.CFUNCTYPE(None, *argtypes)(address)
    return CompiledKernel(engine, function, str(module), time.perf_counter() - start)


def _parse(llvm, text: str, machine):
    try:
        module = llvm.parse_assembly(text)
        module.verify()
    except RuntimeError as exc:
        raise InternalError("lower_llvm", f"invalid LLVM IR: {exc}") from None
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    return module


def run_kernel(kernel: ir.KernelIR, arrays) -> tuple[np.ndarray, ...]:
    from compiler.lower_llvm import buffers

    bound = bind(kernel, arrays)
    compiled = compile_kernel(kernel)
    env = {p.name: a for p, a in zip(kernel.params, bound.arrays)}
    for decl in buffers(kernel)[len(env):]:
        env[decl.name] = _allocate(decl, bound.dims)
    pointers = [env[t.name].ctypes.data for t in buffers(kernel)]
    compiled.function(*pointers, *(bound.dims[d] for d in kernel.dims))
    params = {p.name for p in kernel.params}
    return tuple(env[r.name].copy() if r.name in params else env[r.name] for r in kernel.results)


def _allocate(decl: ir.TensorDecl, dims: dict[str, int]) -> np.ndarray:
    shape = tuple(d.evaluate(dims) for d in decl.shape)
    try:
        return np.empty(shape, dtype=numpy_dtype(decl.dtype))
    except (MemoryError, ValueError) as exc:
        raise error("E311", f"cannot allocate {decl.name} with shape {shape} for the llvm backend: {exc}",
                    help="use smaller inputs") from None
