"""Running a service in-process (its real lifespan, real broker and database)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from services.common.runtime import ServiceContext


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceContext]]:
    """Start `app`'s lifespan and give an HTTP client bound to it, plus its context."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client, app.state.ctx
