"""Errors raised while loading rule files or computing with them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleError:
    """One problem in a rule file, located at FILE:LINE:COLUMN (1-based)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class RuleFileErrors(Exception):
    """Raised by ``load_rules``: every problem found in the file, in file order."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line, e.column, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


class CalendarCoverageError(ValueError):
    """A computation needed a year the site's working-day calendar does not cover.

    No longer raised by the calendar (uncovered years are computed and marked provisional);
    kept so callers written against it still import."""


class DurationError(ValueError):
    """A duration text is not one of "N minutes|hours|days|working days"."""
