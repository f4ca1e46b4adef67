"""The notify service on the real broker and database: a category-a complaint registered
at sz (published twice, as a redelivery would) reaches the quality engineer, the manager
and the GM once each through a real SMTP server; the directory is read over HTTP with
the service's API key, as from the desk."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from services.common.contracts.registry import to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.settings import ServiceSettings
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.support.infra import Infra
from tests.support.services import running
from tests.support.waiting import eventually
from tests.unit.notify.test_notify_email import PEOPLE, Catcher, free_port, registered_envelope

pytestmark = pytest.mark.integration
KEY = "notify-test-key"


@pytest.fixture
def desk() -> Iterator[str]:
    class People(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            ok = self.path == "/admin/people" and self.headers.get("X-API-Key") == KEY
            body = json.dumps({"items": PEOPLE, "count": len(PEOPLE)}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body if ok else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), People)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_registered_complaint_mailed_once_to_each(
    infra: Infra, settings: ServiceSettings, desk: str
) -> None:
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    notify = NotifySettings(
        **settings.model_dump(),
        notify_desk_url=desk,
        notify_desk_api_key=KEY,
        notify_smtp_port=smtp.port,
        notify_send_seconds=0.2,
    )
    app = create_app(notify)
    try:
        async with running(app) as (_, ctx):
            envelope = registered_envelope(ctx.rulebook)
            connection = await aio_pika.connect(infra.amqp_url)
            async with connection:
                exchange = await (await connection.channel()).get_exchange(EVENTS_EXCHANGE)
                for _ in range(2):
                    message = aio_pika.Message(to_json(envelope), message_id=str(envelope.id))
                    await exchange.publish(message, routing_key=f"sz.{envelope.type}")

            async def three_sent() -> bool:
                return len(catcher.mails) >= 3 and not await ctx.db["notify_queue"].find_one({})

            await eventually(three_sent, timeout=20)
            assert sorted(r[0] for r, _ in catcher.mails) == [
                "gm@abc.test", "mgr@abc.test", "qe@abc.test"
            ]  # fmt: skip
            stored = await ctx.db["notifications"].find_one({"_id": f"{envelope.id}|qe|email"})
            assert stored is not None and stored["status"] == "sent"
            assert stored["event_type"] == "complaint.registered"
    finally:
        smtp.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(f"{settings.database}_notify")
        await client.close()
