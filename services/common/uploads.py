"""Multipart form uploads read from the request stream, in the event loop.

Starlette's `request.form()` spools a file over 1 MiB to a temporary file and writes and
reads it in worker threads; qloop keeps the request path off threads (docs/architecture.md).
Here each part is kept in memory up to the caller's limit: a file part over the limit is
marked `too_large` and its further bytes are counted, not kept, so the answer can name the
field. Only the whole request over `max_request` is cut short (`RequestTooLarge`).

Used by the desk (the forms people post) and the workflow (which stores attachments).
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 64 * 1024  # bytes of one plain (non-file) field


class RequestTooLarge(Exception):
    """The request body is larger than the form can be, whatever its parts."""


class NotAForm(Exception):
    """The body is not multipart/form-data (or it is malformed); the reason says which."""


@dataclass
class UploadedFile:
    input_name: str
    filename: str
    content_type: str
    data: bytearray = field(default_factory=bytearray)
    size: int = 0  # every byte sent, kept or not
    too_large: bool = False


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def files_of(self, name: str) -> list[UploadedFile]:
        """The files posted under `name` (a file input left empty sends none)."""
        return [f for f in self.files if f.input_name == name and (f.filename or f.size)]


class _Part:
    def __init__(self, headers: dict[bytes, bytes]) -> None:
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        del disposition
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self.filename = None if raw_filename is None else raw_filename.decode("utf-8", "replace")
        kind, _ = parse_options_header(headers.get(b"content-type", b""))
        self.content_type = kind.decode("latin-1").lower()
        self.value = bytearray()


async def read_form(
    content_type: str, body: AsyncIterable[bytes], *, max_file: int, max_request: int
) -> Form:
    """The fields and files of a multipart/form-data body (or the fields of a plain
    urlencoded form, which has no files)."""
    kind, options = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        return await _urlencoded(body, min(max_request, 16 * FIELD_LIMIT))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise NotAForm("the body must be multipart/form-data with a boundary")
    form = Form()
    headers: dict[bytes, bytes] = {}
    name: list[bytes] = []
    current: list[_Part | UploadedFile] = []

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        name.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = b"".join(name).lower()
        name.clear()
        headers[key] = headers.get(key, b"") + data[start:end]

    def on_headers_finished() -> None:
        part = _Part(headers)
        if part.filename is None:
            current[:] = [part]
            return
        upload = UploadedFile(part.name, part.filename, part.content_type)
        form.files.append(upload)
        current[:] = [upload]

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = current[0]
        piece = data[start:end]
        if isinstance(part, UploadedFile):
            part.size += len(piece)
            part.too_large = part.too_large or part.size > max_file
            if not part.too_large:
                part.data += piece
            return
        if len(part.value) + len(piece) > FIELD_LIMIT:
            raise NotAForm(f"the field {part.name!r} is longer than {FIELD_LIMIT} bytes")
        part.value += piece

    def on_part_end() -> None:
        part = current[0]
        if isinstance(part, _Part):
            form.fields.setdefault(part.name, part.value.decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    read = 0
    try:
        async for chunk in body:
            read += len(chunk)
            if read > max_request:
                raise RequestTooLarge(f"the request body is larger than {max_request} bytes")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise NotAForm(f"the form cannot be read: {exc}") from None
    return form


async def _urlencoded(body: AsyncIterable[bytes], limit: int) -> Form:
    raw = bytearray()
    async for chunk in body:
        raw += chunk
        if len(raw) > limit:
            raise RequestTooLarge(f"the form is larger than {limit} bytes")
    form = Form()
    for name, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        form.fields.setdefault(name, value)
    return form
