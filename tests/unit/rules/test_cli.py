"""`qloop rules ...` through main(argv): stdout, stderr and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.common.rules.cli import main
from tests.support.calendars import calendar_block, write_site
from tests.unit.rules.conftest import RULES_DIR

pytestmark = pytest.mark.unit

ABC = str(RULES_DIR / "abc-company.yaml")
QDS = str(RULES_DIR / "qds-company.yaml")
BANDS = str(RULES_DIR / "bands-company.yaml")
BROKEN = Path(__file__).parent / "broken"
MIDYEAR = "2026-06-01T00:00:00+08:00"

COMPLAINT: dict[str, Any] = {
    "site": "sz",
    "channel": "email",
    "customer": {"id": "C001", "name": "Acme Auto"},
    "description": "客户要求索赔，产品外观严重划伤",
    "received_at": "2025-01-24T10:00:00+08:00",
    "external_ref": "CRM-1",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["rules", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    # Mid-year: the shipped calendars' coverage is not ending yet, so nothing to warn of.
    code, out, err = run(capsys, "check", ABC, QDS, BANDS, "--now", MIDYEAR)
    assert code == 0 and err == ""
    assert out.count(": ok (site ") == 3


def test_check_reports_each_error_as_file_line_column(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = str(BROKEN / "unknown_department.yaml")
    code, out, err = run(capsys, "check", ABC, bad, "--now", MIDYEAR)
    assert code == 1
    assert err.strip() == (
        f"{bad}:22:18: routing.default_owner: unknown department 'sales' (known: cs)"
    )
    assert "abc-company.yaml: ok" in out


def test_explain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(COMPLAINT, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "explain", "--rules", ABC, str(path))
    assert code == 0, err
    doc = json.loads(out)
    for field in (
        "nature",
        "kind",
        "category",
        "severity",
        "owner_department",
        "copy_to",
        "matched_rule",
        "reasons",
        "deadlines",
        "rules_version",
    ):
        assert field in doc
    assert doc["category"] == "a" and doc["owner_department"] == "quality"
    assert doc["deadlines"]["register"] == "2025-01-26T02:00:00Z"
    assert doc["rules_version"].startswith("2025.3+sha256:")


def test_explain_with_registration_time(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(COMPLAINT | {"site": "nb"}), encoding="utf-8")
    code, out, _ = run(
        capsys, "explain", "--rules", QDS, str(path), "--at", "2025-09-30T15:00:00+08:00"
    )
    assert code == 0
    assert json.loads(out)["deadlines"]["reply"] == "2025-10-11T07:00:00Z"


def test_explain_bad_complaint_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(COMPLAINT | {"received_at": "2025-01-24T10:00:00"}))
    code, out, err = run(capsys, "explain", "--rules", ABC, str(path))
    assert code == 2 and out == ""
    assert "received_at" in err and "timezone-aware" in err


def test_explain_with_broken_rules_is_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(COMPLAINT))
    code, _, err = run(capsys, "explain", "--rules", str(BROKEN / "bad_enum.yaml"), str(path))
    assert code == 1 and "bad_enum.yaml:16:21:" in err


@pytest.mark.parametrize(
    ("score", "band", "triggers"),
    [
        ("98", "very_satisfied", []),
        ("79.5", "generally_satisfied", ["total-below-80"]),
        ("59", "very_dissatisfied", ["total-below-80"]),
    ],
)
def test_band(
    capsys: pytest.CaptureFixture[str], score: str, band: str, triggers: list[str]
) -> None:
    code, out, _ = run(capsys, "band", "--rules", BANDS, score)
    assert code == 0
    assert json.loads(out) == {"band": band, "triggers": triggers}


def test_band_off_scale(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "band", "--rules", BANDS, "101")
    assert code == 2 and "outside the scale" in err


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2025-03-08T10:00:00+08:00", "1 working day", "2025-03-10T16:00:00Z"),
        ("2025-03-07T18:00:00+08:00", "48 hours", "2025-03-09T10:00:00Z"),
        ("2025-03-07T18:00:00+08:00", "7 days", "2025-03-14T10:00:00Z"),
        ("2025-01-24T10:00:00", "1 working day", "2025-01-26T02:00:00Z"),  # site-local
    ],
)
def test_due(capsys: pytest.CaptureFixture[str], start: str, duration: str, expected: str) -> None:
    code, out, _ = run(capsys, "due", "--rules", ABC, "--from", start, "--duration", duration)
    assert code == 0
    assert out.strip() == expected


def test_due_bad_duration_and_time(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "due", "--rules", ABC, "--from", "2025-03-08T10:00:00Z", "--duration", "3 weeks"
    )
    assert code == 2 and "is not a duration" in err
    code, _, err = run(capsys, "due", "--rules", ABC, "--from", "yesterday", "--duration", "3 days")
    assert code == 2 and "not an ISO-8601 time" in err


def test_due_beyond_the_calendar_is_printed_provisional(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The issue's own command: 29 Dec 2026 + 3 working days reaches 2027, which a CN
    # calendar published through 2026 does not cover. Answered, marked provisional.
    rules = write_site(tmp_path, calendar=calendar_block(last_year=2026))
    args = ("--from", "2026-12-29T09:00:00+08:00", "--duration", "3 working days")
    code, out, err = run(capsys, "due", "--rules", str(rules), *args)
    assert code == 0, err
    assert out.splitlines() == ["2027-01-04T01:00:00Z", "provisional: true"]
    code, out, _ = run(capsys, "due", "--rules", str(rules), "--from", "2026-12-01T09:00:00+08:00",
                       "--duration", "3 working days")
    assert code == 0 and out.splitlines() == ["2026-12-04T01:00:00Z"]  # covered: no mark
    code, out, _ = run(capsys, "due", "--rules", str(rules), "--from", "2026-12-29T09:00:00+08:00",
                       "--duration", "48 hours")
    assert code == 0 and out.splitlines() == ["2026-12-31T01:00:00Z"]  # elapsed: never


def test_check_warns_when_calendar_coverage_ends_within_60_days(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = str(write_site(tmp_path, calendar=calendar_block(last_year=2026)))
    code, out, err = run(capsys, "check", rules, "--now", "2026-12-04T09:00:00+08:00")
    assert code == 0 and "ok (site sz" in out
    assert f"{rules}: warning: site sz: the CN working-day calendar covers 2020-2026 and " \
        "ends in 27 days (2027-01-01)" in err
    code, _, err = run(capsys, "check", rules, "--now", "2026-10-01T09:00:00+08:00")
    assert code == 0 and err == ""  # 92 days ahead: nothing to say yet
    code, _, err = run(capsys, "check", rules, "--now", "2027-01-05T09:00:00+08:00")
    assert code == 0 and "has ended (2027-01-01)" in err


def _jsonl(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "history.jsonl"
    lines = [
        json.dumps(COMPLAINT | {"external_ref": f"CRM-{i}"}, ensure_ascii=False)
        for i in range(count)
    ]
    lines.insert(1, '{"site": "sz"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys, "replay", "--rules", QDS, "--against", ABC, str(_jsonl(tmp_path, 3)), "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert (doc["total"], doc["changed"], len(doc["invalid"])) == (4, 3, 1)
    first = doc["differences"][0]
    assert first["ref"] == "CRM-0"
    assert first["changes"]["owner_department"] == {"old": "quality", "new": "qa"}
    assert first["changes"]["kind"] == {"old": "claim", "new": "appeal"}
    assert "history.jsonl:2: skipped" in err


def test_replay_same_rules_no_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "replay", "--rules", ABC, "--against", ABC, str(_jsonl(tmp_path, 2)))
    assert code == 0
    assert "3 complaints, 0 decided differently, 1 skipped" in out


def test_replay_table_and_progress_bar(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys, "replay", "--rules", QDS, "--against", ABC, str(_jsonl(tmp_path, 600))
    )
    assert code == 0
    assert "complaint" in out.splitlines()[2] and "owner_department" in out
    assert "CRM-599" in out
    assert "601/601" in err  # tqdm's bar on stderr for long inputs


def test_missing_input_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "explain", "--rules", ABC, str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err


def test_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["rules"])
    assert exited.value.code == 2
