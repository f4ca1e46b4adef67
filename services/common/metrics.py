"""Metrics every service shares, on an explicit registry (never the global one)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class KernelMetrics:
    registry: CollectorRegistry
    events_consumed: Counter
    events_duplicate: Counter
    events_dead_lettered: Counter
    consume_retries: Counter
    handle_seconds: Histogram
    outbox_published: Counter
    outbox_pending: Gauge
    outbox_lag_seconds: Histogram


def kernel_metrics(registry: CollectorRegistry | None = None) -> KernelMetrics:
    registry = registry or CollectorRegistry()
    return KernelMetrics(
        registry=registry,
        events_consumed=Counter(
            "qloop_events_consumed_total",
            "Events whose effect was stored.",
            ["queue", "event_type"],
            registry=registry,
        ),
        events_duplicate=Counter(
            "qloop_events_duplicate_total",
            "Redelivered events that had no second effect.",
            ["queue", "event_type"],
            registry=registry,
        ),
        events_dead_lettered=Counter(
            "qloop_events_dead_lettered_total",
            "Messages sent to the dead-letter queue.",
            ["queue", "reason"],
            registry=registry,
        ),
        consume_retries=Counter(
            "qloop_consume_retries_total",
            "Handler attempts retried after a transient error.",
            ["queue"],
            registry=registry,
        ),
        handle_seconds=Histogram(
            "qloop_event_handle_seconds",
            "Time to handle one event, storage included.",
            ["queue"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        ),
        outbox_published=Counter(
            "qloop_outbox_published_total",
            "Outbox entries published with a broker confirm.",
            ["event_type"],
            registry=registry,
        ),
        outbox_pending=Gauge(
            "qloop_outbox_pending",
            "Outbox entries found waiting at the last relay pass, plus on FerretDB those "
            "of kicked or marked documents not relayed yet.",
            registry=registry,
        ),
        outbox_lag_seconds=Histogram(
            "qloop_outbox_lag_seconds",
            "From the event's time to its confirmed publication.",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        ),
    )
