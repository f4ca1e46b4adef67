"""Group-robot webhooks against a local HTTP receiver the test starts: each vendor's body
and signature, recomputed here as the vendors' documents describe them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from services.notify.domain import Notification
from services.notify.email import PermanentFailure, TemporaryFailure
from services.notify.webhooks import Robot

pytestmark = pytest.mark.unit
NOW = 1_767_225_600
SECRET = "SECtest-secret"
AT = datetime(2026, 3, 2, tzinfo=UTC)
NOTE = Notification(
    id="e1|qe|dingtalk", site="sz", channel="dingtalk", person_id="qe", language="zh",
    cause="complaint_registered", event_id="e1", event_type="complaint.registered",
    why=("quality",), subject="客诉 SZ-1 已登记（Acme）", text="客诉 SZ-1 已登记（Acme）\n\n链接",
    html="<p/>", next_attempt_at=AT, created_at=AT,
)  # fmt: skip


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.reply: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            got.requests.append((self.path, dict(self.headers), body))
            self.send_response(got.status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(got.reply).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield got, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_dingtalk_signs_timestamp_and_secret(receiver: Any) -> None:
    got, base = receiver
    asyncio.run(Robot("dingtalk", f"{base}/robot/send?access_token=T", SECRET).post(NOTE, NOW))
    path, _, body = got.requests[0]
    query = parse_qs(urlsplit(path).query)
    assert query["access_token"] == ["T"] and query["timestamp"] == [str(NOW * 1000)]
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{NOW * 1000}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    raw_sign = urlsplit(path).query.split("sign=")[1]
    assert unquote_plus(raw_sign) == expected
    sent = json.loads(body)
    assert sent["msgtype"] == "markdown" and sent["markdown"]["title"] == NOTE.subject


def test_feishu_signs_with_the_key_over_an_empty_message(receiver: Any) -> None:
    got, base = receiver
    got.reply = {"code": 0, "msg": "success"}
    asyncio.run(Robot("feishu", f"{base}/open-apis/bot/v2/hook/X", SECRET).post(NOTE, NOW))
    sent = json.loads(got.requests[0][2])
    key = f"{NOW}\n{SECRET}".encode()
    assert sent["timestamp"] == str(NOW)
    assert sent["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert sent["msg_type"] == "text" and sent["content"]["text"] == NOTE.text


def test_wecom_markdown_and_generic_signature(receiver: Any) -> None:
    got, base = receiver
    asyncio.run(Robot("wecom", f"{base}/cgi-bin/webhook/send?key=K").post(NOTE, NOW))
    wecom = json.loads(got.requests[0][2])
    assert wecom["msgtype"] == "markdown" and NOTE.subject in wecom["markdown"]["content"]
    asyncio.run(Robot("webhook", f"{base}/hook", SECRET).post(NOTE, NOW))
    _, headers, body = got.requests[1]
    mac = hmac.new(SECRET.encode(), f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Qloop-Signature"] == f"sha256={mac}"
    assert json.loads(body)["event_id"] == "e1"


def test_answers_sorted_into_retry_and_permanent(receiver: Any) -> None:
    got, base = receiver
    got.status = 503
    with pytest.raises(TemporaryFailure):
        asyncio.run(Robot("wecom", f"{base}/x").post(NOTE, NOW))
    got.status = 400
    with pytest.raises(PermanentFailure):
        asyncio.run(Robot("wecom", f"{base}/x").post(NOTE, NOW))
    got.status, got.reply = 200, {"errcode": 310000, "errmsg": "sign not match"}
    with pytest.raises(PermanentFailure, match="310000"):
        asyncio.run(Robot("dingtalk", f"{base}/x", SECRET).post(NOTE, NOW))


def test_a_site_robot_gets_each_cause_once(receiver: Any) -> None:
    from prometheus_client import CollectorRegistry

    from services.common.clock import ManualClock
    from services.common.rulebook import Rulebook
    from services.notify.directory import StaticDirectory
    from services.notify.email import SmtpChannel
    from services.notify.metrics import notify_metrics
    from services.notify.sender import Sender
    from services.notify.service import Notifier
    from services.notify.store import InMemoryNotificationStore
    from tests.unit.notify.test_notify_email import RULES, START, registered_envelope

    got, base = receiver
    got.reply = {"code": 0}
    robots = {"sz": [Robot("feishu", f"{base}/hook", SECRET)]}
    store, clock = InMemoryNotificationStore(), ManualClock(START)
    metrics = notify_metrics(CollectorRegistry())
    directory = StaticDirectory([])
    rulebook = Rulebook.load(RULES)
    notifier = Notifier(store, directory, rulebook, clock, metrics, "http://desk.test", robots)
    sender = Sender(store, directory, SmtpChannel("127.0.0.1", 1, "x@y"), clock, metrics, robots)
    envelope = registered_envelope(rulebook)

    async def run() -> tuple[int, int, int, int]:
        first, again = await notifier.record(envelope), await notifier.record(envelope)
        return first, again, await sender.send_due(), await sender.send_due()

    assert asyncio.run(run()) == (1, 0, 1, 0)
    sent = json.loads(got.requests[0][2])
    assert sent["content"]["text"].startswith("客诉 ")  # sz writes Chinese first
    assert "http://desk.test/complaints/" in sent["content"]["text"]
    assert sent["timestamp"] == str(int(START.timestamp()))
    (record,) = store.items.values()
    assert (record.channel, record.status) == ("feishu", "sent")


def test_a_department_chooses_its_group_robot_instead_of_mails(receiver: Any) -> None:
    """production: {channels: [robot:line-group]}: its people's causes go to that named
    robot, once per event, and not by e-mail; the site's unnamed robot still gets each
    event; a channel naming no configured robot is counted, not lost silently."""
    import shutil
    import tempfile
    from pathlib import Path

    from prometheus_client import CollectorRegistry

    from services.common.clock import ManualClock
    from services.common.rulebook import Rulebook
    from services.notify.directory import StaticDirectory
    from services.notify.metrics import notify_metrics
    from services.notify.sender import Sender
    from services.notify.service import Notifier
    from services.notify.store import InMemoryNotificationStore
    from tests.unit.notify.test_notify_email import RULES, START
    from tests.unit.notify.test_notify_preferences import Outbox
    from tests.unit.notify.test_notify_triggers import STAFF, envelope, stage_changed

    got, base = receiver
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(RULES, Path(tmp) / "rules")
        path = Path(tmp) / "rules" / "abc-company.yaml"
        section = (
            "\nnotifications:\n  departments:\n"
            "    production: {channels: [robot:line-group]}\n"
            "    pmc: {channels: [robot:nowhere]}\n"
        )
        path.write_text(path.read_text(encoding="utf-8") + section, encoding="utf-8")
        rulebook = Rulebook.load(Path(tmp) / "rules")
    robots = {
        "sz": [
            Robot("wecom", f"{base}/site"),
            Robot("webhook", f"{base}/line", SECRET, name="line-group"),
        ]
    }
    staff = [*STAFF, {"id": "pm", "name": "PM", "email": "pm@abc.test",
                      "grants": [{"site": "sz", "departments": ["pmc"]}]}]  # fmt: skip
    store, clock = InMemoryNotificationStore(), ManualClock(START)
    metrics = notify_metrics(CollectorRegistry())
    directory = StaticDirectory(staff)
    notifier = Notifier(store, directory, rulebook, clock, metrics, "http://desk.test", robots)
    outbox = Outbox()
    sender = Sender(store, directory, outbox, clock, metrics, robots)  # type: ignore[arg-type]
    fact = envelope("case.stage_changed", stage_changed("containment"))  # quality, pmc, prod.

    async def run() -> tuple[int, int]:
        first = await notifier.record(fact)
        await notifier.record(fact)  # redelivered: nothing new
        return first, await sender.send_due()

    assert asyncio.run(run()) == (3, 3)  # qe's mail, the site robot, the line group
    assert sorted(a for a, _ in outbox.sent) == ["qe@abc.test"]
    paths = sorted(path for path, _, _ in got.requests)
    assert paths == ["/line", "/site"]
    line = next(json.loads(body) for path, _, body in got.requests if path == "/line")
    assert line["cause"] == "case_stage" and line["id"] == f"{fact.id}|robot:line-group|webhook"
    assert "临时围堵" in line["subject"]
    unaddressed = metrics.notifications.labels("sz", "robot", "unaddressed")._value.get()
    assert unaddressed == 2  # pmc's robot:nowhere, each time the event was read
