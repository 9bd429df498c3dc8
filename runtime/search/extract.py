"""Find the program in a reply as an LLM writes it: bare source, or prose around fenced blocks,
possibly with `<think>` reasoning. Extraction never guesses silently: no code is a clear failure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsl.diagnostics import Diagnostic, PlmrError
from runtime.search.verdict import Verdict

DECLARATION_KEYWORDS = ("kernel", "mesh", "layout", "agent", "problem", "controller")

_REASONING_TAGS = "think|thinking|reasoning"
_BLOCK = re.compile(rf"<({_REASONING_TAGS})>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_OPEN = re.compile(rf"<(?:{_REASONING_TAGS})>", re.IGNORECASE)
_CLOSE = re.compile(rf"</(?:{_REASONING_TAGS})>", re.IGNORECASE)
_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_TAG = re.compile(r"[{.]?([\w+#-]*)")
_KEYWORD_START = re.compile(rf"^({'|'.join(DECLARATION_KEYWORDS)})\b")
_DECLARATION_LINE = re.compile(rf"^({'|'.join(DECLARATION_KEYWORDS)})\s+[A-Za-z_]\w*\b.*[({{]")


class NoCandidateError(PlmrError):
    """A reply that holds no program; `verdict` is the failing `extract` verdict for it."""

    def __init__(self, message: str, help: str, reason: str):
        super().__init__(Diagnostic("E501", message, None, (), help))
        self.reason = reason

    @property
    def verdict(self) -> Verdict:
        return Verdict.failed("extract", self.render(), {"reason": self.reason})


@dataclass(frozen=True, slots=True)
class _Block:
    """One fenced block: its info-string tag (lower case) and body."""

    tag: str
    body: str


def split_reasoning(text: str) -> tuple[str, str]:
    """(answer, reasoning): `<think>` blocks removed, including a missing opener (the chat template
    sent it) or a missing closer (the reply was cut off while reasoning)."""
    text = normalise_newlines(text)
    reasoning: list[str] = []
    close, first_open = _CLOSE.search(text), _OPEN.search(text)
    if close and (first_open is None or first_open.start() > close.start()):
        reasoning.append(text[: close.start()])
        text = text[close.end():]
    reasoning.extend(m.group(2) for m in _BLOCK.finditer(text))
    text = _BLOCK.sub("", text)
    dangling = _OPEN.search(text)
    if dangling:
        reasoning.append(text[dangling.end():])
        text = text[: dangling.start()]
    return text.strip(), "\n".join(r.strip() for r in reasoning if r.strip())


def normalise_newlines(text: str) -> str:
    """LF line endings and no byte-order mark."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def extract_candidate(reply: str, language: str = "plmr") -> str:
    """The program in `reply`: the last block tagged `language`, else the last fenced block, else the
    reply itself when it reads as bare source. Raises NoCandidateError (with `.verdict`) otherwise."""
    answer, _ = split_reasoning(reply)
    blocks = fenced_blocks(answer)
    if blocks:
        return _choose_block(blocks, language)
    bare = _bare_source(answer)
    if bare is None:
        raise NoCandidateError(
            "the reply holds no program: no fenced code block and no declaration",
            f"reply with one fenced ```{language} block holding the whole program",
            "no code")
    return bare


def fenced_blocks(text: str) -> list[_Block]:
    """Every ``` or ~~~ fenced block, in order; an unterminated fence runs to the end of the text."""
    lines = normalise_newlines(text).split("\n")
    blocks, i = [], 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = _closing_line(lines, i + 1, opening.group("fence"))
        tag = _TAG.match(opening.group("info").strip()).group(1).lower()
        blocks.append(_Block(tag, "\n".join(lines[i + 1:end]).strip("\n")))
        i = end + 1
    return blocks


def _closing_line(lines: list[str], start: int, fence: str) -> int:
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((j for j in range(start, len(lines)) if closing.match(lines[j])), len(lines))


def _choose_block(blocks: list[_Block], language: str) -> str:
    tagged = [b for b in blocks if b.tag == language.lower()]
    chosen = (tagged or blocks)[-1]
    if not chosen.body.strip():
        raise NoCandidateError(
            "the fenced code block in the reply is empty",
            f"put the whole program inside one fenced ```{language} block", "empty block")
    return chosen.body.strip("\n") + "\n"


def _bare_source(text: str) -> str | None:
    """The reply as source if it starts with a declaration; else the unfenced program after prose
    (from the first declaration line to the last closing brace), or None."""
    lines = text.split("\n")
    meaningful = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if meaningful and _KEYWORD_START.match(meaningful[0].lstrip()):
        return text.strip("\n") + "\n"
    start = next((i for i, ln in enumerate(lines) if _DECLARATION_LINE.match(ln)), None)
    if start is None:
        return None
    end = max((i for i in range(start, len(lines)) if lines[i].strip() == "}"), default=len(lines) - 1)
    return "\n".join(lines[start:end + 1]).strip("\n") + "\n"
