"""The first stages every candidate goes through: extract, parse, check, limits."""

from __future__ import annotations

from dataclasses import dataclass, replace

from compiler.check import CheckedModule, check_module
from dsl import ast
from dsl.diagnostics import PlmrError
from dsl.parser import parse
from runtime.search.extract import NoCandidateError, extract_candidate
from runtime.search.verdict import Verdict
from runtime.search.worker import enter_stage
from runtime.verify.limits import Limits, source_problems


@dataclass(frozen=True)
class Candidate:
    """A candidate that has passed extract, parse, check and the source limits."""

    source: str
    module: ast.Module
    checked: CheckedModule

    def own(self, found: dict) -> dict:
        """Those of `found` (checked declarations by name) that the candidate itself declares."""
        names = {d.name.name for d in self.module.decls}
        return {name: value for name, value in found.items() if name in names}

    def noted(self, verdict: Verdict) -> Verdict:
        """The verdict with the checker's warnings about the candidate's own declarations appended to
        its feedback (an unused parameter is worth telling the next prompt about, pass or fail)."""
        source = self.module.decls[0].span.source if self.module.decls else None
        warnings = [w for w in self.checked.warnings if w.span is not None and w.span.source is source]
        if not warnings:
            return verdict
        text = "\n\n".join(w.render() for w in warnings)
        return replace(verdict, feedback=f"{verdict.feedback}\n\n{text}".strip(),
                       details={**verdict.details, "warnings": [w.to_dict() for w in warnings]})


def front_stages(reply: str, limits: Limits, context: tuple = ()) -> Candidate | Verdict:
    """The candidate, or the failing verdict of the first stage that rejects it. `context` holds
    declarations the candidate may use (the problem file's kernels, say); the candidate's own
    declarations replace any of the same name."""
    enter_stage("extract")
    try:
        source = extract_candidate(reply)
    except NoCandidateError as err:
        return err.verdict
    if len(source) > limits.source_chars:  # refuse before parsing, not only after
        return Verdict.failed("limits", f"the source is {len(source):,} characters; the cap is "
                              f"{limits.source_chars:,}. Write a shorter program.")
    enter_stage("parse")
    try:
        module = parse(source, "candidate.plmr")
    except PlmrError as err:
        return Verdict.from_error("parse", err)
    enter_stage("check")
    own = {d.name.name for d in module.decls}
    try:
        checked = check_module(ast.Module(tuple(d for d in context if d.name.name not in own) + module.decls))
    except PlmrError as err:
        return Verdict.from_error("check", err)
    enter_stage("limits")
    problems = source_problems(source, module, limits)
    if problems:
        return Verdict.failed("limits", "the candidate exceeds the resource limits: " + "; ".join(problems),
                              {"problems": problems})
    return Candidate(source, module, checked)


def pick(found: dict, name: str | None, kind: str) -> tuple[object | None, str]:
    """The declaration `name` of a kind, or the only one; else None and the feedback to give."""
    if name is not None and name in found:
        return found[name], ""
    if name is None and len(found) == 1:
        return next(iter(found.values())), ""
    have = ", ".join(found) or "none"
    article = "an" if kind[0] in "aeiou" else "a"
    want = f"{article} {kind} named {name}" if name else f"exactly one {kind}"
    return None, f"the candidate must define {want}; it defines: {have}"
