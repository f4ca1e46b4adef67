"""What a command decided: the new case and the facts to announce."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.contracts.envelope import Contract
from services.workflow.domain.case import Case


@dataclass
class Decision:
    case: Case
    facts: list[Contract] = field(default_factory=list)

    @property
    def reschedule(self) -> bool:
        """The scheduled deadlines of the case must be planned again."""
        return True
