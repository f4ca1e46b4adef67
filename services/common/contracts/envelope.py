"""The event envelope: CloudEvents 1.0 attribute names plus qloop's own.

Every message on the broker is one `Envelope` serialised as JSON. `data` is a
typed, frozen pydantic model chosen by `type` through the registry in
`services.common.contracts.registry`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

SITE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class Contract(BaseModel):
    """Base of every message payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


DataT = TypeVar("DataT", bound=BaseModel)


class Envelope(BaseModel, Generic[DataT]):
    """One event. Producers set the ids; consumers never trust order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(description="Unique event id; consumers deduplicate on it.")
    source: str = Field(min_length=1, description="The producing service, e.g. /qloop/intake.")
    type: str = Field(pattern=EVENT_TYPE_PATTERN, description="e.g. complaint.registered")
    time: UtcDatetime = Field(description="When the fact happened (UTC).")
    subject: str | None = Field(default=None, description="What it is about, e.g. a number.")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(description="urn:qloop:event:<type>:<schema version>")
    site: str = Field(pattern=SITE_PATTERN, description="Site id from the site's rule file.")
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = Field(default=None, max_length=128)
    data: DataT

    @property
    def routing_key(self) -> str:
        return routing_key(self.site, self.type)

    @property
    def schema_version(self) -> int:
        return int(self.dataschema.rsplit(":", 1)[1])


def routing_key(site: str, event_type: str) -> str:
    """`<site>.<event type>`: sites and event types are bound to queues independently."""
    return f"{site}.{event_type}"


def dataschema_urn(event_type: str, version: int) -> str:
    return f"urn:qloop:event:{event_type}:{version}"
