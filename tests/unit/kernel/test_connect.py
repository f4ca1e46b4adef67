"""The database client's options (a client built without a server: nothing is sent)."""

from __future__ import annotations

import asyncio

import pytest

from services.common.storage.mongo import SOCKET_TIMEOUT_MS, connect, ping

pytestmark = pytest.mark.unit


async def test_a_reply_is_awaited_for_a_bounded_time_by_default() -> None:
    client = connect("mongodb://db.invalid:27017/", app_name="t")
    try:
        assert client.options.pool_options.socket_timeout == SOCKET_TIMEOUT_MS / 1000
    finally:
        await client.close()


async def test_the_url_sets_its_own_socket_timeout() -> None:
    client = connect("mongodb://db.invalid:27017/?socketTimeoutMS=2500", app_name="t")
    try:
        assert client.options.pool_options.socket_timeout == 2.5
    finally:
        await client.close()


async def test_writes_are_retried_unless_told_otherwise() -> None:
    default = connect("mongodb://db.invalid:27017/", app_name="t")
    ferretdb = connect("mongodb://db.invalid:27017/", app_name="t", retry_writes=False)
    try:
        assert default.options.retry_writes is True
        assert ferretdb.options.retry_writes is False
    finally:
        await default.close()
        await ferretdb.close()


async def test_a_server_that_never_answers_is_reported_down_by_a_bounded_ping() -> None:
    # Accepts the connection, reads, never replies: what a hung database looks like.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = connect(f"mongodb://127.0.0.1:{port}/?directConnection=true", app_name="t")
    try:
        assert await ping(client["db"], timeout=0.5) is False
    finally:
        await client.close()
        server.close()
