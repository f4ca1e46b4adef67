"""Attachments without a database: chunking, checksums, accepted types by the bytes
themselves, thumbnails, and the multipart reader the desk and the workflow share."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.common.settings import ATTACHMENT_TYPES
from services.common.uploads import read_form
from services.workflow.domain.attachments import (
    CHUNK_BYTES,
    AttachmentDamaged,
    AttachmentRefused,
    accepted_type,
    blob,
    chunked,
    safe_name,
    thumbnail,
    verified,
)
from services.workflow.reply import reply_pdf

LIMIT = 1024 * 1024


def png(size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(out, "PNG")
    return out.getvalue()


def test_chunks_are_at_most_255_kib_and_join_back() -> None:
    data = bytes(range(256)) * 4000  # 1,024,000 bytes
    pieces = chunked(data)
    assert [len(p) for p in pieces[:-1]] == [CHUNK_BYTES] * (len(pieces) - 1)
    assert len(pieces) == 4 and b"".join(pieces) == data
    assert chunked(b"") == []
    assert blob("a", "text/csv", data).chunks == 4


def test_a_changed_byte_or_a_lost_chunk_is_detected() -> None:
    data = b"x" * 1000
    stored = blob("a", "text/csv", data)
    assert verified(stored, data) == data
    with pytest.raises(AttachmentDamaged):
        verified(stored, b"y" + data[1:])
    with pytest.raises(AttachmentDamaged):
        verified(stored, data[:500])


def test_the_type_comes_from_the_bytes() -> None:
    assert accepted_type(png(), "image/png", "a.png", ATTACHMENT_TYPES, LIMIT) == "image/png"
    assert accepted_type(png(), "", "a", ATTACHMENT_TYPES, LIMIT) == "image/png"
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
    assert accepted_type(pdf, "application/pdf", "r.pdf", ATTACHMENT_TYPES, LIMIT).endswith("pdf")
    csv = "批号,数量\nL1,3\n".encode()
    assert accepted_type(csv, "application/vnd.ms-excel", "a.csv", ATTACHMENT_TYPES, LIMIT) == (
        "text/csv"
    )


@pytest.mark.parametrize(
    ("data", "declared", "code"),
    [
        (b"MZ\x90\x00" + b"\x00" * 60, "image/png", "type_not_allowed"),  # a program
        (b"%PDF-1.4\n%%EOF\n", "image/png", "type_mismatch"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", "unreadable"),
        (b"\x00\x01binary", "text/csv", "type_not_allowed"),
    ],
)
def test_refused_types_say_why(data: bytes, declared: str, code: str) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        accepted_type(data, declared, "f", ATTACHMENT_TYPES, LIMIT)
    assert refused.value.code == code


def test_a_file_over_the_limit_is_refused() -> None:
    with pytest.raises(AttachmentRefused) as refused:
        accepted_type(png(), "image/png", "a.png", ATTACHMENT_TYPES, 100)
    assert refused.value.code == "too_large"


def test_thumbnails_are_small_jpeg_or_png_with_transparency() -> None:
    small, kind = thumbnail(png()) or (b"", "")
    assert kind == "image/jpeg" and max(Image.open(io.BytesIO(small)).size) == 240
    small, kind = thumbnail(png((100, 50), "RGBA")) or (b"", "")
    assert kind == "image/png" and Image.open(io.BytesIO(small)).size == (100, 50)


def test_names_lose_folders_and_control_characters() -> None:
    assert safe_name("C:\\Users\\li\\照片 1.png") == "照片 1.png"
    assert safe_name("../../etc/pa\x00ss") == "pass"
    assert safe_name("") == "attachment"


async def _stream(body: bytes, size: int = 1000):  # type: ignore[no-untyped-def]
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_the_form_reader_keeps_fields_and_marks_a_file_too_large() -> None:
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="site"\r\n\r\nsz\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n",
    ]
    body = "".join(parts).encode() + b"z" * 5000 + f"\r\n--{boundary}--\r\n".encode()
    kind = f"multipart/form-data; boundary={boundary}"
    form = await read_form(kind, _stream(body), max_file=10_000, max_request=100_000)
    assert form.fields == {"site": "sz"}
    [sent] = form.files_of("file")
    assert (sent.filename, sent.content_type, bytes(sent.data)) == (
        "a.png",
        "image/png",
        b"z" * 5000,
    )
    form = await read_form(kind, _stream(body), max_file=1000, max_request=100_000)
    assert form.files[0].too_large and form.files[0].size == 5000 and not form.files[0].data[1000:]


async def test_a_plain_form_has_fields_and_no_files() -> None:
    kind = "application/x-www-form-urlencoded"
    form = await read_form(
        kind, _stream(b"site=sz&description=%E8%A3%82"), max_file=1, max_request=1000
    )
    assert form.fields == {"site": "sz", "description": "裂"} and form.files == []


def test_a_picture_broken_past_its_header_gets_no_thumbnail() -> None:
    whole = png()
    assert thumbnail(whole[: len(whole) // 2]) is None


def test_a_broken_picture_is_still_refused_after_a_reply_was_made_as_pdf() -> None:
    """WeasyPrint's import turns on Pillow's LOAD_TRUNCATED_IMAGES for the process; the
    workflow puts it back, so a broken picture never passes after a PDF was made."""
    reply_pdf("<html><body><p>回复</p></body></html>")
    whole = png()
    assert thumbnail(whole[: len(whole) // 2]) is None
