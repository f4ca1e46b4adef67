"""The desk's signing keys: ES256 (P-256), each named by its RFC 7638 thumbprint (`kid`).

The newest key signs; the one before stays in the JWKS so that tokens it signed verify
until they expire (tokens live minutes, keys rotate after `rotate_after`). Keys are kept
in the desk's database, so every desk process and restart signs with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.common.tokens import ALGORITHM
from services.desk.store import DirectoryStore

KEPT = 2  # the signing key and the one before it


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    created_at: datetime

    @classmethod
    def generate(cls, now: datetime) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(_thumbprint(private.public_key()), pem, now)

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _thumbprint(public: ec.EllipticCurvePublicKey) -> str:
    jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SigningKeys:
    def __init__(self, keys: list[SigningKey]) -> None:
        self._keys = keys  # newest first

    @classmethod
    async def load(
        cls, store: DirectoryStore, now: datetime, rotate_after: timedelta
    ) -> SigningKeys:
        """The stored keys, rotated when the newest is older than `rotate_after` (or none)."""
        stored = await store.keyset()
        keys = [SigningKey(**k) for k in (stored or {}).get("keys", [])]
        keys.sort(key=lambda k: k.created_at, reverse=True)
        if not keys or now - keys[0].created_at >= rotate_after:
            keys = [SigningKey.generate(now), *keys][:KEPT]
            await store.save_keyset({"keys": [k.__dict__ for k in keys]})
        return cls(keys)

    @property
    def active(self) -> SigningKey:
        return self._keys[0]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self._keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.active
        return jwt.encode(claims, key.private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})
