"""Turning requests (HTTP bodies, command messages) into the domain's decisions."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.contracts.cases import CaseCommand
from services.common.rules import SiteRules
from services.common.tokens import TokenRefused, TokenVerifier
from services.workflow.domain import extensions, returns, transitions
from services.workflow.domain.case import Case
from services.workflow.domain.commands import (
    ExecuteTransition,
    ExtendDeadline,
    RecordDisposition,
    RecordFields,
    Refused,
    Signature,
)
from services.workflow.domain.decisions import Decision
from services.workflow.handlers import Decide


def transition(command: ExecuteTransition) -> Decide:
    def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
        return transitions.execute(case, command, rules, now)

    return decide


def fields(command: RecordFields) -> Decide:
    def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
        return transitions.record_fields(case, command, rules, now)

    return decide


def extension(command: ExtendDeadline) -> Decide:
    def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
        return extensions.extend(case, command, rules, now)

    return decide


def disposition(command: RecordDisposition) -> Decide:
    def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
        return returns.record_disposition(case, command, rules, now)

    return decide


def command_from_message(
    message: CaseCommand, actor: str, roles: tuple[str, ...], signature: Signature | None = None
) -> Decide:
    """The command's decision, by `actor` holding `roles` (from its verified token: the
    message's own `actor` and `roles` are not evidence of anything)."""
    if message.action is None:
        return fields(
            RecordFields(message.case_id, dict(message.fields), actor, roles, message.reason)
        )
    return transition(
        ExecuteTransition(
            message.case_id,
            message.action,
            dict(message.fields),
            actor,
            roles,
            message.reason,
            signature=signature,
        )
    )


async def verified_signature(tokens: TokenVerifier | None, token: str | None) -> Signature | None:
    """The signature a command carries, checked as the desk signed it (None: none sent).
    `KeysUnavailable` passes through: nobody's signature can be checked right now."""
    if token is None:
        return None
    if tokens is None:
        raise Refused("signature_invalid", "this service checks no desk tokens", ["signature"])
    try:
        claims = await tokens.verify_signature(token)
    except TokenRefused as exc:
        reason = f"the signature is not valid: {exc}"
        raise Refused("signature_invalid", reason, ["signature"]) from None
    return Signature(
        person_id=claims.sub,
        name=claims.name or claims.sub,
        meaning=claims.meaning,
        case_id=claims.case_id,
        signed_hash=claims.signed,
        signed_at=datetime.fromtimestamp(claims.iat, UTC),
        token_id=claims.jti,
    )
