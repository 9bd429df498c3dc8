"""A checked `problem` turned into what the search loop needs: the starting program's source, a
picklable verifier for worker processes, a generator, and the score's direction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dsl import ast
from dsl.printer import print_module
from runtime.search.verdict import Verdict


@dataclass(frozen=True)
class Setup:
    """Everything a search needs to know about its problem."""

    file: str
    problem: object          # compiler.check_problem.ProblemIR
    start_source: str

    @property
    def direction(self) -> str:
        return self.problem.direction


def setup(program, name: str) -> Setup:
    """The search setup for problem `name` of a loaded Program."""
    from dsl.diagnostics import error

    problem = program.checked.problems.get(name)
    if problem is None:
        have = ", ".join(program.checked.problems) or "none"
        raise error("E530", f"{program.name} has no problem {name!r} (problems: {have})")
    return Setup(program.name, problem, start_source(program, problem))


def start_source(program, problem) -> str:
    """The canonical text of the problem's starting declaration (from the file, else the stdlib)."""
    for decl in program.module.decls:
        if decl.name.name == problem.start and not isinstance(decl, ast.Problem):
            return print_module(ast.Module((decl,)))
    from stdlib import kernel_files
    from dsl.parser import parse

    for path in kernel_files():
        for decl in parse(path.read_text(encoding="utf-8"), str(path)).decls:
            if decl.name.name == problem.start:
                return print_module(ast.Module((decl,)))
    raise LookupError(problem.start)


class ProblemVerifier:
    """verify(text) for a problem, picklable by its file and names; the program loads once per worker."""

    def __init__(self, file: str, problem: str, seed: int | None = None):
        self.file, self.problem_name, self.seed = file, problem, seed
        self._cache = None

    def __getstate__(self):
        return {"file": self.file, "problem_name": self.problem_name, "seed": self.seed, "_cache": None}

    def _loaded(self):
        if self._cache is None:
            from plmr.api import load, read_data

            program = load(self.file)
            problem = program.checked.problems[self.problem_name]
            data = None
            if problem.data is not None:
                data = read_data(Path(self.file).parent / problem.data)
            self._cache = (program, problem, data)
        return self._cache

    def __call__(self, text: str) -> Verdict:
        from runtime.verify import verify

        program, problem, data = self._loaded()
        target = problem.target[1:] if problem.target else None
        return verify(text, program, kind=problem.kind, name=problem.start, data=data, seed=self.seed,
                      shapes=dict(problem.shapes), target=target)


class EvolveGenerator:
    """The offline evolver: mutate (or cross) the examples the database hands out, print each child
    back to source. With no verified program yet, it mutates the starting program."""

    name = "evolve"

    def __init__(self, setup: Setup, batch: int = 4, crossover_rate: float = 0.15):
        self.setup, self.batch, self.crossover_rate = setup, batch, crossover_rate
        kind = setup.problem.kind
        if kind == "kernel":
            from dsl.diagnostics import error

            raise error("E531", "the offline evolver mutates layouts and agents; kernels need --generator llm",
                        help="use --generator llm for a kernel problem")
        if kind == "layout":
            from runtime.search import evolve_layout as operators
        else:
            from runtime.search import evolve_agent as operators
        self.operators = operators
        target = setup.problem.target
        self.target = target[1:] if target else None

    def __call__(self, examples, feedback, rng) -> list:
        from dsl.parser import parse
        from runtime.search.loop import Proposal

        sources = [e.source for e in examples] or [self.setup.start_source]
        decls = [parse(s).decls[0] for s in sources]
        proposals = []
        for _ in range(self.batch):
            child, how = self._child(decls, rng)
            if child is not None:
                proposals.append(Proposal(print_module(ast.Module((child,))), meta={"mutation": how}))
        return proposals

    def _child(self, decls, rng):
        parent = decls[int(rng.integers(len(decls)))]
        if len(decls) > 1 and rng.random() < self.crossover_rate:
            other = decls[int(rng.integers(len(decls)))]
            child = self.operators.crossover(parent, other, rng)
            if child is not None:
                return child, "crossover"
        kwargs = {"target": self.target} if self.setup.problem.kind == "layout" else {}
        steps = 1 + int(rng.random() < 0.3)
        how = []
        for _ in range(steps):
            out = self.operators.mutate(parent, rng, **kwargs)
            if out is None:
                break
            parent, name = out
            how.append(name)
        return (parent, "+".join(how)) if how else (None, "")


class LLMGenerator:
    """Ask an OpenAI-compatible chat endpoint for one improved program per step."""

    name = "llm"

    def __init__(self, setup: Setup, config):
        from runtime.search.llm import ChatClient

        self.setup, self.client = setup, ChatClient(config)

    def __call__(self, examples, feedback, rng) -> list:
        from runtime.search.loop import Proposal
        from runtime.search.prompts import build_prompt

        messages = build_prompt(self.setup.problem, self.setup.start_source, examples, feedback)
        completion = self.client.complete(messages)
        meta = {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
                "llm_seconds": completion.seconds}
        return [Proposal(completion.text, meta=meta)]
