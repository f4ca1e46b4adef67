"""Per-document locks inside one process.

FerretDB 1.24 applies an update by reading the matching documents and then writing
whole documents back (`Query` then `UpdateAll`, for its SQLite and PostgreSQL backends
alike), so two concurrent updates of one document can lose one of them: measured here,
200 concurrent `$inc` of one field left it at 5. MongoDB makes each update atomic.
qloop therefore never relies on concurrent updates of one document:

- exclusive decisions (a number, an event's effect, a registration) are *inserts* with a
  unique `_id` or index, which both servers enforce atomically;
- every read-modify-write of a document in a process holds that document's lock here
  (handlers and the outbox relay share one `DocumentLocks` per service);
- on FerretDB, one instance of each service writes a given document (see
  docs/architecture.md); on MongoDB competing instances are safe as well.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class DocumentLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, *key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody holds or waits: forget it
                del self._users[key]
                del self._locks[key]


class SharedLock:
    """Many holders at once (`shared`) or one alone (`exclusive`); a waiting exclusive
    holder goes before shared holders that come after it, so it is never starved.
    Releasing never waits (a cancelled holder can not leave it held)."""

    def __init__(self) -> None:
        self._shared = 0
        self._exclusive = False
        self._waiting = 0  # exclusive holders waiting
        self._released = asyncio.Event()

    async def _next_release(self) -> None:
        await self._released.wait()

    def _release(self) -> None:
        self._released.set()  # wakes everyone waiting now; later waiters wait for the next
        self._released = asyncio.Event()

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        while self._exclusive or self._waiting:
            await self._next_release()
        self._shared += 1
        try:
            yield
        finally:
            self._shared -= 1
            self._release()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        self._waiting += 1
        try:
            while self._exclusive or self._shared:
                await self._next_release()
        except BaseException:
            self._waiting -= 1
            self._release()  # shared holders it held back may go on
            raise
        self._waiting -= 1
        self._exclusive = True
        try:
            yield
        finally:
            self._exclusive = False
            self._release()
