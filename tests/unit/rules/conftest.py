from __future__ import annotations

from pathlib import Path

import pytest

from services.common.rules import SiteRules, load_rules

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"
EXAMPLES = sorted(p.name for p in RULES_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def site_rules() -> dict[str, SiteRules]:
    return {name: load_rules(RULES_DIR / name) for name in EXAMPLES}
