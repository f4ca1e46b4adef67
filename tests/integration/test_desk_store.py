"""One contract for the desk's directory port, on the in-memory fake and the real
database: what the use cases rely on holds on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.desk.domain import Attempts, Grant, Person, Session
from services.desk.store import DirectoryStore, InMemoryDirectory, MongoDirectory

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "database"])
async def directory(
    request: pytest.FixtureRequest, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> AsyncIterator[DirectoryStore]:
    if request.param == "memory":
        yield InMemoryDirectory()
        return
    yield MongoDirectory(mongo[f"{database_name}_desk"])


def _person(person_id: str) -> Person:
    grant = Grant(site="sz", departments=("quality",), roles=("manager",))
    return Person(
        id=person_id,
        name="Li",
        email=f"{person_id}@example.com",
        grants=(grant,),
        password_hash="$argon2id$...",
        created_at=T0,
        updated_at=T0,
    )


async def test_people_are_inserted_once_and_read_back_whole(directory: DirectoryStore) -> None:
    person = _person("li")
    assert await directory.insert_person(person)
    assert not await directory.insert_person(person)
    assert await directory.person("li") == person
    changed = person.model_copy(update={"disabled": True})
    await directory.save_person(changed)
    assert await directory.person("li") == changed
    assert [p.id for p in await directory.people()] == ["li"]
    assert await directory.person("nobody") is None


async def test_an_email_address_belongs_to_one_person(directory: DirectoryStore) -> None:
    assert await directory.claim_email("li@example.com", "li")
    assert await directory.claim_email("li@example.com", "li")  # again: still theirs
    assert not await directory.claim_email("li@example.com", "wang")
    assert await directory.person_of_email("li@example.com") == "li"
    await directory.release_email("li@example.com")
    assert await directory.person_of_email("li@example.com") is None


async def test_attempts_sessions_audit_and_keys(directory: DirectoryStore) -> None:
    assert await directory.attempts("li") == Attempts()
    attempts = Attempts(failures=2, window_started_at=T0, locked_until=T0 + timedelta(minutes=5))
    await directory.save_attempts("li", attempts)
    assert await directory.attempts("li") == attempts
    await directory.clear_attempts("li")
    assert await directory.attempts("li") == Attempts()
    session = Session(id="abc", person_id="li", csrf="x", created_at=T0, last_seen_at=T0)
    await directory.save_session(session)
    assert await directory.session("abc") == session
    await directory.delete_session("abc")
    assert await directory.session("abc") is None
    await directory.audit({"kind": "sign_in", "login": "li", "person_id": "li", "at": T0})
    assert [e["kind"] for e in await directory.audit_entries()] == ["sign_in"]
    assert await directory.keyset() is None
    await directory.save_keyset({"keys": [{"kid": "k1", "private_pem": "-", "created_at": T0}]})
    assert (await directory.keyset()) == {
        "keys": [{"kid": "k1", "private_pem": "-", "created_at": T0}]
    }
