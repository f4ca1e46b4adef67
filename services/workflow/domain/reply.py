"""What the reply to the customer says: the letter / 8D report of one case, in one of the
site's languages, ready for a template to lay out.

Everything is in words before it reaches the template, since a site's template comes from
the customer site and should only arrange it: the site and every stage, department and
field by the rule file's `names`, codes and fixed texts through `say` (the workflow's
catalogue), times in the site's time zone, people by their names (never an id). The
disciplines D0-D8 and their entries are the 8D report's (eight_d.py), in its order; the
signature block is the case's latest approval signature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.common.rules import SiteRules
from services.workflow.domain import eight_d
from services.workflow.domain.case import Case, SignatureRecord

Say = Callable[[str], str]
MINUTES = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Entry:
    id: str
    label: str
    lines: tuple[str, ...]  # one line per item of a list, else one


@dataclass(frozen=True)
class Discipline:
    id: str
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Signed:
    name: str
    meaning: str
    stage: str
    signed_at: str  # site-local time


@dataclass(frozen=True)
class Letter:
    language: str
    site: str
    complaint_number: str
    customer: str
    customer_number: str
    received_at: str
    issued_on: str
    stage: str
    disciplines: tuple[Discipline, ...]
    approval: Signed | None  # the latest approval; None while the case is not approved
    signatures: tuple[Signed, ...]


def approval_of(case: Case) -> SignatureRecord | None:
    """The signature the reply carries: the latest approval (a case sent back and approved
    again is answered with its new approval)."""
    return next((s for s in reversed(case.signatures) if s.meaning == "approved"), None)


def letter(case: Case, rules: SiteRules, language: str, say: Say, now: datetime) -> Letter:
    words = _Words(case, rules, language, say)
    report = eight_d.report(case, rules, language)
    disciplines = tuple(
        Discipline(d["id"], d["title"], tuple(words.entry(e) for e in d["entries"]))
        for d in report["disciplines"]
    )
    approval = approval_of(case)
    complaint = case.complaint or {}
    return Letter(
        language=report["language"],
        site=report["site"]["name"],
        complaint_number=case.complaint_number,
        customer=case.customer_name or "",
        customer_number=case.customer_id or "",
        received_at=words.local(complaint.get("received_at")),
        issued_on=now.astimezone(rules.zone).date().isoformat(),
        stage=report["stage"]["name"],
        disciplines=disciplines,
        approval=words.signed(approval) if approval else None,
        signatures=tuple(words.signed(s) for s in case.signatures),
    )


class _Words:
    """One case's values said in one language."""

    def __init__(self, case: Case, rules: SiteRules, language: str, say: Say) -> None:
        self.case, self.rules, self.say = case, rules, say
        self.language = eight_d.language_of(rules, language)
        self.zone: ZoneInfo = rules.zone
        self.codes = _codes(say)
        self.fields = {f.id: f for f in rules.workflow.fields}

    def entry(self, entry: dict[str, Any]) -> Entry:
        key, value = entry["id"], entry["value"]
        records: dict[str, Callable[[Any], list[str]]] = {
            "received_at": self._times, "closed_at": self._times, "customer": self._customer,
            "classification": self._classification, "owner_department": self._owner,
            "products": self._products, "dispositions": self._dispositions,
            "rejections": self._rejections, "verifications": self._verifications,
            "outcome": self._outcome, "signatures": self._signatures,
        }  # fmt: skip
        if key in self.fields:
            lines = self._field(key, value)
        else:
            lines = records.get(key, self._plain)(value)
        return Entry(key, entry["label"], tuple(lines))

    def name(self, names: dict[str, str] | None, fallback: str) -> str:
        if not names:
            return self.code(fallback)
        return names.get(self.language) or next(iter(names.values()))

    def code(self, value: Any) -> str:
        return self.codes.get(str(value), str(value))

    def local(self, moment: Any) -> str:
        """A time in the site's zone to the minute; a date as it is."""
        if moment in (None, ""):
            return ""
        if isinstance(moment, str):
            if len(moment) == len("2025-03-20"):  # a date people wrote: no time to convert
                return moment
            try:
                moment = datetime.fromisoformat(moment)
            except ValueError:
                return str(moment)
        if isinstance(moment, datetime):
            if moment.tzinfo is None:  # a local time as people wrote it
                return moment.strftime(MINUTES)
            return moment.astimezone(self.zone).strftime(MINUTES)
        return moment.isoformat() if isinstance(moment, date) else str(moment)

    def signed(self, signature: SignatureRecord) -> Signed:
        stage = self.rules.stage(signature.stage)
        return Signed(
            name=signature.name,
            meaning=self.code(signature.meaning),
            stage=self.name(stage.names, signature.stage),
            signed_at=self.local(signature.signed_at),
        )

    def department(self, thing: str) -> str:
        names = next((d.names for d in self.rules.departments if d.id == thing), None)
        names = names or next((r.names for r in self.rules.roles if r.id == thing), None)
        return self.name(names, thing)

    def person(self, person_id: str) -> str:
        """A person field (`approved_by`): the signer's name when a signature names them."""
        signer = next((s for s in self.case.signatures if s.person_id == person_id), None)
        return signer.name if signer else person_id

    # --- the 8D's own records (eight_d._records) ------------------------------------------
    def _times(self, value: Any) -> list[str]:
        return [self.local(value)]

    def _customer(self, value: Any) -> list[str]:
        number = f" ({self.case.customer_id})" if self.case.customer_id else ""
        return [f"{self.case.customer_name or ''}{number}".strip()]

    def _classification(self, value: Any) -> list[str]:
        c = self.case.classification or {}
        keys = ("nature", "kind", "category", "severity")
        return [" / ".join(self.code(c[k]) for k in keys if c.get(k))]

    def _owner(self, value: Any) -> list[str]:
        return [self.department(str(value))]

    def _products(self, value: Any) -> list[str]:
        labels = {
            "model": self.say("Model"), "spec": self.say("Specification"),
            "quantity": self.say("Quantity"), "lot_numbers": self.say("Lot numbers"),
        }  # fmt: skip
        return [
            _parts((labels[k], self._text(v)) for k, v in p.items() if k in labels) for p in value
        ]

    def _dispositions(self, value: Any) -> list[str]:
        return [
            _parts([
                (self.code(d["disposition"]), str(d["quantity"])),
                (self.say("Reinspection"), self.code(d["reinspection"] or "") or None),
                (self.say("Claimed amount"), self._money(d, "claimed_amount")),
                (self.say("Agreed compensation"), self._money(d, "agreed_compensation")),
                (self.say("Note"), d.get("note")),
            ])
            for d in value
        ]  # fmt: skip

    def _money(self, disposition: dict[str, Any], key: str) -> str | None:
        amount = disposition.get(key)
        if amount is None:
            return None
        return f"{self._text(amount)} {disposition.get('currency') or ''}".strip()

    def _rejections(self, value: Any) -> list[str]:
        return [
            _parts([
                (self.say("Round"), str(r["round"])),
                (self.say("Reason"), r.get("reason")),
                (self.say("Sent back on"), self.local(r["at"])),
            ])
            for r in value
        ]  # fmt: skip

    def _verifications(self, value: Any) -> list[str]:
        return [
            _parts([
                (self.name(self.rules.stage(v["stage"]).names, v["stage"]), self.code(v["result"])),
                (self.say("Reason"), v.get("ng_reason")),
                (self.say("Verified on"), self.local(v["at"])),
            ])
            for v in value
        ]  # fmt: skip

    def _outcome(self, value: Any) -> list[str]:
        found = next((o for o in self.rules.workflow.outcomes if o.id == value), None)
        return [self.name(found.names if found else None, str(value))]

    def _signatures(self, value: Any) -> list[str]:
        """Every signature (the 8D's list without the person ids)."""
        signed = map(self.signed, self.case.signatures)
        return [", ".join((s.name, s.meaning, s.stage, s.signed_at)) for s in signed]

    # --- the rule file's fields ------------------------------------------------------------
    def _field(self, key: str, value: Any) -> list[str]:
        kind = self.fields[key].type.value
        items = value if isinstance(value, list) else [value]
        if kind == "actions":
            return [self._action(a) for a in items]
        sayers: dict[str, Callable[[Any], str]] = {
            "choice": self.code, "date": self.local, "person": self.person,
            "department": self.department,
        }  # fmt: skip
        say_one = sayers.get(kind, self._text)
        return [say_one(v) for v in items]

    def _action(self, action: Any) -> str:
        if not isinstance(action, dict):
            return self._text(action)
        return _parts([
            (action.get("what") or "", None),
            (self.say("Owner"), self.department(action["owner"]) if action.get("owner") else None),
            (self.say("Due"), self.local(action.get("due"))),
            (self.say("Done on"), self.local(action.get("done_at"))),
        ])  # fmt: skip

    def _plain(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        return [self._text(v) for v in items]

    def _text(self, value: Any) -> str:
        if isinstance(value, bool):
            return self.say("Yes") if value else self.say("No")
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, list):
            return ", ".join(self._text(v) for v in value)
        if isinstance(value, dict):
            return _parts((str(k), self._text(v)) for k, v in value.items())
        return "" if value is None else str(value)


def _parts(pairs: Iterable[tuple[str, str | None]]) -> str:
    """`label: value` pairs joined; a pair without a value shows its label alone, an empty
    value is left out."""
    out = []
    for label, value in pairs:
        if value is None:
            if label:
                out.append(label)
        elif value != "":
            out.append(f"{label}: {value}" if label else value)
    return "; ".join(out)


def _codes(say: Say) -> dict[str, str]:
    """Codes of the contracts and of the shipped rule files' choices, in words."""
    return {
        "quality": say("Quality"), "delivery": say("Delivery"), "service": say("Service"),
        "appeal": say("Appeal"), "claim": say("Claim"),
        "non_quality": say("Non-quality complaint"),
        "a": say("Category a"), "b": say("Category b"), "c": say("Category c"),
        "d": say("Category d"), "general": say("General"), "serious": say("Serious"),
        "customer": say("The customer"), "supplier": say("A supplier"),
        "company": say("Our company"), "ok": say("OK"), "ng": say("NG (not effective)"),
        "eight_d": say("8D report"), "quality_information_reply": say("Quality information reply"),
        "customer_format": say("The customer's format"), "corrected": say("Corrected"),
        "approved": say("Approved"), "rejected": say("Rejected"), "reviewed": say("Reviewed"),
        "rework": say("Rework"), "concession": say("Concession"), "scrap": say("Scrap"),
    }  # fmt: skip
