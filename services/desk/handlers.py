"""The desk's use cases: the directory, sign-in, sessions and tokens.

Each takes the store, rules and clock it needs from the `Desk` built by app.py (or the
command line); the HTTP routes and `qloop users` only translate to these.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from services.common.clock import Clock
from services.common.rulebook import Rulebook
from services.desk import domain
from services.desk.domain import (
    ClientThrottle,
    DirectoryError,
    Grant,
    Person,
    Session,
    SignInPolicy,
    audit_entry,
    email_key,
)
from services.desk.passwords import Passwords
from services.desk.signing import SigningKeys
from services.desk.store import DirectoryStore


class SignInRefused(Exception):
    """Wrong login or password, a disabled person, or a locked login. `locked` tells the
    route to answer 429; the message never says which of login and password was wrong."""

    def __init__(self, reason: str, *, locked: bool = False) -> None:
        super().__init__(reason)
        self.locked = locked


@dataclass(frozen=True)
class NewPerson:
    id: str
    name: str
    email: str
    phone: str | None = None
    language: str = "en"
    grants: tuple[Grant, ...] = ()
    password: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "Bearer"


def session_id_of(cookie: str) -> str:
    """Sessions are stored under the hash of the cookie: a database read leaks no session."""
    return hashlib.sha256(cookie.encode()).hexdigest()


class Desk:
    def __init__(
        self,
        *,
        store: DirectoryStore,
        rulebook: Rulebook,
        clock: Clock,
        passwords: Passwords,
        policy: SignInPolicy,
        issuer: str,
        audience: str,
        keys: SigningKeys | None = None,
    ) -> None:
        self.store, self.rulebook, self.clock = store, rulebook, clock
        self.passwords, self.policy = passwords, policy
        self.issuer, self.audience = issuer, audience
        self.keys = keys
        self.throttle = ClientThrottle(policy)

    # --- directory ---------------------------------------------------------------------
    def _check(self, grants: tuple[Grant, ...]) -> None:
        rules = {site: self.rulebook.for_site(site) for site in self.rulebook.sites}
        errors = [e for g in grants for e in domain.grant_errors(g, rules)]
        if len({g.site for g in grants}) != len(grants):
            errors.append("one grant per site: merge the departments and roles of a site")
        if errors:
            raise DirectoryError("; ".join(errors))

    def check_grants(self, grants: tuple[Grant, ...]) -> None:
        """Raise DirectoryError when `grants` do not fit the sites' rule files."""
        self._check(grants)

    async def _audit_change(self, kind: str, person_id: str, by: str, **detail: object) -> None:
        now = self.clock.now()
        await self.store.audit(
            audit_entry(kind, person_id, now, person_id=person_id, by=by, **detail)
        )

    async def add_person(self, new: NewPerson, *, by: str = "system") -> Person:
        self._check(new.grants)
        now = self.clock.now()
        hashed = await self.passwords.hash(new.password) if new.password else None
        person = Person(
            id=new.id,
            name=new.name,
            email=new.email,
            phone=new.phone,
            language=new.language,
            grants=new.grants,
            password_hash=hashed,
            created_at=now,
            updated_at=now,
        )
        exists = DirectoryError(f"a person {person.id!r} exists already")
        if await self.store.person(person.id) is not None:
            raise exists
        if not await self.store.claim_email(email_key(person.email), person.id):
            raise DirectoryError(f"the e-mail address {person.email} belongs to someone else")
        if not await self.store.insert_person(person):  # added meanwhile
            raise exists
        grants = [g.model_dump() for g in person.grants]
        await self._audit_change("person_added", person.id, by, grants=grants)
        return person

    async def person(self, person_id: str) -> Person:
        found = await self.store.person(person_id)
        if found is None:
            raise LookupError(f"no person {person_id!r}")
        return found

    async def grant(self, person_id: str, grant: Grant, *, by: str = "system") -> Person:
        self._check((grant,))
        person = domain.with_grant(await self.person(person_id), grant, self.clock.now())
        await self.store.save_person(person)
        await self._audit_change("granted", person_id, by, grant=grant.model_dump())
        return person

    async def revoke(self, person_id: str, site: str, *, by: str = "system") -> Person:
        person = domain.without_site(await self.person(person_id), site, self.clock.now())
        await self.store.save_person(person)
        await self._audit_change("revoked", person_id, by, site=site)
        return person

    async def disable(self, person_id: str, *, by: str = "system") -> Person:
        person = (await self.person(person_id)).model_copy(
            update={"disabled": True, "updated_at": self.clock.now()}
        )
        await self.store.save_person(person)
        await self._audit_change("disabled", person_id, by)
        return person

    async def set_password(self, person_id: str, password: str, *, by: str = "system") -> Person:
        hashed = await self.passwords.hash(password)
        person = (await self.person(person_id)).model_copy(
            update={"password_hash": hashed, "updated_at": self.clock.now()}
        )
        await self.store.save_person(person)
        await self.store.clear_attempts(person_id)  # a new password unlocks the login
        await self._audit_change("password_set", person_id, by)
        return person

    # --- sign-in -----------------------------------------------------------------------
    async def _resolve(self, login: str) -> Person | None:
        login = login.strip()
        person = await self.store.person(login.lower())
        if person is None and "@" in login:
            person_id = await self.store.person_of_email(email_key(login))
            person = await self.store.person(person_id) if person_id else None
        return person

    async def sign_in(self, login: str, password: str, *, client: str) -> Person:
        """The person `login` (id or e-mail) names, if `password` is theirs; every outcome
        is an audit record. Failures count per login; too many lock it for a while."""
        now = self.clock.now()
        if self.throttle.blocked(client, now):
            await self.store.audit(audit_entry("sign_in_throttled", login, now, client=client))
            raise SignInRefused(
                "too many failed sign-ins from this address: wait a minute", locked=True
            )
        person = await self._resolve(login)
        person_id = person.id if person else None
        counter = person_id or login.strip().lower()[:254]
        attempts = await self.store.attempts(counter)
        if domain.locked(attempts, now):
            await self.store.audit(
                audit_entry(
                    "sign_in_refused_locked", login, now, person_id=person_id, client=client
                )
            )
            raise SignInRefused(
                f"too many failed sign-ins: try again after {attempts.locked_until}", locked=True
            )
        good = await self.passwords.matches(person.password_hash if person else None, password)
        if not good or person is None or person.disabled:
            attempts = domain.after_failure(attempts, now, self.policy)
            await self.store.save_attempts(counter, attempts)
            self.throttle.failed(client, now)
            why = "disabled" if person and person.disabled and good else "wrong_credentials"
            entry = audit_entry("sign_in_failed", login, now, person_id=person_id, client=client)
            await self.store.audit({**entry, "why": why, "failures": attempts.failures})
            if domain.locked(attempts, now):
                await self.store.audit(
                    audit_entry("locked_out", login, now, person_id=person_id, client=client)
                )
            raise SignInRefused("unknown login or wrong password (or the person is disabled)")
        await self.store.clear_attempts(counter)
        if self.passwords.needs_rehash(person.password_hash or ""):
            person = await self.set_password(person.id, password)
        await self.store.audit(
            audit_entry("sign_in", login, now, person_id=person.id, client=client)
        )
        return person

    def token_for(self, person: Person) -> IssuedToken:
        if self.keys is None:
            raise RuntimeError("the desk has no signing keys loaded")
        now = self.clock.now()
        lifetime = int(self.policy.token_lifetime.total_seconds())
        rules = {site: self.rulebook.for_site(site) for site in self.rulebook.sites}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": person.id,
            "name": person.name,
            "sites": domain.roles_per_site(person, rules),
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": uuid.uuid4().hex,
        }
        return IssuedToken(self.keys.sign(claims), lifetime)

    # --- sessions ----------------------------------------------------------------------
    async def open_session(self, person: Person) -> tuple[str, Session]:
        """A new session for `person`: the cookie value (shown once) and the session."""
        cookie = secrets.token_urlsafe(32)
        now = self.clock.now()
        session = Session(
            id=session_id_of(cookie),
            person_id=person.id,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
        )
        await self.store.save_session(session)
        return cookie, session

    async def session(self, cookie: str) -> tuple[Session, Person] | None:
        """The live session of `cookie` and its person (its idle timer restarted), or None
        when it ended (timeout, sign-out, the person disabled)."""
        session = await self.store.session(session_id_of(cookie))
        if session is None:
            return None
        now = self.clock.now()
        person = await self.store.person(session.person_id)
        if domain.session_ended(session, now, self.policy) or person is None or person.disabled:
            await self.store.delete_session(session.id)
            return None
        session = session.model_copy(update={"last_seen_at": now})
        await self.store.save_session(session)
        return session, person

    async def sign_out(self, cookie: str) -> None:
        session = await self.store.session(session_id_of(cookie))
        if session is None:
            return
        await self.store.delete_session(session.id)
        await self.store.audit(
            audit_entry(
                "sign_out", session.person_id, self.clock.now(), person_id=session.person_id
            )
        )
