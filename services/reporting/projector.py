"""The projector: each consumed event is kept in the event store and folded into the
read-model entities it touches; their change of contribution is added to the buckets.
Idempotent and order-independent (see store.py for how each effect happens once)."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.common.messaging.consumer import Handler, Outcome
from services.common.storage.locks import DocumentLocks
from services.reporting.domain import projection
from services.reporting.domain.buckets import BucketKey, difference
from services.reporting.domain.policy import Policy
from services.reporting.search_store import SearchIndex
from services.reporting.store import ENTITIES, EntityRecord, ReadModelStore


class Sweeper:
    """Pulls the tokens buckets no longer need, in batches.

    A token `<entity>@<version>` guards a bucket addition until the entity has recorded
    its new contribution; from then on the settle never repeats it, so the token only
    takes room. Pulling each one at once was half of the projector's bucket writes;
    here a bucket's tokens are pulled together when `batch` have gathered, and all of
    them every few seconds (`sweep`, a background task of the service). Tokens still
    waiting when the process dies stay in their buckets: inert (no settle reuses them)
    and few (under `batch` per bucket); a rebuild drops them.
    """

    def __init__(self, store: ReadModelStore, batch: int = 16) -> None:
        self._store, self._batch = store, batch
        self._waiting: dict[BucketKey, list[str]] = {}

    @property
    def waiting(self) -> int:
        return sum(len(tokens) for tokens in self._waiting.values())

    async def forget(self, keys: list[BucketKey], token: str) -> None:
        full = []
        for key in keys:
            tokens = self._waiting.setdefault(key, [])
            tokens.append(token)
            if len(tokens) >= self._batch:
                full.append((key, self._waiting.pop(key)))
        for key, tokens in full:
            await self._pull(key, tokens)

    async def sweep(self) -> None:
        # Taken one bucket at a time: when a pull fails, the buckets not reached yet
        # keep their tokens for the next sweep (and the failed one gets its back).
        for key in sorted(self._waiting):
            if tokens := self._waiting.pop(key, None):
                await self._pull(key, tokens)

    async def _pull(self, key: BucketKey, tokens: list[str]) -> None:
        try:
            await self._store.forget_tokens(key, tokens)
        except BaseException:
            self._waiting.setdefault(key, []).extend(tokens)  # for the next sweep
            raise


class Projector:
    def __init__(
        self,
        *,
        store: ReadModelStore,
        locks: DocumentLocks,
        sites: projection.Sites,
        policy: Policy,
        search: SearchIndex | None = None,
    ) -> None:
        self.store, self.sites, self.policy = store, sites, policy
        self._locks = locks
        self.sweeper = Sweeper(store)
        self.search = search

    async def project(self, envelope: Envelope[BaseModel]) -> Outcome:
        new = await self.store.record_event(envelope)
        for target in projection.targets(envelope):
            await self._apply(target, envelope)
        return "stored" if new else "duplicate"

    async def _apply(self, target: projection.Target, envelope: Envelope[BaseModel]) -> None:
        event_id = str(envelope.id)
        async with self._locks.hold(ENTITIES, target.id):
            record = await self.store.entity(target.id)
            if record is not None:
                await self._settle(record)  # finish what a crash may have interrupted
                if event_id in record.applied:
                    return
            version = record.version if record else 0
            state = projection.fold(target, record.state if record else None, envelope)
            folded = EntityRecord(
                id=target.id,
                kind=target.kind,
                state=state,
                version=version + 1,
                applied=[*(record.applied if record else []), event_id],
                contributed=record.contributed if record else {},
            )
            listing = projection.listing(target.kind, state, self.sites)
            folded.month = listing.get("month")
            await self.store.save_entity(folded, listing=listing, previous=record)
            await self._settle(folded)

    async def _settle(self, record: EntityRecord) -> None:
        await self._index(record)
        wanted = projection.contributions(record.kind, record.state, self.sites, self.policy)
        changes = difference(wanted, record.contributed)
        if not changes:
            return
        token = f"{record.id}@{record.version}"
        for key, delta in sorted(changes.items()):
            await self.store.add_to_bucket(key, delta, token)
        await self.store.record_contribution(record.id, wanted)
        record.contributed = wanted
        await self.sweeper.forget(sorted(changes), token)

    async def _index(self, record: EntityRecord) -> None:
        """A complaint as people search it (search_store.py); repeated at every settle, so
        an index write a crash interrupted is completed by the next delivery."""
        if self.search is None or record.kind != projection.COMPLAINT:
            return
        site = record.state["site"]
        month = projection.listing(record.kind, record.state, self.sites).get("month")
        await self.search.index(record.id, site, month, record.state)


def projecting(projector: Projector) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        return await projector.project(envelope)

    return handle
