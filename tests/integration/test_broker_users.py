"""Broker users on the real RabbitMQ: `qloop broker users` creates a user per service and
per system in a vhost of the test's own; RabbitMQ keeps a system to its site's routing
keys and refuses a forged `user_id`; the workflow runs the case commands of the broker
users its key file trusts, with their roles, and dead-letters the others with the reason.
The vhost and every user go away with the test."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import httpx
import pytest
import yaml

from services.common import broker_users
from services.common.clock import ManualClock
from services.common.contracts.cases import CaseCommand
from services.common.contracts.registry import new_event, to_json
from services.common.deadletters import management_url_from
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from tests.support.infra import Infra
from tests.support.services import running
from tests.support.waiting import eventually
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class VHost:
    name: str
    management_url: str
    users: dict[str, str]  # role in the test -> unique broker user name
    passwords: dict[str, str]  # environment variable -> password

    def url(self, user: str | None = None) -> str:
        """An AMQP URL into this vhost, as `user` (default: guest, on loopback)."""
        vhost = urllib.parse.quote(self.name, safe="")
        credentials = f"{user}:{self.password_of(user)}" if user else "guest:guest"
        return f"amqp://{credentials}@127.0.0.1:5672/{vhost}"

    def password_of(self, user: str) -> str:
        role = next(r for r, name in self.users.items() if name == user)
        return self.passwords[_env(role)]


def _env(role: str) -> str:
    return f"BROKER_{role.upper().replace('-', '_')}_PASSWORD"


def _management(url: str) -> httpx.AsyncClient:
    parts = urllib.parse.urlsplit(url)
    return httpx.AsyncClient(
        base_url=f"http://{parts.hostname}:{parts.port or 15672}",
        auth=(parts.username or "guest", parts.password or "guest"),
        timeout=30.0,
    )


@pytest.fixture
async def vhost(infra: Infra, test_id: str, settings: ServiceSettings) -> AsyncIterator[VHost]:
    """After `settings`, so it goes first: its queues go with it, not by name."""
    roles = ("workflow", "erp-sz", "erp-nb", "reader-sz", "stranger-sz")
    users = {role: f"t{test_id}-{role}" for role in roles}
    found = VHost(
        f"qloop-test-{test_id}",
        management_url_from(infra.amqp_url),
        users,
        {_env(role): uuid.uuid4().hex for role in roles},
    )
    quoted = urllib.parse.quote(found.name, safe="")
    async with _management(found.management_url) as api:
        (await api.put(f"/api/vhosts/{quoted}", json={})).raise_for_status()
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        (await api.put(f"/api/permissions/{quoted}/guest", json=everything)).raise_for_status()
        try:
            yield found
        finally:
            for name in users.values():  # a user's permissions go with it
                await api.delete(f"/api/users/{urllib.parse.quote(name, safe='')}")
            await api.delete(f"/api/vhosts/{quoted}")  # and its queues and exchanges


def _declared(vhost: VHost, prefix: str) -> broker_users.BrokerUsersFile:
    users = vhost.users
    return broker_users.BrokerUsersFile.model_validate(
        {
            "vhost": vhost.name,
            "queue_prefix": prefix,
            "services": [
                {"service": "workflow", "user": users["workflow"], "password_env": _env("workflow")}
            ],
            "systems": [
                {"user": users[role], "sites": sites, "password_env": _env(role)}
                for role, sites in (
                    ("erp-sz", ["sz"]),
                    ("erp-nb", ["nb", "sz"]),  # the broker lets it, the workflow does not
                    ("reader-sz", ["sz"]),
                    ("stranger-sz", ["sz"]),
                )
            ],
        }
    )


def _trusting(path: Path, vhost: VHost) -> Path:
    """The key file: which broker users the workflow trusts, where, with which roles
    (`stranger-sz` is a broker user it does not trust)."""
    users = vhost.users
    trusted = [
        {"name": users["erp-sz"], "sites": ["sz"], "roles": ["read", "complaint_owner"]},
        {"name": users["erp-nb"], "sites": ["nb"], "roles": ["read", "complaint_owner"]},
        {"name": users["reader-sz"], "sites": ["sz"], "roles": ["read"]},
    ]
    path.write_text(yaml.safe_dump({"keys": [], "broker_users": trusted}), encoding="utf-8")
    return path


async def _publish(
    url: str, routing_key: str, envelope: Any, *, user_id: str | None
) -> aiormq.abc.ConfirmationFrameType | None:
    """Publish to `qloop.events` with confirms, as a system does (the exchange is not
    declared: a system may not)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        message = aio_pika.Message(
            to_json(envelope), content_type="application/json", user_id=user_id
        )
        return await exchange.publish(message, routing_key=routing_key, timeout=15)


async def test_systems_publish_only_as_themselves_for_their_sites_and_act_with_trusted_roles(
    vhost: VHost, settings: ServiceSettings, tmp_path: Path
) -> None:
    prefix = settings.queue_prefix
    changes = broker_users.apply(_declared(vhost, prefix), vhost.management_url, vhost.passwords)
    assert len(changes) == 5
    users = vhost.users
    wf_settings = settings.model_copy(
        update={
            "amqp_url": vhost.url(users["workflow"]),  # the workflow as its own broker user
            "api_keys_file": _trusting(tmp_path / "keys.yaml", vhost),
            "rules_dir": ROOT / "rules",
        }
    )
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    fact = registered(load_rules(ROOT / "rules" / "abc-company.yaml"), T0, number=number)
    opened = new_event(fact, site="sz", source="/qloop/intake", time=T0, subject=number)
    erp_sz = vhost.url(users["erp-sz"])

    def command(**fields: Any) -> Any:
        return new_event(CaseCommand(case_id=case_id, **fields), site="sz", source="/erp", time=T0)

    async with running(create_app(wf_settings, clock=ManualClock(T0))) as (_, ctx):
        await _publish(vhost.url(), "sz.complaint.registered", opened, user_id=None)

        async def case() -> dict[str, Any] | None:
            return await ctx.db["cases"].find_one({"_id": case_id})

        await eventually(case, timeout=15)

        # RabbitMQ: another site's key is refused, and so is a user_id of someone else.
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="nb.case.command"):
            await _publish(erp_sz, "nb.case.command", command(action="register"), user_id=None)
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="user_id"):
            await _publish(
                erp_sz, "sz.case.command", command(action="register"), user_id=users["reader-sz"]
            )

        # A trusted system, without any person's token: runs with the roles it is trusted with.
        await _publish(
            erp_sz, "sz.case.command", command(action="register"), user_id=users["erp-sz"]
        )

        async def acknowledged() -> bool:
            found = await case()
            return bool(found and found["stage"] == "acknowledge")

        await eventually(acknowledged, timeout=15)
        found = await case()
        assert found is not None and found["history"][-1]["actor"] == users["erp-sz"]

        refused = {
            # trusted for nb only, whatever the broker lets it publish
            "erp-nb": ("sz.case.command", f"broker user {users['erp-nb']!r} is not trusted"),
            # trusted, but without the role the transition needs
            "reader-sz": ("sz.case.command", "complaint_owner"),
            # a broker user the workflow does not trust at all
            "stranger-sz": ("sz.case.command", "unauthenticated"),
        }
        for role, (key, _) in refused.items():
            acknowledge = command(action="acknowledge", fields={"team": ["QA"]})
            await _publish(vhost.url(users[role]), key, acknowledge, user_id=users[role])
        # A trusted system's message that does not name its sender: nobody's.
        await _publish(erp_sz, "sz.case.command", command(action="acknowledge"), user_id=None)
        # An sz command under an nb key (which the broker allows erp-nb): not what it says.
        erp_nb = vhost.url(users["erp-nb"])
        await _publish(erp_nb, "nb.case.command", command(action="close"), user_id=users["erp-nb"])

        letters = await _dead_letters(vhost.url(), f"{prefix}workflow.commands.dead", 5)
        reasons = [reason for error, reason in letters if error == "rejected"]
        for _, expected in refused.values():
            assert any(expected in r for r in reasons), (expected, reasons)
        assert sum("unauthenticated" in r for r in reasons) == 2, reasons
        [misrouted] = [reason for error, reason in letters if error == "invalid"]
        assert "routing key 'nb.case.command' is not the event's own 'sz.case.command'" in misrouted
        found = await case()
        assert found is not None and found["stage"] == "acknowledge" and found["version"] == 1


async def _dead_letters(url: str, queue_name: str, want: int) -> list[tuple[str, str]]:
    """(error category, reason) of each dead letter, once `want` are there."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        letters: list[tuple[str, str]] = []

        async def all_there() -> bool:
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                headers = message.headers
                letters.append((str(headers["x-qloop-error"]), str(headers["x-qloop-reason"])))
            return len(letters) >= want

        await eventually(all_there, timeout=20)
        return letters
