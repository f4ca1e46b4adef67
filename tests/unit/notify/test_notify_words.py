"""What a message says at a Chinese site: a case clock by its name in the rule file, the
reason of a deadline or an escalation in words, never a machine code; every mail dated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify import texts
from services.notify.domain import Notification
from services.notify.email import SmtpChannel
from services.notify.service import _stage_name
from tests.unit.workflow.builders import rules_for

pytestmark = pytest.mark.unit


def test_a_clock_and_a_reason_are_said_in_words() -> None:
    rules = rules_for("sz")
    clock = _stage_name(rules, "clock:respond", "zh")
    assert clock == next(c for c in rules.clocks if c.id == "respond").names["zh"]
    assert _stage_name(rules, "investigate", "zh") == "调查分析"
    values = {"number": "SZ-1", "stage": clock, "reason": "missed"}
    subject, text, html = texts.render(
        "zh", "case_deadline", values=values, why="品质部", due=None, link="http://desk/x"
    )
    assert subject == f"案件 SZ-1：{clock} 期限 已逾期"
    escalated, _, _ = texts.render(
        "zh", "case_escalated", values={"number": "SZ-1", "reason": "deadline_missed"},
        why="品质部", due=None, link="http://desk/x",
    )  # fmt: skip
    assert escalated == "案件 SZ-1 已升级：已超过期限" and "deadline" not in escalated + html


def test_every_mail_carries_the_date_of_its_notification() -> None:
    at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    note = Notification(
        id="e|p|email", site="sz", channel="email", person_id="p", language="zh",
        cause="complaint_registered", event_id="e", event_type="complaint.registered",
        why=("quality",), subject="客诉 SZ-1 已登记", text="t", html="<p>t</p>",
        next_attempt_at=at, created_at=at,
    )  # fmt: skip
    mail = SmtpChannel(host="127.0.0.1", port=25, sender="qloop@example.com").compose(note, "a@b")
    assert mail["Date"] == "Mon, 07 Dec 2026 02:00:00 +0000"
