"""Registry from event type to payload model, and parsing at the edge.

`parse_event` turns raw bytes into a typed `Envelope` or raises `InvalidEvent`
with the field paths, so a consumer can dead-letter the message with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
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
    """The wire form: the payload serialised by its own model, not the generic bound."""
    return envelope.model_dump_json(serialize_as_any=True).encode()
