"""The desk and the workflow in one test process, on the real broker and database, the
workflow trusting the desk's signing keys: what signed approvals need."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.common.tokens import TokenVerifier
from services.desk.app import create_app as create_desk
from services.workflow.app import create_app as create_workflow
from tests.support.keys import write_key_file
from tests.support.services import running

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def desk_and_workflow(
    settings: ServiceSettings, tmp_path: Path, keys: dict[str, tuple[list[str], list[str]]]
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, ServiceContext, dict[str, str]]]:
    """(desk, workflow, the workflow's context, name -> plaintext API key of `keys`)."""
    plain = write_key_file(tmp_path / "keys.yaml", keys)
    settings = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    async with running(create_desk(settings)) as (desk, _):

        async def jwks() -> Mapping[str, Any]:
            document: Mapping[str, Any] = (await desk.get("/.well-known/jwks.json")).json()
            return document

        app = create_workflow(settings)
        app.state.tokens = TokenVerifier(issuer="qloop-desk", audience="qloop", fetch_jwks=jwks)
        async with running(app) as (workflow, ctx):
            yield desk, workflow, ctx, plain
