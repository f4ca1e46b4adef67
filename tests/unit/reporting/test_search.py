"""Search terms of a complaint and of a query (domain/search.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.reporting.domain import search

pytestmark = pytest.mark.unit


def test_identifiers_are_found_whole_and_by_their_parts_and_chinese_by_pairs() -> None:
    found = search.words("SZ-2026-000123, Lot L2311/07 外壳开裂 Zinc plated")
    assert {"sz-2026-000123", "sz", "2026", "000123", "l2311/07", "l2311", "07"} <= found
    assert {"外壳", "壳开", "开裂", "zinc", "plated"} <= found
    assert "late" not in found  # no word is a part of another word: 'plated' is not 'late'
    assert search.words("ＢＸ－２００") == search.words("bx-200")  # full-width forms folded


def test_a_complaint_is_found_by_what_the_customer_said_never_by_a_contact_person() -> None:
    state = {
        "site": "sz", "number": "SZ-1", "customer_id": "C-9", "customer_name": "华东汽车",
        "product": "BX-200", "description": "外壳开裂", "identifiers": ["LOT-7", "PO-88"],
        "contact": {"name": "王小姐"}, "stage": "investigate", "nature": "quality",
        "department": "quality", "missed": {}, "stage_at": datetime(2026, 3, 1, tzinfo=UTC),
    }  # fmt: skip
    terms = search.terms(state)
    assert {"sz-1", "c-9", "华东", "lot-7", "po-88", "开裂"} <= terms
    assert {"stage:investigate", "nature:quality", "department:quality", "is:open"} <= terms
    assert "王小" not in terms and "is:overdue" not in terms


def test_a_query_wants_every_word_and_filter_and_something_when_empty() -> None:
    wanted = search.query_terms("开裂 BX-200", {"stage": "review", "nature": None}, "open", True)
    assert wanted >= {"开裂", "bx-200", "stage:review", "is:open", "is:overdue"}
    assert search.query_terms("", {}, None, False) == {"any"}
    assert search.matching([{"b|1", "a|2"}, {"a|2"}]) == {"a|2"}
    assert search.matching([{"a|2"}, set()]) == set()  # a word found nowhere: nothing
