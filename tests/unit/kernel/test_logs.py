from __future__ import annotations

import json
import logging

import pytest

from services.common.logs import JsonFormatter, correlation_id, mask

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail li.lei@example.com now", "mail <email> now"),
        ("call +86 138 0013 8000 today", "call <phone> today"),
        ("call 0755-86001234", "call <phone>"),
        ("order SZ-2026-000123 has 200 pcs", "order SZ-2026-000123 has 200 pcs"),
    ],
)
def test_contact_details_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_log_lines_are_json_with_correlation_id() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "from %s", ("a@b.cn",), None)
    token = correlation_id.set("c-1")
    try:
        line = json.loads(JsonFormatter("intake").format(record))
    finally:
        correlation_id.reset(token)
    assert line["correlation_id"] == "c-1"
    assert line["message"] == "from <email>"
    assert line["service"] == "intake" and line["level"] == "warning"
