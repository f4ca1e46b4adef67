"""SVG charts, and the report formats (HTML, CSV, XLSX), from pure inputs."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from services.common.rulebook import Rulebook
from services.reporting import render
from services.reporting.domain import charts, reports
from services.reporting.domain.policy import Policy
from services.reporting.domain.svg import Series, line_chart, pareto_chart
from services.reporting.domain.targets import Target
from services.reporting.words import words_for
from tests.unit.workflow.builders import rules_for

pytestmark = pytest.mark.unit
SVG = "{http://www.w3.org/2000/svg}"


def test_line_chart_is_valid_svg_with_escaped_labels_and_gaps() -> None:
    svg = line_chart(
        "A <b> & c",
        ["2026-01", "2026-02", "2026-03"],
        [Series("x<y", [80.0, None, 90.0])],
        high=100,
        target=96,
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert "A <b> & c" in "".join(root.itertext())
    assert len(root.findall(f"{SVG}circle")) == 2  # no point for the missing month
    # the trend joins the measured months across the missing one
    assert len(root.findall(f"{SVG}polyline")) == 1
    assert "target 96" in svg


def test_pareto_ranks_and_accumulates() -> None:
    svg = pareto_chart("defects", [("crack", 2), ("burr", 6), ("label", 2)])
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles == ["burr: 6", "crack: 2", "label: 2"]
    shares = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.endswith("%")]
    assert shares[:3] == ["60%", "80%", "100%"]


def test_trend_charts_from_month_counters() -> None:
    months = {
        "2026-01": {"sat_sum": 9000, "sat_n": 1, "dim_sum:quality": 8500, "dim_n:quality": 1},
        "2026-02": {},
        "2026-03": {"acknowledgement_on_time": 3, "acknowledgement_late": 1, "lots_due": 4},
    }
    assert "overall 2026-01: 90" in charts.satisfaction_trend(months, 96)
    assert "quality 2026-01: 85" in charts.dimension_trend(months)
    assert "ack 24 h 2026-03: 75%" in charts.on_time_trend(months, 100)
    assert "delivery 2026-03: 100%" in charts.on_time_trend(months, 100)
    customers = {"2026-01": {"C-1": {"sat_sum": 7000, "sat_n": 1}}, "2026-02": {}, "2026-03": {}}
    assert "C-1 2026-01: 70" in charts.customer_trend(customers)


def monthly_report() -> dict:  # type: ignore[type-arg]
    state = {
        "site": "sz",
        "number": "SZ-1",
        "registered_due": {},
        "stage_due": {},
        "left": {},
        "missed": {},
        "stage": "investigate",
        "customer_id": "C-1",
    }
    return reports.monthly(
        label="sz",
        month="2026-03",
        total={"received": 1, "open": 1},
        buckets=[],
        complaints=[state],
        actions=[],
        satisfaction_of={},
        policy=Policy(),
    )


def test_monthly_report_in_html_csv_and_xlsx_highlights_unfinished() -> None:
    report = monthly_report()
    assert report["unfinished"] == 1
    assert report["items"][0]["improvement_effect"] == "in progress (investigate)"
    assert '<tr class="unfinished">' in render.html(report)
    text = render.csv_text(report)
    assert "# Feedback of the month" in text and "unfinished" in text
    book = load_workbook(io.BytesIO(render.xlsx_bytes(report)))
    sheet = book["Feedback of the month"]
    assert sheet.cell(2, 2).value == "SZ-1"
    assert sheet.cell(2, 2).fill.fgColor.rgb.endswith("FFF2CC")


def test_yearly_report_judges_targets() -> None:
    report = reports.yearly(
        label="sz",
        year=2026,
        months={"2026-01": {"received": 100, "repeat": 2, "sat_sum": 9900, "sat_n": 1}},
        targets=[
            Target("repeat_rate", "Repeat rate %", 1.0, at_most=True),
            Target("satisfaction", "Satisfaction index", 96.0, source="rule file"),
        ],
    )
    assert report["against_targets"] == [
        {
            "kpi": "repeat_rate",
            "label": "Repeat rate %",
            "target": 1.0,
            "comparison": "<=",
            "actual": 2.0,
            "met": False,
            "source": "reporting settings",
        },
        {
            "kpi": "satisfaction",
            "label": "Satisfaction index",
            "target": 96.0,
            "comparison": ">=",
            "actual": 99.0,
            "met": True,
            "source": "rule file",
        },
    ]


def test_reports_for_people_speak_the_sites_language_with_the_rule_files_names() -> None:
    """HTML, CSV and XLSX in Chinese at a Chinese site: headers and titles from the
    catalogue, the stage and department by the rule file's names, times in the site's
    zone; the JSON report keeps its keys and codes."""
    rulebook = Rulebook({"sz": rules_for("sz")})
    words = words_for(rulebook, "sz", None, None)  # no wish: the site's first language
    assert words.language == "zh"
    report = monthly_report()
    page = render.html(report, words)
    assert "月度汇总 — 深圳工厂 — 2026-03" in page and '<html lang="zh">' in page
    assert "处理中（调查分析）" in page  # in progress (investigate), the stage by name
    assert "本月反馈" in page and "Feedback of the month" not in page
    assert "UTC" not in page and "quality" not in page
    text = render.csv_text(report, words)
    assert "# 本月反馈" in text and "未完成" in text
    book = load_workbook(io.BytesIO(render.xlsx_bytes(report, words)))
    assert "本月反馈" in book.sheetnames
    english = words_for(rulebook, "sz", "en", "zh-CN")  # ?lang= wins over the browser
    assert "Monthly summary — Shenzhen plant — 2026-03" in render.html(report, english)
    assert report["items"][0]["stage"] == "investigate"  # the JSON is unchanged
