"""Access tokens of people, as every service verifies them.

The desk signs short-lived JWTs (ES256, a `kid` per key) naming a person and their roles
per site, and publishes its public keys as a JWKS. A service fetches that JWKS once and
keeps it; a token signed by a key it does not know yet (the desk rotated) makes it fetch
again, at most every `refetch_seconds`, so a flood of forged `kid`s cannot make it hammer
the desk. Issuer and audience are checked, and a token without an expiry is refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ALGORITHM = "ES256"
CLOCK_SKEW_SECONDS = 30
JwksFetch = Callable[[], Awaitable[Mapping[str, Any]]]


class TokenRefused(Exception):
    """The token is not one this service accepts; the message says why."""


class KeysUnavailable(Exception):
    """The desk's JWKS could not be fetched: nobody's token can be checked right now. A
    consumer retries the message in place, then hands it back, as for a database outage:
    the message is not at fault."""

    transient = True


class PersonClaims(BaseModel):
    """What a verified access token says: who, and their roles per site."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str = Field(min_length=1, max_length=200)
    name: str = ""
    sites: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    exp: int
    iat: int


SIGNATURE_AUDIENCE_SUFFIX = "/signature"


class SignatureClaims(BaseModel):
    """A signature token: `sub` re-authenticated at the desk and signed `case_id` as it stood
    (its history head `signed`) with `meaning`. Its audience is the access tokens' plus
    `/signature`, so neither kind of token passes for the other."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str = Field(min_length=1, max_length=200)
    name: str = ""
    meaning: str = Field(min_length=1, max_length=40)
    case_id: str = Field(min_length=1, max_length=300)
    signed: str = Field(pattern=r"^[0-9a-f]{64}$")
    jti: str = Field(min_length=8, max_length=100)
    iat: int
    exp: int


def http_jwks(url: str, *, timeout: float = 5.0) -> JwksFetch:
    """Fetch the JWKS at `url` (the desk's `/.well-known/jwks.json`)."""

    async def fetch() -> Mapping[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                reply = await client.get(url)
                reply.raise_for_status()
                document: Mapping[str, Any] = reply.json()
                return document
        except (httpx.HTTPError, ValueError) as exc:
            raise KeysUnavailable(f"cannot fetch the JWKS at {url}: {exc}") from None

    return fetch


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        fetch_jwks: JwksFetch,
        refetch_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer, self.audience = issuer, audience
        self._fetch, self._refetch_seconds, self._monotonic = fetch_jwks, refetch_seconds, monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> PersonClaims:
        claims = await self._claims(token, self.audience)
        try:
            return PersonClaims.model_validate(claims)
        except ValidationError as exc:
            raise TokenRefused(f"unexpected claims: {exc.errors()[0]['msg']}") from None

    async def verify_signature(self, token: str) -> SignatureClaims:
        """A signature token's claims (signed by the desk for its signature audience)."""
        claims = await self._claims(token, self.audience + SIGNATURE_AUDIENCE_SUFFIX)
        try:
            return SignatureClaims.model_validate(claims)
        except ValidationError as exc:
            raise TokenRefused(f"not a signature: {exc.errors()[0]['msg']}") from None

    async def _claims(self, token: str, audience: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"not a JWT: {exc}") from None
        if not isinstance(kid, str):
            raise TokenRefused("the token names no key (kid)")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRefused(str(exc)) from None
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= self._refetch_seconds
            if kid not in self._keys and stale:
                document = await self._fetch()
                self._fetched_at = now
                self._keys = _keys_of(document)
        if kid not in self._keys:
            raise TokenRefused(f"unknown signing key {kid!r}")
        return self._keys[kid]


def _keys_of(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    try:
        keys = jwt.PyJWKSet.from_dict(dict(document)).keys
    except jwt.PyJWTError as exc:
        raise KeysUnavailable(f"the JWKS holds no usable key: {exc}") from None
    return {k.key_id: k for k in keys if k.key_id}
