"""Reports as tables, and the tables as HTML (Jinja2), CSV and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from services.reporting.words import Words

TEMPLATES = Path(__file__).parent / "templates"
UNFINISHED = PatternFill("solid", fgColor="FFF2CC")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    highlight: list[bool] = field(default_factory=list)

    def add(self, row: list[Any], highlight: bool = False) -> None:
        self.rows.append(row)
        self.highlight.append(highlight)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


def _keyed(
    title: str, rows: list[dict[str, Any]], w: Words, flag: str | None = None,
    dimension: str | None = None,
) -> Table:  # fmt: skip
    keys = [k for k in (rows[0] if rows else {}) if k != flag]
    table = Table(title, [w.header(k) for k in keys])
    for row in rows:
        table.add([w.value(k, row.get(k), dimension) for k in keys], bool(flag and row.get(flag)))
    return table


def _pairs(title: str, figures: dict[str, Any], w: Words) -> Table:
    table = Table(title, [w.header("figure"), w.header("value")])
    for name, value in figures.items():
        table.add([w.header(name), w.value(name, value)])
    return table


def _targets(report: dict[str, Any], w: Words) -> Table:
    rows = report["against_targets"]
    headers = ["KPI", "target", "actual", "met", "target from"]
    table = Table(w.title("Against targets"), [w.header(h) for h in headers])
    for r in rows:
        label = w.header(r["kpi"]) if r.get("kpi") else r["label"]
        table.add(
            [label, f"{r['comparison']} {r['target']}", r["actual"], w.value("met", r["met"]),
             w.say(r["source"])],
            r["met"] is False,
        )  # fmt: skip
    return table


def headline(kpis: dict[str, Any]) -> dict[str, Any]:
    c, s, d = kpis["complaints"], kpis["satisfaction"], kpis["delivery"]
    figures = {
        k: c[k]
        for k in (
            "received",
            "open",
            "closed",
            "overdue",
            "repeat_rate",
            "answered_share",
            "claims",
        )
    }
    for name, rate in c["on_time"].items():
        figures[f"on_time_{name} %"] = rate["rate"]
    figures["claim_amounts"] = ", ".join(f"{v} {k}" for k, v in c["claim_amounts"].items())
    figures.update(
        satisfaction_index=s["index"],
        response_rate=s["response_rate"],
        bands=", ".join(f"{k} {v}%" for k, v in s["bands"].items()),
        on_time_delivery=d["on_time_rate"],
        lots_due=d["lots_due"],
        lots_late=d["lots_late"],
    )
    return figures


def tables(report: dict[str, Any], words: Words | None = None) -> list[Table]:
    w = words or Words.english()
    t = w.title
    kind = report["report"]
    if kind == "monthly":
        found = [
            _pairs(t("KPIs"), headline(report["kpis"]), w),
            _keyed(t("Feedback of the month"), report["items"], w, "unfinished"),
            _keyed(t("Survey actions"), report["survey_actions"], w, "unfinished"),
        ]
        for dimension, rows in report["breakdown"].items():
            found.append(_keyed(w.by(dimension), rows, w, dimension=dimension))
        return found
    if kind == "yearly":
        return [
            _targets(report, w),
            _keyed(t("Months"), report["months"], w),
            _pairs(t("KPIs of the year"), headline(report["kpis"]), w),
        ]
    analysis, status = report["satisfaction_analysis"], report["improvement_status"]
    by_stage = [{"stage": s, **f} for s, f in status["live"]["by_stage"].items()]
    return [
        _targets(report, w),
        _pairs(
            t("Satisfaction"),
            {
                "index": analysis["index"],
                "response_rate": analysis["response_rate"],
                **{f"dimension {k}": v for k, v in analysis["dimensions"].items()},
                **{f"band {k} %": v for k, v in analysis["bands"].items()},
            },
            w,
        ),
        _keyed(t("Satisfaction trend"), analysis["trend"], w),
        _keyed(t("Satisfaction by customer"), analysis["by_customer"], w, "declined"),
        _keyed(t("Repeated complaints"), report["repeated_complaints"], w, "unfinished"),
        _keyed(t("Open cases by stage"), by_stage, w),
        _keyed(t("Survey actions"), status["survey_actions"], w, "unfinished"),
    ]


def title(report: dict[str, Any], words: Words | None = None) -> str:
    w = words or Words.english()
    period = report.get("month") or report.get("year")
    names = {
        "monthly": "Monthly summary",
        "yearly": "Yearly summary",
        "management_review": "Management review",
    }
    return f"{w.title(names[report['report']])} — {w.site(report['site'])} — {period}"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["cell"] = cell
    return env


def html(report: dict[str, Any], words: Words | None = None) -> str:
    w = words or Words.english()
    return (
        environment()
        .get_template("report.html")
        .render(title=title(report, w), tables=tables(report, w), language=w.language, say=w.say)
    )


def csv_text(report: dict[str, Any], words: Words | None = None) -> str:
    w = words or Words.english()
    out = io.StringIO()
    writer = csv.writer(out)
    for table in tables(report, w):
        writer.writerow([f"# {table.title}"])
        writer.writerow([*table.headers, w.say("highlight")])
        for row, flagged in zip(table.rows, table.highlight, strict=True):
            writer.writerow([*(cell(v) for v in row), w.say("unfinished") if flagged else ""])
        writer.writerow([])
    return out.getvalue()


def xlsx_bytes(report: dict[str, Any], words: Words | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables(report, words):
        sheet = book.create_sheet(table.title[:31].replace("/", "-"))
        sheet.append(table.headers)
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row, flagged in zip(table.rows, table.highlight, strict=True):
            sheet.append([cell(v) for v in row])
            if flagged:
                for c in sheet[sheet.max_row]:
                    c.fill = UNFINISHED
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
