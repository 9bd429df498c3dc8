"""The verifier cascade: extract → parse → check → limits → compile → test → score.

It stops at the first stage that rejects a candidate and always returns a `Verdict` whose feedback
is plain language written for the next prompt. Every stage after `limits` runs under a time cap.
"""

from __future__ import annotations

from runtime.search.verdict import Verdict
from runtime.search.worker import verify_capped
from runtime.verify.candidate import front_stages, pick
from runtime.verify.limits import Limits

KINDS = ("kernel", "agent", "layout")


def verify(reply: str, reference, *, kind: str, name: str | None = None, data=None, limits: Limits | None = None,
           seed: int | None = None, trials: int = 25, restarts: int = 4, shapes: dict | None = None,
           target: tuple[int, int] | None = None) -> Verdict:
    """Verify candidate text against the declaration `name` of kind `kind` in `reference` (a Program).
    The candidate may use the reference file's other declarations (its kernels and meshes)."""
    limits = limits or Limits()
    context = tuple(d for d in reference.module.decls if not _same(d, kind, name))
    ref = _reference(reference, kind, name)  # a reference that is not there is bad usage, not a verdict

    def cascade(text: str) -> Verdict:
        candidate = front_stages(text, limits, context)
        if isinstance(candidate, Verdict):
            return candidate
        if kind == "kernel":
            verdict = _kernel(candidate, ref, limits, seed, trials)
        elif kind == "agent":
            verdict = _agent(candidate, reference, name, data, seed, restarts)
        else:
            verdict = _layout(candidate, ref, reference, seed, shapes, target)
        return candidate.noted(verdict)

    _load_backends(kind)
    return verify_capped(cascade, reply, limits.seconds)


def _load_backends(kind: str) -> None:
    """Import what the later stages need before the time cap starts: the import is plmr's cost, not
    the candidate's, and a cap that fired inside an import would leave the module half loaded."""
    if kind in ("kernel", "agent"):
        import jax  # noqa: F401

        import runtime.jax_backend  # noqa: F401
    if kind == "layout":
        import runtime.layouts  # noqa: F401


def _same(decl, kind: str, name: str | None) -> bool:
    """The reference declaration a candidate stands in for, and problems: left out of its context."""
    kind_of = type(decl).__name__.lower()
    return kind_of == "problem" or kind_of == kind and (name is None or decl.name.name == name)


def _reference(reference, kind: str, name: str | None):
    """The reference kernel or layout a candidate is verified against (agents need none)."""
    if kind == "kernel":
        return reference.kernel(name) if name else _only(reference.checked.kernels, "kernel")
    if kind == "layout":
        return reference.layout(name) if name else _only(reference.checked.layouts, "layout")
    return None


def _kernel(candidate, ref, limits, seed, trials) -> Verdict:
    from runtime.verify.kernel import KernelProblem, signature_problem, verify_kernel

    found, why = pick(candidate.own(candidate.checked.kernels), ref.name, "kernel")
    if found is None:
        return Verdict.failed("check", why)
    mismatch = signature_problem(found, ref)
    if mismatch:
        return Verdict.failed("check", mismatch)
    return verify_kernel(found, KernelProblem(ref, trials=trials), limits, seed)


def _agent(candidate, reference, name, data, seed, restarts) -> Verdict:
    from runtime.verify.agent import AgentProblem, verify_agent

    data = data if data is not None else _problem_data(reference, name)
    if data is None:
        return Verdict.failed("score", "verifying an agent needs behaviour data: pass --data DATA.csv")
    agents = candidate.own(candidate.checked.agents)
    found, why = pick(agents, None if len(agents) == 1 else name, "agent")
    if found is None:
        return Verdict.failed("check", why)
    return verify_agent(found, AgentProblem(data, restarts=restarts), seed)


def _layout(candidate, ref, reference, seed, shapes, target) -> Verdict:
    from runtime.verify.layout import LayoutProblem, verify_layout

    layouts = candidate.own(candidate.checked.layouts)
    found, why = pick(layouts, None if len(layouts) == 1 else ref.name, "layout")
    if found is None:
        return Verdict.failed("check", why)
    if found.kernel != ref.kernel:
        return Verdict.failed("check", f"the candidate lays out kernel {found.kernel.name}; the problem is "
                              f"about {ref.kernel.name} as the reference defines it")
    shapes, target = _problem_defaults(reference, ref.name, shapes, target)
    if not shapes:
        return Verdict.failed("limits", "verifying a layout needs the kernel's sizes: pass --shapes M=1024,…")
    return verify_layout(found, LayoutProblem(dict(shapes), target=target or ref.grid,
                                              reference_cycles=_cycles(ref, shapes)), seed)


def _problem_defaults(reference, start: str, shapes, target) -> tuple[dict, tuple[int, int] | None]:
    """Sizes and target sub-mesh not given: those of the reference file's problem starting from `start`
    (so a candidate may use the problem's 32 x 32 target, not only the 8 x 8 of its starting layout)."""
    problem = next((p for p in reference.checked.problems.values() if p.start == start), None)
    if problem is None:
        return dict(shapes or {}), target
    if target is None and problem.target:
        target = problem.target[1:]
    return dict(shapes or problem.shapes), target


def _problem_data(reference, agent: str | None):
    """No data given: the behaviour of the reference file's agent problem starting from `agent`, if any."""
    from pathlib import Path

    from runtime.agents.readers import read_behaviour

    problem = next((p for p in reference.checked.problems.values() if p.data and p.start == agent), None)
    return read_behaviour(Path(reference.name).parent / problem.data) if problem else None


def _cycles(layout, shapes) -> float | None:
    """The reference layout's simulated cycles, for the feedback's comparison."""
    from dsl.diagnostics import PlmrError
    from runtime.layouts import simulate_layout

    try:
        return float(simulate_layout(layout, dict(shapes)).to_dict()["cycles"])
    except PlmrError:
        return None


def _only(found: dict, kind: str):
    from dsl.diagnostics import error

    if len(found) != 1:
        raise error("E510", f"the reference defines {len(found)} {kind}s; name the one to verify against",
                    help=f"pass --{kind} NAME")
    return next(iter(found.values()))
