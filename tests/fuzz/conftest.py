"""Fuzz fixtures: `start(name)` runs one service in-process (see services.py)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from tests.fuzz.services import Start, started


@pytest.fixture
def start(settings: ServiceSettings, tmp_path: Path, site: str) -> Start:
    return functools.partial(started, base=settings, tmp=tmp_path, site=site)
