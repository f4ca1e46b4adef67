from __future__ import annotations

from pathlib import Path

import pytest

from services.intake.importer import _nest, read_rows

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def test_dotted_columns_become_the_api_shape() -> None:
    nested = _nest(
        {
            "customer.id": "C-1",
            "customer.name": "Acme",
            "product.model": "BX",
            "product.lot_numbers": "L1; L2",
            "description": "x",
            "contact.email": "",
        }
    )
    assert nested == {
        "customer": {"id": "C-1", "name": "Acme"},
        "products": [{"model": "BX", "lot_numbers": ["L1", "L2"]}],
        "description": "x",
    }


def test_csv_rows_keep_their_line_numbers() -> None:
    rows = list(read_rows(EXAMPLES / "complaints.csv"))
    assert [line for line, _, _ in rows] == [2, 3, 4]
    assert rows[0][1]["external_ref"] == "HIST-0001"  # type: ignore[index]


def test_jsonl_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"a": 1}\n\nnot json\n[1]\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [(line, error is None) for line, _, error in rows] == [(1, True), (3, False), (4, False)]
