"""Attachments of a complaint or a case: what is accepted (size, and the type the bytes
themselves show, not only the one declared), how the bytes are cut into chunks of at most
CHUNK_BYTES and checked on the way back (size and SHA-256), and the thumbnail of a photo.

Pure computation: the store (services/workflow/store_attachments.py) writes and reads."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Literal

import filetype
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

CHUNK_BYTES = 255 * 1024  # one chunk document stays far below the 16 MB document limit
THUMBNAIL_EDGE = 240  # pixels, the longer side
MAX_THUMBNAIL_PIXELS = 60_000_000  # a larger picture is kept without a thumbnail
GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
# Names browsers and mail programs use for the same types.
ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
    "application/x-pdf": "application/pdf", "text/comma-separated-values": "text/csv",
    "application/csv": "text/csv", "text/x-csv": "text/csv",
}  # fmt: skip
# Windows browsers declare a .csv file as Excel's when Excel is installed.
ALSO_DECLARED = {"text/csv": {"application/vnd.ms-excel", "text/plain"}}
THUMBNAILED = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}
AttachmentProblem = Literal["too_large", "type_not_allowed", "type_mismatch", "unreadable"]


class AttachmentRefused(Exception):
    """The file is not accepted; `code` says why (the desk words it for people)."""

    def __init__(self, code: AttachmentProblem, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class AttachmentDamaged(Exception):
    """Stored bytes that no longer match their size or checksum (or a chunk is gone)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoredBlob(_Frozen):
    """Bytes kept as chunk documents `<key>|0`, `<key>|1`, ..."""

    key: str
    content_type: str
    size: int = Field(ge=0)
    sha256: str
    chunks: int = Field(ge=0)


class AttachmentRecord(_Frozen):
    """The metadata document of one attachment (`_id` = id)."""

    id: str
    site: str
    name: str
    file: StoredBlob
    thumbnail: StoredBlob | None = None
    uploaded_by: str
    uploaded_at: datetime
    complaint: str | None = None  # the complaint number, when given at the upload
    case_id: str | None = None
    stage: str | None = None  # the case's stage at the upload

    def summary(self) -> dict[str, object]:
        """What a list of attachments shows of it."""
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.file.content_type,
            "size": self.file.size,
            "sha256": self.file.sha256,
            "thumbnail": self.thumbnail is not None,
            "uploaded_by": self.uploaded_by,
            "uploaded_at": self.uploaded_at.isoformat(),
            "stage": self.stage,
        }


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(key: str, n: int) -> str:
    return f"{key}|{n}"


def chunked(data: bytes) -> list[bytes]:
    """`data` in pieces of at most CHUNK_BYTES (none for an empty file)."""
    return [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]


def blob(key: str, content_type: str, data: bytes) -> StoredBlob:
    return StoredBlob(
        key=key,
        content_type=content_type,
        size=len(data),
        sha256=checksum(data),
        chunks=len(chunked(data)),
    )


def verified(stored: StoredBlob, data: bytes) -> bytes:
    """`data` read back, when it is what was stored; else AttachmentDamaged."""
    if len(data) != stored.size or checksum(data) != stored.sha256:
        raise AttachmentDamaged(
            f"{stored.key}: {len(data)} bytes read do not match the stored size "
            f"{stored.size} and SHA-256 {stored.sha256}"
        )
    return data


def safe_name(filename: str) -> str:
    """The file's own name, without a client's folder path or control characters."""
    base = re.split(r"[\\/]", filename)[-1]
    clean = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return clean[:200] or "attachment"


def sniffed(data: bytes, declared: str, name: str) -> str | None:
    """The type the bytes show: their magic bytes, or CSV for readable text declared or
    named so (text has no magic bytes)."""
    found = filetype.guess_mime(data)
    if found is not None:
        return str(found)
    csv_like = declared in ("text/csv", *ALSO_DECLARED["text/csv"], *GENERIC)
    if (csv_like or name.lower().endswith(".csv")) and b"\x00" not in data[:8192]:
        for encoding in ("utf-8", "gb18030"):
            try:
                data.decode(encoding)
            except UnicodeDecodeError:
                continue
            return "text/csv"
    return None


def accepted_type(
    data: bytes, declared: str, name: str, allowed: Collection[str], max_bytes: int
) -> str:
    """The content type to store `data` under, or AttachmentRefused: larger than
    `max_bytes`, a type not `allowed`, or bytes that are not the type declared."""
    if len(data) > max_bytes:
        raise AttachmentRefused("too_large", f"the file is larger than {max_bytes} bytes")
    said = ALIASES.get(declared.lower(), declared.lower())
    found = sniffed(data, said, name)
    if found is None or found not in allowed:
        shown = found or said or "unknown"
        raise AttachmentRefused(
            "type_not_allowed",
            f"files of type {shown} are not accepted (accepted: {', '.join(sorted(allowed))})",
        )
    if said not in GENERIC and said != found and said not in ALSO_DECLARED.get(found, ()):
        raise AttachmentRefused(
            "type_mismatch", f"the file is declared {said} but its content is {found}"
        )
    if found in THUMBNAILED:
        _readable_image(data)
    return found


def _readable_image(data: bytes) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception as exc:  # Pillow raises many kinds for a broken picture
        raise AttachmentRefused("unreadable", f"the picture cannot be read: {exc}") from None


def thumbnail(data: bytes) -> tuple[bytes, str] | None:
    """A small PNG (pictures with transparency) or JPEG of a picture, or None when the
    picture is too large to decode for one, or fails to decode past its header (the file
    is kept: it is what the customer sent)."""
    try:
        return _thumbnail(data)
    except Exception:  # Pillow raises many kinds for a picture broken inside
        return None


def _thumbnail(data: bytes) -> tuple[bytes, str] | None:
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_THUMBNAIL_PIXELS:
            return None
        image.draft("RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # JPEG: decode at a smaller scale
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        out = io.BytesIO()
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            upright.convert("RGBA").save(out, "PNG", optimize=True)
            return out.getvalue(), "image/png"
        upright.convert("RGB").save(out, "JPEG", quality=80)
        return out.getvalue(), "image/jpeg"
