"""Language-independent search machinery: verdicts, candidate extraction, an OpenAI-compatible client,
a FunSearch-style program database, a crash-safe run directory, and the generate → verify loop.

The language-specific parts (the verifier cascade, the `evolve` and `llm` generators) plug in as the
`generate` and `verify` callbacks of `run_search`.
"""

from runtime.search.budget import Budget, parse_budget
from runtime.search.database import Program, ProgramDatabase
from runtime.search.extract import NoCandidateError, extract_candidate, split_reasoning
from runtime.search.llm import ChatClient, Completion, LLMConfig
from runtime.search.loop import Failure, Proposal, SearchResult, run_search
from runtime.search.rundir import CandidateRecord, RunDir, source_hash
from runtime.search.verdict import STAGES, Verdict
from runtime.search.worker import enter_stage

__all__ = [
    "STAGES", "Budget", "CandidateRecord", "ChatClient", "Completion", "Failure", "LLMConfig",
    "NoCandidateError", "Program", "ProgramDatabase", "Proposal", "RunDir", "SearchResult", "Verdict",
    "enter_stage", "extract_candidate", "parse_budget", "run_search", "source_hash", "split_reasoning",
]
