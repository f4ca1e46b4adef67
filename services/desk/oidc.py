"""Sign-in at the company's OpenID Connect provider: authorization code with PKCE.

`GET /sign-in/oidc` sends the browser to the provider with a fresh `state`, `nonce` and
PKCE verifier (S256), kept in a short-lived HttpOnly cookie of this browser; the provider
sends it back to `GET /sign-in/oidc/callback`, where the code is exchanged (client secret
and verifier) with Authlib, and the ID token is verified with joserfc against the
provider's JWKS (signature, issuer, audience, expiry, nonce). The claims become a person of
the directory through the deployment's mapping (federation.py), and the desk opens its own
session, as after a password sign-in. Every outcome is an audit record.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import ssl
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Cookie, Depends, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.desk import federation
from services.desk.api import DeskDep, client_of
from services.desk.domain import DirectoryError, audit_entry, email_key
from services.desk.federation import ClaimMapping, FederationRefused, ProviderIdentity
from services.desk.handlers import Desk, NewPerson
from services.desk.settings import DeskSettings

log = logging.getLogger(__name__)
# A plain router: the provider's answer carries parameters of its own choosing (state,
# code, session_state, iss, error, ...), which the guarded router would refuse.
router = APIRouter(tags=["sign-in"])
FLOW_COOKIE = "qloop_oidc"
FLOW_SECONDS = 600  # a sign-in at the provider longer than this starts again
JWKS_REFRESH_SECONDS = 10.0  # an unknown key id fetches the JWKS again at most this often


@dataclass
class OidcClient:
    """The provider as configured; discovery and keys fetched on first use, then cached."""

    settings: DeskSettings
    mapping: ClaimMapping
    http: httpx2.AsyncClient
    trust: ssl.SSLContext | bool = True
    _metadata: dict[str, Any] | None = None
    _keys: KeySet | None = None
    _keys_at: float = field(default=0.0)

    @property
    def issuer(self) -> str:
        assert self.settings.desk_oidc_issuer is not None
        return self.settings.desk_oidc_issuer.rstrip("/")

    def _oauth(self) -> AsyncOAuth2Client:
        secret = self.settings.desk_oidc_client_secret
        return AsyncOAuth2Client(
            client_id=self.settings.desk_oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scope=self.settings.desk_oidc_scopes,
            redirect_uri=self.settings.desk_oidc_redirect_url,
            code_challenge_method="S256",
            verify=self.trust,
            timeout=10.0,
        )

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            answer = await self.http.get(f"{self.issuer}/.well-known/openid-configuration")
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise FederationRefused(f"the provider at {self.issuer} names another issuer")
            self._metadata = found
        return self._metadata

    async def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=verifier
            )
        return str(url)

    async def claims(self, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        """The verified ID token's claims for an authorization code."""
        endpoint = (await self.metadata())["token_endpoint"]
        async with self._oauth() as oauth:
            token = await oauth.fetch_token(endpoint, code=code, code_verifier=verifier)
        id_token = token.get("id_token")
        if not id_token:
            raise FederationRefused("the provider answered without an ID token")
        try:
            decoded = jwt.decode(id_token, await self._key_set(id_token))
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": str(self.settings.desk_oidc_client_id)},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise FederationRefused(f"the provider's ID token is not valid: {exc}") from None
        claims = dict(decoded.claims)
        userinfo = (await self.metadata()).get("userinfo_endpoint")
        access_token = token.get("access_token")
        if userinfo and access_token:
            # Some providers put profile and group claims only in the userinfo answer
            # (OIDC Core 5.4); it must be about the same subject (5.3.2).
            answer = await self.http.get(
                userinfo, headers={"Authorization": f"Bearer {access_token}"}
            )
            answer.raise_for_status()
            more = answer.json()
            if more.get("sub") != claims["sub"]:
                raise FederationRefused("the provider's userinfo is about someone else")
            claims = {**more, **claims}
        return claims

    async def _key_set(self, id_token: str) -> KeySet:
        kid = _kid_of(id_token)
        stale = time.monotonic() - self._keys_at > JWKS_REFRESH_SECONDS
        if self._keys is None or (stale and not _has(self._keys, kid)):
            answer = await self.http.get((await self.metadata())["jwks_uri"])
            answer.raise_for_status()
            self._keys, self._keys_at = KeySet.import_key_set(answer.json()), time.monotonic()
        return self._keys


def _kid_of(token: str) -> str | None:
    header = token.split(".", 1)[0]
    padded = header + "=" * (-len(header) % 4)
    try:
        kid = json.loads(base64.urlsafe_b64decode(padded)).get("kid")
    except ValueError:
        return None
    return str(kid) if kid else None


def _has(keys: KeySet, kid: str | None) -> bool:
    return kid is None or any(k.kid == kid for k in keys.keys)


def oidc_of(request: Request) -> OidcClient | None:
    client: OidcClient | None = request.app.state.ctx.state.get("oidc")
    return client


def configured(settings: DeskSettings) -> OidcClient | None:
    """The provider client when the deployment names one (made at startup)."""
    if settings.desk_oidc_issuer is None:
        return None
    assert settings.desk_oidc_mapping_file is not None  # checked by the settings
    mapping = federation.load_mapping(settings.desk_oidc_mapping_file)
    trust: ssl.SSLContext | bool = True
    if settings.desk_oidc_ca_file is not None:  # a company CA the provider's certificate uses
        trust = ssl.create_default_context(cafile=str(settings.desk_oidc_ca_file))
    return OidcClient(settings, mapping, httpx2.AsyncClient(timeout=10.0, verify=trust), trust)


OidcDep = Annotated[OidcClient | None, Depends(oidc_of)]


@router.get("/sign-in/oidc", summary="Sign in at the company's OpenID Connect provider")
async def start(request: Request, oidc: OidcDep) -> Response:
    if oidc is None:
        return RedirectResponse("/sign-in", status_code=303)
    flow = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
    }
    url = await oidc.authorization_url(flow["state"], flow["nonce"], flow["verifier"])
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        FLOW_COOKIE,
        json.dumps(flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or oidc.settings.desk_secure_cookies,
        path="/sign-in/oidc",
    )
    return response


@router.get("/sign-in/oidc/callback", summary="The provider's answer", response_model=None)
async def callback(
    request: Request,
    desk: DeskDep,
    oidc: OidcDep,
    qloop_oidc: Annotated[str | None, Cookie()] = None,
) -> Response:
    from services.desk.sessions import SESSION_COOKIE, _form, _set_cookie

    if oidc is None:
        return RedirectResponse("/sign-in", status_code=303)
    params = request.query_params
    flow = _flow(qloop_oidc)
    client = client_of(request)
    try:
        if params.get("error"):
            raise FederationRefused(f"the provider refused: {params.get('error')}")
        if flow is None or not secrets.compare_digest(params.get("state", ""), flow["state"]):
            raise FederationRefused("the sign-in expired or came from elsewhere: start again")
        claims = await oidc.claims(params.get("code", ""), flow["verifier"], flow["nonce"])
        person = await provider_sign_in(desk, oidc.mapping, claims, client=client)
    except FederationRefused as exc:
        now = desk.clock.now()
        await desk.store.audit({**audit_entry("oidc_sign_in_failed", "", now), "why": str(exc)})
        return _form(request, error=str(exc), status=401)
    except httpx2.HTTPError as exc:
        log.error("OIDC provider unreachable: %s", exc)
        return _form(request, error="the sign-in provider does not answer: try again", status=502)
    cookie, _ = await desk.open_session(person)
    response = RedirectResponse("/", status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, cookie)
    response.delete_cookie(FLOW_COOKIE, path="/sign-in/oidc")
    return response


def _flow(cookie: str | None) -> dict[str, str] | None:
    try:
        flow = json.loads(cookie) if cookie else None
    except ValueError:
        return None
    if not isinstance(flow, dict) or not all(
        isinstance(flow.get(k), str) for k in ("state", "nonce", "verifier")
    ):
        return None
    return flow


async def provider_sign_in(
    desk: Desk, mapping: ClaimMapping, claims: dict[str, Any], *, client: str
) -> Any:
    """The directory's person for verified provider claims: added on a first sign-in,
    their grants at the mapped sites replaced by what their groups map to."""
    who: ProviderIdentity = federation.identity(claims, mapping)
    grants = federation.mapped_grants(who, mapping)
    now = desk.clock.now()
    person = await desk.store.person(who.person_id)
    if person is None:
        if not grants:
            raise FederationRefused(
                f"{who.person_id} holds no group that gives a role in qloop: ask your admin"
            )
        person = await desk.add_person(
            NewPerson(
                id=who.person_id,
                name=who.name,
                email=who.email,
                language=who.language,
                grants=grants,
            ),
            by=f"oidc:{who.issuer}",
        )
    else:
        if person.disabled:
            raise FederationRefused(f"{person.id} is disabled in qloop")
        if email_key(person.email) != email_key(who.email):
            raise FederationRefused(
                f"{person.id} has another e-mail address in qloop than at the provider"
            )
        try:
            desk.check_grants(grants)
        except DirectoryError as exc:
            raise FederationRefused(f"the provider's groups map to bad grants: {exc}") from None
        person = federation.updated(person, who, grants, mapping, now)
        await desk.store.save_person(person)
    await desk.store.audit(
        {
            **audit_entry("sign_in", who.person_id, now, person_id=person.id, client=client),
            "method": "oidc",
            "issuer": who.issuer,
            "subject": who.subject,
            "grants": [g.model_dump() for g in grants],
        }
    )
    if not person.grants:
        raise FederationRefused(f"{person.id} holds no role in qloop: ask your admin")
    return person
