"""The services the desk's pages work with, over HTTP with the signed-in person's token.

The desk keeps no complaint, case or survey data: every page reads and writes through
intake and the workflow. One client per service, made when the desk starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class BackendMissing(Exception):
    """The desk was started without the URL of a service a page needs."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 400


class Backends:
    def __init__(
        self,
        *,
        intake_url: str | None,
        workflow_url: str | None,
        reporting_url: str | None = None,
        notify_url: str | None = None,
    ) -> None:
        urls = (
            ("intake", intake_url), ("workflow", workflow_url), ("reporting", reporting_url),
            ("notify", notify_url),
        )  # fmt: skip
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=TIMEOUT) for name, url in urls if url
        }

    def has(self, service: str) -> bool:
        return service in self._clients

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def _call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        client = self._clients.get(service)
        if client is None:
            raise BackendMissing(f"QLOOP_DESK_{service.upper()}_URL is not set")
        headers = {"Authorization": f"Bearer {token}"}
        reply = await client.request(method, path, json=body, params=params, headers=headers)
        try:
            content = reply.json()
        except ValueError:
            content = {"detail": reply.text}
        return Answer(reply.status_code, content)

    async def worklist(self, token: str) -> Answer:
        return await self._call("workflow", "GET", "/worklist", token)

    async def case(self, token: str, case_id: str) -> Answer:
        return await self._call("workflow", "GET", f"/cases/{case_id}", token)

    async def complaint(self, token: str, number: str) -> Answer:
        return await self._call("intake", "GET", f"/complaints/{number}", token)

    async def history(self, token: str, case_id: str) -> Answer:
        return await self._call("workflow", "GET", f"/cases/{case_id}/history", token)

    async def command(self, token: str, case_id: str, body: dict[str, Any]) -> Answer:
        return await self._call("workflow", "POST", f"/cases/{case_id}/commands", token, body)

    async def notifications(self, token: str, person_id: str) -> Answer:
        return await self._call("notify", "GET", f"/people/{person_id}/notifications", token)

    async def search(self, token: str, site: str, params: dict[str, str]) -> Answer:
        return await self._call("reporting", "GET", f"/search/{site}", token, params=params)

    async def document(
        self, service: str, token: str, path: str, params: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """A document a service renders for people (a report, the dashboard, the reply
        letter: HTML, PDF, CSV, XLSX): status, body and the headers that describe it."""
        client = self._clients.get(service)
        if client is None:
            raise BackendMissing(f"QLOOP_DESK_{service.upper()}_URL is not set")
        reply = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        kept = {
            k: v
            for k, v in reply.headers.items()
            if k.lower() in ("content-type", "content-disposition", "content-security-policy")
        }
        return reply.status_code, reply.content, kept

    async def extension(self, token: str, case_id: str, body: dict[str, Any]) -> Answer:
        return await self._call("workflow", "POST", f"/cases/{case_id}/extensions", token, body)

    async def disposition(self, token: str, case_id: str, body: dict[str, Any]) -> Answer:
        path = f"/cases/{case_id}/dispositions"
        return await self._call("workflow", "POST", path, token, body)

    async def register(self, token: str, submission: dict[str, Any]) -> Answer:
        return await self._call("intake", "POST", "/complaints", token, submission)

    async def upload(
        self, token: str, fields: dict[str, str], name: str, data: bytes, content_type: str
    ) -> Answer:
        """A file sent on to the workflow's POST /attachments (`fields`: site, and case or
        complaint)."""
        client = self._clients.get("workflow")
        if client is None:
            raise BackendMissing("QLOOP_DESK_WORKFLOW_URL is not set")
        reply = await client.post(
            "/attachments",
            data=fields,
            files={"file": (name, data, content_type or "application/octet-stream")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(60.0, connect=3.0),
        )
        try:
            content = reply.json()
        except ValueError:
            content = {"detail": reply.text}
        return Answer(reply.status_code, content)

    async def attachments(self, token: str, case_id: str) -> Answer:
        return await self._call("workflow", "GET", f"/cases/{case_id}/attachments", token)

    async def download(self, token: str, path: str) -> tuple[int, bytes, dict[str, str]]:
        """An attachment's bytes (or thumbnail) from the workflow, with the headers that
        describe them."""
        client = self._clients.get("workflow")
        if client is None:
            raise BackendMissing("QLOOP_DESK_WORKFLOW_URL is not set")
        reply = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        described = ("content-type", "content-disposition", "x-content-type-options")
        kept = {k: v for k, v in reply.headers.items() if k.lower() in described}
        return reply.status_code, reply.content, kept
