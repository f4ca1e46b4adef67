"""Transactional outbox in one document, and the relay that publishes it.

A handler stores its state change and the events it will emit in the same
single-document update: `outbox.<event id>` holds each event's wire form and
`outbox_n` counts them. The relay finds documents with `outbox_n > 0`, publishes
each entry with a publisher confirm, then removes exactly that entry. A crash
between publishing and removing republishes the event after restart: consumers
deduplicate on the event id, so nothing is lost and nothing has a second effect.

A writer in another process (a command-line import) cannot kick the service's relay, and
on FerretDB the relay passes over its large collections only at start: after writing a
batch it leaves a *mark* (`leave_mark`) in the small `outbox_marks` collection, naming the
documents. The relay reads the marks every poll, relays those documents by `_id` and then
deletes the mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel

from services.common.clock import Clock
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import to_json
from services.common.crashpoints import crashpoint
from services.common.metrics import KernelMetrics
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database, is_transient
from services.common.storage.scan import batches

log = logging.getLogger(__name__)

REMEMBER_REMOVED = 10_000
OUTBOX_INDEX = IndexModel([("outbox_n", ASCENDING)], name="outbox_pending")
MARKS = "outbox_marks"
MARKS_AT_ONCE = 5  # marks relayed per poll (an import's mark names one batch of rows)


class PublishFailed(Exception):
    """The broker did not take the message (unreachable, channel closed, not confirmed):
    try it again. Nothing was lost, so there is nothing to look for in a full pass."""


@dataclass(frozen=True)
class OutgoingMessage:
    event_id: str
    event_type: str
    routing_key: str
    correlation_id: str
    time: datetime
    body: bytes


Publish = Callable[[OutgoingMessage], Awaitable[None]]
# A writer hands the relay the events it just stored: kick(collection, document id, events);
# events None: read the document (its write was found done, perhaps by a writer that was
# cancelled after storing it and before kicking: the redelivery kicks instead).
Kick = Callable[[str, Any, Sequence[Envelope[BaseModel]] | None], None]


def outbox_update(
    envelopes: Sequence[Envelope[BaseModel]], *, seq_start: int = 0
) -> dict[str, Any]:
    """The update fragment that puts these events in a document's outbox."""
    if not envelopes:
        return {}
    entries = {
        f"outbox.{env.id}": {
            "type": env.type,
            "routing_key": env.routing_key,
            "correlation_id": env.correlationid,
            "time": env.time,
            "seq": seq_start + i,
            "body": to_json(env).decode(),
        }
        for i, env in enumerate(envelopes)
    }
    return {"$set": entries, "$inc": {"outbox_n": len(envelopes)}}


def with_outbox(
    document: dict[str, Any], envelopes: Sequence[Envelope[BaseModel]]
) -> dict[str, Any]:
    """A new document (for an insert) carrying `envelopes` in its outbox: the insert's
    form of `outbox_update`."""
    update = outbox_update(envelopes)
    if not update:
        return document
    entries = {key.split(".", 1)[1]: value for key, value in update["$set"].items()}
    return {**document, "outbox": entries, "outbox_n": update["$inc"]["outbox_n"]}


async def leave_mark(
    db: Database, collection: str, document_ids: Sequence[Any], *, at: datetime
) -> None:
    """Tell the service's relay that `document_ids` of `collection` hold outbox entries this
    process wrote (and will not relay itself). Left after the writes, so the relay never
    reads a listed document before its entries are stored and drops the mark too early; a
    writer that dies between its writes and its mark leaves those entries to the relay's
    start-up pass, as a service's own writes are when it dies before its kick."""
    if document_ids:
        mark = {"_id": uuid.uuid4().hex, "collection": collection, "ids": list(document_ids)}
        await db[MARKS].insert_one({**mark, "at": at})


def outgoing(envelopes: Sequence[Envelope[BaseModel]]) -> list[OutgoingMessage]:
    """The messages the relay publishes for `envelopes` (as `outbox_update` stores them)."""
    return [
        OutgoingMessage(
            event_id=str(env.id),
            event_type=env.type,
            routing_key=env.routing_key,
            correlation_id=env.correlationid,
            time=env.time,
            body=to_json(env),
        )
        for env in envelopes
    ]


def _messages(document: dict[str, Any]) -> list[OutgoingMessage]:
    entries = sorted((document.get("outbox") or {}).items(), key=lambda kv: kv[1].get("seq", 0))
    return [
        OutgoingMessage(
            event_id=event_id,
            event_type=entry["type"],
            routing_key=entry["routing_key"],
            correlation_id=entry["correlation_id"],
            time=entry["time"],
            body=entry["body"].encode(),
        )
        for event_id, entry in entries
    ]


async def _all(relays: Iterable[Awaitable[int]]) -> list[int]:
    """Run the documents' relays together and let every one finish before raising the
    first failure: one still running after its pass failed would meet the next pass on
    the same document and remove an entry twice (FerretDB removals have no guard)."""
    results = await asyncio.gather(*relays, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


class OutboxRelay:
    """Publishes pending outbox entries of the given collections; restart-safe.

    Writers kick the relay with the document they just stored: it is relayed at once,
    from the events the writer hands over when it does (no read), else read by `_id`;
    after a failure it is read again and tried again. A full pass over every collection runs
    at start and after a failure that is not transient, for entries left by a crash, and then
    every `scan_seconds`, for entries written by another process (on FerretDB only over
    the `small` collections, e.g. requests a command-line tool writes). Kicked documents
    are relayed beside a pass, not after it (`_scan_beside_kicks`).
    On FerretDB (`id_filters_only`) every filter other than exactly `{_id: ...}` scans the
    whole collection in one command (about 110 s for 100,000 cases), so there a pass reads
    the collection unfiltered, `batch` documents per command with pauses between
    (scan.py), and the large collections are passed over only at start and after
    failures (one instance per service: docs/architecture.md); removals filter on `_id`
    alone under the document's lock. On MongoDB a pass asks for `batch` pending
    documents at a time, and removals keep an `$exists` guard so two relays never
    double-count.
    """

    def __init__(
        self,
        db: Database,
        collections: Sequence[str],
        publish: Publish,
        *,
        clock: Clock,
        metrics: KernelMetrics,
        locks: DocumentLocks,
        poll_seconds: float = 1.0,
        scan_seconds: float | None = None,
        batch: int = 200,
        id_filters_only: bool = False,
        small: Collection[str] = (),
        marked: bool = False,
    ) -> None:
        self._db = db
        self._collections = list(collections)
        self._publish = publish
        self._clock = clock
        self._metrics = metrics
        self._poll = poll_seconds
        self._scan_every = scan_seconds if scan_seconds is not None else max(10 * poll_seconds, 2)
        self._batch = batch
        self._locks = locks
        self._id_filters_only = id_filters_only
        # The periodic pass: on FerretDB only over collections that stay small.
        self._periodic = (
            [c for c in collections if c in small] if id_filters_only else list(collections)
        )
        self._wake = asyncio.Event()
        # Kicked documents -> the events the writer stored (None: read the document).
        self._hot: dict[tuple[str, Any], list[OutgoingMessage] | None] = {}
        # Entries removed lately: a writer's kick may come after a pass relayed its events.
        self._removed: dict[str, None] = {}
        self._scan_due = True
        self._last_scan = 0.0
        self.full_passes = 0  # completed passes over every collection
        # Marks left by other processes' writers (`leave_mark`) are read every poll.
        self._marked = marked
        self._marks_read = 0.0
        self._marks_waiting = 0  # documents named by marks taken and not relayed yet
        self._scanned_pending = 0  # entries the last pass found

    @property
    def idle(self) -> bool:
        """Nothing kicked is waiting and no pass over every collection is due."""
        return not self._hot and not self._scan_due and not self._marks_waiting

    def kick(
        self,
        collection: str | None = None,
        document_id: Any = None,
        events: Sequence[Envelope[BaseModel]] | None = None,
    ) -> None:
        """Something was just stored: that document (or, without one, everything) soon.
        `events`: exactly the outbox entries that write stored, published without reading
        the document (only the relay removes entries, and it remembers which)."""
        if collection is None or document_id is None:
            self._scan_due = True
        else:
            key = (collection, document_id)
            known = self._hot.get(key, [])
            if events is None or known is None:
                self._hot[key] = None
            else:
                self._hot[key] = [*known, *outgoing(events)]
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.relay_once()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # the service stops
                # Raised inside a client library (aiormq sets it on pending confirms when a
                # connection closes), not a cancellation of this task: the relay goes on.
                log.warning("outbox relay pass cancelled from inside; again", exc_info=True)
                await asyncio.sleep(self._poll)
                continue
            except Exception as exc:  # keep relaying after outages; nothing is lost meanwhile
                transient = is_transient(exc) or isinstance(exc, PublishFailed)
                level = logging.WARNING if transient else logging.ERROR
                log.log(level, "outbox relay pass failed: %s", type(exc).__name__, exc_info=True)
                if not transient:
                    self._scan_due = True  # whatever went wrong, look at everything again
                # Kicked documents of the failed pass were put back; a scan that failed is
                # still due. Not a full scan after a transient error: on FerretDB a locked
                # database is common under load, and scanning then only adds load.
                await asyncio.sleep(self._poll)
                continue
            if busy or self._hot:
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the wake-up does, and the service would never stop.
            try:
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def relay_once(self) -> int:
        """Relay kicked documents, and every collection when a scan is due."""
        published = await self._relay_hot()
        now = time.monotonic()
        if self._scan_due:
            # Cleared before the pass: a kick that comes while it runs (a write the pass
            # may have missed) asks for another one.
            self._scan_due = False
            try:
                count, complete = await self._scan_beside_kicks(self._collections)
            except BaseException:
                self._scan_due = True
                raise
            self._scan_due, self._last_scan = self._scan_due or not complete, now
            return published + count + (not complete)  # not complete: busy, again at once
        if now - self._last_scan >= self._scan_every:
            count, complete = await self._scan_beside_kicks(self._periodic)
            self._last_scan = now if complete else 0.0
            published += count
        return published

    async def _scan_beside_kicks(self, collections: Sequence[str]) -> tuple[int, bool]:
        """A pass over `collections` while the documents kicked meanwhile are relayed at
        once: on FerretDB the start-up pass reads every case (about 100 s at 100,000
        cases), and a deadline fired or a case opened meanwhile would wait for it. A
        document met by both is published twice at most and its entry removed once
        (`_relay_messages`). A failure of either is raised once the pass has ended."""
        scan = asyncio.ensure_future(self._scan(collections))
        published = 0
        failure: Exception | None = None
        try:
            while not scan.done():
                if (self._hot or self._marks_due()) and failure is None:
                    try:
                        published += await self._relay_hot()
                    except Exception as exc:  # the documents were put back
                        failure = exc
                    continue
                self._wake.clear()
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        {scan, woken},
                        timeout=self._poll if self._marked else None,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
        except BaseException:  # cancelled: the service stops
            scan.cancel()
            await asyncio.gather(scan, return_exceptions=True)
            raise
        count, complete = scan.result()
        if failure is not None:
            raise failure
        return published + count, complete

    async def _relay_hot(self) -> int:
        marks = await self._take_marks() if self._marks_due() else None
        hot, self._hot = self._hot, {}
        try:
            unread = [key for key, handed in hot.items() if handed is None]
            contents = await asyncio.gather(*(self._read(*key) for key in unread))
            read = dict(zip(unread, contents, strict=True))
            documents = [
                (collection, document_id, messages)
                for (collection, document_id), handed in hot.items()
                if (messages := read.get((collection, document_id), handed))
            ]
            counts = await _all(self._relay_messages(c, i, m) for c, i, m in documents)
        except BaseException:
            # Tried again from the stored document (an entry is removed once). The marks
            # stay stored and are taken again.
            self._hot.update(dict.fromkeys(hot))
            self._report_pending()
            raise
        if marks is not None:
            for mark_id in marks:  # only now: their documents were relayed
                await self._db[MARKS].delete_one({"_id": mark_id})
            self._marks_waiting = 0
        self._report_pending()
        return sum(counts)

    async def _read(self, collection: str, document_id: Any) -> list[OutgoingMessage]:
        document = await self._db[collection].find_one({"_id": document_id}, {"outbox": 1})
        return _messages(document) if document else []

    def _marks_due(self) -> bool:
        return self._marked and time.monotonic() - self._marks_read >= self._poll

    async def _take_marks(self) -> list[str]:
        """Kick the documents the stored marks name (read by `_id`); the marks' ids."""
        if not self._marked:
            return []
        self._marks_read = time.monotonic()
        found = await self._db[MARKS].find({}).limit(MARKS_AT_ONCE).to_list()
        for mark in found:
            for document_id in mark["ids"]:
                self._hot.setdefault((mark["collection"], document_id), None)
        self._marks_waiting = sum(len(mark["ids"]) for mark in found)
        return [mark["_id"] for mark in found]

    def _report_pending(self) -> None:
        """The gauge: entries the last pass found, and on FerretDB, where the periodic pass
        leaves the large collections out, also those known to wait here (kicked or marked
        documents not relayed yet, e.g. while the broker is away)."""
        waiting = 0
        if self._id_filters_only:
            handed = sum(1 if m is None else len(m) for m in self._hot.values())
            waiting = max(handed, self._marks_waiting)
        self._metrics.outbox_pending.set(self._scanned_pending + waiting)

    async def _scan(self, collections: Sequence[str]) -> tuple[int, bool]:
        """One batch per collection; a collection that filled its batch may hold more, so
        the pass is due again (on FerretDB the periodic pass would never come back to it)."""
        published = 0
        more = False
        # Counted before relaying, so that a pass the broker fails still reports them.
        self._scanned_pending = 0
        for name in collections:
            if self._id_filters_only:
                published += await self._scan_whole(name)
                continue
            collection = self._db[name]
            cursor = collection.find({"outbox_n": {"$gt": 0}}, {"outbox": 1}).limit(self._batch)
            documents = await cursor.to_list()
            self._scanned_pending += sum(len(d.get("outbox") or {}) for d in documents)
            self._report_pending()
            batch = [(d["_id"], _messages(d)) for d in documents]
            published += sum(await _all(self._relay_messages(name, i, m) for i, m in batch))
            # A full batch that moved something (here or by kicks beside the pass) may
            # hide more (no progress: no loop).
            moved = any(m.event_id in self._removed for _, found in batch for m in found)
            more = more or (len(documents) >= self._batch and moved)
        self._report_pending()
        if not more:
            self.full_passes += 1
        return published, not more

    async def _scan_whole(self, name: str) -> int:
        """FerretDB: every document of the collection, in short paced batches (scan.py),
        the pending ones counted and relayed as they are met; how many were published."""
        published = 0
        fields = {"outbox": 1, "outbox_n": 1}
        async with contextlib.aclosing(batches(self._db[name], fields, size=self._batch)) as read:
            async for documents in read:  # a failed publish closes the cursor at once
                waiting = [d for d in documents if d.get("outbox_n", 0) > 0]
                self._scanned_pending += sum(len(d.get("outbox") or {}) for d in waiting)
                self._report_pending()
                relays = (self._relay_messages(name, d["_id"], _messages(d)) for d in waiting)
                published += sum(await _all(relays))
        return published

    async def _relay_messages(
        self,
        collection: str,
        document_id: Any,
        messages: list[OutgoingMessage],
    ) -> int:
        """Publish and remove `messages` of one document, in order, skipping those removed
        already: messages handed over by their writer, or read by a pass, may have been
        relayed meanwhile by the other way (event ids are never reused)."""
        done = 0
        for message in messages:
            if message.event_id in self._removed:
                continue
            crashpoint("outbox.before_publish", f"{collection} {message.event_type}")
            await self._publish(message)
            crashpoint("outbox.after_publish", f"{collection} {message.event_type}")
            # Remove only this entry, under the document's lock so that a handler's
            # concurrent write to the same document is not lost, and only once: a pass
            # and a kick may have relayed the same entry side by side.
            async with self._locks.hold(collection, document_id):
                if message.event_id in self._removed:
                    continue
                await self._remove(collection, document_id, message.event_id)
                self._removed[message.event_id] = None
            if len(self._removed) > REMEMBER_REMOVED:
                del self._removed[next(iter(self._removed))]
            self._metrics.outbox_published.labels(message.event_type).inc()
            lag = (self._clock.now() - message.time).total_seconds()
            self._metrics.outbox_lag_seconds.observe(max(lag, 0.0))
            done += 1
        return done

    async def _remove(self, collection: str, document_id: Any, event_id: str) -> None:
        field = f"outbox.{event_id}"
        removal = {"$unset": {field: ""}, "$inc": {"outbox_n": -1}}
        if not self._id_filters_only:
            await self._db[collection].update_one(
                {"_id": document_id, field: {"$exists": True}}, removal
            )
            return
        # FerretDB: a filter with the `$exists` guard would scan the collection. One relay
        # per service there (docs/architecture.md), and it removes only entries it has just
        # read or been handed by their writer and not removed since (`_removed`): no guard.
        await self._db[collection].update_one({"_id": document_id}, removal)
