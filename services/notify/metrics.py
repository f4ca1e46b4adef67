"""The notify service's business metrics (explicit registry, low-cardinality labels)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class NotifyMetrics:
    notifications: Counter
    queue_depth: Gauge
    send_seconds: Histogram


def notify_metrics(registry: CollectorRegistry) -> NotifyMetrics:
    return NotifyMetrics(
        notifications=Counter(
            "qloop_notifications_total",
            "Notifications by outcome: stored, duplicate, sent, retry, failed, unaddressed, "
            "muted (no channel chosen), held (a digest missed it: the next one), digested "
            "(sent in a daily digest), resent (sent again after a send cut off by a crash).",
            ["site", "channel", "outcome"],
            registry=registry,
        ),
        queue_depth=Gauge(
            "qloop_notifications_queue_depth",
            "Notifications stored and not yet sent or failed for good.",
            registry=registry,
        ),
        send_seconds=Histogram(
            "qloop_notification_send_seconds",
            "Time one send took (connect to accepted), by channel.",
            ["channel"],
            registry=registry,
        ),
    )
