"""Electronic signatures: a person re-enters their password and the desk signs, for them,
one case as it stands with one meaning (21 CFR 11.50 / 11.70, 11.200(a): two components,
the person's id from their token and their password, at each signing).

`POST /signatures` answers a short-lived signature token (the audience of access tokens
plus `/signature`, so it opens nothing else) naming the person, the case, the meaning and
the case's history head they saw; the workflow checks it against the case when the signed
transition runs (services/workflow/domain/signatures.py). Failed passwords count towards
the same lockout as sign-ins; every signature and refusal is an audit record.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Caller, ensure_site, require
from services.common.http import guarded_router
from services.common.tokens import SIGNATURE_AUDIENCE_SUFFIX
from services.desk.api import DeskDep, client_of
from services.desk.domain import audit_entry
from services.desk.handlers import Desk, SignInRefused

router = guarded_router(tags=["signatures"])
Actor = Annotated[Caller, Depends(require("act"))]
SIGNATURE_SECONDS = 120  # long enough to send the command, too short to keep one around


class SignatureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(min_length=3, max_length=300, pattern=r"^[^:]+:.+$")
    meaning: Literal["approved", "rejected", "reviewed"]
    signed: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="The case's history head as you read it"
    )
    password: str = Field(min_length=1, max_length=1024)


class SignatureRefused(Exception):
    """The password was wrong or the person is locked out (`locked`)."""

    def __init__(self, message: str, *, locked: bool) -> None:
        super().__init__(message)
        self.locked = locked


async def issue(
    desk: Desk, person_id: str, body: SignatureRequest, *, client: str
) -> dict[str, Any]:
    """Check the person's password and sign the case for them: the signature token the
    workflow accepts with the signed transition. Used by the API and the case page."""
    now = desk.clock.now()
    try:
        person = await desk.sign_in(person_id, body.password, client=client)
    except SignInRefused as exc:
        entry = audit_entry("signature_refused", person_id, now, person_id=person_id)
        await desk.store.audit({**entry, "case_id": body.case_id, "meaning": body.meaning})
        raise SignatureRefused(str(exc), locked=exc.locked) from None
    if desk.keys is None:
        raise HTTPException(503, "the desk has no signing keys loaded")
    issued = int(now.timestamp())
    claims = {
        "iss": desk.issuer,
        "aud": desk.audience + SIGNATURE_AUDIENCE_SUFFIX,
        "sub": person.id,
        "name": person.name,
        "meaning": body.meaning,
        "case_id": body.case_id,
        "signed": body.signed,
        "iat": issued,
        "auth_time": issued,
        "exp": issued + SIGNATURE_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    entry = audit_entry("signed", person.id, now, person_id=person.id)
    await desk.store.audit(
        {**entry, "case_id": body.case_id, "meaning": body.meaning, "signed": body.signed,
         "jti": claims["jti"]}
    )  # fmt: skip
    return {"signature": desk.keys.sign(claims), "expires_in": SIGNATURE_SECONDS}


@router.post("/signatures", summary="Sign a case: re-enter your password; a signature token")
async def sign(
    body: SignatureRequest, desk: DeskDep, caller: Actor, request: Request
) -> dict[str, Any]:
    if caller.kind != "person":
        raise HTTPException(403, "only a person signs: an API key cannot")
    ensure_site(caller, body.case_id.split(":", 1)[0])
    try:
        return await issue(desk, caller.name, body, client=client_of(request))
    except SignatureRefused as exc:
        raise HTTPException(429 if exc.locked else 401, str(exc)) from None
