"""Fixtures shared by every test layer. Integration fixtures give real servers."""

from __future__ import annotations

import asyncio
import uuid
import warnings
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.settings import ServiceSettings
from tests.support.infra import Infra, provide
from tests.support.watchdog import Watchdog


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide() as servers:
        yield servers


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def site(test_id: str) -> str:
    """A site id no other test uses, so routing keys never cross tests."""
    return f"t{test_id}"


@pytest.fixture
async def database_name(infra: Infra, test_id: str) -> AsyncIterator[str]:
    name = f"qloop_test_{test_id}"
    yield name
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        infra.mongodb_url, socketTimeoutMS=60_000
    )
    for service in ("intake", "workflow", "survey", "reporting", "desk"):
        await client.drop_database(f"{name}_{service}")
    await client.close()


@pytest.fixture
async def settings(
    infra: Infra, database_name: str, test_id: str
) -> AsyncIterator[ServiceSettings]:
    prefix = f"t{test_id}."
    yield ServiceSettings(
        amqp_url=infra.amqp_url,
        mongodb_url=infra.mongodb_url,
        database=database_name,
        queue_prefix=prefix,
        outbox_poll_seconds=0.2,
        transient_retry_seconds=2.0,
    )
    # Queues of this test go away with it (every service declares its own names).
    await delete_queues(infra.amqp_url, prefix)


async def delete_queues(amqp_url: str, prefix: str) -> None:
    from services.common.deadletters import management_url_from
    from tests.support.rabbit import delete_queues as delete

    try:
        await asyncio.to_thread(delete, management_url_from(amqp_url), prefix)
    except OSError as exc:  # no management plugin: the queues stay, the test still counts
        warnings.warn(f"could not delete test queues {prefix}*: {exc}", stacklevel=1)


@pytest.fixture
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongodb_url, tz_aware=True, socketTimeoutMS=60_000
    )
    yield client
    await client.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Run each test under a watchdog (tests/support/watchdog.py) set past its timeout."""
    marker = item.get_closest_marker("timeout")
    timeout = (
        float(marker.args[0])
        if marker and marker.args
        else float(item.config.getini("timeout") or 300)
    )
    capture = item.config.pluginmanager.getplugin("capturemanager")
    watchdog = Watchdog(
        item.nodeid,
        dump_after=timeout - 10,  # while the call is stuck, before pytest-timeout fails it
        exit_after=timeout + 150,
        before_dump=(lambda: capture.suspend_global_capture(in_=False)) if capture else None,
    )
    watchdog.start()
    try:
        return (yield)
    finally:
        watchdog.stop()
