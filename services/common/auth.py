"""API keys with roles and site scopes, stored only as SHA-256 hashes.

Keys are listed in a YAML file (`QLOOP_API_KEYS_FILE`), typically a mounted secret:

    keys:
      - name: erp-sz            # who calls; becomes the `source` of what it submits
        sha256: 9f86d0...       # `qloop keys hash KEY` prints it
        sites: [sz]             # or ["*"] for every site (HQ)
        roles: [submit, read]
    broker_users:               # RabbitMQ users whose case.command the workflow trusts
      - name: erp-sz            # the broker user (the AMQP user_id RabbitMQ checked)
        sites: [sz]
        roles: [complaint_owner]

The plaintext key is never stored. Keys are random 32-byte tokens, so an unsalted hash
is as strong as the token; lookups compare digests in constant time. `qloop keys
add|list|revoke` edits the file; a running service reads it again when it changes.

People present a bearer token from the desk instead (services/common/tokens.py): their
roles are per site, and at every site they belong to they may also `read`, `act` and
`submit`; `survey`, `privacy` and `admin` are granted to a person explicitly. Either way
a route sees a `Caller`; `require(role)` narrows it to the sites where it holds the role,
so `ensure_site` and `visible_sites` then answer for that role.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.tokens import KeysUnavailable, PersonClaims, TokenRefused, TokenVerifier

ALL_SITES = "*"
# What a person may do at every site they belong to; the rest is granted in the directory.
PERSON_SERVICE_ROLES = ("read", "act", "submit")
RELOAD_CHECK_SECONDS = 1.0
log = logging.getLogger(__name__)


class SystemIdentity(BaseModel):
    """A system (not a person): its name, the sites it acts for and its roles there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    sites: tuple[str, ...] = Field(min_length=1)
    roles: tuple[str, ...] = Field(min_length=1)

    def may_access(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites

    def visible_sites(self, known: Iterable[str]) -> list[str]:
        return [s for s in known if self.may_access(s)]


class ApiKey(SystemIdentity):
    """A system calling over HTTP, known by the hash of its key."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class BrokerUser(SystemIdentity):
    """A system publishing on the broker as the RabbitMQ user `name`. RabbitMQ refuses a
    message whose `user_id` property is not the publishing connection's user, so a
    message's `user_id` names its sender; topic permissions keep it to its sites' keys."""


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: tuple[ApiKey, ...] = ()
    broker_users: tuple[BrokerUser, ...] = ()


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> str:
    return "qk_" + secrets.token_urlsafe(32)


class KeyRing:
    """The keys of the key file, read again when the file changes (checked at most once a
    second, on use): `qloop keys add` takes effect without a restart. A file that became
    unreadable or invalid is logged and the keys read last stay in force."""

    def __init__(
        self,
        keys: Iterable[ApiKey] = (),
        *,
        broker_users: Iterable[BrokerUser] = (),
        path: Path | None = None,
    ) -> None:
        self._keys = tuple(keys)
        self._broker_users = {user.name: user for user in broker_users}
        self._path = path
        self._stamp = _stamp(path) if path else None
        self._checked = time.monotonic()

    @classmethod
    def from_file(cls, path: Path | None) -> KeyRing:
        if path is None:
            return cls()
        found = load_key_file(path)
        return cls(found.keys, broker_users=found.broker_users, path=path)

    def identify(self, plaintext: str) -> ApiKey | None:
        self._reload_if_changed()
        digest = hash_key(plaintext)
        found = None
        for key in self._keys:  # no early exit: timing does not reveal which key matched
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found

    def broker_user(self, name: str) -> BrokerUser | None:
        """The broker user `name` if the file trusts it (its messages' `user_id`)."""
        self._reload_if_changed()
        return self._broker_users.get(name)

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if self._path is None or now - self._checked < RELOAD_CHECK_SECONDS:
            return
        self._checked = now
        stamp = _stamp(self._path)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            found = load_key_file(self._path)
            self._keys = found.keys
            self._broker_users = {user.name: user for user in found.broker_users}
            log.info("API keys reloaded from %s (%d keys)", self._path, len(self._keys))
        except ValueError as exc:
            log.error("%s; the keys read before stay in force", exc)


def read_key_file(path: Path) -> tuple[ApiKey, ...]:
    return load_key_file(path).keys


def load_key_file(path: Path) -> KeyFile:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return KeyFile.model_validate(document)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        reason = " ".join(str(exc).split())  # one line: YAML and pydantic errors span several
        message = f"QLOOP_API_KEYS_FILE {path}: cannot load API keys: {reason}"
        raise ValueError(message) from None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


@dataclass(frozen=True)
class Caller:
    """Who calls: a system (API key) or a person (bearer token), with roles per site
    (`*`: every site). `needed` is the role `require` narrowed it to."""

    name: str
    kind: Literal["system", "person"]
    grants: Mapping[str, tuple[str, ...]]
    needed: str | None = None

    @classmethod
    def of_key(cls, key: SystemIdentity) -> Caller:
        """A system: an API key's or a trusted broker user's sites and roles."""
        return cls(key.name, "system", dict.fromkeys(key.sites, key.roles))

    @classmethod
    def of_person(cls, claims: PersonClaims) -> Caller:
        grants = {
            site: tuple(dict.fromkeys((*PERSON_SERVICE_ROLES, *roles)))
            for site, roles in claims.sites.items()
            if site != ALL_SITES
        }
        return cls(claims.sub, "person", grants)

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role held at some site."""
        return tuple(dict.fromkeys(r for roles in self.grants.values() for r in roles))

    def roles_at(self, site: str) -> tuple[str, ...]:
        held = (*self.grants.get(ALL_SITES, ()), *self.grants.get(site, ()))
        return tuple(dict.fromkeys(held))

    def may_access(self, site: str) -> bool:
        return ALL_SITES in self.grants or site in self.grants

    def visible_sites(self, known: Iterable[str]) -> list[str]:
        return [s for s in known if self.may_access(s)]

    def holding(self, role: str) -> Caller:
        """This caller at the sites where it holds `role` (or `admin`)."""
        grants = {s: r for s, r in self.grants.items() if role in r or "admin" in r}
        return replace(self, grants=grants, needed=role)

    def refusal(self, site: str | None = None) -> str:
        who = "this API key" if self.kind == "system" else f"person {self.name!r}"
        if site is None:
            if self.kind == "system":
                return f"this API key lacks the role {self.needed!r}"
            return f"{who} holds the role {self.needed!r} at no site"
        if self.kind == "system":
            return f"this API key is not scoped to site {site!r}"
        if self.needed is None:
            return f"{who} does not belong to site {site!r}"
        return f"{who} does not hold the role {self.needed!r} at site {site!r}"


# Declared as security schemes, so the OpenAPI documents say how to authenticate.
_bearer = HTTPBearer(
    auto_error=False, description="A person's access token (JWT) from the desk's /auth/token"
)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="A system's API key")


async def caller(
    request: Request,
    x_api_key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Caller:
    """FastAPI dependency: a person's bearer token (`Authorization: Bearer ...`) or a
    system's key (`X-API-Key`); 401 when neither is valid. A request that sends a key is
    the key's, whatever else it sends: one identity, the one stated explicitly."""
    if not x_api_key and bearer is not None and bearer.credentials:
        return Caller.of_person(await _verified(request, bearer.credentials))
    ring: KeyRing = request.app.state.keyring
    key = ring.identify(x_api_key) if x_api_key else None
    if key is None:
        reason = "unknown API key" if x_api_key else "no credentials"
        raise HTTPException(
            401,
            f"{reason}: send a bearer token (header Authorization) or an API key "
            "(header X-API-Key)",
            headers={"WWW-Authenticate": "Bearer, ApiKey"},
        )
    return Caller.of_key(key)


async def _verified(request: Request, token: str) -> PersonClaims:
    verifier: TokenVerifier | None = getattr(request.app.state, "tokens", None)
    if verifier is None:
        raise HTTPException(
            401,
            "bearer tokens are not accepted here: QLOOP_TOKEN_JWKS_URL is not set",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    try:
        return await verifier.verify(token)
    except TokenRefused as exc:
        raise HTTPException(
            401,
            f"invalid bearer token: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    except KeysUnavailable as exc:
        raise HTTPException(503, f"cannot check bearer tokens now: {exc}") from None


def require(role: str) -> Callable[[Caller], Coroutine[Any, Any, Caller]]:
    """FastAPI dependency factory: the caller, which must hold `role` (or `admin`) at some
    site (else 403), narrowed to the sites where it does.

    Use as `Annotated[Caller, Depends(require("read"))]`."""

    async def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        held = who.holding(role)
        if not held.grants:
            raise HTTPException(403, held.refusal())
        return held

    return check


def ensure_site(who: Caller, site: str) -> None:
    if not who.may_access(site):
        raise HTTPException(403, who.refusal(site))
