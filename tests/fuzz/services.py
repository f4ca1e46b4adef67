"""Each service running in-process on the real broker and database, with the example rule
files under the test's own site id and API keys that reach every handler."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.surveys import site_rules, survey_settings

# Which example rule file each service runs with (its site id replaced by the test's).
EXAMPLE = {
    "intake": "default",
    "workflow": "default",
    "survey": "qds-company",
    "reporting": "default",
}
Start = Callable[[str], contextlib.AbstractAsyncContextManager["Service"]]
EVERY_ROLE = ["admin", "submit", "read", "act", "survey", "quality", "complaint_owner"]


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    ctx: ServiceContext
    site: str
    keys: dict[str, str]
    # Ids of things that exist (a case, a complaint number): fuzzed requests aim at them.
    known: dict[str, str] = field(default_factory=dict)


def key_file(path: Path, site: str) -> dict[str, str]:
    """`all`: every role at every site (reaches every handler); `nobody`: a known key
    whose role no route asks for; `elsewhere`: every role, at another site only."""
    return write_key_file(
        path,
        {
            "all": (["*"], EVERY_ROLE),
            "nobody": ([site], ["none"]),
            "elsewhere": ([f"{site}x"], EVERY_ROLE),
        },
    )


def configured(name: str, base: ServiceSettings, tmp: Path, site: str) -> ServiceSettings:
    rules = site_rules(tmp / name, EXAMPLE[name], site, any_year=True)
    values = {"api_keys_file": tmp / "keys.yaml", "rules_dir": rules}
    if name == "survey":
        return survey_settings(base, **values)
    return base.model_copy(update=values)


@contextlib.asynccontextmanager
async def started(name: str, base: ServiceSettings, tmp: Path, site: str) -> AsyncIterator[Service]:
    keys = key_file(tmp / "keys.yaml", site)
    app = importlib.import_module(f"services.{name}.app").create_app(
        configured(name, base, tmp, site)
    )
    async with running(app) as (client, ctx):
        yield Service(name, app, client, ctx, site, keys)
