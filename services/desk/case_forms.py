"""The case page's two forms beside the stage's actions: extending the current stage's due
time with the customer's recorded consent, and recording how returned goods or a claim
were handled. Each is read into the workflow's request body, its errors under their
fields in the person's language; the workflow decides (who may, the site's extension
policy) and its refusal is said in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.common.rules import SiteRules
from services.desk.forms import CASE_OWNER, identities
from services.desk.i18n import N_, Gettext

DISPOSITIONS = {"rework": N_("Rework"), "concession": N_("Concession"), "scrap": N_("Scrap")}
CONSENT_CHANNELS = {
    "phone": N_("Phone"), "email": N_("E-mail"), "visit": N_("Visit"), "letter": N_("Letter"),
}  # fmt: skip
# What the workflow answers, said in words (its code: our text).
REFUSED = {
    "consent_required": N_("Record who at the customer agreed, when and how."),
    "extension_refused": N_("The site's rules allow no such extension (how often, how far)."),
    "not_allowed": N_("Your roles do not allow this at this stage."),
    "closed": N_("The case is closed."),
    "invalid_fields": N_("This value is not valid here."),
}


def acts_here(rules: SiteRules, case: Mapping[str, Any], roles: Iterable[str]) -> bool:
    """Whether the person acts at the case's current stage (as the workflow checks)."""
    if case.get("terminal"):
        return False
    actors = set(rules.stage(case["stage"]).actors)
    mine = identities(rules, roles)
    return bool(mine & actors) or (CASE_OWNER in actors and case["owner_department"] in mine)


def _moment(value: str, zone: str, say: Gettext) -> str:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone)).isoformat()
    except ValueError:
        raise ValueError(say("Enter a date and time.")) from None


def extension_body(
    posted: Mapping[str, str], zone: str, say: Gettext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The workflow's extension request, or the error of each field (`ext-` ids)."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name, field in (("new_due", "ext-new_due"), ("given_at", "ext-given_at")):
        value = posted.get(field, "").strip()
        if not value:
            if name == "new_due":
                errors[field] = say("Fill in this field.")
            continue
        try:
            body[name] = _moment(value, zone, say)
        except ValueError as exc:
            errors[field] = str(exc)
    given_by = posted.get("ext-given_by", "").strip()
    if given_by or body.get("given_at"):
        if not given_by:
            errors["ext-given_by"] = say("Fill in this field.")
        if "given_at" not in body and "ext-given_at" not in errors:
            errors["ext-given_at"] = say("Fill in this field.")
        channel = posted.get("ext-channel", "")
        if channel not in CONSENT_CHANNELS:
            errors["ext-channel"] = say("Choose one of the offered values.")
        body["consent"] = {
            "given_by": given_by, "given_at": body.pop("given_at", None), "channel": channel,
            "reference": posted.get("ext-reference", "").strip() or None,
        }  # fmt: skip
    if posted.get("ext-reason", "").strip():
        body["reason"] = posted["ext-reason"].strip()
    return body, errors


def disposition_body(
    posted: Mapping[str, str], say: Gettext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The workflow's disposition request, or the error of each field (`disp-` ids)."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    disposition = posted.get("disp-disposition", "")
    if disposition not in DISPOSITIONS:
        errors["disp-disposition"] = say("Choose one of the offered values.")
    body["disposition"] = disposition
    quantity = posted.get("disp-quantity", "").strip()
    if not quantity.isdigit():
        errors["disp-quantity"] = say("Enter a whole number.")
    else:
        body["quantity"] = int(quantity)
    reinspection = posted.get("disp-reinspection", "")
    if reinspection:
        if disposition != "rework":
            errors["disp-reinspection"] = say("Re-inspection applies to reworked parts only.")
        body["reinspection"] = reinspection
    for name in ("claimed_amount", "agreed_compensation"):
        value = posted.get(f"disp-{name}", "").strip()
        if value:
            try:
                body[name] = float(value)
                if body[name] < 0:
                    raise ValueError
            except ValueError:
                errors[f"disp-{name}"] = say("Enter a number of zero or more.")
    currency = posted.get("disp-currency", "").strip().upper()
    if currency:
        if len(currency) != 3 or not currency.isalpha():
            errors["disp-currency"] = say("Enter a currency code such as CNY.")
        body["currency"] = currency
    if posted.get("disp-note", "").strip():
        body["note"] = posted["disp-note"].strip()
    return body, errors
