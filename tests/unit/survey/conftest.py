from __future__ import annotations

from pathlib import Path

import pytest

from services.common.rules import SiteRules, load_rules

RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="session")
def nb() -> SiteRules:
    """qds-company: quarterly, grade A 80-100, items <= 70, 99 % in 5 working days."""
    return load_rules(RULES / "qds-company.yaml")


@pytest.fixture(scope="session")
def wx() -> SiteRules:
    """bands-company: 98 / 90.1 / 75.1 / 60 bands, >= 200,000 pcs and >= 3 deliveries."""
    return load_rules(RULES / "bands-company.yaml")


@pytest.fixture(scope="session")
def demo() -> SiteRules:
    """default: yearly, > 80 / 70-80 / 60-70 / < 60."""
    return load_rules(RULES / "default.yaml")
