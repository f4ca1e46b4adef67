"""Rule files whose working-day calendar ends where a test says, whatever the installed
`holidays` package knows: a copy of a shipped rule directory with one site's `calendar`
section written anew (and, optionally, extra deadline rules)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"


def calendar_block(
    *,
    country: str = "CN",
    first_year: int = 2020,
    last_year: int | None = 2026,
    extra_working_days: tuple[date, ...] = (),
    extra_holidays: tuple[date, ...] = (),
) -> str:
    lines = ["calendar:", f"  country: {country}", f"  first_year: {first_year}"]
    if last_year is not None:
        lines.append(f"  last_year: {last_year}")
    extras = (("extra_working_days", extra_working_days), ("extra_holidays", extra_holidays))
    for key, days in extras:
        if days:
            lines.append(f"  {key}:")
            lines += [f"    - {{date: {d.isoformat()}}}" for d in days]
    return "\n".join(lines) + "\n\n"


def write_site(
    directory: Path,
    source: str = "abc-company.yaml",
    *,
    calendar: str,
    extra_deadlines: tuple[str, ...] = (),
) -> Path:
    """`directory/source` from the shipped file with `calendar` as its calendar section and
    `extra_deadlines` (YAML flow mappings) first among its deadline rules. Only `source` and
    the shared fragments are copied, so the directory holds one site."""
    if not (directory / "shared").exists():
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(RULES / "shared", directory / "shared")
    text = (RULES / source).read_text(encoding="utf-8")
    start = text.index("\ncalendar:\n") + 1
    end = text.index("\nclassification:", start) + 1
    text = text[:start] + calendar + text[end:]
    if extra_deadlines:
        anchor = "deadlines:\n"
        at = text.index("  rules:\n", text.index("\n" + anchor)) + len("  rules:\n")
        text = text[:at] + "".join(f"    - {rule}\n" for rule in extra_deadlines) + text[at:]
    path = directory / source
    path.write_text(text, encoding="utf-8")
    return path
