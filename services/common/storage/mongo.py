"""Connecting to the database and bootstrapping indexes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC
from typing import Any

from pymongo import AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

Document = dict[str, Any]
Database = AsyncDatabase[Document]


def connect(
    url: str,
    *,
    app_name: str,
    timeout_ms: int = 5000,
    listeners: Sequence[monitoring.CommandListener] = (),
    retry_writes: bool = True,
) -> AsyncMongoClient[Document]:
    """A client for one event loop: build it in the lifespan, never at import.

    Replies are awaited at most `SOCKET_TIMEOUT_MS` unless the URL sets `socketTimeoutMS`
    (PyMongo's default waits forever: a server that accepts a command and never answers
    would hang a handler, a start or a shutdown). A timed-out operation is a
    `NetworkTimeout`, retried like any other lost connection."""
    _wait_without_a_task()
    options: dict[str, Any] = {}
    if "sockettimeoutms" not in url.lower():
        options["socketTimeoutMS"] = SOCKET_TIMEOUT_MS
    return AsyncMongoClient(
        url,
        event_listeners=list(listeners),
        tz_aware=True,
        tzinfo=UTC,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        retryWrites=retry_writes,
        **options,
    )


def _wait_without_a_task() -> None:
    """PyMongo's async pool and topology wait on their conditions through `wait_for`, which
    on Python 3.11 runs the wait in a task of its own. A caller cancelled twice (aiormq
    cancels a closing channel's handlers, sometimes twice) returns while that inner task
    still re-acquires the topology lock; the lock is then held by a task nobody awaits and
    every later operation of the client waits on it (reproduced: 50 operations of a new
    client cancelled twice left it hanging in 20 of 30 tries, none with this). Python 3.12's
    `wait_for` runs no inner task; on 3.11 the same wait is done with `asyncio.timeout`.
    Applied once, by `connect`, never at import."""
    if sys.version_info >= (3, 12):
        return
    from pymongo.asynchronous import pool, topology

    for module in (pool, topology):
        if getattr(module, "_async_cond_wait", None) not in (None, _cond_wait):
            module._async_cond_wait = _cond_wait  # type: ignore[attr-defined]


async def _cond_wait(condition: Any, timeout: float | None) -> bool:
    try:
        async with asyncio.timeout(timeout):
            return bool(await condition.wait())
    except TimeoutError:
        return False


# Every command qloop sends is a single-document write, a bounded read or an index build;
# the longest are index builds on a large collection at start (a start that times out is
# restarted and finds the build done or joins it).
SOCKET_TIMEOUT_MS = 120_000


async def ping(db: Database, timeout: float | None = None) -> bool:
    """Whether the server answers (within `timeout` seconds, if given)."""
    try:
        async with asyncio.timeout(timeout):  # no inner task, unlike 3.11's wait_for
            await db.command("ping")
    except (PyMongoError, TimeoutError):
        return False
    return True


async def ensure_indexes(db: Database, indexes: Mapping[str, Sequence[IndexModel]]) -> None:
    for collection, models in indexes.items():
        # One index per command: FerretDB 1.24 panics ("slice bounds out of range") when one
        # createIndexes command names several indexes some of which already exist.
        for model in models:
            await db[collection].create_indexes([model])


async def pushes_down_only_id(db: Database) -> bool:
    """True on FerretDB, which uses no index and scans for any filter but `{_id: ...}`."""
    return await is_ferretdb(db)


async def is_ferretdb(db: Database) -> bool:
    """FerretDB (1.24) takes no part in retryable writes: it ignores the transaction number
    a retried write carries, so a write whose reply was lost is applied a second time when
    PyMongo sends it again (seen after a database restart: an outbox counter at -1). Its
    clients run with retryWrites=false; the callers' own retries read before they write."""
    info = await db.command("buildInfo")
    return "ferretdbVersion" in info


# WriteConflict, and a primary stepping down or shutting down (MongoDB). FerretDB's SQLite
# backend answers concurrent writers with "database is locked (SQLITE_BUSY)", code 1.
TRANSIENT_CODES = frozenset({112, 91, 189, 10107, 11600, 11602, 13435, 13436})


def is_transient(exc: BaseException) -> bool:
    """Errors that say "try again later" (database unreachable, failover), not "never".
    Other outages a handler depends on mark their errors `transient = True` (the desk's
    keys out of reach: services/common/tokens.py)."""
    if getattr(exc, "transient", False) is True:
        return True
    if isinstance(exc, ConnectionFailure):
        return True
    if isinstance(exc, OperationFailure) and (
        exc.code in TRANSIENT_CODES or "SQLITE_BUSY" in str(exc.details or exc)
    ):
        return True
    return isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError")


@contextlib.asynccontextmanager
async def tool_database(
    url: str, name: str, indexes: Mapping[str, Sequence[IndexModel]], *, app_name: str
) -> AsyncIterator[Database]:
    """A service's database for a command-line tool (import, rebuild): indexes ensured,
    client closed afterwards."""
    client = connect(url, app_name=app_name)
    try:
        db = client[name]
        await ensure_indexes(db, indexes)
        yield db
    finally:
        await client.close()
