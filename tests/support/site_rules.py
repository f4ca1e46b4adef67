"""A shipped rule file copied under a test's own site id, so that facts other tests
publish meanwhile on the shared broker (other sites) are refused by this test's services
rather than acted on."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rules_as(tmp_path: Path, site: str, file: str = "abc-company.yaml", id_: str = "sz") -> Path:
    """A rules directory holding `file` (whose site id is `id_`) as site `site`."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "shared", rules / "shared")
    text = (ROOT / "rules" / file).read_text(encoding="utf-8")
    (rules / "site.yaml").write_text(text.replace(f"  id: {id_}\n", f"  id: {site}\n", 1), "utf-8")
    return rules
