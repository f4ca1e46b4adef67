"""Settings shared by every service: environment variables with the QLOOP_ prefix.

URLs carry credentials, so they have no defaults: a service without them refuses
to start with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# What people may attach to a complaint or a case (photos, PDFs, spreadsheets).
ATTACHMENT_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel", "text/csv",
)  # fmt: skip


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QLOOP_", extra="ignore", frozen=True)

    amqp_url: str = Field(description="RabbitMQ URL, e.g. amqp://user:pass@host:5672/vhost")
    mongodb_url: str = Field(description="MongoDB URL, e.g. mongodb://host:27017/")
    database: str = Field(default="qloop", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535, description="0: the service's own default")
    rules_dir: Path = Path("rules")
    rules_reload_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Prepended to every queue this service declares: lets tests and side-by-side
    # deployments on one broker keep their queues apart.
    queue_prefix: str = Field(default="", pattern=r"^[a-z0-9_.-]{0,40}$")
    api_keys_file: Path | None = Field(
        default=None, description="YAML list of hashed API keys (see services/common/auth.py)"
    )
    # People's access tokens, signed by the desk: without a JWKS URL a service accepts API
    # keys only. The desk signs with this issuer and audience; the others check both.
    token_jwks_url: str | None = Field(
        default=None, description="The desk's JWKS, e.g. http://desk:8085/.well-known/jwks.json"
    )
    token_issuer: str = Field(default="qloop-desk", min_length=1)
    token_audience: str = Field(default="qloop", min_length=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    prefetch: int = Field(default=32, ge=1, le=10_000)
    delivery_limit: int = Field(default=5, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Recovery passes (the outbox relay's full pass, the workflow's re-planning of cases a
    # crash left unplanned) only find what a crash or another process left: writers hand
    # their work on directly. They scan whole collections on FerretDB, so they run at
    # start, after a failure, and then this often.
    recovery_scan_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The first retention pass (personal data past its retention) this long after start:
    # on FerretDB it scans the large collections, and a start has catching up to do first.
    retention_first_seconds: float = Field(default=600.0, ge=0, le=86400)
    # How long a consumer keeps retrying a message while the database is unreachable
    # before handing it back to the broker (which does not count that as a failure of the
    # message itself when the database comes back within the window).
    transient_retry_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Attachments (the workflow stores them, the desk forwards them): the largest file and
    # the content types accepted, checked against the file's own magic bytes too.
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    attachment_types: Annotated[tuple[str, ...], NoDecode] = Field(
        default=ATTACHMENT_TYPES, description="Comma-separated content types"
    )

    @field_validator("attachment_types", mode="before")
    @classmethod
    def _listed_types(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(t.strip().lower() for t in value.split(",") if t.strip())
        return value

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, value: str) -> str:
        if not value.startswith(("amqp://", "amqps://")):
            raise ValueError("QLOOP_AMQP_URL must start with amqp:// or amqps://")
        return value

    @field_validator("mongodb_url")
    @classmethod
    def _mongo_scheme(cls, value: str) -> str:
        if not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("QLOOP_MONGODB_URL must start with mongodb:// or mongodb+srv://")
        return value
