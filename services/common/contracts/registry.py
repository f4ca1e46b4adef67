"""Registry from event type to payload model, and parsing at the edge.

`parse_event` turns raw bytes into a typed `Envelope` or raises `InvalidEvent`
with the field paths, so a consumer can dead-letter the message with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from services.common.contracts import text
from services.common.contracts.envelope import Envelope, dataschema_urn
from services.common.contracts.text import lone_surrogate_at


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    version: int
    model: type[BaseModel]
    description: str

    @property
    def dataschema(self) -> str:
        return dataschema_urn(self.event_type, self.version)


_REGISTRY: dict[tuple[str, int], EventSpec] = {}


def register(event_type: str, version: int, description: str) -> Any:
    """Class decorator: `@register("complaint.registered", 1, "...")`."""

    def wrap(model: type[BaseModel]) -> type[BaseModel]:
        key = (event_type, version)
        if key in _REGISTRY and _REGISTRY[key].model is not model:
            raise ValueError(f"event {event_type} v{version} registered twice")
        _REGISTRY[key] = EventSpec(event_type, version, model, description)
        return model

    return wrap


def specs() -> Iterator[EventSpec]:
    _load_all()
    yield from sorted(_REGISTRY.values(), key=lambda s: (s.event_type, s.version))


def spec_for(event_type: str, version: int | None = None) -> EventSpec:
    _load_all()
    if version is None:
        versions = [v for (t, v) in _REGISTRY if t == event_type]
        if not versions:
            raise KeyError(event_type)
        version = max(versions)
    return _REGISTRY[(event_type, version)]


def _load_all() -> None:
    # Importing the catalogue registers every event model (pure declarations, no I/O).
    import services.common.contracts.catalogue  # noqa: F401


class InvalidEvent(Exception):
    """A message that can never be processed: dead-letter it, with this reason."""

    def __init__(self, reason: str, fields: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields or []


def _errors(exc: ValidationError, prefix: str) -> InvalidEvent:
    parts, fields = [], []
    for err in exc.errors(include_url=False)[:10]:
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        fields.append(path)
        parts.append(f"{path}: {err['msg']}")
    return InvalidEvent("; ".join(parts), fields)


STRUCTURED = "application/cloudevents+json"
# The largest message qloop takes in, by HTTP or from the broker: a larger one is refused
# with this reason rather than stored and fanned out to every subscriber.
MAX_MESSAGE_BYTES = 1024 * 1024
# Binary mode (CloudEvents AMQP binding): attributes in application properties. The binding
# names them `cloudEvents_`/`cloudEvents:`; many clients write `ce_` (or HTTP's `ce-`).
_ATTRIBUTE_PREFIXES = ("ce_", "ce-", "cloudevents_", "cloudevents:")


def parse_message(
    body: bytes | str, headers: Mapping[str, Any] | None, content_type: str | None
) -> Envelope[BaseModel]:
    """A broker message in either CloudEvents mode: binary when its headers carry the
    attributes (`ce_specversion`), else structured (`application/cloudevents+json`, or
    `application/json` as qloop wrote before, or no content type)."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise InvalidEvent(
            f"body: {len(body)} bytes, larger than the limit of {MAX_MESSAGE_BYTES} bytes",
            ["body"],
        )
    attributes = _binary_attributes(headers or {})
    if not attributes:
        return parse_event(body)
    if "specversion" not in attributes:
        raise InvalidEvent("ce_specversion: missing in a binary-mode event", ["specversion"])
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"data is not JSON: {str(exc)[:200]}", ["data"]) from None
    media_type = (content_type or "application/json").split(";")[0].strip()
    attributes.setdefault("datacontenttype", media_type)
    return parse_document({**attributes, "data": data})


def event_type_of(body: bytes | str, headers: Mapping[str, Any] | None) -> str | None:
    """The `type` of a message in either mode, without validating it (None if unreadable)."""
    attributes = _binary_attributes(headers or {})
    if attributes:
        value = attributes.get("type")
    else:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None
        value = document.get("type") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def _binary_attributes(headers: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for name, value in headers.items():
        lowered = str(name).lower()
        prefix = next((p for p in _ATTRIBUTE_PREFIXES if lowered.startswith(p)), None)
        if prefix is None:
            continue
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        attributes[lowered[len(prefix) :]] = value
    return attributes


def parse_event(raw: bytes | str) -> Envelope[BaseModel]:
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8 and bad JSON, and also integers longer than Python
        # converts (4300 digits); RecursionError, arrays or objects nested too deep. Each
        # would otherwise escape the consumer and leave the message unacknowledged.
        raise InvalidEvent(f"body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("body is not a JSON object")
    return parse_document(document)


def parse_document(document: dict[str, Any]) -> Envelope[BaseModel]:
    """A decoded structured-mode event (attributes and `data` in one object)."""
    unstorable = lone_surrogate_at(document)
    if unstorable is not None:
        field = text.describe(unstorable)
        raise InvalidEvent(f"{field}: {text.REASON}", [field])
    event_type, dataschema = document.get("type"), document.get("dataschema")
    if not isinstance(event_type, str):
        raise InvalidEvent("type: missing or not a string", ["type"])
    version = 1
    suffix = dataschema.rsplit(":", 1)[-1] if isinstance(dataschema, str) else ""
    if suffix.isdecimal():
        if len(suffix) > 6:
            raise InvalidEvent(
                f"dataschema: version {suffix[:20]}... is not a version", ["dataschema"]
            )
        version = int(suffix)
    try:
        spec = spec_for(event_type, version)
    except KeyError:
        raise InvalidEvent(
            f"type: unknown event type {event_type!r} v{version}", ["type"]
        ) from None
    try:
        return Envelope[spec.model].model_validate(document)  # type: ignore[name-defined]
    except ValidationError as exc:
        raise _errors(exc, "") from None


def new_event(
    data: BaseModel,
    *,
    site: str,
    source: str,
    time: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    subject: str | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope[BaseModel]:
    """Wrap a payload in an envelope; its type and schema come from the registry."""
    spec = next((s for s in specs() if s.model is type(data)), None)
    if spec is None:
        raise KeyError(f"{type(data).__name__} is not a registered event")
    eid = event_id or uuid.uuid4()
    envelope: Envelope[BaseModel] = Envelope[spec.model](  # type: ignore[name-defined]
        id=eid,
        source=source,
        type=spec.event_type,
        time=time,
        subject=subject,
        dataschema=spec.dataschema,
        site=site,
        correlationid=correlation_id or str(eid),
        causationid=causation_id,
        data=data,
    )
    return envelope


def to_json(envelope: Envelope[BaseModel]) -> bytes:
    """The wire form (CloudEvents structured mode): the payload serialised by its own
    model, not the generic bound; optional attributes that are absent are left out, as
    CloudEvents readers refuse a null attribute (inside `data`, null stays null)."""
    document = envelope.model_dump(mode="json", serialize_as_any=True)
    for attribute in _OPTIONAL_ATTRIBUTES:
        if document.get(attribute) is None:
            document.pop(attribute, None)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


_OPTIONAL_ATTRIBUTES = ("subject", "causationid")
