"""Message texts per language (zh, en). Messages carry the case number, customer name,
due time and a link, never the customer's contact person."""

from __future__ import annotations

from html import escape

TEXTS = {
    "en": {
        "complaint_registered": "Complaint {number} registered ({customer})",
        "case_stage": "Case {number} entered stage {stage}",
        "case_deadline": "Case {number}: deadline of {stage} {reason}",
        "case_escalated": "Case {number} escalated: {reason}",
        "case_reopened": "Case {number} reopened: {reason}",
        "approval_requested": "Case {number} awaits your approval ({stage})",
        "capa_action": "Case {number}: action {reason}: {action}",
        "survey_action": "Survey action {number} assigned ({customer})",
        "campaign_response_low": "Survey {number}: response rate {rate}% is below the "
        "target of {target}%",
        "digest": "Your qloop notifications ({count}) of {day}",
        "digest_intro": "Here is what happened since your last digest:",
        "why": "You receive this as {why}.",
        "due": "Due",
        "open": "Open the case on the desk",
    },
    "zh": {
        "complaint_registered": "客诉 {number} 已登记（{customer}）",
        "case_stage": "案件 {number} 进入阶段 {stage}",
        "case_deadline": "案件 {number}：{stage} 期限 {reason}",
        "case_escalated": "案件 {number} 已升级：{reason}",
        "case_reopened": "案件 {number} 已重开：{reason}",
        "approval_requested": "案件 {number} 待您批准（{stage}）",
        "capa_action": "案件 {number}：措施 {reason}：{action}",
        "survey_action": "满意度调查改进措施 {number} 已指派（{customer}）",
        "campaign_response_low": "满意度调查 {number}：回收率 {rate}% 低于目标 {target}%",
        "digest": "您的 qloop 通知汇总（{count} 条），{day}",
        "digest_intro": "自上次汇总以来：",
        "why": "您收到此通知，因为您是：{why}。",
        "due": "期限",
        "open": "在工作台打开案件",
    },
}


# The machine words a fact gives as its reason (deadline kinds, escalation reasons, an
# action item's state), said in each language; a reason not listed is shown as given.
REASONS = {
    "en": {
        "approaching": "approaching", "missed": "missed", "due": "due soon",
        "assigned": "assigned",
        "deadline_approaching": "due time approaching", "deadline_missed": "due time missed",
        "review_loop_exceeded": "sent back too often", "recurrence": "the complaint recurred",
    },
    "zh": {
        "approaching": "即将到期", "missed": "已逾期", "due": "即将到期",
        "assigned": "已指派",
        "deadline_approaching": "期限将至", "deadline_missed": "已超过期限",
        "review_loop_exceeded": "退回次数超过上限", "recurrence": "投诉再次发生",
    },
}  # fmt: skip


def language_of(preferred: str) -> str:
    base = preferred.split("-")[0].lower()
    return base if base in TEXTS else "en"


def render(
    language: str, cause: str, *, values: dict[str, str], why: str, due: str | None, link: str
) -> tuple[str, str, str]:
    """(subject, plain text, html) of one message."""
    t = TEXTS[language_of(language)]
    reason = values.get("reason")
    if reason is not None:
        values = {**values, "reason": REASONS[language_of(language)].get(reason, reason)}
    subject = t[cause].format(**values)
    lines = [subject, "", t["why"].format(why=why)]
    if due:
        lines.append(f"{t['due']}: {due}")
    lines += ["", f"{t['open']}: {link}", ""]
    html = (
        f"<html><body><p><strong>{escape(subject)}</strong></p>"
        f"<p>{escape(t['why'].format(why=why))}</p>"
        + (f"<p>{escape(t['due'])}: {escape(due)}</p>" if due else "")
        + f'<p><a href="{escape(link, quote=True)}">{escape(t["open"])}</a></p></body></html>'
    )
    return subject, "\n".join(lines), html


def render_digest(language: str, day: str, items: list[tuple[str, str]]) -> tuple[str, str, str]:
    """(subject, plain text, html) of a daily digest listing (subject, link) pairs."""
    t = TEXTS[language_of(language)]
    subject = t["digest"].format(count=len(items), day=day)
    lines = [subject, "", t["digest_intro"], ""]
    lines += [f"- {what}\n  {link}" for what, link in items]
    rows = "".join(
        f'<li><a href="{escape(link, quote=True)}">{escape(what)}</a></li>' for what, link in items
    )
    html = (
        f"<html><body><p><strong>{escape(subject)}</strong></p>"
        f"<p>{escape(t['digest_intro'])}</p><ul>{rows}</ul></body></html>"
    )
    return subject, "\n".join([*lines, ""]), html
