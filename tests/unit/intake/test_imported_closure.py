"""An imported row's outcome and closure date, checked against the site's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.rules import SiteRules
from services.intake.closure import ImportedClosure, imported_closure
from tests.unit.workflow.builders import rules_for

pytestmark = pytest.mark.unit
RECEIVED = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)  # 09:30 in Ningbo
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _closure(rules: SiteRules, outcome: str | None, closed_at: str | None):  # type: ignore[no-untyped-def]
    return imported_closure(rules, outcome, closed_at, received_at=RECEIVED, now=NOW)


def test_a_date_is_the_end_of_that_day_and_a_time_without_offset_is_local() -> None:
    nb = rules_for("nb")
    assert _closure(nb, "corrected", "2024-03-20") == (
        ImportedClosure("corrected", datetime(2024, 3, 20, 15, 59, 59, 999000, tzinfo=UTC)),
        [],
    )
    assert _closure(nb, "credit_note", "2024-03-20T10:00:00") == (
        ImportedClosure("credit_note", datetime(2024, 3, 20, 2, 0, tzinfo=UTC)),
        [],
    )
    assert _closure(nb, None, None) == (None, [])


def test_bad_closures_name_each_field() -> None:
    nb = rules_for("nb")
    assert _closure(nb, "won", "2024-03-20")[1] == [
        "outcome: unknown outcome 'won' (known: corrected, explanation, credit_note, replacement)"
    ]
    assert _closure(nb, "corrected", None)[1] == ["closed_at: required with outcome"]
    assert _closure(nb, None, "2024-03-20")[1] == ["outcome: required with closed_at"]
    assert _closure(nb, "corrected", "20 March")[1] == [
        "closed_at: '20 March' is not an ISO date or time"
    ]
    assert _closure(nb, "corrected", "2024-03-01")[1] == [
        "closed_at: 2024-03-01 is before the complaint was received"
    ]
    assert _closure(nb, "corrected", "2027-01-05")[1] == [
        "closed_at: 2027-01-05 is after the import"
    ]


def test_a_site_whose_rules_do_not_allow_it_refuses_the_columns() -> None:
    nb = rules_for("nb")
    closed_off = nb.model_copy(
        update={"workflow": nb.workflow.model_copy(update={"history_import": None})}
    )
    closure, problems = _closure(closed_off, "corrected", "2024-03-20")
    assert closure is None and len(problems) == 2
    assert problems[0].startswith("outcome: site 'nb' does not let imported rows carry")
