"""The AsyncAPI 3 document of qloop's events, generated from the registry with FastStream.

Every registered event is a channel `{site}.<type>` on the topic exchange `qloop.events`
whose message is the event's envelope schema. The broker object here is only a
description for FastStream's generator: it never connects.
"""

from __future__ import annotations

from typing import Any

import yaml
from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import specs
from services.common.messaging.topology import events_exchange


def document() -> dict[str, Any]:
    broker = RabbitBroker("amqp://rabbitmq:5672/", logger=None)
    for spec in specs():
        broker.publisher(
            routing_key=f"{{site}}.{spec.event_type}",
            exchange=events_exchange(),
            schema=Envelope[spec.model],  # type: ignore[name-defined]
            title=spec.event_type,
            description=f"{spec.description} (schema {spec.dataschema})",
        )
    specification = AsyncAPI(
        broker,
        title="qloop events",
        version="1",
        description="Events of qloop's services on RabbitMQ: topic exchange qloop.events, "
        "routing key <site>.<event type>, one JSON envelope with CloudEvents attribute names.",
        schema_version="3.0.0",
    ).to_specification()
    jsonable: dict[str, Any] = specification.to_jsonable()
    return jsonable


def to_yaml() -> str:
    # Sorted keys: the committed file changes only when a contract does.
    return yaml.safe_dump(document(), sort_keys=True, allow_unicode=True, width=100)
