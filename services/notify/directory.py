"""Who holds which department and role at a site: the desk's directory, asked over its
admin API with the notify service's own API key (a machine identity), cached briefly."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from services.notify.domain import Recipient
from services.notify.preferences import parse_preference


class Directory(Protocol):
    async def people_at(self, site: str) -> Sequence[Recipient]: ...


class DirectoryUnavailable(Exception):
    """The desk did not answer: the event is retried later, not spent against the queue's
    delivery limit (the consumer treats errors marked `transient` like a database outage)."""

    transient = True


def recipients_at(site: str, people: Sequence[dict[str, Any]]) -> list[Recipient]:
    """The enabled people with a grant at `site`, from the desk's person views."""
    found = []
    for person in people:
        grant = next((g for g in person.get("grants", ()) if g.get("site") == site), None)
        if grant is None or person.get("disabled"):
            continue
        found.append(
            Recipient(
                id=person["id"],
                name=person["name"],
                email=person.get("email"),
                language=person.get("language") or "en",
                departments=tuple(grant.get("departments", ())),
                roles=tuple(grant.get("roles", ())),
                preference=parse_preference(person.get("notifications")),
            )
        )
    return found


class StaticDirectory:
    """A fixed list of people (tests, a directory export)."""

    def __init__(self, people: Sequence[dict[str, Any]]) -> None:
        self.people = list(people)

    async def people_at(self, site: str) -> Sequence[Recipient]:
        return recipients_at(site, self.people)


class DeskDirectory:
    def __init__(self, url: str, api_key: str, *, cache_seconds: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[dict[str, Any]]] | None = None

    async def people_at(self, site: str) -> Sequence[Recipient]:
        return recipients_at(site, await self._people())

    async def _people(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                answer = await client.get(
                    f"{self.url}/admin/people", headers={"X-API-Key": self.api_key}
                )
                answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"the desk's directory: {type(exc).__name__}") from None
        people: list[dict[str, Any]] = answer.json()["items"]
        self._cached = (now, people)
        return people
