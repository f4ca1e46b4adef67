"""Complaint submissions for tests, as the intake API receives them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def complaint(site: str = "sz", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site": site,
        "channel": "email",
        "customer": {"id": "C-100", "name": "Acme Auto Parts"},
        "contact": {
            "name": "Li Lei",
            "gender": "male",
            "phone": "+86 138 0013 8000",
            "email": "li.lei@acme.example",
            "department": "SQE",
            "position": "engineer",
        },
        "products": [
            {
                "spec": "M6x20",
                "model": "BX-200",
                "quantity": 10000,
                "lot_numbers": ["L2026-11"],
                "order_number": "PO-77",
                "ship_date": "2026-11-01",
            }
        ],
        "description": "Cracked housings found at incoming inspection",
        "defect_quantity": 120,
        "impact_at_customer": "line stop 2 hours",
        "samples_requested": True,
        "external_ref": f"CRM-{uuid.uuid4().hex[:8]}",
        "received_at": datetime.now(UTC).isoformat(),
        "received_by": "Wang Fang",
        "received_department": "sales",
    }
    body.update(overrides)
    return body
