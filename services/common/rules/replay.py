"""What would change if past complaints were handled under other rules (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules.engine import classify, stage_deadlines
from services.common.rules.schema import SiteRules
from services.common.rules.schema_complaints import Classification

COMPARED = ("nature", "kind", "category", "severity", "owner_department", "copy_to")


@dataclass(frozen=True)
class Decision:
    classification: Classification
    deadlines: dict[str, datetime]

    def as_dict(self) -> dict[str, Any]:
        out = {name: _plain(getattr(self.classification, name)) for name in COMPARED}
        out["deadlines"] = {stage: iso_utc(due) for stage, due in self.deadlines.items()}
        return out


def decide(
    rules: SiteRules, complaint: ComplaintSubmission, registered_at: datetime | None = None
) -> Decision:
    """Classification and stage deadlines, counting from receipt and registration."""
    classification = classify(rules, complaint)
    events = {
        "received": complaint.received_at,
        "registered": registered_at or complaint.received_at,
    }
    deadlines = stage_deadlines(
        rules, classification, events, customer_deadline=complaint.customer_deadline
    )
    return Decision(classification, deadlines)


def differences(old: Decision, new: Decision) -> dict[str, tuple[Any, Any]]:
    """Field -> (old, new) for everything decided differently (deadlines per stage)."""
    before, after = old.as_dict(), new.as_dict()
    changes: dict[str, tuple[Any, Any]] = {}
    for name in COMPARED:
        if before[name] != after[name]:
            changes[name] = (before[name], after[name])
    stages = dict.fromkeys([*before["deadlines"], *after["deadlines"]])
    for stage in stages:
        was, now = before["deadlines"].get(stage), after["deadlines"].get(stage)
        if was != now:
            changes[f"deadline.{stage}"] = (was, now)
    return changes


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix: 2025-01-27T02:00:00Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return None if value is None else str(value)
