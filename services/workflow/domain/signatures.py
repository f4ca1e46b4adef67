"""Electronic signatures on transitions (21 CFR 11.50 / 11.70, IATF 16949's approvals).

A transition whose rule names a `signature` runs only with one: the person running it
re-authenticated at the desk and signed this case, with this meaning, as it stands (the
head of its hash-chained history). The signature is checked here against the case, and
goes into the case (`signatures`) and its history with the transition, so the chain links
it to exactly what was approved: a signature cannot be reused on a case that changed since,
nor moved to another case or meaning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.rules.schema_workflow import Transition
from services.workflow.domain import history
from services.workflow.domain.case import Case, SignatureRecord, instant
from services.workflow.domain.commands import ExecuteTransition, Refused, Signature


def head(case: Case) -> str:
    """What a signature on `case` signs: its history head."""
    return case.history[-1].hash if case.history else history.GENESIS


def checked(case: Case, transition: Transition, command: ExecuteTransition) -> Signature | None:
    """The command's signature when the transition needs one and it holds; refused else."""
    spec = transition.signature
    if spec is None:
        return None
    signature = command.signature
    if signature is None:
        raise Refused(
            "signature_required",
            f"action {transition.action!r} is signed ({spec.meaning}): re-enter your password "
            "at the desk to sign the case, and send the signature with the command",
            ["signature"],
        )
    problem = _problem(case, transition, command, signature)
    if problem:
        raise Refused("signature_invalid", problem, ["signature"])
    return signature


def _problem(
    case: Case, transition: Transition, command: ExecuteTransition, signature: Signature
) -> str | None:
    assert transition.signature is not None
    if signature.person_id != command.actor:
        return f"the signature is {signature.person_id}'s, the command {command.actor}'s"
    if signature.case_id != case.id:
        return f"the signature is for case {signature.case_id}, not {case.id}"
    if signature.meaning != transition.signature.meaning:
        return f"the signature means {signature.meaning!r}; {transition.action!r} needs " \
            f"{transition.signature.meaning!r}"
    if signature.signed_hash != head(case):
        return "the case changed since it was signed: read it again and sign what it is now"
    if any(s.token_id == signature.token_id for s in case.signatures):
        return "this signature was used already"
    return None


def filled(transition: Transition, signature: Signature | None) -> dict[str, Any]:
    """The case field the signature fills (e.g. `approved_by`): the signer's person id."""
    spec = transition.signature
    if signature is None or spec is None or spec.fills is None:
        return {}
    return {spec.fills: signature.person_id}


def record(
    new: Case, transition: Transition, signature: Signature, origin: str, rules_version: str,
    roles: tuple[str, ...], now: datetime,
) -> None:
    """Add the signature to the case and its history (before the transition's entry)."""
    entry = SignatureRecord(
        person_id=signature.person_id,
        name=signature.name,
        meaning=signature.meaning,
        action=transition.action,
        stage=origin,
        signed_hash=signature.signed_hash,
        signed_at=instant(signature.signed_at),
        token_id=signature.token_id,
    )
    new.signatures.append(entry)
    history.record(
        new,
        at=instant(now),
        actor=signature.person_id,
        roles=roles,
        what="signature",
        action=transition.action,
        from_stage=origin,
        to_stage=origin,
        changes=entry.model_dump(mode="json"),
        reason=f"signed: {signature.meaning}",
        rules_version=rules_version,
    )
