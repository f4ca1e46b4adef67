"""People, their grants per site, and the rules of sign-in (lockout, session timeouts).

Pure: no I/O. Departments and roles are the site rule file's; the directory only says who
holds them. A person's roles at a site are the roles granted there plus the roles of the
departments they belong to there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.rules import SiteRules
from services.common.rules.schema_notifications import DeliveryPreference

PERSON_ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$"
# Service roles granted to a person beside the rule file's roles (read, act and submit
# come with belonging to a site: services/common/auth.py).
GRANTABLE_SERVICE_ROLES = ("survey", "privacy", "admin")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Grant(Frozen):
    site: str = Field(min_length=1, max_length=60)
    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


class Person(Frozen):
    id: str = Field(pattern=PERSON_ID)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=EMAIL, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    grants: tuple[Grant, ...] = ()
    disabled: bool = False
    # How the notify service tells this person (channels, quiet hours, daily digest);
    # None: as their department's people, per the site's rule file.
    notifications: DeliveryPreference | None = None
    password_hash: str | None = Field(default=None, repr=False)
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def grant_at(self, site: str) -> Grant | None:
        return next((g for g in self.grants if g.site == site), None)

    def sites(self) -> list[str]:
        return [g.site for g in self.grants]

    def view(self) -> dict[str, object]:
        """What the admin API and the CLI show: never the password hash."""
        shown = self.model_dump(mode="json", exclude={"password_hash"})
        shown["has_password"] = self.password_hash is not None
        return shown


class DirectoryError(Exception):
    """A refused change to the directory; the message says what to fix."""


def email_key(email: str) -> str:
    return email.strip().lower()


def grant_errors(grant: Grant, rules: Mapping[str, SiteRules]) -> list[str]:
    """What is wrong with `grant` against its site's rule file (empty: nothing)."""
    site = rules.get(grant.site)
    if site is None:
        return [f"unknown site {grant.site!r} (known: {', '.join(sorted(rules)) or 'none'})"]
    departments = {d.id for d in site.departments}
    roles = {r.id for r in site.roles} | set(GRANTABLE_SERVICE_ROLES)
    errors = [
        f"site {grant.site!r} has no department {d!r} (it has {', '.join(sorted(departments))})"
        for d in grant.departments
        if d not in departments
    ]
    errors += [
        f"site {grant.site!r} has no role {r!r} (it has {', '.join(sorted(roles))})"
        for r in grant.roles
        if r not in roles
    ]
    if not grant.departments and not grant.roles:
        errors.append(f"a grant at site {grant.site!r} needs a department or a role")
    return errors


def with_grant(person: Person, grant: Grant, now: datetime) -> Person:
    """`person` with `grant` replacing what they held at its site."""
    others = tuple(g for g in person.grants if g.site != grant.site)
    return person.model_copy(update={"grants": (*others, grant), "updated_at": now})


def without_site(person: Person, site: str, now: datetime) -> Person:
    if person.grant_at(site) is None:
        raise DirectoryError(f"{person.id} holds nothing at site {site!r}")
    grants = tuple(g for g in person.grants if g.site != site)
    return person.model_copy(update={"grants": grants, "updated_at": now})


def roles_per_site(person: Person, rules: Mapping[str, SiteRules]) -> dict[str, tuple[str, ...]]:
    """The roles a token carries: granted roles plus those of the person's departments, at
    the sites whose rule file is loaded."""
    out: dict[str, tuple[str, ...]] = {}
    for grant in person.grants:
        site = rules.get(grant.site)
        if site is None:
            continue
        held = [*grant.roles]
        for department in site.departments:
            if department.id in grant.departments:
                held += department.roles
        out[grant.site] = tuple(dict.fromkeys(held))
    return out


# --- sign-in attempts -------------------------------------------------------------------


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    token_lifetime: timedelta = timedelta(minutes=10)
    client_max_failures: int = 20
    client_window: timedelta = timedelta(minutes=1)


class Attempts(Frozen):
    """Failed sign-ins for one login (a person's id, or what was typed when unknown)."""

    failures: int = 0
    window_started_at: AwareDatetime | None = None
    locked_until: AwareDatetime | None = None


def locked(attempts: Attempts, now: datetime) -> bool:
    return attempts.locked_until is not None and now < attempts.locked_until


def after_failure(attempts: Attempts, now: datetime, policy: SignInPolicy) -> Attempts:
    """Count a failure; the `max_failures`th within the window locks the login."""
    start = attempts.window_started_at
    if start is None or now - start > policy.failure_window or attempts.locked_until:
        attempts = Attempts(window_started_at=now)
    failures = attempts.failures + 1
    until = now + policy.lockout if failures >= policy.max_failures else None
    return attempts.model_copy(update={"failures": failures, "locked_until": until})


class ClientThrottle:
    """Failed sign-ins per client address, kept in this process: past the policy's limit
    within its window the client is refused whatever login it tries, so one address cannot
    try a password on many logins (each login's own lockout would not stop that)."""

    def __init__(self, policy: SignInPolicy) -> None:
        self._policy = policy
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(client, deque())
        while failures and now - failures[0] > self._policy.client_window:
            failures.popleft()
        if not failures:
            del self._failures[client]  # no memory kept for quiet clients
        return failures

    def blocked(self, client: str, now: datetime) -> bool:
        return len(self._recent(client, now)) >= self._policy.client_max_failures

    def failed(self, client: str, now: datetime) -> None:
        self._recent(client, now)
        self._failures.setdefault(client, deque()).append(now)


# --- sessions ----------------------------------------------------------------------------


class Session(Frozen):
    """A browser's signed-in session. Stored under the hash of its cookie value."""

    id: str
    person_id: str
    csrf: str
    created_at: AwareDatetime
    last_seen_at: AwareDatetime


def session_ended(session: Session, now: datetime, policy: SignInPolicy) -> str | None:
    """Why `session` is over at `now` (idle or absolute timeout), or None."""
    if now - session.created_at >= policy.session_absolute:
        return "expired"
    if now - session.last_seen_at >= policy.session_idle:
        return "idle"
    return None


def audit_entry(
    kind: str, login: str, now: datetime, *, person_id: str | None = None, **detail: object
) -> dict[str, object]:
    """One audit record: `sign_in`, `sign_in_failed`, `locked_out`, `sign_out`, ..."""
    return {"kind": kind, "login": login, "person_id": person_id, "at": now, **detail}
