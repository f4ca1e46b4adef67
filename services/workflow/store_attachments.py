"""Attachments in the workflow's database, every read by `_id` (FerretDB pushes nothing
else down; GridFS reads its chunks by a `files_id` filter, a scan there):

- `attachment_chunks`: `_id` = `<key>|<n>`, `data` = at most CHUNK_BYTES; the key is the
  attachment's id, or `<id>.thumbnail` for its thumbnail;
- `attachments`: the metadata document, `_id` = the attachment's id (AttachmentRecord);
- `attachment_lists`: `_id` = a case id (`<site>:<number>` also for a complaint's uploads
  that name its number), `items` = the summaries of its attachments, oldest first.

The chunks are written first and the metadata document last: a crash in between leaves
chunks nobody names, never a record whose bytes are missing."""

from __future__ import annotations

from typing import Any, Protocol

from bson import Binary

from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.workflow.domain.attachments import (
    AttachmentDamaged,
    AttachmentRecord,
    StoredBlob,
    chunk_id,
    chunked,
    verified,
)

RECORDS = "attachments"
CHUNKS = "attachment_chunks"
LISTS = "attachment_lists"


class AttachmentStore(Protocol):
    async def save(
        self,
        record: AttachmentRecord,
        data: bytes,
        thumbnail: bytes | None,
        listed_under: str | None,
    ) -> None: ...

    async def record(self, attachment_id: str) -> AttachmentRecord | None: ...

    async def content(self, stored: StoredBlob) -> bytes: ...

    async def listed(self, list_id: str) -> list[dict[str, Any]]: ...


class MongoAttachmentStore:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._records, self._chunks = db[RECORDS], db[CHUNKS]
        self._lists, self._locks = db[LISTS], locks

    async def save(
        self,
        record: AttachmentRecord,
        data: bytes,
        thumbnail: bytes | None,
        listed_under: str | None,
    ) -> None:
        await self._write_chunks(record.file.key, data)
        if record.thumbnail is not None and thumbnail is not None:
            await self._write_chunks(record.thumbnail.key, thumbnail)
        await self._records.insert_one({"_id": record.id, **record.model_dump(mode="json")})
        if listed_under is not None:
            # Read-modify-write of one document: under its lock (FerretDB, docs/architecture.md).
            async with self._locks.hold(LISTS, listed_under):
                await self._lists.update_one(
                    {"_id": listed_under},
                    {"$push": {"items": record.summary()}},
                    upsert=True,
                )

    async def _write_chunks(self, key: str, data: bytes) -> None:
        documents = [
            {"_id": chunk_id(key, n), "data": Binary(piece)}
            for n, piece in enumerate(chunked(data))
        ]
        for start in range(0, len(documents), 8):  # at most ~2 MB a command
            await self._chunks.insert_many(documents[start : start + 8], ordered=True)

    async def record(self, attachment_id: str) -> AttachmentRecord | None:
        found = await self._records.find_one({"_id": attachment_id})
        if found is None:
            return None
        found.pop("_id")
        return AttachmentRecord.model_validate(found)

    async def content(self, stored: StoredBlob) -> bytes:
        """The stored bytes, checked against their size and SHA-256 (AttachmentDamaged)."""
        pieces = []
        for n in range(stored.chunks):
            chunk = await self._chunks.find_one({"_id": chunk_id(stored.key, n)})
            if chunk is None:
                raise AttachmentDamaged(f"{stored.key}: chunk {n} of {stored.chunks} is missing")
            pieces.append(bytes(chunk["data"]))
        return verified(stored, b"".join(pieces))

    async def listed(self, list_id: str) -> list[dict[str, Any]]:
        found = await self._lists.find_one({"_id": list_id})
        return list(found.get("items", [])) if found else []
