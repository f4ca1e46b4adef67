"""Personal data on the real broker and database, the four services running: one
customer's contact details exported, erased from every service's database on one request
(the other customer's kept), the case histories still verifying; records older than the
site's retention purged by each service, with an injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from services import cli
from services.common import personal_data
from services.common.clock import ManualClock
from services.common.contracts.privacy import CustomerErasureRequested
from services.common.rules import load_rules
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.intake.app import create_app as intake_app
from services.reporting.app import create_app as reporting_app
from services.survey.app import create_app as survey_app
from services.workflow.app import create_app as workflow_app
from tests.support.complaints import complaint
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.surveys import site_rules, survey_settings
from tests.support.waiting import eventually
from tests.unit.workflow.builders import Driver, review_to_close, to_review

pytestmark = pytest.mark.integration

SERVICES = ("intake", "workflow", "survey", "reporting")
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday morning in Shanghai
Mongo = AsyncMongoClient[dict[str, Any]]


@dataclass
class System:
    clients: dict[str, httpx.AsyncClient]
    contexts: dict[str, ServiceContext]
    site: str
    keys: dict[str, str]
    database: str
    mongo: Mongo

    def headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[key]}

    def db(self, service: str) -> Any:
        return self.mongo[f"{self.database}_{service}"]


@dataclass(frozen=True)
class Person:
    """A customer and its contact person, with values no other test uses."""

    customer: str
    name: str
    email: str
    phone: str

    @classmethod
    def of(cls, label: str, tag: str) -> Person:
        return cls(
            customer=f"C-{label}-{tag}",
            name=f"Contact {label} {tag}",
            email=f"{label.lower()}.{tag}@customer.example",
            phone=f"+86 139 {label} {tag}",
        )

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.name, self.email, self.phone)


def _apps(settings: ServiceSettings, tmp_path: Path, rules: Path) -> dict[str, Any]:
    base = settings.model_copy(
        update={
            "api_keys_file": tmp_path / "keys.yaml",
            "rules_dir": rules,
            "recovery_scan_seconds": 1.0,  # the CLI's request is found by the relay's pass
            "retention_first_seconds": 0.0,  # retention passes at start
        }
    )
    return {
        "intake": lambda clock: intake_app(base, clock=clock),
        "workflow": lambda clock: workflow_app(base, clock=clock),
        "survey": lambda clock: survey_app(
            survey_settings(base, survey_public_url="http://survey.test"), clock=clock
        ),
        "reporting": lambda clock: reporting_app(base, clock=clock),
    }


@contextlib.asynccontextmanager
async def _running(
    makers: dict[str, Callable[[ManualClock], FastAPI]], clock: ManualClock, *names: str
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], dict[str, ServiceContext]]]:
    async with contextlib.AsyncExitStack() as stack:
        clients, contexts = {}, {}
        for name in names or SERVICES:
            clients[name], contexts[name] = await stack.enter_async_context(
                running(makers[name](clock))
            )
        yield clients, contexts


@pytest.fixture
def rules_dir(tmp_path: Path, site: str) -> Path:
    return site_rules(tmp_path, "default", site, any_year=True)


@pytest.fixture
def keys(tmp_path: Path, site: str) -> dict[str, str]:
    return write_key_file(
        tmp_path / "keys.yaml",
        {
            "crm": ([site], ["submit", "read", "survey"]),
            "dpo": ([site], ["privacy"]),
            "dpo-elsewhere": (["elsewhere"], ["privacy"]),
        },
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def _register(system: System, person: Person, at: datetime) -> str:
    body = complaint(
        system.site,
        customer={"id": person.customer, "name": f"Customer {person.customer}"},
        contact={"name": person.name, "email": person.email, "phone": person.phone},
        received_at=at.isoformat(),
    )
    reply = await system.clients["intake"].post(
        "/complaints", json=body, headers=system.headers("crm")
    )
    assert reply.status_code == 201, reply.text
    number: str = reply.json()["number"]
    return number


async def _holding(system: System, needles: tuple[str, ...]) -> list[str]:
    """Every stored document, in every collection of every service, that contains one of
    `needles` anywhere (sub-documents, event bodies kept as text, outbox entries)."""
    found = []
    for service in SERVICES:
        db = system.db(service)
        for name in await db.list_collection_names():
            async for document in db[name].find({}):
                text = json.dumps(document, default=str, ensure_ascii=False)
                found += [f"{service}.{name}/{document['_id']}" for n in needles if n in text]
    return found


HOLDERS = {"intake", "survey", "reporting"}  # the workflow keeps no contact with a case


async def _settled(system: System, *people: Person, holders: set[str] = HOLDERS) -> None:
    """The services named in `holders` hold the people's contact details; no outbox still
    holds an event to publish (event bodies carry contact details)."""

    seen: list[Any] = []

    async def probe() -> bool:
        found = {h.split(".")[0] for p in people for h in await _holding(system, p.needles)}
        pending = []
        for service in SERVICES:
            db = system.db(service)
            for name in await db.list_collection_names():
                async for document in db[name].find({"outbox_n": {"$gt": 0}}, {"outbox": 1}):
                    pending.append(f"{service}.{name}/{document['_id']}")
        seen[:] = [found, pending]
        return found == holders and not pending

    try:
        await eventually(probe, timeout=30)
    except AssertionError:
        raise AssertionError(f"not settled: holders, pending outbox = {seen}") from None


async def _cli(*args: str) -> int:
    code: int = await asyncio.to_thread(cli.main, list(args))
    return code


def _cli_env(monkeypatch: pytest.MonkeyPatch, settings: ServiceSettings) -> None:
    monkeypatch.setenv("QLOOP_AMQP_URL", settings.amqp_url)
    monkeypatch.setenv("QLOOP_MONGODB_URL", settings.mongodb_url)
    monkeypatch.setenv("QLOOP_DATABASE", settings.database)


async def _export(tmp_path: Path, site: str, person: Person) -> tuple[dict[str, Any], str]:
    out = tmp_path / f"export-{person.customer}.json"
    assert await _cli("privacy", "export", "--site", site, "--customer", person.customer,
                      "--out", str(out)) == 0  # fmt: skip
    text = out.read_text(encoding="utf-8")
    return json.loads(text), text


async def _case_histories(system: System, customer: str) -> dict[str, Any]:
    cases = system.db("workflow")["cases"].find({"customer_id": customer}, {"history": 1})
    return {c["_id"]: c["history"] async for c in cases}


async def _wait(probe: Callable[[], Awaitable[Any]]) -> Any:
    return await eventually(probe, timeout=30)


async def test_one_request_erases_a_customers_contacts_in_every_service(
    settings: ServiceSettings,
    tmp_path: Path,
    rules_dir: Path,
    keys: dict[str, str],
    clock: ManualClock,
    site: str,
    test_id: str,
    mongo: Mongo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice, bob = Person.of("Alice", test_id), Person.of("Bob", test_id)
    makers = _apps(settings, tmp_path, rules_dir)
    _cli_env(monkeypatch, settings)
    async with _running(makers, clock) as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)
        numbers = {p.customer: await _register(system, p, START - timedelta(hours=2))
                   for p in (alice, bob)}  # fmt: skip
        # A case written before cases dropped the contact: erasure must clean it too,
        # without touching its history.
        rules = load_rules(rules_dir / "default.yaml")
        customer = {"id": alice.customer, "name": "A"}
        legacy = Driver(
            rules, START - timedelta(days=90), number=f"OLD-{test_id}", customer=customer
        )
        to_review(legacy)
        review_to_close(legacy)
        with_contact = {**(legacy.case.complaint or {}), "contact": {"email": alice.email}}
        old_case = legacy.case.model_copy(update={"complaint": with_contact})
        assert await contexts["workflow"].state["cases"].store.open(old_case, [])

        async def cases_opened() -> bool:
            return len(await _case_histories(system, alice.customer)) == 2

        await _wait(cases_opened)
        # A campaign invites both customers' contacts (learned from their complaints).
        campaign = await clients["survey"].post(
            "/campaigns",
            json={"site": site, "customers": [alice.customer, bob.customer]},
            headers=system.headers("crm"),
        )
        assert campaign.status_code == 201, campaign.text
        events = system.db("reporting")["events"]

        async def dispatched_reported() -> bool:
            return await events.count_documents({"type": "survey.dispatched"}) == 2

        await _wait(dispatched_reported)
        await _settled(system, alice, bob, holders={*HOLDERS, "workflow"})  # the legacy case

        # The case history never held the contact: only the legacy case's complaint does.
        histories = await _case_histories(system, alice.customer)
        assert not any(n in json.dumps(histories, default=str) for n in alice.needles)
        assert [h.split("/")[0] for h in await _holding(system, alice.needles)].count(
            "workflow.cases"
        ) == 1

        # Each service answers for its own data; an export gathers them.
        for service in SERVICES:
            reply = await clients[service].get(
                f"/privacy/customers/{alice.customer}",
                params={"site": site},
                headers=system.headers("dpo"),
            )
            assert reply.status_code == 200, reply.text
            assert bool(reply.json()["records"]) is True, service
        refused = await clients["intake"].get(
            f"/privacy/customers/{alice.customer}",
            params={"site": site},
            headers=system.headers("dpo-elsewhere"),
        )
        assert refused.status_code == 403
        no_role = await clients["survey"].get(
            f"/privacy/customers/{alice.customer}",
            params={"site": site},
            headers=system.headers("crm"),
        )
        assert no_role.status_code == 403
        before, text = await _export(tmp_path, site, alice)
        assert set(before["services"]) == set(SERVICES)
        assert all(n in text for n in alice.needles) and bob.email not in text
        collections = {r["collection"] for r in before["services"]["survey"]}
        assert collections == {"customers", "complaint_contacts", "campaigns", "invitations"}

        # One request; every service confirms.
        asked = await clients["intake"].post(
            "/privacy/erasures",
            json={"site": site, "customer_id": alice.customer, "reason": "customer asked"},
            headers=system.headers("dpo"),
        )
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["request_id"]

        async def completed() -> dict[str, Any] | None:
            reply = await clients["intake"].get(
                f"/privacy/erasures/{request_id}", headers=system.headers("dpo")
            )
            assert reply.status_code == 200, reply.text
            status: dict[str, Any] = reply.json()
            return status if status["done"] else None

        status = await _wait(completed)
        erased = {s: done["erased"] for s, done in status["completed"].items()}
        assert erased == {
            "intake": {"complaints": 1},
            "workflow": {"cases": 1},
            "survey": {"customers": 1, "complaint_contacts": 1, "campaigns": 1, "invitations": 1},
            "reporting": {"events": 2},  # complaint.registered and survey.dispatched
        }

        # Gone from every database, searched in the raw documents; Bob's details are kept.
        assert await _holding(system, alice.needles) == []
        kept = {h.split(".")[0] for h in await _holding(system, (bob.email,))}
        assert kept == {"intake", "survey", "reporting"}
        # The records stay: the complaint, its case, the customer's name.
        intake_doc = await system.db("intake")["complaints"].find_one(
            {"number": numbers[alice.customer]}
        )
        assert intake_doc["customer_id"] == alice.customer
        assert "contact" not in intake_doc["submission"]
        # The histories are untouched and the chains verify.
        assert await _case_histories(system, alice.customer) == histories
        assert await _cli("audit", "verify", "--site", site) == 0
        assert "0 broken" in capsys.readouterr().out
        after, text = await _export(tmp_path, site, alice)
        assert all(after["services"][s] == [] for s in SERVICES)
        assert not any(n in text for n in alice.needles)

        # A redelivered request erases nothing more and is confirmed once.
        again = CustomerErasureRequested(
            request_id=request_id,
            customer_id=alice.customer,
            requested_by="dpo",
            requested_at=START,
        )
        for service in SERVICES:
            assert await personal_data.erase_for(contexts[service], site, again) == "duplicate"
            assert await system.db(service)["privacy_erasures"].count_documents({}) == 1
        confirmations = system.db("intake")["privacy_confirmations"]
        assert await confirmations.count_documents({"request_id": request_id}) == 4

        # The command line asks through intake's outbox and waits for every service.
        assert await _cli("privacy", "erase", "--site", site, "--customer", bob.customer,
                          "--wait", "30") == 0  # fmt: skip
        assert "reporting: completed" in capsys.readouterr().out
        assert await _holding(system, bob.needles) == []
        assert await _cli("audit", "verify", "--site", site) == 0


async def test_records_older_than_the_sites_retention_are_purged(
    settings: ServiceSettings,
    tmp_path: Path,
    rules_dir: Path,
    keys: dict[str, str],
    clock: ManualClock,
    site: str,
    test_id: str,
    mongo: Mongo,
) -> None:
    """The demo rules keep records 5 years (from closure for cases, from registration
    for complaints)."""
    old, young = Person.of("Old", test_id), Person.of("Young", test_id)
    makers = _apps(settings, tmp_path, rules_dir)
    rules = load_rules(rules_dir / "default.yaml")
    assert rules.workflow.records_retention_years == 5
    async with _running(makers, clock) as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)
        old_number = await _register(system, old, START - timedelta(hours=1))
        closed = Driver(rules, START, number=f"CLOSED-{test_id}",
                        customer={"id": old.customer, "name": "Old"})  # fmt: skip
        to_review(closed)
        review_to_close(closed)
        assert await contexts["workflow"].state["cases"].store.open(closed.case, [])
        await _settled(system, old)

    later = START + timedelta(days=5 * 365 + 30)
    clock.set(later)
    # Intake's retention job purges at its start: the old complaint goes by itself.
    async with _running(makers, clock, "intake") as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)
        complaints = system.db("intake")["complaints"]

        async def purged() -> bool:
            return await complaints.find_one({"number": old_number}) is None

        await _wait(purged)
        metrics = (await clients["intake"].get("/metrics")).text
        assert (
            f'qloop_retention_purged_records_total{{collection="complaints",site="{site}"}} 1.0'
            in metrics
        )

    async with _running(makers, clock) as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)
        young_number = await _register(system, young, later - timedelta(hours=1))
        await _settled(system, young)
        for service in ("workflow", "survey", "reporting"):
            reply = await clients[service].post(
                "/privacy/retention", params={"site": site}, headers=system.headers("dpo")
            )
            assert reply.status_code == 200, reply.text
        # Only the customer's profile keeps the contact: master data, not a record (it
        # goes on an erasure request).
        holders = {h.split("/")[0] for h in await _holding(system, old.needles)}
        assert holders == {"survey.customers"}
        workflow = system.db("workflow")["cases"]
        assert await workflow.find_one({"_id": closed.case.id}) is None
        # The old complaint's case is still open: open cases are never purged.
        assert await workflow.count_documents({"customer_id": old.customer}) == 1
        assert await system.db("intake")["complaints"].find_one({"number": young_number})
        assert {h.split(".")[0] for h in await _holding(system, young.needles)} == {
            "intake",
            "survey",
            "reporting",
        }


IATF = """
workflow:
  records_retention_basis: service_life
  records_retention_years: 1
  service_life:
    years: 10
    families:
      - {id: housings, products: ["BX-*"], service_life_years: 12}
"""


async def test_service_life_plus_one_year_keeps_each_product_family_its_own_time(
    settings: ServiceSettings,
    tmp_path: Path,
    rules_dir: Path,
    keys: dict[str, str],
    clock: ManualClock,
    site: str,
    test_id: str,
    mongo: Mongo,
) -> None:
    """IATF 16949: a housing (12 years of service life) is kept 13 years, a product of no
    family (the site's 10 years) 11 years; intake and reporting purge at their start."""
    rule_file = rules_dir / "default.yaml"
    rule_file.write_text(rule_file.read_text(encoding="utf-8") + IATF, encoding="utf-8")
    housing, other = Person.of("Housing", test_id), Person.of("Other", test_id)
    makers = _apps(settings, tmp_path, rules_dir)
    async with _running(makers, clock, "intake", "reporting") as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)
        await _register(system, housing, START - timedelta(hours=1))
        body_products = [{"model": "ZZ-1", "quantity": 5}]
        reply = await clients["intake"].post(
            "/complaints",
            json=complaint(
                site,
                customer={"id": other.customer, "name": "Other"},
                contact={"name": other.name, "email": other.email, "phone": other.phone},
                products=body_products,
                received_at=(START - timedelta(hours=1)).isoformat(),
            ),
            headers=system.headers("crm"),
        )
        assert reply.status_code == 201, reply.text
        await _settled(system, housing, other, holders={"intake", "reporting"})

    clock.set(START + timedelta(days=11 * 365 + 30))
    async with _running(makers, clock, "intake", "reporting") as (clients, contexts):
        system = System(clients, contexts, site, keys, settings.database, mongo)

        async def other_purged() -> bool:
            return await _holding(system, other.needles) == []

        await _wait(other_purged)
        kept = {h.split(".")[0] for h in await _holding(system, housing.needles)}
        assert kept == {"intake", "reporting"}
