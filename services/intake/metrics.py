"""Intake's business metrics (one module, explicit registry, low-cardinality labels)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class IntakeMetrics:
    received: Counter
    registered: Counter
    rejected: Counter
    duplicates: Counter
    registration_seconds: Histogram
    registered_late: Counter


def intake_metrics(registry: CollectorRegistry) -> IntakeMetrics:
    return IntakeMetrics(
        received=Counter(
            "qloop_intake_complaints_received_total",
            "Submissions received (before validation against the rules).",
            ["site", "channel"],
            registry=registry,
        ),
        registered=Counter(
            "qloop_intake_complaints_registered_total",
            "Complaints registered under a number.",
            ["site", "channel", "nature", "category"],
            registry=registry,
        ),
        rejected=Counter(
            "qloop_intake_complaints_rejected_total",
            "Submissions refused, by reason.",
            ["site", "reason"],
            registry=registry,
        ),
        duplicates=Counter(
            "qloop_intake_complaints_duplicate_total",
            "Resubmissions answered with the existing registration.",
            ["site"],
            registry=registry,
        ),
        registration_seconds=Histogram(
            "qloop_intake_registration_latency_seconds",
            "From receipt (by any department) to registration.",
            ["site"],
            registry=registry,
            buckets=(1, 10, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400),
        ),
        registered_late=Counter(
            "qloop_intake_registered_late_total",
            "Registrations after the rule's registration deadline.",
            ["site"],
            registry=registry,
        ),
    )
