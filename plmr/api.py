"""The Python face of plmr: load a program, run its kernels on a backend, look at each stage."""

from __future__ import annotations

import importlib
from pathlib import Path

from compiler.check import CheckedModule, check_module
from dsl import ast
from dsl.diagnostics import PlmrError, error
from dsl.parser import parse

# Backends load lazily by name: `plmr check` must not pay for jax.
BACKENDS = {"ref": "runtime.reference", "jax": "runtime.jax_backend", "llvm": "runtime.llvm_backend"}


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

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(self.checked.agents)

    def agent(self, name: str):
        """The fitting engine's model of an agent (runtime.agents.model.AgentModel)."""
        found = self.checked.agents.get(name)
        if found is None:
            have = ", ".join(self.agents) or "none"
            raise error("E023", f"{self.name} has no agent {name!r} (agents: {have})")
        from runtime.agents.from_ir import agent_model

        return agent_model(found)

    @property
    def layouts(self) -> tuple[str, ...]:
        return tuple(self.checked.layouts)

    def layout(self, name: str):
        """The checked layout (compiler.layout_ir.LayoutIR); a PlmrError naming the layouts if missing."""
        found = self.checked.layouts.get(name)
        if found is None:
            have = ", ".join(self.layouts) or "none"
            raise error("E024", f"{self.name} has no layout {name!r} (layouts: {have})")
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


def _program(program: Program | str | Path) -> Program:
    return program if isinstance(program, Program) else load(program)


def read_data(path: str | Path, n_actions: int | None = None):
    """Behaviour data: the long CSV (`.csv`) or the Miller et al. rat JSON (`.json`)."""
    from runtime.agents.readers import read_behaviour

    return read_behaviour(path, n_actions)


def sample(program: Program | str | Path, agent: str, *, task: str = "drift2", subjects: int = 10,
           sessions: int = 4, trials: int = 200, seed: int = 0, params: dict | None = None):
    """Behaviour of `agent` playing `task` (a runtime.agents.data.Dataset)."""
    from runtime.agents.simulation import simulate
    from runtime.agents.tasks import get_task

    model = _program(program).agent(agent)
    return simulate(model, get_task(task), params, n_subjects=subjects, n_sessions=sessions,
                    n_trials=trials, seed=seed)


def fit(program: Program | str | Path, agent: str, data, *, restarts: int = 8, shared: bool = False,
        seed: int = 0, progress: bool = False):
    """Fit `agent` to `data` (a Dataset or a path): per subject (or shared), even sessions train,
    odd sessions test. Returns a runtime.agents.score.FitResult; `.to_dict()` is the JSON form."""
    from runtime.agents.fitting import fit as fit_model

    model = _program(program).agent(agent)
    if not hasattr(data, "choices"):
        data = read_data(data, model.n_actions)
    return fit_model(model, data, restarts=restarts, shared=shared, seed=seed, progress=progress)


def simulate(program: Program | str | Path, layout: str, shapes: dict[str, int] | None = None, *,
             mesh: tuple[int, int] | None = None, numeric: bool = False, inputs: dict | None = None,
             seed: int = 0):
    """Simulate a layout on its mesh (or on a `mesh` = (rows, cols) sub-mesh of it): a
    runtime.mesh.MeshReport. numeric=True carries data (`inputs` by the kernel's parameter names, else
    seeded random ones) and compares the gathered results with the reference interpreter's
    (`max_abs_error`); `report.outputs` then holds them under the kernel's result names."""
    from runtime.layouts import simulate_layout

    return simulate_layout(_program(program).layout(layout), shapes or {}, mesh=mesh, numeric=numeric,
                           inputs=inputs, seed=seed)


def run_sharded(program: Program | str | Path, layout: str, *arrays, grid: tuple[int, int] | None = None,
                devices=None):
    """Run a layout as a real multi-device JAX program (shard_map over a ("y", "x") device mesh):
    one numpy array, or a tuple when the kernel returns several. The layout's grid is re-targeted to
    the devices jax has (see runtime.shard_backend), or to `grid` = (rows, cols) of devices."""
    from runtime.shard_backend import run_layout

    outputs = run_layout(_program(program).layout(layout), arrays, devices=devices, grid=grid)
    return outputs[0] if len(outputs) == 1 else outputs


def verify(candidate: str, reference: Program | str | Path, *, kernel: str | None = None, layout: str | None = None,
           agent: str | None = None, data=None, shapes: dict | None = None, seed: int | None = None, **options):
    """Verify candidate text (bare source or an LLM reply) against a declaration of `reference`:
    a runtime.search.verdict.Verdict with ok, stage, score, feedback and details. Exactly one of
    kernel/layout/agent names what it stands in for (a kernel when none is given); `data` (a Dataset
    or a path) is the behaviour an agent is scored on; `shapes` the sizes a layout is scored at."""
    from runtime.verify import verify as run_verifier

    kind = "layout" if layout else "agent" if agent or data is not None else "kernel"
    if data is not None and not hasattr(data, "choices"):
        data = read_data(data)
    return run_verifier(candidate, _program(reference), kind=kind, name=layout or agent or kernel, data=data,
                       shapes=shapes, seed=seed, **options)


def search(program: Program | str | Path, problem: str, *, generator: str = "evolve", budget: str | None = None,
           out: str | Path, resume: bool = False, workers: int = 1, seed: int | None = None,
           llm: dict | None = None, progress: bool = False):
    """Search for a better program for `problem`; returns runtime.search.loop.SearchResult.

    generator "evolve" mutates the AST offline; "llm" asks the chat endpoint in `llm`
    ({"base_url", "model"} and any other runtime.search.llm.LLMConfig field: api_key_env, temperature,
    max_tokens, deadline, max_retries …). The run directory `out` is crash-safe and resumable."""
    from runtime.search.budget import Budget, parse_budget
    from runtime.search.database import ProgramDatabase
    from runtime.search.loop import run_search
    from runtime.search.problems import EvolveGenerator, LLMGenerator, ProblemVerifier, setup
    from runtime.search.rundir import RunDir

    program = _program(program)
    found = setup(program, problem)
    ir = found.problem
    spent = parse_budget(budget) if budget else Budget(ir.budget_seconds, ir.budget_candidates)
    if generator == "llm":
        from runtime.search.llm import LLMConfig

        if not llm or not llm.get("base_url") or not llm.get("model"):
            raise error("E532", "the llm generator needs --llm-url and --model",
                        help="e.g. --llm-url http://localhost:8000 --model qwen2.5-coder")
        settings = {k: v for k, v in llm.items() if k not in ("base_url", "model")}
        generate = LLMGenerator(found, LLMConfig(llm["base_url"], llm["model"], **settings))
    elif generator == "evolve":
        generate = EvolveGenerator(found)
    else:
        raise error("E533", f"unknown generator {generator!r}", help="generators: evolve, llm")
    meta = {"file": str(program.name), "problem": problem, "generator": generator}
    if seed is None and not resume:
        seed = 0
    if seed is not None:
        meta["seed"] = seed  # on resume, only what the user gave is checked against the run's settings
    with RunDir(out, resume=resume, meta=meta) as rundir:
        seed = rundir.meta.get("seed", 0) if seed is None else seed
        database = ProgramDatabase(direction=ir.direction, seed=seed)
        verify = ProblemVerifier(str(program.name), problem, seed)
        return run_search(generate, verify, database, rundir, spent, workers=workers, progress=progress,
                          seeds=(found.start_source,))


__all__ = ["Program", "verify", "search", "simulate", "run_sharded", "PlmrError", "load", "loads", "BACKENDS",
           "sample", "fit", "read_data"]
