"""Use cases of attachments: accept a file for a complaint being registered, a complaint
by number or a case; list a case's attachments (its complaint's, then its own); read one
back, checked."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from services.common.clock import Clock
from services.workflow.domain.attachments import (
    THUMBNAILED,
    AttachmentRecord,
    AttachmentRefused,
    accepted_type,
    blob,
    safe_name,
    thumbnail,
)
from services.workflow.domain.case import Case
from services.workflow.domain.opening import case_id
from services.workflow.metrics import WorkflowMetrics
from services.workflow.store_attachments import AttachmentStore

ID_PREFIX = "att_"  # a complaint's reference (url_or_key) to a file stored here


@dataclass(frozen=True)
class Upload:
    site: str
    name: str
    declared_type: str
    data: bytes
    uploaded_by: str
    complaint: str | None = None
    case: Case | None = None


@dataclass
class Attachments:
    store: AttachmentStore
    clock: Clock
    max_bytes: int
    types: Collection[str]
    metrics: WorkflowMetrics | None = None

    async def accept(self, upload: Upload) -> AttachmentRecord:
        """Store the file (AttachmentRefused when its size or type is not accepted)."""
        name = safe_name(upload.name)
        try:
            content_type = accepted_type(
                upload.data, upload.declared_type, name, self.types, self.max_bytes
            )
        except AttachmentRefused as refusal:
            self.refused(upload.site, refusal.code)
            raise
        new_id = f"{ID_PREFIX}{uuid.uuid4().hex}"
        small = thumbnail(upload.data) if content_type in THUMBNAILED else None
        case = upload.case
        record = AttachmentRecord(
            id=new_id,
            site=upload.site,
            name=name,
            file=blob(new_id, content_type, upload.data),
            thumbnail=blob(f"{new_id}.thumbnail", small[1], small[0]) if small else None,
            uploaded_by=upload.uploaded_by,
            uploaded_at=self.clock.now(),
            complaint=upload.complaint or (case.reference if case else None),
            case_id=case.id if case else None,
            stage=case.stage if case else None,
        )
        listed_under = case.id if case else None
        if listed_under is None and upload.complaint:
            listed_under = case_id(upload.site, upload.complaint)
        await self.store.save(record, upload.data, small[0] if small else None, listed_under)
        if self.metrics is not None:
            self.metrics.attachments.labels(upload.site, "stored").inc()
            self.metrics.attachment_bytes.labels(upload.site).inc(len(upload.data))
        return record

    def refused(self, site: str, code: str) -> None:
        """Count a refused file (also one the upload edge refused for its size)."""
        if self.metrics is not None:
            self.metrics.attachments.labels(site, code).inc()

    async def of_case(self, case: Case) -> list[dict[str, Any]]:
        """The complaint's attachments (its references to files stored here; others by
        their reference alone), then those uploaded to the case, each once."""
        items: list[dict[str, Any]] = []
        for ref in (case.complaint or {}).get("attachments", ()):
            key = str(ref.get("url_or_key", ""))
            record = await self.store.record(key) if key.startswith(ID_PREFIX) else None
            if record is not None and record.site == case.site:
                items.append(record.summary())
            else:
                items.append(_reference(key, ref))
        seen = {i["id"] for i in items}
        items += [i for i in await self.store.listed(case.id) if i["id"] not in seen]
        return items


def _reference(key: str, ref: dict[str, Any]) -> dict[str, Any]:
    """A reference to a file kept elsewhere (a URL, another system's key)."""
    return {"id": None, "name": key, "content_type": ref.get("content_type"),
            "size": ref.get("size"), "thumbnail": False, "stage": None}  # fmt: skip
