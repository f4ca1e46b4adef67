"""Records retention as data: the seeds' fixed years, and IATF 16949's "service life plus
one year" with per-family service lives, read from a site rule file."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.rules import RuleFileErrors, SiteRules, load_rules
from services.common.rules.retention import (
    expired,
    retention_years,
    service_life_years,
    shortest_retention_years,
    years_before,
)

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[3] / "rules"
IATF = """
workflow:
  records_retention_years: 1
  records_retention_basis: service_life
  service_life:
    years: 10
    families:
      - {id: brake-hoses, products: ["BH-*"], service_life_years: 15}
      - {id: housings, products: ["BX-*", "M6x*"], service_life_years: 12}
"""


def _site_file(tmp_path: Path, extra: str) -> Path:
    shutil.copytree(RULES / "shared", tmp_path / "shared")
    text = (RULES / "default.yaml").read_text(encoding="utf-8") + extra
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def iatf(tmp_path: Path) -> SiteRules:
    return load_rules(_site_file(tmp_path, IATF))


def test_the_seeds_keep_records_five_years_after_closure(
    site_rules: dict[str, SiteRules],
) -> None:
    for rules in site_rules.values():
        assert rules.workflow.records_retention_basis == "closure"
        assert retention_years(rules.workflow, ["BX-200"]) == 5
        assert retention_years(rules.workflow) == 5
        assert shortest_retention_years(rules.workflow) == 5


def test_service_life_plus_one_year_per_product_family(iatf: SiteRules) -> None:
    workflow = iatf.workflow
    assert retention_years(workflow, ["BH-7"]) == 16
    assert retention_years(workflow, ["BX-200"]) == 13
    assert retention_years(workflow, ["ZZ-1"]) == 11  # no family: the site's service life
    # A complaint about several products is kept as long as its longest-lived product.
    assert retention_years(workflow, ["ZZ-1", "BH-7", "BX-200"]) == 16
    assert service_life_years(workflow, ["M6x20"]) == 12


def test_a_record_without_products_is_kept_the_longest_time(iatf: SiteRules) -> None:
    assert retention_years(iatf.workflow) == 16
    assert retention_years(iatf.workflow, ["", ""]) == 16
    assert shortest_retention_years(iatf.workflow) == 11


def test_service_life_basis_without_service_life_is_refused(tmp_path: Path) -> None:
    extra = "\nworkflow:\n  records_retention_basis: service_life\n"
    with pytest.raises(RuleFileErrors, match="needs a service_life section"):
        load_rules(_site_file(tmp_path, extra))


def test_duplicate_family_ids_are_refused(tmp_path: Path) -> None:
    extra = IATF.replace("id: housings", "id: brake-hoses")
    with pytest.raises(RuleFileErrors, match="unique: brake-hoses"):
        load_rules(_site_file(tmp_path, extra))


def test_expiry_counts_calendar_years() -> None:
    closed = datetime(2020, 3, 1, 8, 0, tzinfo=UTC)
    assert not expired(closed, 5, datetime(2025, 3, 1, 7, 59, tzinfo=UTC))
    assert expired(closed, 5, datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    leap = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert years_before(leap, 1) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert years_before(leap, 4) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
