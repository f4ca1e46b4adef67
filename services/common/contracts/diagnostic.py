"""Diagnostic events that prove the wiring end to end (outbox -> broker -> consumer)."""

from pydantic import Field

from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register


@register("diagnostic.ping", 1, "A probe emitted through the outbox and stored once downstream.")
class DiagnosticPing(Contract):
    note: str = Field(max_length=500)
    origin: str = Field(description="The service that emitted it.")
