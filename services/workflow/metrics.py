"""The workflow's business metrics (one module, explicit registry, low-cardinality labels).

Rates are left to PromQL where counters suffice: on-time rate =
`rate(qloop_workflow_cases_closed_total{on_time="true"}) / rate(..._closed_total)`.
Gauges that describe the whole store (open cases by stage, repeat rate) are refreshed from
the database by the scheduler, so they are right after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DAY = 86400.0


@dataclass(frozen=True)
class WorkflowMetrics:
    opened: Counter
    transitions: Counter
    closed: Counter
    open_by_stage: Gauge
    repeat_rate: Gauge
    stage_seconds: Histogram
    deadlines_missed: Counter
    deadlines_approaching: Counter
    escalations: Counter
    scheduler_delay_seconds: Histogram
    refused: Counter
    provisional: Gauge
    deadline_changes: Counter
    attachments: Counter
    attachment_bytes: Counter


def workflow_metrics(registry: CollectorRegistry) -> WorkflowMetrics:
    return WorkflowMetrics(
        opened=Counter(
            "qloop_workflow_cases_opened_total",
            "Cases opened, by origin and whether the complaint repeats a closed case.",
            ["site", "origin", "repeat"],
            registry=registry,
        ),
        transitions=Counter(
            "qloop_workflow_transitions_total",
            "Stage changes, by target stage.",
            ["site", "to_stage"],
            registry=registry,
        ),
        closed=Counter(
            "qloop_workflow_cases_closed_total",
            "Cases closed, by outcome and whether every stage deadline was met.",
            ["site", "outcome", "on_time"],
            registry=registry,
        ),
        open_by_stage=Gauge(
            "qloop_workflow_open_cases",
            "Open cases by stage (from the database).",
            ["site", "stage"],
            registry=registry,
        ),
        repeat_rate=Gauge(
            "qloop_workflow_repeat_rate",
            "Share of complaint cases that repeat a closed case (from the database).",
            ["site"],
            registry=registry,
        ),
        stage_seconds=Histogram(
            "qloop_workflow_stage_duration_seconds",
            "Time a case spent in a stage, observed when it leaves.",
            ["site", "stage"],
            registry=registry,
            buckets=(
                60,
                600,
                3600,
                4 * 3600,
                DAY / 2,
                DAY,
                2 * DAY,
                3 * DAY,
                7 * DAY,
                14 * DAY,
                30 * DAY,
            ),
        ),
        deadlines_missed=Counter(
            "qloop_workflow_deadlines_missed_total",
            "Stage deadlines missed.",
            ["site", "stage"],
            registry=registry,
        ),
        deadlines_approaching=Counter(
            "qloop_workflow_deadlines_approaching_total",
            "Stage deadlines announced as near.",
            ["site", "stage"],
            registry=registry,
        ),
        escalations=Counter(
            "qloop_workflow_escalations_total",
            "Escalations, by reason.",
            ["site", "reason"],
            registry=registry,
        ),
        scheduler_delay_seconds=Histogram(
            "qloop_workflow_deadline_delay_seconds",
            "From a deadline's firing time to its events being stored.",
            registry=registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
        ),
        refused=Counter(
            "qloop_workflow_commands_refused_total",
            "Commands refused, by reason code.",
            ["site", "code"],
            registry=registry,
        ),
        provisional=Gauge(
            "qloop_workflow_provisional_deadlines",
            "Open cases whose current due time is provisional: counted through a year whose "
            "official working-day calendar is not published yet.",
            ["site"],
            registry=registry,
        ),
        deadline_changes=Counter(
            "qloop_workflow_deadline_changes_total",
            "Provisional due times computed again on a changed calendar, by whether the due "
            "time moved (moved: announced and rescheduled; confirmed: only the mark went).",
            ["site", "result"],
            registry=registry,
        ),
        attachments=Counter(
            "qloop_workflow_attachments_total",
            "Files uploaded, by outcome: stored, or the refusal's code (too_large, "
            "type_not_allowed, type_mismatch, unreadable).",
            ["site", "outcome"],
            registry=registry,
        ),
        attachment_bytes=Counter(
            "qloop_workflow_attachment_bytes_total",
            "Bytes of the files stored (thumbnails not counted).",
            ["site"],
            registry=registry,
        ),
    )
