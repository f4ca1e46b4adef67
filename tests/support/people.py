"""People's access tokens for tests: keys of the desk's kind, made in memory, and a
verifier that knows them (set as a service app's `app.state.tokens`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from services.common.tokens import TokenVerifier
from services.desk.signing import SigningKey

ISSUER, AUDIENCE = "qloop-desk", "qloop"


class TestIssuer:
    """Signs tokens as the desk would; `verifier()` checks them as a service would."""

    __test__ = False

    def __init__(self) -> None:
        self.key = SigningKey.generate(datetime.now(UTC))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.public_jwk()]}

    def verifier(self) -> TokenVerifier:
        async def fetch() -> Mapping[str, Any]:
            return self.jwks()

        return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=fetch)

    def token(
        self,
        person: str,
        sites: Mapping[str, Sequence[str]],
        *,
        lifetime: int = 600,
        **overrides: Any,
    ) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": person,
            "name": person,
            "sites": {s: list(r) for s, r in sites.items()},
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            **overrides,
        }
        return jwt.encode(
            claims, self.key.private_pem, algorithm="ES256", headers={"kid": self.key.kid}
        )
