"""Source spans, diagnostics as values, and the one renderer that shows them to users.

A `Span` holds its `Source`, so a diagnostic renders with nothing attached later. Checkers append
`Diagnostic`s and carry on; at the end they raise one `PlmrError` holding all of them in source
order. A broken invariant inside plmr itself is an `InternalError`: it says it is a plmr bug.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    """The text of one input and the name it is shown under (a path, or "<string>")."""

    name: str
    text: str

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = _line_starts(self.text)
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""


@functools.lru_cache(maxsize=32)
def _line_starts(text: str) -> list[int]:
    """Offsets where lines begin (cached: str hashes are cached, so lookups are cheap)."""
    return [0] + [m.end() for m in re.finditer("\n", text)]


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range [start, end) of a source."""

    source: Source = field(repr=False)
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.source.position(self.start)[0]

    @property
    def col(self) -> int:
        return self.source.position(self.start)[1]

    @property
    def end_line(self) -> int:
        return self.source.position(max(self.start, self.end - 1))[0]

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.source, self.start, max(self.end, other.end))

    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def location(self) -> str:
        return f"{self.source.name}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary message, optionally pointing at another place in the source."""

    message: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One user-facing error (or warning): a stable code, plain words, where, and how to fix it."""

    code: str
    message: str
    span: Span | None
    notes: tuple[Note, ...] = ()
    help: str | None = None
    severity: str = "error"      # or "warning": the program is legal but likely not what was meant

    def render(self) -> str:
        head = f"{self.severity}[{self.code}]: {self.message}"
        if self.span is None:
            lines = [head]
        else:
            lines = [f"{self.span.location()}: {head}", *_excerpt(self.span)]
        for note in self.notes:
            if note.span is None:
                lines.append(f"  = note: {note.message}")
            else:
                lines.append(f"  = note: {note.message} ({note.span.location()})")
                lines.extend(_excerpt(note.span))
        if self.help:
            lines.append(f"  = help: {self.help}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {"severity": self.severity, "code": self.code, "message": self.message, "help": self.help}
        if self.span is not None:
            out.update(file=self.span.source.name, line=self.span.line, col=self.span.col)
        out["notes"] = [n.message for n in self.notes]
        return out


def _excerpt(span: Span) -> list[str]:
    """The source line(s) of a span with a gutter and carets under the span."""
    line, col = span.line, span.col
    text = span.source.line_text(line)
    last = span.end_line
    width = max(1, (len(text) - col + 1) if last > line else span.end - span.start)
    gutter = " " * len(str(line))
    carets = " " * (col - 1) + "^" * min(width, max(1, len(text) - col + 1))
    more = " ..." if last > line else ""
    return [f"{gutter} |", f"{line} | {text}", f"{gutter} | {carets}{more}"]


class PlmrError(Exception):
    """A user error: one or more diagnostics, rendered by str()."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = sorted(diagnostics, key=_source_order)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)

    def to_json(self) -> str:
        return json.dumps([d.to_dict() for d in self.diagnostics], indent=2)


def _source_order(d: Diagnostic) -> tuple:
    if d.span is None:
        return ("", 0)
    return (d.span.source.name, d.span.start)


def error(code: str, message: str, span: Span | None = None, *, help: str | None = None,
          notes: tuple[Note, ...] = ()) -> PlmrError:
    """A PlmrError holding one diagnostic, ready to raise."""
    return PlmrError(Diagnostic(code, message, span, notes, help))


class InternalError(Exception):
    """A broken invariant inside plmr: a bug to report, never the user's fault."""

    def __init__(self, where: str, message: str):
        super().__init__(f"internal error in {where}: {message} (this is a plmr bug; please report it)")


class Diagnostics:
    """A list that checkers append to; `raise_if_any` ends a phase that found errors."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, span: Span | None, *, help: str | None = None,
            notes: tuple[Note, ...] = ()) -> None:
        self.items.append(Diagnostic(code, message, span, notes, help))

    def raise_if_any(self) -> None:
        if self.items:
            raise PlmrError(self.items)
