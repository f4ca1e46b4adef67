"""Who is surveyed in a campaign, and why (each verdict names its reasons)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.rules.schema_survey import Eligibility


@dataclass(frozen=True)
class CustomerActivity:
    """Business with a customer in a campaign's period."""

    customer_id: str
    customer_name: str
    quantity: int
    deliveries: int


@dataclass(frozen=True)
class CustomerProfile:
    """What marketing and sales record about a customer."""

    customer_id: str
    customer_name: str
    new_product: bool = False
    customer_owned_mould: bool = False
    prospect: bool = False


@dataclass(frozen=True)
class Verdict:
    customer_id: str
    customer_name: str
    eligible: bool
    reasons: tuple[str, ...]


def _volume(rule: Eligibility, activity: CustomerActivity | None) -> tuple[bool, str] | None:
    """Whether the volume thresholds hold, with the figures; None when the rule has none."""
    tests = []
    quantity = activity.quantity if activity else 0
    deliveries = activity.deliveries if activity else 0
    if rule.min_quantity is not None:
        ok = quantity >= rule.min_quantity
        tests.append((ok, f"quantity {quantity:,} {'>=' if ok else '<'} {rule.min_quantity:,}"))
    if rule.min_deliveries is not None:
        ok = deliveries >= rule.min_deliveries
        sign = ">=" if ok else "<"
        tests.append((ok, f"{deliveries} deliveries {sign} {rule.min_deliveries}"))
    if not tests:
        return None
    passed = all(t[0] for t in tests) if rule.combine == "all" else any(t[0] for t in tests)
    joiner = " and " if rule.combine == "all" else " or "
    return passed, joiner.join(t[1] for t in tests)


def assess(
    rule: Eligibility,
    activity: Mapping[str, CustomerActivity],
    profiles: Mapping[str, CustomerProfile],
) -> list[Verdict]:
    """A verdict for every customer with activity in the period or a profile, by id."""
    verdicts = []
    for customer_id in sorted(set(activity) | set(profiles)):
        business, profile = activity.get(customer_id), profiles.get(customer_id)
        name = (business or profile).customer_name  # type: ignore[union-attr]
        reasons: list[str] = []
        missing: list[str] = []
        if rule.everyone:
            reasons.append("every customer is surveyed")
        volume = _volume(rule, business)
        if volume is not None:
            (reasons if volume[0] else missing).append(volume[1])
        flags = (
            (rule.new_products, profile and profile.new_product, "customer of a new product"),
            (
                rule.customer_owned_moulds,
                profile and profile.customer_owned_mould,
                "customer-owned mould",
            ),
            (rule.named_prospects, profile and profile.prospect, "prospect named by marketing"),
        )
        reasons += [text for wanted, holds, text in flags if wanted and holds]
        verdicts.append(
            Verdict(customer_id, name, bool(reasons), tuple(reasons or missing or ["no criterion"]))
        )
    return verdicts
