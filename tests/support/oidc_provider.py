"""A real OpenID Connect provider for tests: pyop (the maintained OP library of the
IdentityPython project) behind a few HTTP routes, run as its own process.

    python -m tests.support.oidc_provider --port P --config CONFIG.json --tls DIR

It serves HTTPS only (the OpenID Connect specs and pyop require it), with a certificate for
127.0.0.1 that it writes to DIR/ca.pem for the client to trust.

CONFIG: {"client_id", "client_secret", "redirect_uri", "users": {login: {"password", claims}}}.
The protocol (discovery, authorization code with PKCE, the token endpoint's client
authentication, ID tokens signed RS256, JWKS, userinfo) is pyop's; this module only routes
HTTP to it and shows a login form where a real provider would.
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from Cryptodome.PublicKey import RSA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jwkest.jwk import RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthenticationRequest, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo


def build(issuer: str, config: dict[str, Any]) -> FastAPI:
    users: dict[str, dict[str, Any]] = config["users"]
    claims = {login: dict(user["claims"]) for login, user in users.items()}
    provider = Provider(
        RSAKey(key=RSA.generate(2048), alg="RS256", kid="test-op-1"),
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
            "code_challenge_methods_supported": ["S256"],
        },
        AuthorizationState(HashBasedSubjectIdentifierFactory("test-salt")),
        {
            config["client_id"]: {
                "client_secret": config["client_secret"],
                "redirect_uris": [config["redirect_uri"]],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        },
        Userinfo(claims),
        extra_scopes={"groups": ["groups"]},  # group membership, as Keycloak's mapper does
    )
    pending: dict[str, Any] = {}
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> Response:
        return Response(provider.provider_configuration.to_json(), media_type="application/json")

    @app.get("/jwks")
    async def jwks() -> JSONResponse:
        return JSONResponse(provider.jwks)

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        try:
            authn = provider.parse_authentication_request(urlencode(request.query_params))
        except InvalidAuthenticationRequest as exc:
            return HTMLResponse(f"invalid request: {html.escape(str(exc))}", status_code=400)
        key = secrets.token_urlsafe(16)
        pending[key] = authn
        return HTMLResponse(
            '<form method="post" action="/login">'
            f'<input type="hidden" name="pending" value="{key}">'
            '<input name="login"><input name="password" type="password">'
            "<button>Sign in</button></form>"
        )

    @app.post("/login")
    async def login(
        pending_key: str = Form(alias="pending"), login: str = Form(), password: str = Form()
    ) -> Response:
        authn = pending.pop(pending_key, None)
        user = users.get(login)
        if authn is None or user is None or user["password"] != password:
            return HTMLResponse("wrong login or password", status_code=401)
        response = provider.authorize(authn, login, extra_id_token_claims=claims[login])
        return RedirectResponse(response.request(authn["redirect_uri"], False), status_code=303)

    @app.post("/token")
    async def token(request: Request) -> Response:
        body = (await request.body()).decode()
        try:
            answer = provider.handle_token_request(
                body, _headers(request), extra_id_token_claims=lambda user, _: claims[user]
            )
        except OAuthError as exc:
            error = {"error": exc.oauth_error, "error_description": str(exc)}
            return JSONResponse(error, status_code=400)
        return Response(answer.to_json(), media_type="application/json")

    @app.get("/userinfo")
    async def userinfo(request: Request) -> Response:
        answer = provider.handle_userinfo_request(None, _headers(request))
        return Response(answer.to_json(), media_type="application/json")

    return app


def _headers(request: Request) -> dict[str, str]:
    # pyop reads the client's credentials from "Authorization", as HTTP spells it.
    found = request.headers.get("authorization")
    return {"Authorization": found} if found else {}


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (ca.pem, also the trust anchor) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qloop test OIDC provider")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "ca.pem", directory / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--tls", required=True, type=Path)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as file:
        config = json.load(file)
    issuer = f"https://127.0.0.1:{args.port}"
    cert_file, key_file = self_signed(args.tls)
    uvicorn.run(
        build(issuer, config),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )


if __name__ == "__main__":
    main()
