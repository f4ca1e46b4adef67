"""Test data builders for the rules tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.contracts.complaint import ComplaintSubmission


def complaint(**overrides: Any) -> ComplaintSubmission:
    fields: dict[str, Any] = {
        "site": "sz",
        "channel": "email",
        "customer": {"id": "C001", "name": "Acme Auto"},
        "description": "Some parts look different",
        "received_at": datetime.fromisoformat("2025-03-04T10:00:00+08:00"),
    }
    fields.update(overrides)
    return ComplaintSubmission.model_validate(fields)
