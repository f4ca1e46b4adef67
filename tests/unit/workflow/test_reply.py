"""The reply to the customer: what the letter says (domain/reply.py) and how it is laid out
(reply.py): rule-file names and the catalogue's words instead of ids and codes, times in the
site's zone, the 8D's disciplines and entries, the latest approval as the signature block,
a site's own template from the rule file's folder, sandboxed."""

from __future__ import annotations

import io
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.common.rules import load_rules
from services.workflow import reply
from services.workflow.domain import eight_d
from services.workflow.domain.reply import approval_of, letter
from tests.unit.workflow.builders import RULES, Driver, rules_for, to_review

pytestmark = pytest.mark.unit
RECEIVED = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)  # 09:30 in Shenzhen


def english(text: str) -> str:
    return text


def _approved(number: str = "SZ-2025-000123") -> Driver:
    d = Driver(rules_for("sz"), RECEIVED, number=number)
    to_review(d)
    d.do("accept_answer")
    d.do("approve")
    return d


def test_the_letter_names_the_site_the_customer_and_local_times() -> None:
    d = _approved()
    said = letter(d.case, d.rules, "zh", english, d.clock.now())
    assert (said.site, said.complaint_number) == ("深圳工厂", "SZ-2025-000123")
    assert (said.customer, said.customer_number) == ("Acme Auto Parts", "C-100")
    assert said.received_at == "2025-03-03 09:30"
    assert said.stage == "回复客户"  # the rule file's name of the stage, not `reply`
    assert said.language == "zh"


def test_the_disciplines_and_entries_are_the_8d_reports_in_words() -> None:
    d = _approved()
    said = letter(d.case, d.rules, "zh", english, d.clock.now())
    report = eight_d.report(d.case, d.rules, "zh")
    assert [x.id for x in said.disciplines] == [x["id"] for x in report["disciplines"]]
    for ours, theirs in zip(said.disciplines, report["disciplines"], strict=True):
        assert [e.id for e in ours.entries] == [e["id"] for e in theirs["entries"]]
        assert ours.title == theirs["title"]
    entries = {e.id: e for x in said.disciplines for e in x.entries}
    assert entries["main_cause"].label == "主要原因"
    assert entries["main_cause"].lines == ("mould wear",)
    assert entries["team"].lines == ("Li (QA)", "Wang (PE)")
    assert entries["owner_department"].lines == ("品质部",)  # not `quality`
    assert entries["responsibility"].lines == ("Our company",)  # a choice, said
    assert entries["classification"].lines == ("Quality / Appeal / Category a / General",)
    assert entries["actions"].lines == ("add crack test; Owner: 品质部; Due: 2025-03-20",)


def test_the_signature_block_is_the_latest_approval_with_the_signers_name() -> None:
    d = _approved()
    said = letter(d.case, d.rules, "zh", english, d.clock.now())
    [signature] = d.case.signatures
    assert said.approval is not None
    assert said.approval.name == signature.name == "Tester"
    assert said.approval.meaning == "Approved"
    assert said.approval.stage == "批准"
    local = signature.signed_at + timedelta(hours=8)
    assert said.approval.signed_at == local.strftime("%Y-%m-%d %H:%M")
    entries = {e.id: e for x in said.disciplines for e in x.entries}
    assert entries["approved_by"].lines == ("Tester",)  # the person id said as the name
    assert "tester" not in entries["signatures"].lines[0]


def test_a_case_approved_again_after_a_send_back_carries_its_new_approval() -> None:
    d = _approved()
    first = approval_of(d.case)
    d.case.signatures.append(
        first.model_copy(update={"name": "Zhang", "signed_at": first.signed_at + timedelta(1)})
    )
    assert approval_of(d.case).name == "Zhang"
    d.case.signatures.append(first.model_copy(update={"meaning": "rejected", "name": "Li"}))
    said = letter(d.case, d.rules, "en", english, d.clock.now())
    assert said.approval is not None and said.approval.name == "Zhang"


def test_a_case_not_approved_has_no_signature_block() -> None:
    d = Driver(rules_for("sz"), RECEIVED, number="SZ-2025-000124")
    to_review(d)
    said = letter(d.case, d.rules, "en", english, d.clock.now())
    assert said.approval is None and said.signatures == ()
    assert said.stage == "Review of the answer"


def test_the_default_template_says_the_letter_in_chinese() -> None:
    d = _approved()
    html = reply.reply_page(d.case, d.rules, "zh", d.clock.now())
    assert "深圳工厂" in html and "客户回复" in html and "签名人" in html
    assert "mould wear" in html and "本公司" in html and "品质部" in html
    assert "WenQuanYi Micro Hei" in html
    assert "UTC" not in html and "company" not in html and "quality/" not in html
    english_page = reply.reply_page(d.case, d.rules, "en", d.clock.now())
    assert "Shenzhen plant" in english_page and "Signed by" in english_page


def test_the_pdf_carries_the_chinese_text() -> None:
    d = _approved()
    pdf = reply.reply_pdf(reply.reply_page(d.case, d.rules, "zh", d.clock.now()))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "深圳工厂" in text and "SZ-2025-000123" in text and "根本原因分析" in text


def _site_with_template(tmp_path: Path, template: str) -> Path:
    for item in ("abc-company.yaml", "shared"):
        source = RULES / item
        if source.is_dir():
            shutil.copytree(source, tmp_path / item)
        else:
            shutil.copy(source, tmp_path / item)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reply-zh.html").write_text(template, encoding="utf-8")
    rule_file = tmp_path / "abc-company.yaml"
    text = rule_file.read_text(encoding="utf-8")
    text = text.replace(
        "workflow:\n", "workflow:\n  reply:\n    templates: {zh: templates/reply-zh.html}\n", 1
    )
    rule_file.write_text(text, encoding="utf-8")
    return rule_file


def test_a_site_template_from_the_rule_files_folder_extends_qloops(tmp_path: Path) -> None:
    own = (
        '{% extends "qloop/reply.html" %}'
        "{% block opening %}<p>致{{ letter.customer }}：{{ '<b>' }}</p>{% endblock %}"
    )
    rules = load_rules(_site_with_template(tmp_path, own))
    d = _approved()
    html = reply.reply_page(d.case, rules, "zh", d.clock.now())
    assert "<p>致Acme Auto Parts：&lt;b&gt;</p>" in html  # autoescaped
    assert "根本原因分析" in html
    english_page = reply.reply_page(d.case, rules, "en", d.clock.now())
    assert "Dear Acme Auto Parts" in english_page  # no template of its own: qloop's


def test_a_site_template_cannot_reach_outside_the_sandbox(tmp_path: Path) -> None:
    sneaky = "{{ letter.__class__.__init__.__globals__ }}"
    rules = load_rules(_site_with_template(tmp_path, sneaky))
    d = _approved()
    with pytest.raises(reply.ReplyTemplateError, match="templates/reply-zh.html"):
        reply.reply_page(d.case, rules, "zh", d.clock.now())


def test_without_pango_the_pdf_is_unavailable_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it could not load
    with pytest.raises(reply.PdfUnavailable, match="fonts-wqy-microhei"):
        reply.reply_pdf("<p>x</p>")
