"""How another system (ERP, CRM, e-commerce) sends a complaint to qloop.

Plain aio-pika and the standard library only: no qloop code is needed. The contract is
the JSON Schema in docs/events/complaint.submitted.v1.json.

    python docs/examples/publish_complaint.py amqp://guest:guest@127.0.0.1:5672/ sz

Rules of the road:
- publish to the topic exchange `qloop.events` with routing key `<site>.complaint.submitted`,
  persistent, with publisher confirms (the call returns once RabbitMQ has it);
- `id` is a fresh UUID per event; set `external_ref` to your own record id: sending the
  same `external_ref` again from the same `source` never registers a second complaint;
- qloop answers with `complaint.registered` (routing key `<site>.complaint.registered`,
  carrying your `external_ref`) or `complaint.rejected` (with every reason). An event
  that is not valid JSON or breaks the schema goes to qloop's dead-letter queue.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika


def envelope(complaint: dict[str, Any], *, source: str) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "complaint.submitted",
        "time": datetime.now(UTC).isoformat(),
        "subject": complaint.get("external_ref"),
        "datacontenttype": "application/json",
        "dataschema": "urn:qloop:event:complaint.submitted:1",
        "site": complaint["site"],
        "correlationid": event_id,
        "causationid": None,
        "data": {"complaint": complaint},
    }


async def publish_complaint(amqp_url: str, complaint: dict[str, Any], *, source: str) -> str:
    event = envelope(complaint, source=source)
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("qloop.events", ensure=True)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(event, ensure_ascii=False).encode(),
                content_type="application/json",
                message_id=event["id"],
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=f"{complaint['site']}.complaint.submitted",
        )
    return str(event["id"])


def example_complaint(site: str) -> dict[str, Any]:
    return {
        "site": site,
        "channel": "other_system",
        "customer": {"id": "C-100", "name": "Acme Auto Parts"},
        "contact": {"name": "Li Lei", "email": "li.lei@acme.example"},
        "products": [{"model": "BX-200", "quantity": 10000, "lot_numbers": ["L2026-11"]}],
        "description": "Cracked housings at incoming inspection / 来料检验发现外壳断裂",
        "defect_quantity": 120,
        "external_ref": f"ERP-{uuid.uuid4().hex[:10]}",
        "received_at": datetime.now(UTC).isoformat(),
    }


if __name__ == "__main__":
    url, site = sys.argv[1], sys.argv[2]
    sent = asyncio.run(publish_complaint(url, example_complaint(site), source="/erp/example"))
    print(f"published complaint.submitted {sent}")
