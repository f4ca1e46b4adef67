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


def _keyed(title: str, rows: list[dict[str, Any]], flag: str | None = None) -> Table:
    headers = [k for k in (rows[0] if rows else {}) if k != flag]
    table = Table(title, headers)
    for row in rows:
        table.add([row.get(h) for h in headers], bool(flag and row.get(flag)))
    return table


def _pairs(title: str, figures: dict[str, Any]) -> Table:
    table = Table(title, ["figure", "value"])
    for name, value in figures.items():
        table.add([name, value])
    return table


def _targets(report: dict[str, Any]) -> Table:
    rows = report["against_targets"]
    table = Table("Against targets", ["KPI", "target", "actual", "met", "target from"])
    for r in rows:
        table.add(
            [r["label"], f"{r['comparison']} {r['target']}", r["actual"], r["met"], r["source"]],
            r["met"] is False,
        )
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


def tables(report: dict[str, Any]) -> list[Table]:
    kind = report["report"]
    if kind == "monthly":
        found = [
            _pairs("KPIs", headline(report["kpis"])),
            _keyed("Feedback of the month", report["items"], "unfinished"),
            _keyed("Survey actions", report["survey_actions"], "unfinished"),
        ]
        for dimension, rows in report["breakdown"].items():
            found.append(_keyed(f"By {dimension}", rows))
        return found
    if kind == "yearly":
        return [
            _targets(report),
            _keyed("Months", report["months"]),
            _pairs("KPIs of the year", headline(report["kpis"])),
        ]
    analysis, status = report["satisfaction_analysis"], report["improvement_status"]
    by_stage = [{"stage": s, **f} for s, f in status["live"]["by_stage"].items()]
    return [
        _targets(report),
        _pairs(
            "Satisfaction",
            {
                "index": analysis["index"],
                "response_rate": analysis["response_rate"],
                **{f"dimension {k}": v for k, v in analysis["dimensions"].items()},
                **{f"band {k} %": v for k, v in analysis["bands"].items()},
            },
        ),
        _keyed("Satisfaction trend", analysis["trend"]),
        _keyed("Satisfaction by customer", analysis["by_customer"], "declined"),
        _keyed("Repeated complaints", report["repeated_complaints"], "unfinished"),
        _keyed("Open cases by stage", by_stage),
        _keyed("Survey actions", status["survey_actions"], "unfinished"),
    ]


def title(report: dict[str, Any]) -> str:
    site = "all sites (HQ)" if report["site"] == "*" else f"site {report['site']}"
    period = report.get("month") or report.get("year")
    names = {
        "monthly": "Monthly summary",
        "yearly": "Yearly summary",
        "management_review": "Management review",
    }
    return f"{names[report['report']]} — {site} — {period}"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["cell"] = cell
    return env


def html(report: dict[str, Any]) -> str:
    return (
        environment().get_template("report.html").render(title=title(report), tables=tables(report))
    )


def csv_text(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for table in tables(report):
        writer.writerow([f"# {table.title}"])
        writer.writerow([*table.headers, "highlight"])
        for row, flagged in zip(table.rows, table.highlight, strict=True):
            writer.writerow([*(cell(v) for v in row), "unfinished" if flagged else ""])
        writer.writerow([])
    return out.getvalue()


def xlsx_bytes(report: dict[str, Any]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables(report):
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
