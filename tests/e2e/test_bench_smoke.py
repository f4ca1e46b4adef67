"""The benchmark harnesses run (tiny runs: no figures are asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_pipeline_bench_smoke(settings: ServiceSettings, tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    env = {
        **os.environ,
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "## Pipeline" in text and "ratio to ceiling" in text and "p99 ms" in text
    assert "complaint.registered" in text  # where the time goes, stage by stage
    assert "ceiling at that rate" in text  # the raw chain's latency beside the pipeline's
    assert "the pipeline's documents" in text and "documents of a few bytes" in text


def test_import_bench_smoke(settings: ServiceSettings, tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    env = {
        **os.environ,
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.intake_import", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "## Import" in text and "ratio to raw insert_one" in text
    assert "case opened (60 of 60)" in text  # every imported row reached its case


def test_desk_pages_bench_smoke(settings: ServiceSettings, tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    env = {
        **os.environ,
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.desk_pages", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| my work (GET /work" in done.stdout  # the table, printed
    text = out.read_text(encoding="utf-8")
    assert "## Desk pages" in text and "page p95 / raw p95" in text
    for page in ("my work", "case page", "a word matching few", "a word matching many",
                 "a filter alone"):  # fmt: skip
        assert f"{page}" in text
    assert "Pages answered without their data (a service call failed): none" in text
