"""Fixtures of the fault tests: the four services as processes on the shared servers
(faults on our own processes only), or on private servers a test may restart, alarm or
slow down (never the shared ones: other tests use them meanwhile)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from tests.support.private_infra import PrivateFerret, PrivateRabbit, available
from tests.support.stack import Stack


@pytest.fixture
async def stack(
    settings: ServiceSettings, site: str, tmp_path: Path, private_rabbit: PrivateRabbit
) -> AsyncIterator[Stack]:
    """The services on the shared database (own database names) and a private broker:
    on the shared one, every test's events reach every test's queues (bindings such as
    `*.complaint.registered` match all sites), so queue depths would mean nothing and
    each run would consume everyone else's load."""
    services = stack_on(
        tmp_path,
        site,
        rabbit=private_rabbit,
        mongodb_url=settings.mongodb_url,
        database=settings.database,
    )
    try:
        yield services
    finally:
        services.stop()  # before the databases are dropped (FerretDB needs that)


@pytest.fixture
def private_rabbit() -> Iterator[PrivateRabbit]:
    reason = available()
    if reason:
        pytest.fail(f"private servers cannot run: {reason}")
    node = PrivateRabbit()
    node.start()
    try:
        yield node
    finally:
        node.close()


@pytest.fixture
def private_ferret(tmp_path: Path) -> Iterator[PrivateFerret]:
    reason = available()
    if reason:
        pytest.fail(f"private servers cannot run: {reason}")
    server = PrivateFerret(tmp_path / "ferret")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stack_on(
    tmp_path: Path,
    site: str,
    *,
    rabbit: PrivateRabbit | None,
    mongodb_url: str,
    amqp_url: str | None = None,
    database: str | None = None,
) -> Stack:
    """A stack on (some) private servers; `amqp_url` e.g. through a latency proxy."""
    assert rabbit is not None or amqp_url is not None
    prefix = f"{site}."
    services = Stack(
        tmp_path,
        site,
        amqp_url=amqp_url or (rabbit.url if rabbit else ""),
        mongodb_url=mongodb_url,
        database=database or f"qloop_fault_{site}",
        queue_prefix=prefix,
    )
    if rabbit is not None:
        node = rabbit
        services.depths = lambda: {
            k: v for k, v in node.queue_depths().items() if k.startswith(prefix)
        }
    return services


@pytest.fixture
async def private_stack(
    private_rabbit: PrivateRabbit, private_ferret: PrivateFerret, site: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    services = stack_on(tmp_path, site, rabbit=private_rabbit, mongodb_url=private_ferret.url)
    try:
        yield services
    finally:
        services.stop()
