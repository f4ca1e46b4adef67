"""Reading a whole collection on FerretDB without taking the database from live work.

FerretDB 1.24 (SQLite) filters nothing but an exact `_id` in SQL: any other filter, and
any aggregation, reads and decodes every document of the collection in one command. At
100,000 cases that is about 110 s of one database core (1.1 ms a document, measured
2026-11-30), longer than the client's socket timeout (120 s) once two such scans run
together, so a start-up pass timed out, was tried again, and never ended; meanwhile the
database answered a deadline's reads ten times slower than usual.

`batches` reads with no filter, `SCAN_BATCH` documents per command (FerretDB iterates
its SQLite rows lazily, so each `getMore` decodes one batch), only the fields asked for,
and rests between batches for `REST` times as long as the batch took: every command is
short, and the database is free for other work a third of the time. The caller filters.
On MongoDB use a filtered, indexed query instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

SCAN_BATCH = 500  # documents per command: about 0.5 s of FerretDB's time
REST = 0.5  # pause after a batch, as a share of the time the batch took


async def batches(
    collection: AsyncCollection[dict[str, Any]],
    projection: Mapping[str, Any],
    *,
    size: int = SCAN_BATCH,
    rest: float = REST,
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Every document of `collection` (the `projection`'s fields), `size` at a time."""
    cursor = collection.find({}, dict(projection), batch_size=size)
    try:
        while True:
            started = time.monotonic()
            documents = await cursor.to_list(size)
            took = time.monotonic() - started
            if not documents:
                return
            yield documents
            await asyncio.sleep(took * rest)
    finally:
        await cursor.close()
