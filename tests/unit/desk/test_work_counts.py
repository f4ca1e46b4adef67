"""The navigation's count of my work is read once per COUNT_SECONDS per person, not on
every page (it costs the whole worklist)."""

from __future__ import annotations

import pytest

from services.desk import pages

pytestmark = pytest.mark.unit


def test_a_count_is_kept_for_a_while_then_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(pages.time, "monotonic", lambda: now[0])
    counts = pages.WorkCounts()
    assert counts.get("li.na") is None
    counts.put("li.na", 7)
    now[0] += pages.COUNT_SECONDS - 1
    assert counts.get("li.na") == 7 and counts.get("wang.qiang") is None
    now[0] += 2
    assert counts.get("li.na") is None  # too old: read again
    counts.put("li.na", None)  # a failed read keeps nothing
    assert counts.get("li.na") is None
