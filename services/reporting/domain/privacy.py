"""Contact details inside the events reporting keeps (its event store holds the wire form
of every event, to rebuild the read models): which events carry them, and how to blank
them so the event still parses and a rebuild still gives the same figures."""

from __future__ import annotations

from typing import Any

COMPLAINT_EVENTS = ("complaint.submitted", "complaint.registered")
CONTACT_EVENTS = (*COMPLAINT_EVENTS, "survey.dispatched")
DISPATCH_CONTACT = ("contact_name", "contact_email")


def _filled(values: dict[str, Any]) -> bool:
    return any(v not in (None, "") for v in values.values())


def contact_in(event: dict[str, Any], customer_id: str) -> dict[str, Any] | None:
    """The contact details `event` (a parsed wire form) holds about the customer, if any."""
    data = event.get("data") or {}
    if event.get("type") in COMPLAINT_EVENTS:
        complaint = data.get("complaint") or {}
        contact = complaint.get("contact") or {}
        mine = (complaint.get("customer") or {}).get("id") == customer_id
        return dict(contact) if mine and _filled(contact) else None
    if event.get("type") == "survey.dispatched" and data.get("customer_id") == customer_id:
        contact = {k: data.get(k) for k in DISPATCH_CONTACT}
        return contact if _filled(contact) else None
    return None


def erase_contact(event: dict[str, Any], customer_id: str) -> bool:
    """Blank the customer's contact details in `event` in place; True if it held any."""
    if contact_in(event, customer_id) is None:
        return False
    data = event["data"]
    if event["type"] in COMPLAINT_EVENTS:
        contact = data["complaint"]["contact"]
        data["complaint"]["contact"] = dict.fromkeys(contact)
    else:
        data.update(dict.fromkeys(DISPATCH_CONTACT))
    return True


def complaint_products(event: dict[str, Any]) -> list[str]:
    """Product models (or specs) a complaint event names: its retention depends on them."""
    if event.get("type") not in COMPLAINT_EVENTS:
        return []
    products = ((event.get("data") or {}).get("complaint") or {}).get("products") or []
    return [p.get("model") or p.get("spec") or "" for p in products]
