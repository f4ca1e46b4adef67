"""Every broken rule file of the corpus (tests/unit/rules/broken/), rolled out to a
running service's rules directory: the reload is refused with the file's errors and the
last good rules stay in force (tests/integration/test_rules_reload.py does one end to
end, through the HTTP route and the watcher)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.common import rules_reload
from services.common.rulebook import Rulebook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BROKEN = sorted((ROOT / "tests" / "unit" / "rules" / "broken").glob("*.yaml"))


def context(directory: Path) -> Any:
    """What `rules_reload.reload` uses of a running service's context."""
    return SimpleNamespace(
        rulebook=Rulebook.load(directory), registry=CollectorRegistry(), state={}
    )


@pytest.mark.parametrize("broken", BROKEN, ids=[p.stem for p in BROKEN])
def test_a_bad_rollout_keeps_the_last_good_rules(broken: Path, tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "shared", directory / "shared")
    shutil.copy(ROOT / "rules" / "default.yaml", directory)
    ctx = context(directory)
    good = ctx.rulebook.versions()
    shutil.copy(broken, directory / "default.yaml")  # the rollout replaces a good file

    errors = rules_reload.reload(ctx)

    assert errors and all(e.strip() for e in errors)
    assert any("default.yaml" in e or broken.name in e for e in errors), errors
    assert ctx.rulebook.versions() == good
    assert ctx.rulebook.for_site("demo").site.id == "demo"
    failed = ctx.registry.get_sample_value("qloop_rules_reloads_total", {"result": "failed"})
    assert failed == 1.0


def test_the_corpus_is_there() -> None:
    assert len(BROKEN) >= 20
