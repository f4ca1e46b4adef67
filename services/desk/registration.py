"""The complaint registration form: the fields a clerk fills in, read into the intake's
submission contract; each contract error goes back under its field, in the person's
language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.common.contracts.complaint import Channel, ComplaintSubmission, CustomerSeverity
from services.common.rules import SiteRules
from services.desk.domain import Person
from services.desk.i18n import N_, Gettext

CHANNELS = {
    Channel.letter: N_("Letter"), Channel.fax: N_("Fax"), Channel.mail: N_("Mail"),
    Channel.email: N_("E-mail"), Channel.phone: N_("Phone"), Channel.visit: N_("Visit"),
    Channel.online_form: N_("Online form"), Channel.returned_goods: N_("Returned goods"),
    Channel.claim: N_("Claim"), Channel.other_system: N_("Another system"),
}  # fmt: skip
SEVERITIES = {CustomerSeverity.general: N_("General"), CustomerSeverity.serious: N_("Serious")}
# Form field -> where it goes in the submission (the contract's own error locations).
PLACES = {
    "customer_id": ("customer", "id"), "customer_name": ("customer", "name"),
    "contact_name": ("contact", "name"), "contact_phone": ("contact", "phone"),
    "product_model": ("products", 0, "model"), "product_spec": ("products", 0, "spec"),
    "quantity": ("products", 0, "quantity"), "order_number": ("products", 0, "order_number"),
    "ship_date": ("products", 0, "ship_date"),
    "serial_numbers": ("products", 0, "serial_numbers"),
    "lot_numbers": ("products", 0, "lot_numbers"),
    "defect_quantity": ("defect_quantity",), "impact_at_customer": ("impact_at_customer",),
    "customer_deadline": ("customer_deadline",), "received_at": ("received_at",),
}  # fmt: skip
ERRORS = {
    "missing": N_("Fill in this field."),
    "string_too_short": N_("Fill in this field."),
    "int_parsing": N_("Enter a whole number."),
    "greater_than_equal": N_("Enter a number of zero or more."),
    "enum": N_("Choose one of the offered values."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "datetime_parsing": N_("Enter a date and time."),
    "date_from_datetime_parsing": N_("Enter a date, for example 2026-03-01."),
    "date_parsing": N_("Enter a date, for example 2026-03-01."),
    "less_than_equal": N_("This number is too large."),
}


def register_form(
    rules: Mapping[str, SiteRules], typed: Mapping[str, str], errors: Mapping[str, str]
) -> dict[str, Any]:
    return {"channels": CHANNELS, "severities": SEVERITIES, "typed": typed, "errors": errors}


def _local(value: str, zone: str) -> datetime | str:
    """A datetime-local value, in the site's time zone."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        return value


def submission_of(
    posted: Mapping[str, str], rules: Mapping[str, SiteRules], person: Person, gettext: Gettext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The submission the form describes, or the error of each field."""
    value = {k: v.strip() for k, v in posted.items() if isinstance(v, str)}
    site = value.get("site", "")
    if site not in rules:
        return {}, {"site": gettext("Choose one of the offered values.")}
    zone = rules[site].site.timezone
    product: dict[str, Any] = {
        k: value[f] for k, f in (("model", "product_model"), ("spec", "product_spec"),
                                 ("quantity", "quantity"), ("order_number", "order_number"),
                                 ("ship_date", "ship_date"))
        if value.get(f)
    }  # fmt: skip
    for name in ("serial_numbers", "lot_numbers"):  # one a line, or separated by commas
        listed = [v.strip() for v in value.get(name, "").replace(",", "\n").splitlines()]
        if any(listed):
            product[name] = [v for v in listed if v]
    body: dict[str, Any] = {
        "site": site,
        "channel": value.get("channel", ""),
        "customer": {"id": value.get("customer_id", ""), "name": value.get("customer_name", "")},
        "contact": {k: value[f] for k, f in (("name", "contact_name"), ("phone", "contact_phone"))
                    if value.get(f)},
        "products": [product] if product else [],
        "description": value.get("description", ""),
        "phenomenon": value.get("phenomenon") or None,
        "customer_severity": value.get("customer_severity") or None,
        "defect_quantity": value.get("defect_quantity") or None,
        "impact_at_customer": value.get("impact_at_customer") or None,
        "customer_deadline": _local(value["customer_deadline"], zone)
        if value.get("customer_deadline") else None,
        "samples_requested": value.get("samples_requested") == "yes",
        "received_at": _local(value["received_at"], zone) if value.get("received_at")
        else datetime.now(UTC),
        "received_by": person.id,
        "source": "desk",
    }  # fmt: skip
    try:
        checked = ComplaintSubmission.model_validate(body)
    except ValidationError as exc:
        return {}, _errors(exc, gettext)
    return checked.model_dump(mode="json", exclude_none=True), {}


def _errors(exc: ValidationError, gettext: Gettext) -> dict[str, str]:
    return field_errors(exc.errors(), gettext)


def field_errors(errors: Iterable[Mapping[str, Any]], gettext: Gettext) -> dict[str, str]:
    """Each contract error (`loc`, `type`: pydantic's, also as intake answers them in a
    422) under the form field it belongs to, in the person's language."""
    by_place = {place: name for name, place in PLACES.items()}
    out: dict[str, str] = {}
    for error in errors:
        loc = tuple(p for p in error.get("loc", ()) if p != "body")
        # A list item's error (serial_numbers, 2) belongs to the list's field.
        name = by_place.get(loc) or by_place.get(loc[:-1]) or (str(loc[0]) if loc else "")
        message = ERRORS.get(str(error.get("type")), N_("This value is not valid here."))
        out.setdefault(name if name in FORM_FIELDS else "description", gettext(message))
    return out


# Every field the form has (an error elsewhere is shown at the description).
FORM_FIELDS = {*PLACES, "site", "channel", "description", "phenomenon", "customer_severity"}
