"""RabbitMQ's management API, for test clean-up (each call bounded by a timeout)."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request


def _request(management_url: str, path: str, method: str = "GET") -> urllib.request.Request:
    parts = urllib.parse.urlsplit(management_url)
    request = urllib.request.Request(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{path}", method=method
    )
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    return request


def queue_names(management_url: str) -> list[str]:
    request = _request(management_url, "/api/queues?columns=name")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return [q["name"] for q in json.loads(reply.read())]


def delete_queues(management_url: str, prefix: str) -> int:
    deleted = 0
    for name in queue_names(management_url):
        if name.startswith(prefix):
            quoted = urllib.parse.quote(name, safe="")
            urllib.request.urlopen(
                _request(management_url, f"/api/queues/%2F/{quoted}", "DELETE"), timeout=30
            ).close()
            deleted += 1
    return deleted


def queue_depths(management_url: str, prefix: str) -> dict[str, int]:
    """Messages (ready and unacknowledged) in each queue whose name starts with `prefix`.
    The management API refreshes these figures every few seconds."""
    request = _request(management_url, "/api/queues?columns=name,messages")
    with urllib.request.urlopen(request, timeout=10) as reply:
        queues = json.loads(reply.read())
    return {q["name"]: int(q.get("messages") or 0) for q in queues if q["name"].startswith(prefix)}
