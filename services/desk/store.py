"""The desk's storage port and its two adapters (in memory for tests, MongoDB/FerretDB).

Every read is by `_id` (FerretDB pushes down no other filter): people by id, e-mail
addresses in a collection of their own whose `_id` is the address (its uniqueness is the
unique `_id`), sign-in attempts by login, sessions by the hash of their cookie, the
signing keys as one document. Only `people()` scans: the admin's list of a directory of
hundreds. Audit records are inserts with their own ids, never updated.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from services.common.storage.mongo import Database
from services.desk.domain import Attempts, Person, Session

PEOPLE = "people"
EMAILS = "emails"
ATTEMPTS = "sign_in_attempts"
SESSIONS = "sessions"
AUDIT = "audit"
SIGNING = "signing_keys"
KEYSET_ID = "keyset"
INDEXES: dict[str, list[Any]] = {}


class DirectoryStore(Protocol):
    async def person(self, person_id: str) -> Person | None: ...
    async def insert_person(self, person: Person) -> bool: ...
    async def save_person(self, person: Person) -> None: ...
    async def people(self) -> list[Person]: ...
    async def claim_email(self, email: str, person_id: str) -> bool: ...
    async def release_email(self, email: str) -> None: ...
    async def person_of_email(self, email: str) -> str | None: ...
    async def attempts(self, login: str) -> Attempts: ...
    async def save_attempts(self, login: str, attempts: Attempts) -> None: ...
    async def clear_attempts(self, login: str) -> None: ...
    async def session(self, session_id: str) -> Session | None: ...
    async def save_session(self, session: Session) -> None: ...
    async def delete_session(self, session_id: str) -> None: ...
    async def audit(self, entry: dict[str, Any]) -> None: ...
    async def audit_entries(self) -> list[dict[str, Any]]: ...
    async def keyset(self) -> dict[str, Any] | None: ...
    async def save_keyset(self, keyset: dict[str, Any]) -> None: ...


class InMemoryDirectory:
    def __init__(self) -> None:
        self._people: dict[str, Person] = {}
        self._emails: dict[str, str] = {}
        self._attempts: dict[str, Attempts] = {}
        self._sessions: dict[str, Session] = {}
        self._audit: list[dict[str, Any]] = []
        self._keyset: dict[str, Any] | None = None

    async def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    async def insert_person(self, person: Person) -> bool:
        if person.id in self._people:
            return False
        self._people[person.id] = person
        return True

    async def save_person(self, person: Person) -> None:
        self._people[person.id] = person

    async def people(self) -> list[Person]:
        return sorted(self._people.values(), key=lambda p: p.id)

    async def claim_email(self, email: str, person_id: str) -> bool:
        return self._emails.setdefault(email, person_id) == person_id

    async def release_email(self, email: str) -> None:
        self._emails.pop(email, None)

    async def person_of_email(self, email: str) -> str | None:
        return self._emails.get(email)

    async def attempts(self, login: str) -> Attempts:
        return self._attempts.get(login, Attempts())

    async def save_attempts(self, login: str, attempts: Attempts) -> None:
        self._attempts[login] = attempts

    async def clear_attempts(self, login: str) -> None:
        self._attempts.pop(login, None)

    async def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def save_session(self, session: Session) -> None:
        self._sessions[session.id] = session

    async def delete_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def audit(self, entry: dict[str, Any]) -> None:
        self._audit.append(dict(entry))

    async def audit_entries(self) -> list[dict[str, Any]]:
        return list(self._audit)

    async def keyset(self) -> dict[str, Any] | None:
        return self._keyset

    async def save_keyset(self, keyset: dict[str, Any]) -> None:
        self._keyset = dict(keyset)


class MongoDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def person(self, person_id: str) -> Person | None:
        found = await self._db[PEOPLE].find_one({"_id": person_id})
        return _person(found) if found else None

    async def insert_person(self, person: Person) -> bool:
        try:
            await self._db[PEOPLE].insert_one({"_id": person.id, **_stored(person)})
        except DuplicateKeyError:
            return False
        return True

    async def save_person(self, person: Person) -> None:
        await self._db[PEOPLE].replace_one({"_id": person.id}, _stored(person), upsert=True)

    async def people(self) -> list[Person]:
        found = [_person(d) async for d in self._db[PEOPLE].find({})]
        return sorted(found, key=lambda p: p.id)

    async def claim_email(self, email: str, person_id: str) -> bool:
        try:
            await self._db[EMAILS].insert_one({"_id": email, "person_id": person_id})
        except DuplicateKeyError:
            return await self.person_of_email(email) == person_id
        return True

    async def release_email(self, email: str) -> None:
        await self._db[EMAILS].delete_one({"_id": email})

    async def person_of_email(self, email: str) -> str | None:
        found = await self._db[EMAILS].find_one({"_id": email})
        return str(found["person_id"]) if found else None

    async def attempts(self, login: str) -> Attempts:
        found = await self._db[ATTEMPTS].find_one({"_id": login})
        if found is None:
            return Attempts()
        found.pop("_id")
        return Attempts.model_validate(found)

    async def save_attempts(self, login: str, attempts: Attempts) -> None:
        await self._db[ATTEMPTS].replace_one({"_id": login}, attempts.model_dump(), upsert=True)

    async def clear_attempts(self, login: str) -> None:
        await self._db[ATTEMPTS].delete_one({"_id": login})

    async def session(self, session_id: str) -> Session | None:
        found = await self._db[SESSIONS].find_one({"_id": session_id})
        if found is None:
            return None
        found["id"] = found.pop("_id")
        return Session.model_validate(found)

    async def save_session(self, session: Session) -> None:
        stored = session.model_dump(exclude={"id"})
        await self._db[SESSIONS].replace_one({"_id": session.id}, stored, upsert=True)

    async def delete_session(self, session_id: str) -> None:
        await self._db[SESSIONS].delete_one({"_id": session_id})

    async def audit(self, entry: dict[str, Any]) -> None:
        await self._db[AUDIT].insert_one({"_id": uuid.uuid4().hex, **entry})

    async def audit_entries(self) -> list[dict[str, Any]]:
        entries = [d async for d in self._db[AUDIT].find({}, {"_id": 0})]
        return sorted(entries, key=lambda e: e["at"])

    async def keyset(self) -> dict[str, Any] | None:
        found = await self._db[SIGNING].find_one({"_id": KEYSET_ID}, {"_id": 0})
        return dict(found) if found else None

    async def save_keyset(self, keyset: dict[str, Any]) -> None:
        await self._db[SIGNING].replace_one({"_id": KEYSET_ID}, keyset, upsert=True)


def _stored(person: Person) -> dict[str, Any]:
    return person.model_dump(exclude={"id"})


def _person(document: dict[str, Any]) -> Person:
    document = dict(document)
    document["id"] = document.pop("_id")
    return Person.model_validate(document)
