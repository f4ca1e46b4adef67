"""API keys with roles and site scopes, stored only as SHA-256 hashes.

Keys are listed in a YAML file (`QLOOP_API_KEYS_FILE`), typically a mounted secret:

    keys:
      - name: erp-sz            # who calls; becomes the `source` of what it submits
        sha256: 9f86d0...       # `qloop keys hash KEY` prints it
        sites: [sz]             # or ["*"] for every site (HQ)
        roles: [submit, read]

The plaintext key is never stored. Keys are random 32-byte tokens, so an unsalted hash
is as strong as the token; lookups compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ALL_SITES = "*"


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sites: tuple[str, ...] = Field(min_length=1)
    roles: tuple[str, ...] = Field(min_length=1)

    def may_access(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites

    def visible_sites(self, known: Iterable[str]) -> list[str]:
        return [s for s in known if self.may_access(s)]


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: tuple[ApiKey, ...] = ()


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> str:
    return "qk_" + secrets.token_urlsafe(32)


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._keys = tuple(keys)

    @classmethod
    def from_file(cls, path: Path | None) -> KeyRing:
        if path is None:
            return cls()
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return cls(KeyFile.model_validate(document).keys)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            reason = " ".join(str(exc).split())  # one line: YAML and pydantic errors span several
            message = f"QLOOP_API_KEYS_FILE {path}: cannot load API keys: {reason}"
            raise ValueError(message) from None

    def identify(self, plaintext: str) -> ApiKey | None:
        digest = hash_key(plaintext)
        found = None
        for key in self._keys:  # no early exit: timing does not reveal which key matched
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found


async def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> ApiKey:
    """FastAPI dependency: the key presented in `X-API-Key` (401 when missing or unknown)."""
    ring: KeyRing = request.app.state.keyring
    key = ring.identify(x_api_key) if x_api_key else None
    if key is None:
        raise HTTPException(
            401,
            "missing or unknown API key (header X-API-Key)",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return key


def require(role: str) -> Callable[[ApiKey], Coroutine[Any, Any, ApiKey]]:
    """FastAPI dependency factory: the caller's key, which must carry `role` (else 403).

    Use as `Annotated[ApiKey, Depends(require("read"))]`."""

    async def check(key: Annotated[ApiKey, Depends(caller)]) -> ApiKey:
        if role not in key.roles and "admin" not in key.roles:
            raise HTTPException(403, f"this API key lacks the role {role!r}")
        return key

    return check


def ensure_site(key: ApiKey, site: str) -> None:
    if not key.may_access(site):
        raise HTTPException(403, f"this API key is not scoped to site {site!r}")
