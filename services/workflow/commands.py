"""Turning requests (HTTP bodies, command messages) into the domain's decisions."""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseCommand
from services.common.rules import SiteRules
from services.workflow.domain import extensions, returns, transitions
from services.workflow.domain.case import Case
from services.workflow.domain.commands import (
    ExecuteTransition,
    ExtendDeadline,
    RecordDisposition,
    RecordFields,
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


def command_from_message(message: CaseCommand, actor: str, roles: tuple[str, ...]) -> Decide:
    """The command's decision, by `actor` holding `roles` (from its verified token: the
    message's own `actor` and `roles` are not evidence of anything)."""
    if message.action is None:
        return fields(
            RecordFields(message.case_id, dict(message.fields), actor, roles, message.reason)
        )
    return transition(
        ExecuteTransition(
            message.case_id, message.action, dict(message.fields), actor, roles, message.reason
        )
    )
