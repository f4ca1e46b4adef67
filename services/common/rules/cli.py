"""`qloop rules ...`: check, explain, band, due, replay. A stable, machine-readable interface.

Exit codes: 0 success; 1 a rule file is invalid (one ``FILE:LINE:COLUMN: message`` line per
problem on stderr) or a computation was refused (e.g. a year outside the calendar); 2 bad
input (unreadable or invalid complaint, bad time or duration, bad arguments).

Run stand-alone as ``python -m services.common.rules.cli rules check rules/*.yaml``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules.checks_people import (
    Holding,
    PeopleFileError,
    read_people,
    unheld_errors,
)
from services.common.rules.coverage import coverage_warnings
from services.common.rules.engine import due, evaluate_triggers, score_band
from services.common.rules.errors import CalendarCoverageError, DurationError, RuleFileErrors
from services.common.rules.loader import errors_at, load_rules
from services.common.rules.replay import decide, differences, iso_utc
from services.common.rules.schema import SiteRules

PROGRESS_FROM = 500  # lines; shorter replays print no progress bar


class InputError(Exception):
    """Bad input from the caller: reported on stderr, exit code 2."""


def register(subparsers: Any) -> None:
    """Add the ``rules`` command to an argparse ``_SubParsersAction``."""
    rules = subparsers.add_parser("rules", help="check, explain and try out site rule files")
    sub = rules.add_subparsers(dest="rules_command", required=True)

    check = sub.add_parser("check", help="validate rule files")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument(
        "--now", metavar="ISO-TIME", help="judge calendar coverage as of this time (default: now)"
    )
    check.add_argument(
        "--people",
        metavar="FILE",
        help="a directory export (the desk's GET /admin/people JSON, or the CSV of "
        "`qloop users import`): a department or role in a notify or copy list that no "
        "person holds is an error",
    )
    check.set_defaults(func=_guarded(_check))

    explain = sub.add_parser("explain", help="classify one complaint and show why")
    explain.add_argument("--rules", required=True, metavar="FILE")
    explain.add_argument("complaint", metavar="COMPLAINT.json")
    explain.add_argument("--at", metavar="ISO-TIME", help="registration time (default: receipt)")
    explain.set_defaults(func=_guarded(_explain))

    band = sub.add_parser("band", help="the band and triggers for a survey score")
    band.add_argument("--rules", required=True, metavar="FILE")
    band.add_argument("score", type=float, metavar="SCORE")
    band.set_defaults(func=_guarded(_band))

    due = sub.add_parser("due", help="a due time on the site's calendar")
    due.add_argument("--rules", required=True, metavar="FILE")
    due.add_argument("--from", dest="start", required=True, metavar="ISO-TIME")
    due.add_argument("--duration", required=True, help='"48 hours", "7 days", "3 working days"')
    due.set_defaults(func=_guarded(_due))

    replay = sub.add_parser("replay", help="what new rules would decide differently")
    replay.add_argument("--rules", required=True, metavar="NEW.yaml")
    replay.add_argument("--against", required=True, metavar="OLD.yaml")
    replay.add_argument("complaints", metavar="COMPLAINTS.jsonl")
    replay.add_argument("--json", action="store_true", help="machine-readable output")
    replay.set_defaults(func=_guarded(_replay))


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            result: int = command(args)
        except RuleFileErrors as exc:
            for error in exc.errors:
                print(error, file=sys.stderr)
            return 1
        except CalendarCoverageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return result

    return run


def _check(args: argparse.Namespace) -> int:
    failed = False
    now = _parse_now(args.now)
    people = _read_people(args.people)
    for path in args.paths:
        try:
            rules = load_rules(path)
            if people is not None:
                unheld = unheld_errors(rules, people, args.people)
                if unheld:
                    raise RuleFileErrors(errors_at(path, unheld))
        except RuleFileErrors as exc:
            failed = True
            for error in exc.errors:
                print(error, file=sys.stderr)
            continue
        print(f"{path}: ok (site {rules.site.id}, version {rules.rules_version})")
        for warning in coverage_warnings(rules, now):
            print(f"{path}: warning: {warning}", file=sys.stderr)
    return 1 if failed else 0


def _read_people(path: str | None) -> list[Holding] | None:
    if path is None:
        return None
    try:
        return read_people(Path(path))
    except PeopleFileError as exc:
        raise InputError(str(exc)) from None


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--now: {text!r} is not an ISO time") from None
    if moment.tzinfo is None:
        raise InputError("--now: give a time zone (for example 2026-12-04T09:00:00+08:00)")
    return moment


def _explain(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    complaint = _read_complaint(Path(args.complaint))
    registered = _parse_time(args.at, rules, "--at") if args.at else None
    decision = decide(rules, complaint, registered)
    c = decision.classification
    out = decision.as_dict() | {
        "tags": list(c.tags),
        "matched_rule": c.matched_rule,
        "reasons": list(c.reasons),
        "rules_version": c.rules_version,
    }
    _emit(out)
    return 0


def _band(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    if rules.survey is None:
        raise InputError(f"{args.rules}: site {rules.site.id!r} has no survey section")
    try:
        band = score_band(rules, args.score)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    hits = evaluate_triggers(rules, overall_score=args.score)
    _emit({"band": band.id, "triggers": list(dict.fromkeys(h.trigger for h in hits))})
    return 0


def _due(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    start = _parse_time(args.start, rules, "--from")
    try:
        computed = due(rules, start, args.duration)
    except DurationError as exc:
        raise InputError(str(exc)) from None
    print(iso_utc(computed.at))
    if computed.provisional:
        # A year the official calendar does not cover yet: an estimate, recomputed in the
        # services once the year's notice is in the rule file or the holidays package.
        print("provisional: true")
    return 0


def _replay(args: argparse.Namespace) -> int:
    new, old = load_rules(args.rules), load_rules(args.against)
    lines = _read_lines(Path(args.complaints))
    rows: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    bar = tqdm(lines, file=sys.stderr, unit="complaint", disable=len(lines) < PROGRESS_FROM)
    for number, text in bar:
        try:
            complaint = ComplaintSubmission.model_validate_json(text)
            changes = differences(decide(old, complaint), decide(new, complaint))
        except ValidationError as exc:
            invalid.append({"line": number, "error": _validation_text(exc)})
            continue
        except CalendarCoverageError as exc:
            invalid.append({"line": number, "error": str(exc)})
            continue
        if changes:
            ref = complaint.external_ref or f"line {number}"
            rows.append({"line": number, "ref": ref, "changes": _pairs(changes)})
    for item in invalid:
        print(f"{args.complaints}:{item['line']}: skipped: {item['error']}", file=sys.stderr)
    summary = {
        "old_version": old.rules_version,
        "new_version": new.rules_version,
        "total": len(lines),
        "changed": len(rows),
        "invalid": invalid,
        "differences": rows,
    }
    if args.json:
        _emit(summary)
    else:
        _print_table(summary)
    return 0


def _pairs(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {field: {"old": old, "new": new} for field, (old, new) in changes.items()}


def _print_table(summary: dict[str, Any]) -> None:
    print(f"old {summary['old_version']}  ->  new {summary['new_version']}")
    print(
        f"{summary['total']} complaints, {summary['changed']} decided differently, "
        f"{len(summary['invalid'])} skipped"
    )
    if not summary["differences"]:
        return
    table = [("complaint", "field", "old", "new")]
    for row in summary["differences"]:
        for field, change in row["changes"].items():
            table.append((row["ref"], field, _cell(change["old"]), _cell(change["new"])))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for index, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return ",".join(value) if isinstance(value, list) else str(value)


def _read_complaint(path: Path) -> ComplaintSubmission:
    try:
        return ComplaintSubmission.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise InputError(f"{path}: {_validation_text(exc)}") from None


def _read_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _parse_time(text: str, rules: SiteRules, option: str) -> datetime:
    """An ISO-8601 time; without an offset it is read as the site's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: {text!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=rules.zone)


def _emit(document: dict[str, Any]) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qloop", description=__doc__.splitlines()[0])
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
