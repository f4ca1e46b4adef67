"""Database commands as Prometheus metrics: how many, of which kind, on which collection,
and how long the server took. The cheapest way to see what a service asks of the database
(a scan shows up as a `find` whose time grows with the collection), and what `bench/`
reads to report database commands per complaint."""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from pymongo import monitoring

# reporting's per-site, per-month collections (`buckets_sz_2025_06`) count as one label.
_MONTHLY = re.compile(r"^([a-z]+)_.+_\d{4}_\d{2}$")
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


def collection_label(name: object) -> str:
    if not isinstance(name, str):
        return ""
    match = _MONTHLY.match(name)
    return f"{match.group(1)}_<site>_<month>" if match else name


class CommandMetrics(monitoring.CommandListener):
    """PyMongo listener: `qloop_db_command_seconds{command, collection}`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = Histogram(
            "qloop_db_command_seconds",
            "Database commands by kind and collection, with the time the server took.",
            ["command", "collection"],
            registry=registry,
            buckets=_BUCKETS,
        )
        self._started: dict[tuple[Any, int], tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        collection = collection_label(event.command.get(name))
        self._started[(event.connection_id, event.request_id)] = (name, collection)

    def _finish(self, event: Any) -> None:
        labels = self._started.pop((event.connection_id, event.request_id), None)
        if labels is not None:
            self.seconds.labels(*labels).observe(event.duration_micros / 1e6)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finish(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finish(event)
