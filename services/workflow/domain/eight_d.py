"""The case as an 8D report, D0-D8 aligned with Global 8D (Ford) and VDA 8D, in the
site's language. Which case field belongs to which discipline comes from the rule file
(`eight_d` on each field); the complaint itself, containment quantities, dispositions,
verifications and closure come from the case's records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from services.common.rules import SiteRules
from services.workflow.domain.case import Case, SignatureRecord

DISCIPLINES: dict[str, dict[str, str]] = {
    "D0": {"en": "Prepare for the 8D process", "zh": "准备8D（紧急响应）"},
    "D1": {"en": "Establish the team", "zh": "成立小组"},
    "D2": {"en": "Describe the problem", "zh": "问题描述"},
    "D3": {"en": "Develop interim containment actions", "zh": "临时围堵措施"},
    "D4": {"en": "Diagnose root causes and escape points", "zh": "根本原因分析"},
    "D5": {"en": "Develop permanent corrective actions", "zh": "制定永久纠正措施"},
    "D6": {"en": "Implement and validate corrective actions", "zh": "实施并验证纠正措施"},
    "D7": {"en": "Prevent recurrence", "zh": "预防再发生"},
    "D8": {"en": "Recognise the team and close", "zh": "结案并表彰小组"},
}
LABELS: dict[str, dict[str, str]] = {
    "complaint_number": {"en": "Complaint number", "zh": "客诉编号"},
    "customer": {"en": "Customer", "zh": "客户"},
    "received_at": {"en": "Received", "zh": "接收时间"},
    "classification": {"en": "Classification", "zh": "分类"},
    "owner_department": {"en": "Owner", "zh": "责任部门"},
    "description": {"en": "Description", "zh": "问题描述"},
    "phenomenon": {"en": "Phenomenon", "zh": "不良现象"},
    "products": {"en": "Products", "zh": "产品"},
    "defect_quantity": {"en": "Defect quantity", "zh": "不良数量"},
    "impact": {"en": "Impact at customer", "zh": "对客户的影响"},
    "dispositions": {"en": "Returned goods disposition", "zh": "退货处置"},
    "rejections": {"en": "Review send-backs", "zh": "审核退回"},
    "verifications": {"en": "Effectiveness verification", "zh": "效果验证"},
    "closed_at": {"en": "Closed", "zh": "结案时间"},
    "outcome": {"en": "Outcome", "zh": "结果"},
    "on_time": {"en": "All deadlines met", "zh": "全部按期"},
    "stages": {"en": "Stages", "zh": "阶段"},
    "provisional": {"en": "provisional", "zh": "暂定"},
    "signatures": {"en": "Electronic signatures", "zh": "电子签名"},
    "attachments": {"en": "Attachments", "zh": "附件"},
}
MEANINGS = {
    "approved": {"en": "approved", "zh": "批准"},
    "rejected": {"en": "rejected", "zh": "退回"},
    "reviewed": {"en": "reviewed", "zh": "已审核"},
}


def language_of(rules: SiteRules, requested: str | None) -> str:
    languages = rules.site.languages
    return requested if requested in languages else languages[0]


def report(
    case: Case,
    rules: SiteRules,
    language: str,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The 8D of `case`; `attachments` are the case's files (the complaint's first)."""
    lang = language_of(rules, language)
    disciplines = {d: _discipline(d, lang) for d in DISCIPLINES}
    for name, value in _records(case).items():
        discipline, key = name
        disciplines[discipline]["entries"].append(_entry(key, LABELS[key], value, lang))
    for field in rules.workflow.fields:
        if field.eight_d and case.fields.get(field.id) not in (None, "", []):
            label = field.names or {lang: field.id}
            disciplines[field.eight_d]["entries"].append(
                _entry(field.id, label, case.fields[field.id], lang)
            )
    if case.signatures:  # who signed what, when: the approvals an auditor asks for
        signed = [_signature(rules, s, lang) for s in case.signatures]
        entry = _entry("signatures", LABELS["signatures"], signed, lang)
        disciplines["D8"]["entries"].append(entry)
    for visit in case.visits:
        for d in rules.stage(visit.stage).eight_d:
            disciplines[d]["stages"].append(_visit(rules, visit.model_dump(mode="json"), lang))
    return {
        "standard": "Global 8D / VDA 8D (D0-D8)",
        "language": lang,
        "case_id": case.id,
        "complaint_number": case.complaint_number,
        "site": {"id": rules.site.id, "name": _name(rules.site.names, lang)},
        "stage": {"id": case.stage, "name": _name(rules.stage(case.stage).names, lang)},
        "repeat_of": case.repeat_of,
        "review_rounds": case.review_rounds,
        "rules_version": case.rules_version,
        "disciplines": list(disciplines.values()),
        "attachments_label": _name(LABELS["attachments"], lang),
        "attachments": [_attachment(rules, a, lang) for a in attachments],
    }


def _attachment(rules: SiteRules, attachment: Mapping[str, Any], lang: str) -> dict[str, Any]:
    keys = ("id", "name", "content_type", "size", "sha256", "uploaded_at")
    listed = {k: attachment.get(k) for k in keys}
    stage = attachment.get("stage")
    listed["stage"] = _name(rules.stage(stage).names, lang) if stage else None
    return listed


def _discipline(d: str, lang: str) -> dict[str, Any]:
    return {"id": d, "title": _name(DISCIPLINES[d], lang), "entries": [], "stages": []}


def _records(case: Case) -> dict[tuple[str, str], Any]:
    complaint = case.complaint or {}
    c = case.classification or {}
    raw = {
        ("D0", "complaint_number"): case.complaint_number,
        ("D0", "customer"): f"{case.customer_name or ''} ({case.customer_id or '-'})",
        ("D0", "received_at"): complaint.get("received_at"),
        ("D0", "classification"): "/".join(
            str(c[k]) for k in ("nature", "kind", "category", "severity") if c.get(k)
        ),
        ("D0", "owner_department"): case.owner_department,
        ("D2", "description"): complaint.get("description") or case.source_facts.get("why"),
        ("D2", "phenomenon"): complaint.get("phenomenon"),
        ("D2", "products"): [
            {k: p.get(k) for k in ("model", "spec", "quantity", "lot_numbers")}
            for p in complaint.get("products", [])
        ],
        ("D2", "defect_quantity"): complaint.get("defect_quantity"),
        ("D2", "impact"): complaint.get("impact_at_customer"),
        ("D3", "dispositions"): [d.model_dump(mode="json") for d in case.dispositions],
        ("D5", "rejections"): [r.model_dump(mode="json") for r in case.rejections],
        ("D6", "verifications"): [v.model_dump(mode="json") for v in case.verifications],
        ("D8", "closed_at"): case.closed_at,
        ("D8", "outcome"): case.outcome,
        ("D8", "on_time"): case.on_time,
    }
    return {k: v for k, v in raw.items() if v not in (None, "", [])}


def _entry(key: str, names: dict[str, str], value: Any, lang: str) -> dict[str, Any]:
    return {"id": key, "label": _name(names, lang), "value": to_jsonable_python(value)}


def _signature(rules: SiteRules, signature: SignatureRecord, lang: str) -> str:
    at = signature.signed_at.astimezone(rules.zone).strftime("%Y-%m-%d %H:%M")
    meaning = _name(MEANINGS.get(signature.meaning, {lang: signature.meaning}), lang)
    stage = _name(rules.stage(signature.stage).names, lang)
    return f"{signature.name} ({signature.person_id}), {meaning}, {stage}, {at}"


def _visit(rules: SiteRules, visit: dict[str, Any], lang: str) -> dict[str, Any]:
    # A due time counted through a year not published yet says so wherever it is shown.
    note = _name(LABELS["provisional"], lang) if visit.get("provisional") else None
    return {**visit, "name": _name(rules.stage(visit["stage"]).names, lang), "due_note": note}


def _name(names: dict[str, str], lang: str) -> str:
    return names.get(lang) or next(iter(names.values()))
