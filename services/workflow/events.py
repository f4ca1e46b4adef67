"""The workflow's broker entries: registered complaints, survey actions, case commands.
Refusals become dead letters with the reason; everything else is idempotent by event id."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.auth import Caller, KeyRing
from services.common.contracts.cases import CaseCommand
from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.envelope import Envelope
from services.common.contracts.surveys import SurveyActionRequired, SurveyScored
from services.common.messaging.consumer import Handler, Outcome, Rejected, sent_by
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.common.tokens import TokenRefused, TokenVerifier
from services.workflow.commands import command_from_message, verified_signature
from services.workflow.domain.commands import CorrectiveActionRequest, Refused
from services.workflow.handlers import CaseService

COMPLAINTS = QueueSpec("workflow.complaints", ("*.complaint.registered",))
SURVEY_ACTIONS = QueueSpec("workflow.survey_actions", ("*.survey.action_required",))
SURVEY_RESULTS = QueueSpec("workflow.survey_results", ("*.survey.scored",))
COMMANDS = QueueSpec("workflow.commands", ("*.case.command",))


def on_registered(service: CaseService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        registered = envelope.data
        assert isinstance(registered, ComplaintRegistered)
        try:
            created = await service.open_for_complaint(
                registered, correlation_id=envelope.correlationid, causation_id=str(envelope.id)
            )
        except UnknownSite as exc:
            raise Rejected(str(exc), ["data.complaint.site"]) from None
        return "stored" if created else "duplicate"

    return handle


def on_action_required(service: CaseService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        action = envelope.data
        assert isinstance(action, SurveyActionRequired)
        request = CorrectiveActionRequest(
            action_id=action.action_id,
            what=action.what,
            why=action.why,
            trigger=action.trigger,
            owner_department=action.owner_department,
            due=action.due,
            customer_id=action.customer_id,
            customer_name=action.customer_name,
            facts={
                "campaign_id": action.campaign_id,
                "score": action.score,
                "threshold": action.threshold,
            },
            raised_at=action.raised_at,
            due_provisional=action.due_provisional,
            subject=action.subject,
        )
        try:
            created = await service.open_for_action(
                request,
                envelope.site,
                correlation_id=envelope.correlationid,
                causation_id=str(envelope.id),
            )
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return "stored" if created else "duplicate"

    return handle


def on_scored(service: CaseService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        scored = envelope.data
        assert isinstance(scored, SurveyScored)
        try:
            moved = await service.verify_survey_actions(
                scored,
                envelope.site,
                event_id=str(envelope.id),
                correlation_id=envelope.correlationid,
            )
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return "stored" if moved else "duplicate"

    return handle


async def acting_person(
    tokens: TokenVerifier | None, message: CaseCommand, site: str
) -> tuple[str, tuple[str, ...]]:
    """Who sends `message` and their workflow roles at `site`, from its token alone.
    A missing, invalid or expired token, or a person without a role there, is refused
    for good (a dead letter with the reason). The desk's keys being unreachable is not
    the message's fault: that raises, and the message is retried."""
    if message.token is None:
        raise Rejected(
            "unauthenticated: a case.command must carry the acting person's access token "
            "(data.token) or come from a broker user the workflow trusts for its site; "
            "its actor and roles are not trusted",
            ["data.token"],
        )
    if tokens is None:
        raise Rejected(
            "unauthenticated: this workflow verifies no tokens (QLOOP_TOKEN_JWKS_URL is not set)",
            ["data.token"],
        )
    try:
        person = await tokens.verify(message.token)
    except TokenRefused as exc:
        raise Rejected(f"unauthenticated: invalid token: {exc}", ["data.token"]) from None
    if site not in person.sites:
        reason = f"forbidden: person {person.sub!r} holds no role at site {site!r}"
        raise Rejected(reason, ["data.token"])
    return person.sub, person.sites[site]


def acting_system(
    keyring: KeyRing, sender: str | None, site: str
) -> tuple[str, tuple[str, ...]] | None:
    """The broker user that published a command without a token, and its roles at `site`,
    if the key file trusts it (`broker_users`); None if it does not. RabbitMQ refused any
    `user_id` other than the publishing connection's user, so the name is the sender's.
    A user trusted only for other sites is refused: the command is not theirs to give."""
    trusted = keyring.broker_user(sender) if sender else None
    if trusted is None:
        return None
    system = Caller.of_key(trusted)
    if not system.may_access(site):
        reason = f"forbidden: broker user {sender!r} is not trusted for site {site!r}"
        raise Rejected(reason, ["site"])
    return system.name, system.roles_at(site)


def on_command(
    service: CaseService, tokens: TokenVerifier | None, keyring: KeyRing | None = None
) -> Handler:
    keyring = keyring or KeyRing()

    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        message = envelope.data
        assert isinstance(message, CaseCommand)
        if not message.case_id.startswith(f"{envelope.site}:"):
            raise Rejected(
                f"case {message.case_id} is not a case of site {envelope.site}", ["data.case_id"]
            )
        system = None if message.token else acting_system(keyring, sent_by.get(), envelope.site)
        actor, roles = system or await acting_person(tokens, message, envelope.site)
        try:
            signature = await verified_signature(tokens, message.signature)
            _, stored = await service.run(
                message.case_id,
                command_from_message(message, actor, roles, signature),
                expected_version=message.expected_version,
                event_id=str(envelope.id),
                correlation_id=envelope.correlationid,
            )
        except Refused as refusal:
            raise Rejected(f"{refusal.code}: {refusal.reason}", refusal.fields) from None
        return "stored" if stored else "duplicate"

    return handle
