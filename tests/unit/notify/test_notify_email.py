"""Notify, end to end below the broker: a category-a complaint at the abc site (sz) is
recorded as one notification per person of the owner and the copy list, and sent to a
real SMTP server (aiosmtpd) as a two-part mail in the person's language with the link."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from services.common.clock import ManualClock
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ClassificationRecord, ComplaintRegistered
from services.common.contracts.envelope import Envelope, dataschema_urn
from services.common.rulebook import Rulebook
from services.common.rules import classify
from services.notify.directory import StaticDirectory
from services.notify.email import SmtpChannel
from services.notify.metrics import notify_metrics
from services.notify.sender import Sender
from services.notify.service import Notifier
from services.notify.store import InMemoryNotificationStore

pytestmark = pytest.mark.unit
RULES = Path(__file__).resolve().parents[3] / "rules"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PEOPLE: list[dict[str, Any]] = [
    {"id": "qe", "name": "Li Qiang", "email": "qe@abc.test", "language": "zh",
     "grants": [{"site": "sz", "departments": ["quality"], "roles": ["quality"]}]},
    {"id": "mgr", "name": "Ann Manager", "email": "mgr@abc.test", "language": "en",
     "grants": [{"site": "sz", "departments": ["management"], "roles": ["manager"]}]},
    {"id": "gm", "name": "Wang GM", "email": "gm@abc.test", "language": "zh",
     "grants": [{"site": "sz", "departments": ["management"], "roles": ["general_manager"]}]},
    {"id": "clerk", "name": "Clerk", "email": "clerk@abc.test", "language": "zh",
     "grants": [{"site": "sz", "departments": ["customer_service"], "roles": ["clerk"]}]},
    {"id": "other", "name": "Elsewhere", "email": "x@abc.test",
     "grants": [{"site": "nb", "departments": ["quality"], "roles": ["manager"]}]},
]  # fmt: skip


class Catcher:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Any:
    catcher = Catcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, catcher
    controller.stop()


def registered_envelope(rulebook: Rulebook) -> Envelope[Any]:
    rules = rulebook.for_site("sz")
    submission = ComplaintSubmission.model_validate({
        "site": "sz", "channel": "email",
        "customer": {"id": "C-1", "name": "Acme Auto"},
        "contact": {"name": "Secret Person", "phone": "13800000000", "email": "buyer@acme.test"},
        "products": [{"model": "BX-200", "spec": "M6x20", "quantity": 10000}],
        "description": "Cracked housings found at incoming inspection (defect)",
        "defect_quantity": 120, "received_at": START.isoformat(),
    })  # fmt: skip
    c = classify(rules, submission)
    assert c.category == "a" and c.owner_department == "quality", c
    fact = ComplaintRegistered(
        number="SZ-000001", sequence=1, complaint=submission,
        classification=ClassificationRecord(
            nature=c.nature, kind=c.kind, category=c.category, severity=c.severity, tags=c.tags,
            owner_department=c.owner_department, copy_to=c.copy_to,
            matched_rule=c.matched_rule, reasons=c.reasons),
        rules_version=c.rules_version, source="test", registered_at=START,
        registration_due=START + timedelta(days=1),
    )  # fmt: skip
    return Envelope[Any](
        id=uuid.uuid4(), source="/qloop/intake", type="complaint.registered", time=START,
        dataschema=dataschema_urn("complaint.registered", 1), site="sz",
        correlationid="c1", data=fact,
    )  # fmt: skip


def build(port: int, directory: StaticDirectory) -> tuple[Notifier, Sender, Any, ManualClock]:
    rulebook = Rulebook.load(RULES)
    store = InMemoryNotificationStore()
    clock = ManualClock(START)
    metrics = notify_metrics(CollectorRegistry())
    notifier = Notifier(store, directory, rulebook, clock, metrics, "http://desk.test")
    channel = SmtpChannel("127.0.0.1", port, "qloop@abc.test", timeout=5)
    return notifier, Sender(store, directory, channel, clock, metrics), store, clock


def test_category_a_complaint_mails_owner_manager_and_gm(smtp: Any) -> None:
    controller, catcher = smtp
    notifier, sender, store, _ = build(controller.port, StaticDirectory(PEOPLE))
    envelope = registered_envelope(notifier.rulebook)

    async def run() -> tuple[int, int, int]:
        first = await notifier.record(envelope)
        again = await notifier.record(envelope)  # a redelivery: nothing new
        return first, again, await sender.send_due()

    assert asyncio.run(run()) == (3, 0, 3)
    assert asyncio.run(sender.send_due()) == 0  # sent once
    by_address = {rcpt[0]: mail for rcpt, mail in catcher.mails}
    assert sorted(by_address) == ["gm@abc.test", "mgr@abc.test", "qe@abc.test"]
    zh = by_address["qe@abc.test"]
    assert zh["Subject"] == "客诉 SZ-000001 已登记（Acme Auto）"
    assert zh["From"] == "qloop@abc.test" and zh["Content-Language"] == "zh"
    plain = zh.get_body(("plain",))
    html = zh.get_body(("html",))
    assert plain is not None and html is not None
    assert "http://desk.test/complaints/SZ-000001" in plain.get_content()
    assert 'href="http://desk.test/complaints/SZ-000001"' in html.get_content()
    assert "品质部" in plain.get_content() or "质" in plain.get_content()
    en = by_address["mgr@abc.test"]
    assert en["Subject"] == "Complaint SZ-000001 registered (Acme Auto)"
    for _, mail in catcher.mails:
        raw = mail.as_string()
        assert "Secret Person" not in raw and "13800000000" not in raw
        assert "buyer@acme.test" not in raw
    records = sorted(store.items.values(), key=lambda n: n.person_id)
    assert [(n.person_id, n.status, n.why) for n in records] == [
        ("gm", "sent", ("general_manager",)),
        ("mgr", "sent", ("manager",)),
        ("qe", "sent", ("quality",)),
    ]


def test_smtp_down_then_back_nothing_lost_nothing_doubled(smtp: Any) -> None:
    controller, catcher = smtp
    dead = free_port()
    notifier, sender, store, clock = build(dead, StaticDirectory(PEOPLE))
    envelope = registered_envelope(notifier.rulebook)
    assert asyncio.run(notifier.record(envelope)) == 3
    assert asyncio.run(sender.send_due()) == 0
    assert {n.status for n in store.items.values()} == {"pending"}
    assert {n.attempts for n in store.items.values()} == {1}
    assert asyncio.run(sender.send_due()) == 0  # backing off: not tried again yet
    assert {n.attempts for n in store.items.values()} == {1}
    sender.email = SmtpChannel("127.0.0.1", controller.port, "qloop@abc.test", timeout=5)
    clock.advance(timedelta(seconds=11))
    assert asyncio.run(sender.send_due()) == 3
    assert len(catcher.mails) == 3


def test_recipient_without_address_is_recorded_not_retried(smtp: Any) -> None:
    controller, catcher = smtp
    people = [dict(PEOPLE[0], email=None)]
    notifier, sender, store, _ = build(controller.port, StaticDirectory(people))
    assert asyncio.run(notifier.record(registered_envelope(notifier.rulebook))) == 1
    assert asyncio.run(sender.send_due()) == 0
    (record,) = store.items.values()
    assert (record.status, record.reason) == ("failed", "no e-mail address")
    assert asyncio.run(sender.send_due()) == 0 and catcher.mails == []


def test_desk_out_of_reach_is_transient() -> None:
    from services.common.storage.mongo import is_transient
    from services.notify.directory import DeskDirectory, DirectoryUnavailable

    desk = DeskDirectory(f"http://127.0.0.1:{free_port()}", "key")
    with pytest.raises(DirectoryUnavailable) as caught:
        asyncio.run(desk.people_at("sz"))
    assert is_transient(caught.value)
