"""The 8D report as printable HTML (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["show"] = _show
    return env


def eight_d_html(report: dict[str, Any]) -> str:
    return _environment().get_template("eight_d.html").render(report=report)
